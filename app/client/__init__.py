"""The headless offline-first client (no Qt): open a document, edit it, sync it.

Start with :class:`LaminaDocument` (``app/client/document.py``); events are in
:mod:`app.client.events`, errors in :mod:`app.client.errors`, the local SQLite store in
:mod:`app.client.store`, and the PDF port that standalone documents need in
:mod:`app.client.backend`.
"""

from app.client.backend import PdfBackend
from app.client.backoff import Backoff
from app.client.document import AutosaveMode, LaminaDocument, LocalEdit
from app.client.events import Conflict, ConnectionState, Peer

__all__ = [
    "AutosaveMode",
    "Backoff",
    "Conflict",
    "ConnectionState",
    "LaminaDocument",
    "LocalEdit",
    "PdfBackend",
    "Peer",
]
