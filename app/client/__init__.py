"""The headless offline-first client (no Qt): open a document, edit it, sync it.

Start with :class:`LaminaDocument` (``document.py``), a facade over parts with one job each:
``replica.py`` (session, view, subscribers, save waiters), ``persistence.py`` (the local
store write-through), ``editing.py`` (edits and autosave), ``ownership.py`` (what the
permission rules know of a record), ``export.py``, and the two implementations of
``upstream.py``'s port: ``review.py`` (a server document, over ``connection.py``, the one
reconnecting WebSocket shell, with ``layers.py`` for other layers viewed read-only) and
``standalone.py`` (a local PDF). The desktop app uses a document through
:class:`~lamina.client.port.ReviewDocument` and the Qt-free
:class:`~lamina.client.review_model.ReviewModel`. Events are in :mod:`lamina.client.events`,
errors in :mod:`lamina.client.errors`, the SQLite store in :mod:`lamina.client.store`, and
the PDF port in :mod:`lamina.client.backend`.
"""

from lamina.client.backend import PdfBackend
from lamina.client.backoff import Backoff
from lamina.client.connection import Connection
from lamina.client.document import LaminaDocument
from lamina.client.events import Conflict, ConnectionState, Peer
from lamina.client.port import AutosaveMode, LocalEdit, ReviewDocument

__all__ = [
    "AutosaveMode",
    "Backoff",
    "Conflict",
    "Connection",
    "ConnectionState",
    "LaminaDocument",
    "LocalEdit",
    "PdfBackend",
    "Peer",
    "ReviewDocument",
]
