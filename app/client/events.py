"""Events an open document reports to its subscribers (frozen values, named after what changed).

Subscribe with :meth:`lamina.client.document.LaminaDocument.subscribe`; callbacks run on the
event loop's thread, in the order things happened. A callback must not block.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lamina.model.ids import RecordId
from lamina.model.records import Record

Origin = Literal["local", "remote"]
"""Who made a change: this replica's user (``local``) or anyone else via the server."""


class ConnectionState(enum.Enum):
    """Where the connection to the server stands."""

    OFFLINE = "offline"
    """Not connected (standalone documents stay here)."""
    CONNECTING = "connecting"
    """Opening the connection or waiting for the handshake."""
    ONLINE = "online"
    """Connected and caught up."""
    RECONNECTING = "reconnecting"
    """The connection dropped; waiting (backoff) before the next attempt."""
    STOPPED = "stopped"
    """No more attempts: the token was refused, or the server is behind (see ``reason``)."""


@dataclass(frozen=True)
class Conflict:
    """A version of a record that the user made and the server did not keep (sync §6.4).

    Attributes:
        conflict_id: id of this entry (for :meth:`reapply_conflict`/:meth:`dismiss_conflict`).
        record_id: the record.
        reason: ``conflict`` (another change to the same field came first) or ``deleted``
            (someone deleted the record; the delete won).
        mine: the user's version of the whole record as they saw it (Instant JSON).
        theirs: the server's version at that time (Instant JSON; for ``deleted``, the last
            live version before the delete).
        lost: the fields of the user's change that did not make it (``{key: value}``);
            ``lost_unset`` lists keys the user removed that the server kept.
        at: when the client learned of it (ISO 8601, UTC).
    """

    conflict_id: str
    record_id: RecordId
    reason: Literal["conflict", "deleted"]
    mine: Mapping[str, Any] | None
    theirs: Mapping[str, Any] | None
    lost: Mapping[str, Any] = field(default_factory=dict)
    lost_unset: tuple[str, ...] = ()
    at: str = ""


@dataclass(frozen=True)
class Peer:
    """Another client connected to the same layer (presence, sync §8)."""

    client_id: str
    user_id: str | None
    name: str
    color: str
    state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordsChanged:
    """Records changed in the user's view.

    ``records`` are the new versions; ``deleted`` the ids that left the view. ``origin`` is
    ``local`` for the user's own edits (reported at once) and ``remote`` for everything that
    came from the server (other users, a snapshot, or a rejected change being rolled back).
    """

    records: tuple[Record, ...]
    deleted: tuple[RecordId, ...]
    origin: Origin


@dataclass(frozen=True)
class ConnectionStateChanged:
    """The connection changed state; ``reason`` says why in one lowercase line."""

    state: ConnectionState
    reason: str = ""


@dataclass(frozen=True)
class SyncStateChanged:
    """The number of changes not yet saved changed (``0`` means all saved)."""

    pending: int

    @property
    def all_saved(self) -> bool:
        return self.pending == 0

    def describe(self) -> str:
        """Return what a status bar shows: ``all changes saved`` or ``3 changes pending``."""
        if self.pending == 0:
            return "all changes saved"
        return f"{self.pending} change{'s' if self.pending != 1 else ''} pending"


@dataclass(frozen=True)
class PresenceChanged:
    """The set of other clients on the layer changed."""

    peers: tuple[Peer, ...]


@dataclass(frozen=True)
class ConflictAdded:
    """A version of the user's went to the conflict list."""

    conflict: Conflict


@dataclass(frozen=True)
class ConflictRemoved:
    """An entry left the conflict list (re-applied or dismissed)."""

    conflict_id: str


@dataclass(frozen=True)
class ChangeRejected:
    """The server refused a change (permissions); the record went back to its saved state."""

    change_id: str
    record_id: RecordId
    reason: str


@dataclass(frozen=True)
class ServerBehind:
    """The server has less than this replica saw (restored from an old backup, sync §3.4).

    Syncing stops; the replica and outbox are kept unchanged until the user decides.
    """

    client_seq: int
    server_seq: int
    message: str


@dataclass(frozen=True)
class LayerRecordsChanged:
    """The records of another layer viewed read-only changed (sync §5.3).

    ``records`` is every record of ``layer`` now (not only the changed ones), so a view can
    redraw the layer from the event alone.
    """

    layer: str
    records: tuple[Record, ...]


@dataclass(frozen=True)
class LayersListed:
    """The server listed the layers this token may view (sync §4.8), the document's own
    included, by name; it comes again whenever a layer is added while connected."""

    layers: tuple[str, ...]


@dataclass(frozen=True)
class DocumentSaved:
    """A standalone document's annotations were written into its PDF file."""

    path: str


Event = (
    RecordsChanged
    | ConnectionStateChanged
    | SyncStateChanged
    | PresenceChanged
    | ConflictAdded
    | ConflictRemoved
    | ChangeRejected
    | ServerBehind
    | DocumentSaved
    | LayerRecordsChanged
    | LayersListed
)
"""Every event a document reports."""
