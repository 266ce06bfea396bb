"""Events a :class:`~lamina.client.review_model.ReviewModel` reports (frozen values, with ids).

Each event is named after what changed and carries the ids that changed (napari's model
events), so a view updates only what it shows of them and reads the rest from the model.
Subscribe with :meth:`ReviewModel.subscribe`; callbacks run on the event loop's thread, after
the model's state already shows the change.
"""

from __future__ import annotations

from dataclasses import dataclass

from lamina.client.events import ConnectionState, Origin, Peer
from lamina.model.ids import RecordId


@dataclass(frozen=True)
class RecordFlags:
    """What the user may do with one record shown, and why not, in the window's words.

    Attributes:
        edit: the record may be changed (moved, restyled, its text edited).
        delete: the record may be deleted.
        reply: a comment may be added to the record's thread (for a comment: its root's).
        reason: why ``edit`` or ``delete`` is refused, as the window shows it
            (``Read-only: ana layer``); ``""`` when both are allowed.
        reply_reason: why ``reply`` is refused; ``""`` when it is allowed.
        edit_denied: the permission rule's own words for a refused edit: the reason the
            server gives when it refuses that change; ``""`` when no rule refuses it.
        delete_denied: the same for a delete.
        reply_denied: the same for a reply to a thread that already has comments.
    """

    edit: bool
    delete: bool
    reply: bool
    reason: str = ""
    reply_reason: str = ""
    edit_denied: str = ""
    delete_denied: str = ""
    reply_denied: str = ""


@dataclass(frozen=True)
class RecordsChanged:
    """Records of the user's own layer were added, changed or removed.

    ``origin`` is ``local`` for the user's own edits (one event per undo step: a gesture, an
    undo, a redo) and ``remote`` for everything from the server (others' edits, a snapshot,
    a refused change rolled back).
    """

    added: tuple[RecordId, ...] = ()
    changed: tuple[RecordId, ...] = ()
    removed: tuple[RecordId, ...] = ()
    origin: Origin = "remote"

    @property
    def ids(self) -> tuple[RecordId, ...]:
        """Every id this event names."""
        return (*self.added, *self.changed, *self.removed)


@dataclass(frozen=True)
class LayerVisibilityChanged:
    """A layer was shown or hidden (the user's own, or another viewed read-only).

    Showing another layer reports ``visible=True`` at once; its records follow in a
    :class:`LayerRecordsChanged` when they arrive (until then it is loading).
    """

    layer: str
    visible: bool


@dataclass(frozen=True)
class LayerRecordsChanged:
    """Records of another layer being viewed read-only were added, changed or removed.

    Only records the user does not have are counted: a layer starts as a copy of the PDF's
    own annotations, and those copies are never drawn twice.
    """

    layer: str
    added: tuple[RecordId, ...] = ()
    changed: tuple[RecordId, ...] = ()
    removed: tuple[RecordId, ...] = ()

    @property
    def ids(self) -> tuple[RecordId, ...]:
        """Every id this event names."""
        return (*self.added, *self.changed, *self.removed)


@dataclass(frozen=True)
class ThreadsChanged:
    """Comments of these threads (ids of their root annotations) were added, changed or
    removed, on the user's layer or on a layer being viewed."""

    root_ids: tuple[RecordId, ...]


@dataclass(frozen=True)
class ConnectionChanged:
    """The connection to the server changed state; ``reason`` says why in one line."""

    state: ConnectionState
    reason: str = ""


@dataclass(frozen=True)
class PendingChanged:
    """The number of the user's changes not yet saved changed (``0``: all saved)."""

    count: int


@dataclass(frozen=True)
class PeersChanged:
    """The other people connected to the user's layer changed."""

    peers: tuple[Peer, ...]


@dataclass(frozen=True)
class ConflictsChanged:
    """Entries joined or left the conflict list (ids of :class:`~lamina.client.Conflict`)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class UndoChanged:
    """What Undo and Redo would do changed; the labels name the steps (``move``)."""

    can_undo: bool
    can_redo: bool
    undo_label: str | None = None
    redo_label: str | None = None


@dataclass(frozen=True)
class ChangeRefused:
    """The server refused one of the user's changes; the record went back to its saved state.

    ``reason`` is the server's (for a permission, the rule's words: see
    :attr:`RecordFlags.edit_denied`).
    """

    change_id: str
    record_id: RecordId
    reason: str


@dataclass(frozen=True)
class ServerFellBehind:
    """The server has less than this copy saw (restored from an old backup); syncing stopped
    until the user decides (:meth:`~lamina.client.LaminaDocument.adopt_server_state`)."""

    message: str


@dataclass(frozen=True)
class PdfSaved:
    """A local PDF's annotations were written into the file at ``path``."""

    path: str


@dataclass(frozen=True)
class ReadOnlyChanged:
    """The whole document became read-only (``reason`` says why) or editable (None)."""

    reason: str | None


@dataclass(frozen=True)
class LayersListed:
    """The server listed the layers this token may view (its own included, by name): at the
    first connection, at every reconnect, and again whenever a layer is added."""

    layers: tuple[str, ...]


ReviewEvent = (
    RecordsChanged
    | LayerVisibilityChanged
    | LayerRecordsChanged
    | ThreadsChanged
    | ConnectionChanged
    | PendingChanged
    | PeersChanged
    | ConflictsChanged
    | UndoChanged
    | ChangeRefused
    | ServerFellBehind
    | PdfSaved
    | ReadOnlyChanged
    | LayersListed
)
"""Every event a review model reports."""
