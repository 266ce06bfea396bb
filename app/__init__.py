"""Lamina: a collaborative PDF annotator.

The package map (DESIGN.md §2). Arrows point one way; ``tests/test_boundaries.py`` walks every
import, lazy ones included, and checks third-party imports against an allow-list per unit::

    model  <-  sync  <-  server, client  <-  ui        pdf <- server, client (port), ui, cli
    auth   <-  server, client, ui                      commands <- cli;  fsutil <- everyone

- ``lamina.model``: records, the Instant JSON codec and the one diff rule (``diff``), geometry,
  ids, timestamps, JSON value readers, undo, drawing tools. Imports: stdlib, ulid.
- ``lamina.sync``: the sans-I/O protocol: messages, phase tables (``phases``), client and server
  sessions, catch-up, form-field group rules, the client's local replica. Imports: model.
- ``lamina.auth``: tokens, invites, keys, the permissions evaluator and the one ``RecordMeta``
  builder (``ownership``). Imports: model, PyJWT, cryptography.
- ``lamina.pdf``: everything PyMuPDF: open, render and the render worker process, read and write
  annotations (a big PDF's read in a process of its own, ``reader_process``), XFDF, export, the
  client's ``PdfBackend`` (``backend``). Imports: model, pymupdf.
- ``lamina.server``: the aiohttp server: the sync socket and Document Engine's HTTP API on one
  port (``app``, ``connection``, ``api*``), ``rooms`` (``rooms_catch_up``: a resuming client
  caught up from the store before its room loads), the ``Store`` port with its SQLite and
  PostgreSQL stores and the group-commit writer, host administration (``admin``). Imports:
  model, sync, auth, pdf, aiohttp, psycopg.
- ``lamina.client``: the headless client: one connection shell (``connection``), a document
  facade over its parts (replica, editing, upstreams for a review or a local PDF, layers,
  export), the ``ReviewDocument`` port and the Qt-free ``ReviewModel``. Imports: model, sync,
  auth, websockets, platformdirs; no Qt.
- ``lamina.ui``: the PySide6 app; widgets subscribe to ``ReviewModel`` through one Qt bridge
  (``bridge``). Imports: everything above, applog, assets.
- ``lamina.commands`` (one module per verb group) and ``lamina.cli`` (the parser): the ``lamina``
  command. Commands import everything but cli; nothing imports cli.
- ``lamina.fsutil`` (the one atomic write), ``lamina.applog`` (logging setup), ``lamina.assets``
  (where resources/ is): leaves that import only the standard library (applog: platformdirs).
"""

__version__ = "0.1.0"
