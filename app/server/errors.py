"""Errors of the sync server: its store, its documents and its configuration.

Every error derives from :class:`ServerError` (a :class:`~lamina.model.errors.LaminaError`), so the
command line prints it as one line. Protocol errors a peer causes are the sync package's
``RemoteProtocolError``; this tree is for what goes wrong on the host.
"""

from __future__ import annotations

from lamina.model.errors import LaminaError


class ServerError(LaminaError):
    """Base class of the server's errors."""


class DocumentNotFoundError(ServerError, LookupError):
    """No document has this id on this server."""


class DocumentExistsError(ServerError):
    """A document with this id is already stored."""


class InvalidNameError(ServerError, ValueError):
    """A document id or layer name that the server does not accept."""


class StoreError(ServerError):
    """The durable store failed (disk full, locked, corrupt)."""
