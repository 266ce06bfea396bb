"""Errors of the headless client (``lamina.client``).

- :class:`ClientError`: the root of this package's tree.
- :class:`StoreError`: the local store cannot be opened or written (corrupt file, wrong
  document, disk full).
- :class:`ChangeRejectedError`: the server refused a change (``ensure_changes_saved`` fails with
  it); carries the change id, record id and the server's reason.
- :class:`ConnectionFailedError`: a connection could not be made or was lost; a one-shot
  connection (``lamina push``) stops with it, a document retries.
- :class:`AccessLostError`: the token is expired, revoked or invalid; the user needs a new
  invite (DESIGN §4, sync §7.2).
- :class:`ServerBehindError`: the server has less than this replica saw (restored from an old
  backup, sync §3.4); nothing is merged until the user decides.
- :class:`DocumentUnavailableError`: the PDF is not in the local store and cannot be
  downloaded now.
- :class:`LayerAccessError`: the token may not view that layer (no ``view_layers`` claim
  naming it), or the layer is not being viewed.
- :class:`ReadOnlyLayerError`: an edit of a record of another layer, which is only viewed.
"""

from __future__ import annotations

from lamina.model.errors import LaminaError


class ClientError(LaminaError):
    """Base class of the client's errors."""


class StoreError(ClientError):
    """The local store cannot be opened or written."""


class ChangeRejectedError(ClientError):
    """The server rejected a change; the record went back to its committed state."""

    def __init__(self, change_id: str, record_id: str, reason: str) -> None:
        super().__init__(f"change {change_id} to record {record_id} was rejected: {reason}")
        self.change_id = change_id
        self.record_id = record_id
        self.reason = reason


class ConnectionFailedError(ClientError):
    """A connection to the server could not be made, or it ended; the message says why."""


class AccessLostError(ClientError):
    """The server refused the token for good; a new invite is needed."""

    def __init__(self, code: str, message: str) -> None:
        # The server's reason usually says what to do already ("...: ask the host for a new
        # invite"); say it once.
        advice = "" if "new invite" in message else "; ask for a new invite"
        super().__init__(f"the server refused access ({code}: {message}){advice}")
        self.code = code
        self.server_message = message


class ServerBehindError(ClientError):
    """The server has lost changes this replica saw; nothing is merged silently."""


class DocumentUnavailableError(ClientError):
    """The PDF is not cached locally and cannot be fetched now."""


class LayerAccessError(ClientError):
    """The token may not view that layer, or it is not being viewed (sync §5.3)."""


class ReadOnlyLayerError(ClientError):
    """An edit of a record that belongs to another layer, viewed read-only (sync §5.3)."""


class DocumentClosedError(ClientError, RuntimeError):
    """The document was used after :meth:`close` (a programming mistake)."""
