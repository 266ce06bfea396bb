"""The port through which the desktop app and :class:`ReviewModel` use an open document.

:class:`ReviewDocument` lists everything ``lamina.ui`` and the Qt-free review model may call
on a client document, typed, so mypy checks the seam and nobody needs ``getattr`` duck
typing. :class:`lamina.client.document.LaminaDocument` implements it for both kinds of
document:

- a **review** (a server document opened from an invite or its local store): edits are sent
  to the server per the autosave mode, other layers may be viewed read-only, peers and
  conflicts come from the server;
- a **standalone** document (a local PDF, no server): edits are kept in the local store and
  :meth:`ReviewDocument.save` writes them into the PDF. It has no layers to view, no peers,
  no conflicts, and its claims grant everything; ``connection_state`` stays ``OFFLINE``.

Every member works on both; where a standalone document has nothing to offer the docstring
says what it returns. Everything runs on the asyncio event loop's thread, subscriber
callbacks included.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from lamina.auth.permissions import PermissionEvaluator, RecordMeta, RecordPermissions
from lamina.auth.tokens import TokenClaims
from lamina.client.events import Conflict, ConnectionState, Event, Peer
from lamina.model.ids import RecordId
from lamina.model.records import Record


class AutosaveMode(enum.Enum):
    """When local changes are sent to the server (or, standalone, written into the PDF).

    Edits always reach the local store at once, whatever the mode; the mode only decides when
    they are *saved* (DESIGN §4 rule 6, Nutrient's ``autoSaveMode``).
    """

    IMMEDIATE = "immediate"
    """After every change."""
    INTELLIGENT = "intelligent"
    """When an edit gesture ends (:meth:`ReviewDocument.gesture`); edits outside a gesture
    are saved at once."""
    DISABLED = "disabled"
    """Only on :meth:`ReviewDocument.save`."""


@dataclass(frozen=True)
class LocalEdit:
    """What one local create, update or delete did; enough to undo it.

    ``before`` is None for a create, ``after`` None for a delete. ``change_id`` is the outbox
    change that carries it (an edit of a not-yet-sent change is merged into it).
    """

    change_id: str
    record_id: RecordId
    before: Record | None
    after: Record | None


EventCallback = Callable[[Event], None]
"""A subscriber: called with each :data:`~lamina.client.events.Event`, must not block."""

Unsubscribe = Callable[[], None]
"""Returned by :meth:`ReviewDocument.subscribe`; call it to stop the callbacks."""


@runtime_checkable
class ReviewDocument(Protocol):
    """An open document as the desktop app and the review model see it.

    Read its records, edit them (each edit applies to the view at once and is durable in the
    local store before the call returns), follow it through :meth:`subscribe`, and end with
    :meth:`close`. Errors are :class:`lamina.client.errors.ClientError` subclasses.
    """

    # --- what it is ------------------------------------------------------------------------

    @property
    def standalone(self) -> bool:
        """True for a local PDF with no server; False for a review."""
        ...

    @property
    def pdf_path(self) -> Path | None:
        """The standalone document's PDF file; None for a review."""
        ...

    @property
    def store_path(self) -> Path:
        """The local store file (one per open replica; a reopen must wait for its close)."""
        ...

    @property
    def layer(self) -> str:
        """The document's own layer (``""``: the default layer, and any local PDF)."""
        ...

    # --- records ---------------------------------------------------------------------------

    def records(self) -> list[Record]:
        """Return every record as the user sees it (synced state plus pending edits)."""
        ...

    def record(self, record_id: str) -> Record | None:
        """Return one record as the user sees it, or None when it does not exist."""
        ...

    def base_records(self) -> list[Record]:
        """Return the PDF's own annotations as read from the original (the diff's base)."""
        ...

    def subscribe(self, callback: EventCallback) -> Unsubscribe:
        """Call ``callback`` with every event from now on; return the unsubscribe function.

        A callback that raises is logged at ERROR level and does not stop the others.
        """
        ...

    # --- editing ---------------------------------------------------------------------------

    def create(self, record: Record | Mapping[str, Any], *, group: str | None = None) -> LocalEdit:
        """Create a record on the document's own layer.

        Raises:
            ClientError: the record has no type, or its id exists already.
        """
        ...

    def update(
        self,
        record_id: str,
        set: Mapping[str, Any] | None = None,
        unset: Iterable[str] = (),
        *,
        group: str | None = None,
    ) -> LocalEdit:
        """Set (``set``) or remove (``unset``) top-level Instant JSON keys of a record.

        Raises:
            ReadOnlyLayerError: the record belongs to another layer, viewed read-only.
            ClientError: the record does not exist, or ``id``/``type`` would change.
        """
        ...

    def replace(self, record: Record) -> LocalEdit:
        """Make a record equal to ``record`` (an update of exactly the keys that differ).

        Raises:
            ReadOnlyLayerError: the record belongs to another layer, viewed read-only.
            ClientError: the record does not exist.
        """
        ...

    def delete(self, record_id: str) -> LocalEdit:
        """Delete a record.

        Raises:
            ReadOnlyLayerError: the record belongs to another layer, viewed read-only.
            ClientError: the record does not exist.
        """
        ...

    def gesture(self) -> AbstractContextManager[None]:
        """Group the edits made inside the ``with`` block into one gesture.

        With autosave ``INTELLIGENT`` they are saved when the outermost gesture ends.
        """
        ...

    # --- saving ----------------------------------------------------------------------------

    @property
    def autosave(self) -> AutosaveMode:
        """When edits are saved (sent to the server, or written into a standalone PDF)."""
        ...

    def set_autosave(self, mode: AutosaveMode) -> None:
        """Change the autosave mode; switching to ``IMMEDIATE`` saves what is pending."""
        ...

    @property
    def pending_count(self) -> int:
        """How many changes are not saved yet ("N changes pending")."""
        ...

    async def save(self) -> None:
        """Save every pending change now and wait until it is saved.

        Raises:
            ChangeRejectedError: the server rejected a pending change.
            AccessLostError: the token was refused.
            LaminaError: a standalone PDF could not be written (the file is unchanged).
        """
        ...

    async def ensure_changes_saved(self, record_ids: Iterable[str]) -> list[Record | None]:
        """Wait until every change to these records is saved; return their saved versions.

        Raises:
            ChangeRejectedError: the server rejected a change to one of these records.
            AccessLostError: the token was refused; nothing more will be saved.
        """
        ...

    # --- conflicts (empty for a standalone document) ---------------------------------------

    def conflicts(self) -> list[Conflict]:
        """Return the user's versions that lost, oldest first (sync §6.4)."""
        ...

    def reapply_conflict(self, conflict_id: str) -> LocalEdit:
        """Apply the user's version from the conflict list again, as a new change.

        Raises:
            ClientError: no such conflict, or nothing left to re-apply.
        """
        ...

    def dismiss_conflict(self, conflict_id: str) -> None:
        """Remove an entry from the conflict list without applying it."""
        ...

    # --- permissions -----------------------------------------------------------------------

    def claims(self) -> TokenClaims:
        """Return the token's claims, unverified (a standalone document's grant everything).

        Raises:
            ClientError: the stored token's claims are malformed.
        """
        ...

    def permissions(self) -> PermissionEvaluator:
        """Return the evaluator of the token's permissions (what the UI may offer)."""
        ...

    def record_meta(self, record_id: str) -> RecordMeta:
        """Return what the permission rules need to know about a record of this layer.

        Raises:
            ReadOnlyLayerError: the record belongs to another layer being viewed.
            ClientError: no such record.
        """
        ...

    def record_flags(self, record_id: str) -> RecordPermissions:
        """Return what the UI may offer for a record (all False for another layer's).

        Raises:
            ClientError: no such record.
        """
        ...

    # --- other layers, read-only (none for a standalone document) --------------------------

    def available_layers(self) -> tuple[str, ...]:
        """Return the layers the token may view (``"*"``: any layer); () standalone."""
        ...

    def listed_layers(self) -> tuple[str, ...] | None:
        """Return the layers the server lists for this token, its own included, kept current
        while connected (a :class:`~lamina.client.events.LayersListed` event reports each
        new list); None standalone or before the server answered."""
        ...

    def may_view_layer(self, name: str) -> bool:
        """Return whether :meth:`view_layer` may be asked for ``name``."""
        ...

    def viewed_layers(self) -> list[str]:
        """Return the other layers being viewed, in the order they were asked for."""
        ...

    async def view_layer(self, name: str) -> list[Record]:
        """Show another layer's records read-only; return them once they have arrived.

        Raises:
            LayerAccessError: the token may not view it, it is the own layer, or the document
                is standalone.
            AccessLostError: the connection stopped for good meanwhile.
        """
        ...

    def layer_records(self, name: str) -> list[Record]:
        """Return the records of a layer being viewed (the last known ones while offline).

        Raises:
            LayerAccessError: the layer is not being viewed.
        """
        ...

    def hide_layer(self, name: str) -> None:
        """Stop showing another layer; its records are forgotten."""
        ...

    # --- connection and presence (a standalone document stays OFFLINE, alone) --------------

    @property
    def connection_state(self) -> ConnectionState:
        """Where the connection to the server stands."""
        ...

    @property
    def connection_reason(self) -> str:
        """Why the connection is in its state (one lowercase line, may be empty)."""
        ...

    def connect(self) -> None:
        """Start (or restart, after a stop) connecting in the background."""
        ...

    async def disconnect(self) -> None:
        """Stop syncing and stay offline; edits continue to the local store."""
        ...

    def adopt_server_state(self) -> None:
        """After a ``ServerBehind`` event: take the server's state and send the outbox again.

        Raises:
            ServerBehindError: the server is not behind (nothing to adopt).
        """
        ...

    @property
    def peers(self) -> tuple[Peer, ...]:
        """Other clients connected to the layer."""
        ...

    def set_presence(self, state: Mapping[str, Any]) -> None:
        """Tell the others who this user is and where (name, color, page, cursor)."""
        ...

    # --- export ----------------------------------------------------------------------------

    def export_instant_json(self, layers: Iterable[str] = ()) -> dict[str, Any]:
        """Return what the user sees as an Instant JSON diff against the original PDF.

        ``layers`` merges in what other layers being viewed made themselves.

        Raises:
            LayerAccessError: a named layer is not being viewed.
        """
        ...

    async def export_pdf(
        self, out_path: Path, *, flatten: bool = False, layers: Iterable[str] = ()
    ) -> None:
        """Write the PDF with what the user sees as standard annotations to ``out_path``.

        Raises:
            LayerAccessError: a named layer is not being viewed.
            DocumentUnavailableError: a review's PDF is not downloaded yet.
        """
        ...

    async def pdf_bytes(self) -> bytes:
        """Return the PDF: the file, the cached copy, or (a review) wait for its download.

        Raises:
            DocumentUnavailableError: not cached and the connection stopped for good.
        """
        ...

    # --- closing ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop syncing and close the store; pending changes stay in it for next time."""
        ...
