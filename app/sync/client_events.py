"""What a :class:`~lamina.sync.client_session.ClientSession` reports for each frame (§3-§8).

Frozen values named after what happened; :meth:`ClientSession.receive_text` returns them and
the shell acts on them (persist, then tell subscribers). All are importable from
:mod:`lamina.sync.client_session` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from lamina.model.ids import RecordId
from lamina.sync.local_replica import Conflict
from lamina.sync.messages import PresenceClient, Welcome
from lamina.sync.state import ChangeResult, RecordState


@dataclass(frozen=True)
class Welcomed:
    """The server accepted the token (§3.2); records follow."""

    welcome: Welcome


@dataclass(frozen=True)
class RecordsChanged:
    """Synced records changed; :meth:`ClientSession.view` reflects them.

    ``origin`` is ``remote`` for ``changes``/``snapshot`` (a snapshot also lists, as
    content-less tombstones, replica records it no longer has), ``local`` for the committed
    states an ``ack`` brought back.
    """

    records: tuple[RecordState, ...]
    origin: Literal["remote", "local"]
    snapshot: bool = False


@dataclass(frozen=True)
class LayerRecordsChanged:
    """Records of another layer viewed read-only changed (§5.3)."""

    layer: str
    records: tuple[RecordState, ...]
    snapshot: bool


@dataclass(frozen=True)
class ChangesAcked:
    """The server committed (or refused) these changes; they left the outbox (§6.2)."""

    results: tuple[ChangeResult, ...]


@dataclass(frozen=True)
class ConflictDetected:
    """A change lost a merge (§4.5) or hit a deleted record (§4.6); see ``conflict``."""

    conflict: Conflict

    @property
    def record_id(self) -> RecordId:
        return self.conflict.record_id

    @property
    def mine(self) -> Mapping[str, Any] | None:
        return self.conflict.mine

    @property
    def theirs(self) -> RecordState | None:
        return self.conflict.theirs


@dataclass(frozen=True)
class ChangeRejected:
    """The server refused a change; the record is back to its committed state (§6.4)."""

    change_id: str
    record_id: RecordId
    reason: str


@dataclass(frozen=True)
class ServerBehind:
    """The server has lost changes this client saw (§3.4): ask the user.

    Nothing is merged until :meth:`ClientSession.adopt_server_state` is called.
    """

    client_seq: int
    server_seq: int


@dataclass(frozen=True)
class PresenceChanged:
    """Who is connected to the layer (§8.1)."""

    clients: tuple[PresenceClient, ...]


@dataclass(frozen=True)
class DocumentReceived:
    """The whole PDF arrived and its SHA-256 matched (§5.4)."""

    data: bytes
    sha256: str


@dataclass(frozen=True)
class ServerError:
    """The server sent ``error`` and is closing; ``final`` means: stop retrying (§7.2)."""

    code: str
    message: str
    final: bool


@dataclass(frozen=True)
class LayersListed:
    """The server's list of the layers this token may view (§4.8), by name; it comes again
    whenever the list grows."""

    layers: tuple[str, ...]


ClientEvent: TypeAlias = (
    LayersListed
    | Welcomed
    | RecordsChanged
    | LayerRecordsChanged
    | ChangesAcked
    | ConflictDetected
    | ChangeRejected
    | ServerBehind
    | PresenceChanged
    | DocumentReceived
    | ServerError
)
