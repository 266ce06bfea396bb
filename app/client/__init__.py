"""The headless offline-first client (no Qt): open a document, edit it, sync it.

Start with :class:`LaminaDocument` (``app/client/document.py``); events are in
:mod:`lamina.client.events`, errors in :mod:`lamina.client.errors`, the local SQLite store in
:mod:`lamina.client.store`, and the PDF port that standalone documents need in
:mod:`lamina.client.backend`.
"""

from lamina.client.backend import PdfBackend
from lamina.client.backoff import Backoff
from lamina.client.document import AutosaveMode, LaminaDocument, LocalEdit
from lamina.client.events import Conflict, ConnectionState, Peer

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
