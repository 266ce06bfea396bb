"""Lamina: a collaborative PDF annotator.

Packages, and what each may import (DESIGN.md §2; ``tests/test_boundaries.py`` enforces it):

- ``lamina.model``: records, Instant JSON codec, geometry, ids, undo, drawing tools (stdlib, ulid).
- ``lamina.sync``: the sans-I/O sync protocol (model).
- ``lamina.auth``: tokens and Collaboration Permissions (model, PyJWT, cryptography).
- ``lamina.pdf``: everything PyMuPDF (model, pymupdf).
- ``lamina.server``: the websockets sync server and its durable store (model, sync, auth, pdf).
- ``lamina.client``: the headless offline-first client (model, sync, auth; no Qt).
- ``lamina.ui``: the PySide6 desktop app (everything above).
- ``lamina.cli`` and ``lamina.commands``: the ``lamina`` command (everything).
"""

__version__ = "0.1.0"
