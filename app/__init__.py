"""Lamina: a collaborative PDF annotator.

Packages, and what each may import (DESIGN.md §2; ``tests/test_boundaries.py`` enforces it):

- ``app.model``: records, Instant JSON codec, geometry, ids, undo, drawing tools (stdlib, ulid).
- ``app.sync``: the sans-I/O sync protocol (model).
- ``app.auth``: tokens and Collaboration Permissions (model, PyJWT, cryptography).
- ``app.pdf``: everything PyMuPDF (model, pymupdf).
- ``app.server``: the websockets sync server and its durable store (model, sync, auth, pdf).
- ``app.client``: the headless offline-first client (model, sync, auth; no Qt).
- ``app.ui``: the PySide6 desktop app (everything above).
- ``app.cli`` and ``app.commands``: the ``lamina`` command (everything).
"""

__version__ = "0.1.0"
