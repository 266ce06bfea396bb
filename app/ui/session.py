"""The bridge from an open client document to Qt: records, undo, and events as signals.

:class:`DocumentSession` wraps an :mod:`lamina.client` document. It keeps a mirror of the
records the user sees (for painting and hit tests), records the user's own changes in the
:class:`~lamina.model.undo.UndoHistory`, and re-emits client events as Qt signals on the GUI
thread (the qasync loop runs on it, so client callbacks already arrive there).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lamina.client.events import (
    ChangeRejected,
    ConflictAdded,
    ConflictRemoved,
    ConnectionState,
    ConnectionStateChanged,
    DocumentSaved,
    LayerRecordsChanged,
    PresenceChanged,
    RecordsChanged,
    ServerBehind,
    SyncStateChanged,
)
from lamina.model.errors import LaminaError
from lamina.model.ids import RecordId
from lamina.model.records import Annotation, Comment, Record
from lamina.model.undo import Change, Create, Delete, UndoHistory, Update
from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class DocumentSession(QObject):
    """One open document: its records, the user's undo history, and its sync state.

    Args:
        client_doc: the :mod:`lamina.client` document (standalone or joined by invite).
        pdf_path: where the PDF is on disk (the cached copy for a review).
        title: what the window title shows.

    Signals:
        records_changed(str): records changed; the argument is ``local`` or ``remote``.
        connection_changed(str, str): the connection state (``online``, ``offline``,
            ``reconnecting``, ...) and why.
        sync_changed(int): the number of changes not yet saved (0 = all saved).
        presence_changed(object): the tuple of :class:`~lamina.client.events.Peer` connected.
        conflicts_changed(): the conflict list changed.
        change_rejected(str): the server refused a change; the text says why.
        server_behind(str): the server has lost changes this replica saw; syncing stopped.
        saved(str): the annotations were written into the PDF at this path.
        layer_changed(str): the records of another layer being viewed changed (or it was
            hidden); the argument is the layer.
    """

    records_changed = Signal(str)
    connection_changed = Signal(str, str)
    sync_changed = Signal(int)
    presence_changed = Signal(object)
    conflicts_changed = Signal()
    change_rejected = Signal(str)
    server_behind = Signal(str)
    saved = Signal(str)
    layer_changed = Signal(str)

    def __init__(
        self,
        client_doc: Any,
        pdf_path: Path,
        title: str,
        password: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.client = client_doc
        self.pdf_path = pdf_path
        self.title = title
        self.password = password
        self.history = UndoHistory()
        self.connection = ConnectionState.OFFLINE.value
        self.connection_reason = ""
        self.pending = int(getattr(client_doc, "pending_count", 0))
        state = getattr(client_doc, "connection_state", None)
        if isinstance(state, ConnectionState):
            self.connection = state.value
        self.standalone = bool(getattr(client_doc, "standalone", True))
        self.peers: tuple[Any, ...] = tuple(getattr(client_doc, "peers", ()))
        self._records: dict[RecordId, Record] = {r.id: r for r in client_doc.records()}
        self.base: dict[RecordId, Record] = {
            r.id: r for r in self._records.values() if r.pdf_object_id is not None
        }
        """The PDF's own annotations as opened: what an Instant JSON export is a diff against."""
        self.created_here: set[RecordId] = set()
        """Records the user created in this session (theirs, whatever the server says)."""
        self.other_layers: dict[str, list[Record]] = {}
        """Records of the other layers being viewed read-only, by layer."""
        self._unsubscribe: Any = client_doc.subscribe(self._on_event)

    # -- reading ------------------------------------------------------------------------

    def records(self) -> list[Record]:
        """Return every record the user sees, in a stable order (creation order)."""
        return list(self._records.values())

    def annotations(self) -> list[Annotation]:
        return [r for r in self._records.values() if isinstance(r, Annotation)]

    def comments_of(self, root_id: str) -> list[Comment]:
        return [
            r for r in self._records.values() if isinstance(r, Comment) and r.root_id == root_id
        ]

    def get(self, record_id: RecordId) -> Record | None:
        return self._records.get(record_id)

    # -- other layers (viewed read-only) --------------------------------------------------

    @property
    def own_layer(self) -> str:
        """Return this document's own layer (``""``: the shared layer, or a local PDF)."""
        if self.standalone:
            return ""
        return str(getattr(self.client, "layer", "") or "")

    def viewable_layers(self) -> tuple[str, ...]:
        """Return the token's ``view_layers`` claim (``"*"``: any layer); () for a local PDF."""
        getter = getattr(self.client, "available_layers", None)
        if self.standalone or not callable(getter):
            return ()
        try:
            return tuple(getter())
        except LaminaError:
            return ()

    def may_view_layer(self, name: str) -> bool:
        check = getattr(self.client, "may_view_layer", None)
        return bool(not self.standalone and callable(check) and check(name))

    async def view_layer(self, name: str) -> list[Record]:
        """Show another layer read-only; return its records once they arrived.

        Raises:
            LaminaError: the token may not view it, or the review stopped.
        """
        records = await self.client.view_layer(name)
        if name in self.client.viewed_layers():  # not hidden meanwhile
            self.other_layers[name] = list(records)
            self.layer_changed.emit(name)
        return list(records)

    def hide_layer(self, name: str) -> None:
        """Stop showing another layer (its records are forgotten)."""
        hide = getattr(self.client, "hide_layer", None)
        if callable(hide):
            hide(name)
        if self.other_layers.pop(name, None) is not None:
            self.layer_changed.emit(name)

    def layer_of_id(self, record_id: str) -> str | None:
        """Return the other layer a record shown read-only is on (None: the user's own)."""
        if record_id in self._records:
            return None
        for name, records in self.other_layers.items():
            if any(r.id == record_id for r in records):
                return name
        return None

    def layer_record(self, record_id: str) -> tuple[str, Record] | None:
        """Return ``(layer, record)`` of a record of another layer being viewed."""
        for name, records in self.other_layers.items():
            for record in records:
                if record.id == record_id:
                    return name, record
        return None

    # -- editing (recorded for undo) -------------------------------------------------------

    def create(self, record: Record, label: str | None = None) -> None:
        """Create ``record`` on the user's layer; one undo step."""
        self.created_here.add(record.id)
        self.history.record(Create(record), label)
        self._apply([Create(record)])

    def update(self, before: Record, after: Record, label: str | None = None) -> None:
        """Change a record from ``before`` to ``after``; one undo step."""
        self.history.record(Update(before, after), label)
        self._apply([Update(before, after)])

    def delete(self, record: Record, label: str | None = None) -> None:
        """Delete ``record`` (and the comments of its thread); one undo step."""
        changes: list[Change] = [Delete(c) for c in self.comments_of(record.id)]
        changes.append(Delete(record))
        self.history.begin(label or f"delete {record.type.rsplit('/', 1)[-1]}")
        for change in changes:
            self.history.record(change)
        self.history.commit()
        self._apply(changes)

    def apply_step(self, label: str, changes: list[Change]) -> None:
        """Apply several changes as one undo step (an import)."""
        if not changes:
            return
        self.history.begin(label)
        for change in changes:
            self.history.record(change)
        self.history.commit()
        self._apply(changes)

    def undo(self) -> bool:
        """Undo the user's last step; return whether anything changed."""
        changes = self.history.undo(self.get)
        self._apply(changes)
        return bool(changes)

    def redo(self) -> bool:
        changes = self.history.redo(self.get)
        self._apply(changes)
        return bool(changes)

    def _apply(self, changes: Iterable[Change]) -> None:
        # One user step is one edit gesture: with "intelligent" autosave it is saved once,
        # when the step ends, however many records it touched (a reply, a delete, an import).
        gesture = getattr(self.client, "gesture", None)
        if callable(gesture):
            with gesture():
                self._apply_changes(changes)
        else:
            self._apply_changes(changes)
        self.records_changed.emit("local")

    def _apply_changes(self, changes: Iterable[Change]) -> None:
        for change in changes:
            if isinstance(change, Create):
                self.client.create(change.record)
                self._records[change.record.id] = change.record
            elif isinstance(change, Update):
                self.client.replace(change.after)
                self._records[change.after.id] = change.after
            else:
                self.client.delete(change.record.id)
                self._records.pop(change.record.id, None)

    def restore(self, records: dict[RecordId, Record]) -> int:
        """Make ``records`` (a copy kept earlier) live again; return how many were sent.

        A record missing now is created again and one that differs gets the kept version; a
        record created since (by anyone) stays. Not an undo step: it restores a past state.
        """
        changes: list[Change] = []
        for record_id, record in records.items():
            now = self._records.get(record_id)
            if now is None:
                changes.append(Create(record))
            elif now != record:
                changes.append(Update(now, record))
        # Threads before their comments, so a comment never arrives before its root.
        changes.sort(key=lambda c: isinstance(getattr(c, "record", None), Comment))
        if changes:
            self._apply(changes)
        return len(changes)

    # -- preferences ----------------------------------------------------------------------

    def set_autosave(self, mode: str) -> None:
        """Use autosave ``mode`` (``immediate``, ``intelligent``, ``disabled``) for a review.

        A local PDF keeps its own rule: edits are kept in the local store at once and written
        into the PDF only on Ctrl+S, so its mode does not change here.
        """
        from lamina.client.document import AutosaveMode

        setter = getattr(self.client, "set_autosave", None)
        if not self.standalone and callable(setter):
            setter(AutosaveMode(mode))

    @property
    def autosave(self) -> str:
        """Return the client's autosave mode name (``immediate``, ``intelligent``, ...)."""
        mode = getattr(self.client, "autosave", None)
        return str(getattr(mode, "value", mode or ""))

    def set_presence(self, name: str, color: str) -> None:
        """Tell the others in a review this user's (new) name and colour."""
        setter = getattr(self.client, "set_presence", None)
        if not self.standalone and callable(setter):
            setter({"name": name, "color": color})

    # -- client events --------------------------------------------------------------------

    def _on_event(self, event: object) -> None:
        if isinstance(event, RecordsChanged):
            for record in event.records:
                if record.pdf_object_id is not None and record.id not in self._records:
                    self.base.setdefault(record.id, record)
                self._records[record.id] = record
            for record_id in event.deleted:
                self._records.pop(record_id, None)
            if event.origin == "remote":
                self.records_changed.emit("remote")
        elif isinstance(event, ConnectionStateChanged):
            self.connection = event.state.value
            self.connection_reason = event.reason
            self.connection_changed.emit(event.state.value, event.reason)
        elif isinstance(event, SyncStateChanged):
            self.pending = event.pending
            self.sync_changed.emit(event.pending)
        elif isinstance(event, PresenceChanged):
            self.peers = event.peers
            self.presence_changed.emit(event.peers)
        elif isinstance(event, ConflictAdded | ConflictRemoved):
            self.conflicts_changed.emit()
        elif isinstance(event, ChangeRejected):
            self.change_rejected.emit(event.reason)
        elif isinstance(event, ServerBehind):
            self.server_behind.emit(event.message)
        elif isinstance(event, DocumentSaved):
            self.saved.emit(event.path)
        elif isinstance(event, LayerRecordsChanged):
            self.other_layers[event.layer] = list(event.records)
            self.layer_changed.emit(event.layer)

    def close(self) -> None:
        """Stop listening to the client document and close it in the background.

        Pending edits stay in the local store: reopening the file shows them again.
        """
        if callable(self._unsubscribe):
            self._unsubscribe()
            self._unsubscribe = None
            from lamina.ui.documents import close_later

            close_later(self.client)
