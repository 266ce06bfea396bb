"""What a reviewer's window shows, as a Qt-free model that reports what changed (napari's model).

:class:`ReviewModel` wraps one open client document. It keeps:

- the records of the user's own layer in a stable order (creation order; a changed record
  keeps its place), indexed by id and by page;
- the other layers viewed read-only (their overlays) and which layers are visible;
- comment threads (root annotation → its comments, in order);
- what the user may do with each record shown, and the reason shown when not
  (:class:`~lamina.client.review_events.RecordFlags`), decided by the one permission
  evaluator of :mod:`lamina.auth` on the document's ``record_meta``, as the server decides;
- the user's undo history: one gesture is one step, and undo only reverses the user's own
  changes (:mod:`lamina.model.undo`); undo and redo edit the document.

Every change is reported to subscribers as an event of
:mod:`lamina.client.review_events` carrying the ids that changed. The user's own edits are
reported once per step, after the step; remote changes as they arrive. A subscriber that
raises is logged (``logger.exception``) and the others still hear the event.

The model never imports Qt: the desktop app's one Qt bridge re-emits its events as signals.

Example::

    model = ReviewModel(await LaminaDocument.open_local(path, pdf_backend=backend))
    model.subscribe(print)
    model.create(NoteAnnotation(id=new_record_id(), page_index=0, bbox=Rect(10, 10, 32, 32)))
    model.undo()
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import assert_never

from lamina.auth.permissions import PermissionEvaluator, RecordMeta
from lamina.client.errors import ClientError, LayerAccessError, ReadOnlyLayerError
from lamina.client.events import (
    ChangeRejected,
    Conflict,
    ConflictAdded,
    ConflictRemoved,
    ConnectionState,
    ConnectionStateChanged,
    DocumentSaved,
    Event,
    LayersListed,
    Origin,
    Peer,
    PresenceChanged,
    ServerBehind,
    SyncStateChanged,
)
from lamina.client.events import LayerRecordsChanged as DocumentLayerRecordsChanged
from lamina.client.events import RecordsChanged as DocumentRecordsChanged
from lamina.client.port import ReviewDocument
from lamina.client.review_edits import UserEdits
from lamina.client.review_events import (
    ChangeRefused,
    ConflictsChanged,
    ConnectionChanged,
    LayerRecordsChanged,
    LayerVisibilityChanged,
    PdfSaved,
    PeersChanged,
    PendingChanged,
    ReadOnlyChanged,
    RecordFlags,
    RecordsChanged,
    ReviewEvent,
    ServerFellBehind,
    ThreadsChanged,
)
from lamina.client.review_events import (
    LayersListed as LayersOffered,
)
from lamina.client.review_layers import LayerOverlays, LayerState
from lamina.client.review_permissions import NO_WRITE_REASON, record_flags
from lamina.client.review_records import IdChanges, RecordIndex
from lamina.model.ids import RecordId, new_record_id
from lamina.model.records import (
    Annotation,
    Comment,
    FormFieldValue,
    Record,
    Text,
    form_field_value_id,
)
from lamina.model.undo import Change, Create, Delete, UndoHistory, Update

log = logging.getLogger(__name__)

Subscriber = Callable[[ReviewEvent], None]


class ActionRefusedError(ClientError):
    """The user may not do this (the message is the reason the window shows)."""


class ReviewModel:
    """The records, overlays, threads, permissions and undo history of one open document.

    Args:
        document: the open client document (standalone or joined by invite). The model
            subscribes to it at once; :meth:`close` unsubscribes (closing the document stays
            its owner's job).
    """

    def __init__(self, document: ReviewDocument) -> None:
        self.document = document
        self._subscribers: list[Subscriber] = []
        self._records = RecordIndex(document.records())
        self._own_visible = True
        self._layers = LayerOverlays()
        self._read_only: str | None = None
        self._flags: dict[RecordId, RecordFlags] = {}
        self._batch: IdChanges | None = None
        self._edits = UserEdits(document, self.record, self._batched, self._emit)
        self._unsubscribe: Callable[[], None] | None = document.subscribe(self._on_event)

    # --- events -----------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with every event from now on; return the unsubscribe function."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event: ReviewEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                # One broken view must not keep the others stale; the error log shows it
                # (and fails the test that caused it).
                log.exception("review model subscriber %r failed on %r", callback, event)

    def close(self) -> None:
        """Stop listening to the document; subscribers hear nothing more."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._subscribers.clear()

    # --- the user's own layer ---------------------------------------------------------------

    @property
    def standalone(self) -> bool:
        """Whether this is a local PDF with no server."""
        return self.document.standalone

    @property
    def own_layer(self) -> str:
        """The user's own layer (``""``: the shared layer, or a local PDF)."""
        return "" if self.document.standalone else self.document.layer

    def records(self) -> list[Record]:
        """Return every record of the user's layer, in a stable order (creation order)."""
        return list(self._records)

    def record(self, record_id: str) -> Record | None:
        """Return a record of the user's layer, or None."""
        return self._records.get(record_id)

    def annotations(self) -> list[Annotation]:
        """Return the annotations of the user's layer (shown or not), in stable order."""
        return [r for r in self._records if isinstance(r, Annotation)]

    def find(self, record_id: str) -> tuple[str | None, Record] | None:
        """Return ``(layer, record)`` of a record shown: layer None for the user's own."""
        record = self._records.get(record_id)
        if record is not None:
            return None, record
        return self._layers.find(record_id)

    def layer_of(self, record_id: str) -> str | None:
        """Return the other layer a record shown read-only is on (None: the user's own)."""
        found = self._layers.find(record_id)
        return found[0] if found is not None else None

    # --- what is drawn ------------------------------------------------------------------------

    def visible_annotations(self) -> list[Annotation]:
        """Return what is drawn: the user's layer (unless hidden), then the layers shown."""
        out = self.annotations() if self._own_visible else []
        for _name, annotation in self.overlay_annotations():
            out.append(annotation)
        return out

    def page_annotations(self, page: int) -> list[Annotation]:
        """Return what is drawn on page ``page`` (0-based), in the order of
        :meth:`visible_annotations`."""
        out = self._records.page(page) if self._own_visible else []
        out.extend(annotation for _name, annotation in self._layers.page(page))
        return out

    def drawn_pages(self) -> list[int]:
        """Return the pages something is drawn on (see :meth:`page_annotations`), in order."""
        pages = set(self._records.pages()) if self._own_visible else set()
        pages.update(self._layers.pages())
        return sorted(pages)

    def overlay_annotations(self) -> list[tuple[str, Annotation]]:
        """Return ``(layer, annotation)`` of every other layer shown, in the order asked."""
        return self._layers.annotations()

    # --- other layers -------------------------------------------------------------------------

    def viewable_layers(self) -> tuple[str, ...]:
        """Return the token's ``view_layers`` (``"*"``: any layer); () for a local PDF."""
        if self.document.standalone:
            return ()
        return self.document.available_layers()

    def listed_layers(self) -> tuple[str, ...] | None:
        """Return the layers the server lists for this token, its own included (kept current
        while connected: :class:`~lamina.client.review_events.LayersListed` reports each new
        list); None for a local PDF, or until the server answered."""
        if self.document.standalone:
            return None
        return self.document.listed_layers()

    def may_view_layer(self, name: str) -> bool:
        """Return whether :meth:`show_layer` may be asked for another layer ``name``."""
        return not self.document.standalone and self.document.may_view_layer(name)

    def shown_layers(self) -> list[str]:
        """Return the other layers shown (loaded or loading), in the order they were asked."""
        return self._layers.names()

    def layer_state(self, name: str) -> LayerState:
        """Return whether a layer is ``hidden``, ``loading`` (asked for) or ``shown``."""
        if name == self.own_layer:
            return "shown" if self._own_visible else "hidden"
        return self._layers.state(name)

    def layer_visible(self, name: str) -> bool:
        """Return whether a layer is shown (or, for another layer, asked for)."""
        return self.layer_state(name) != "hidden"

    def layer_records(self, name: str) -> list[Record]:
        """Return the records of another layer shown that the user does not have.

        A layer starts as a copy of the PDF's own annotations: those copies (the ids of the
        user's own records or of the PDF's) are left out, so nothing is drawn twice. Empty
        while the layer is hidden or loading.
        """
        return self._layers.records(name)

    async def show_layer(self, name: str) -> None:
        """Show a layer: the user's own again, or another one read-only (once it arrived).

        Reports :class:`LayerVisibilityChanged` at once, then :class:`LayerRecordsChanged`
        when the records are in. Offline, this waits for the connection. Hidden meanwhile,
        it returns quietly and shows nothing.

        Raises:
            LayerAccessError: the token may not view that layer (it is hidden again).
            AccessLostError: the connection stopped for good meanwhile.
        """
        if name == self.own_layer:
            self._set_own_visible(True)
            return
        ticket = self._layers.ask(name)
        if ticket is None:
            return
        self._emit(LayerVisibilityChanged(name, True))
        try:
            records = await self.document.view_layer(name)
        except LayerAccessError:
            if not self._layers.is_current(name, ticket):
                return  # hidden while loading: the document's "was hidden" is no error
            self._give_up_layer(name)
            raise
        except BaseException:
            if self._layers.is_current(name, ticket):
                self._give_up_layer(name)
            raise
        if self._layers.is_current(name, ticket):
            self._set_layer_records(name, records)

    def hide_layer(self, name: str) -> None:
        """Hide a layer: the user's own (still editable when shown again), or another one
        (its records are forgotten).

        For another layer this reports :class:`LayerRecordsChanged` (the ids removed) and
        :class:`ThreadsChanged` if it had any, then :class:`LayerVisibilityChanged`.
        """
        if name == self.own_layer:
            self._set_own_visible(False)
            return
        if name not in self._layers:
            return
        self.document.hide_layer(name)
        old = self._layers.forget(name)
        self._flags.clear()
        if old:
            self._emit(LayerRecordsChanged(name, removed=tuple(r.id for r in old)))
            self._emit_threads(r.root_id for r in old if isinstance(r, Comment))
        self._emit(LayerVisibilityChanged(name, False))

    def _give_up_layer(self, name: str) -> None:
        self._layers.forget(name)
        self.document.hide_layer(name)
        self._emit(LayerVisibilityChanged(name, False))

    def _set_own_visible(self, visible: bool) -> None:
        if visible != self._own_visible:
            self._own_visible = visible
            self._emit(LayerVisibilityChanged(self.own_layer, visible))

    def _set_layer_records(self, name: str, records: Iterable[Record]) -> None:
        records_ = self._records
        event, roots = self._layers.set_records(
            name, records, lambda rid: rid in records_ or records_.is_pdf(rid)
        )
        if event is not None:
            self._flags.clear()
            self._emit(event)
            self._emit_threads(sorted(roots))

    # --- threads ------------------------------------------------------------------------------

    def thread(self, root_id: str) -> list[Comment]:
        """Return the comments of a thread in order: the user's, then each layer shown's."""
        return [*self._records.thread(root_id), *self._layers.comments(root_id)]

    def threads(self) -> dict[RecordId, list[Comment]]:
        """Return every thread that has comments: root id → its comments, in order."""
        roots = dict.fromkeys([*self._records.roots(), *self._layers.roots()])
        return {root: self.thread(root) for root in roots}

    def thread_root(self, record_id: str) -> Annotation | None:
        """Return the annotation a record's thread hangs on: the record itself, or a
        comment's root (None when it is not shown)."""
        found = self.find(record_id)
        record = found[1] if found is not None else None
        if isinstance(record, Comment):
            found = self.find(record.root_id)
            record = found[1] if found is not None else None
        return record if isinstance(record, Annotation) else None

    def _emit_threads(self, roots: Iterable[RecordId]) -> None:
        ids = tuple(dict.fromkeys(roots))
        if ids:
            self._emit(ThreadsChanged(ids))

    # --- permissions --------------------------------------------------------------------------

    @property
    def read_only_reason(self) -> str | None:
        """Why nothing in the document may be changed, or None when it may be.

        Set by :meth:`set_read_only` (a PDF that forbids annotating), or a review whose
        token lacks the ``write`` permission.
        """
        if self._read_only is not None:
            return self._read_only
        if not self.document.claims().has("write"):
            return NO_WRITE_REASON
        return None

    def set_read_only(self, reason: str | None) -> None:
        """Make the whole document read-only for ``reason`` (or editable again: None)."""
        before = self.read_only_reason
        self._read_only = reason
        if self.read_only_reason != before:
            self._flags.clear()
            self._emit(ReadOnlyChanged(self.read_only_reason))

    def permissions(self) -> PermissionEvaluator:
        """Return the evaluator of the token's permissions (the server enforces the same)."""
        return self.document.permissions()

    def flags(self, record_id: str) -> RecordFlags:
        """Return what the user may do with a record shown (edit, delete, reply) and why not."""
        rid = RecordId(record_id)
        cached = self._flags.get(rid)
        if cached is None:
            cached = self._flags[rid] = self._compute_flags(rid)
        return cached

    def _compute_flags(self, rid: RecordId) -> RecordFlags:
        found = self.find(rid)
        root = self.thread_root(rid)
        return record_flags(
            found[1] if found is not None else None,
            layer=found[0] if found is not None else None,
            root=root,
            root_layer=self.layer_of(root.id) if root is not None else None,
            read_only=self.read_only_reason,
            evaluator=self.permissions(),
            meta_of=self.document.record_meta,
        )

    def record_meta(self, record_id: str) -> RecordMeta:
        """Return what the permission rules know of a record of the user's layer.

        Raises:
            ReadOnlyLayerError: the record is on another layer being viewed.
            ClientError: no such record.
        """
        return self.document.record_meta(record_id)

    # --- editing (one step each; recorded for undo) -------------------------------------------

    @property
    def history(self) -> UndoHistory:
        """The user's undo history (read it; edit through the model)."""
        return self._edits.history

    def step(self, label: str) -> AbstractContextManager[None]:
        """Make every edit inside the ``with`` block one undo step, one document gesture
        and one event (a drag, a multi-record move).

        A step inside a step joins the outer one. A step that made no change is not kept.
        """
        return self._edits.step(label)

    def create(self, record: Record, label: str | None = None) -> Record:
        """Create ``record`` on the user's layer (a new id if it has none); one undo step.

        Returns the record as the document keeps it.

        Raises:
            ActionRefusedError: the document is read-only (the message says why).
            ClientError: the id exists already, or the document is closed.
        """
        if self.read_only_reason is not None:
            raise ActionRefusedError(f"Read-only: {self.read_only_reason}")
        if not record.id:
            record = dataclasses.replace(record, id=new_record_id())
        with self.step(label or f"create {_short_type(record)}"):
            self._edits.perform(Create(record))
        return self._records.get(record.id) or record

    def update(self, after: Record, label: str | None = None) -> None:
        """Make a record of the user's layer equal to ``after``; one undo step.

        Raises:
            ReadOnlyLayerError: the record is on another layer being viewed.
            ActionRefusedError: the user may not edit it (:attr:`RecordFlags.reason`).
            ClientError: no such record.
        """
        before = self._records.get(after.id)
        if before is None:
            raise self._missing(after.id)
        if before == after:
            return
        flags = self.flags(after.id)
        if not flags.edit:
            raise ActionRefusedError(flags.reason)
        with self.step(label or f"edit {_short_type(after)}"):
            self._edits.perform(Update(before, after))

    def delete(self, record_id: str, label: str | None = None) -> None:
        """Delete a record and the user's comments of its thread; one undo step.

        Raises:
            ReadOnlyLayerError: the record is on another layer being viewed.
            ActionRefusedError: the user may not delete it (:attr:`RecordFlags.reason`).
            ClientError: no such record.
        """
        record = self._records.get(record_id)
        if record is None:
            raise self._missing(record_id)
        flags = self.flags(record_id)
        if not flags.delete:
            raise ActionRefusedError(flags.reason)
        with self.step(label or f"delete {_short_type(record)}"):
            # Last comment first, so that undo brings the thread back in its order.
            for comment in reversed(self._records.thread(record.id)):
                self._edits.perform(Delete(comment))
            self._edits.perform(Delete(record))

    def fill(self, field_name: str, value: str | list[str] | None) -> None:
        """Set the value of the form field ``field_name`` on the user's layer; one undo step.

        The value travels as the field's ``pspdfkit/form-field-value`` record (created the
        first time), so it syncs like any record. Values take Instant JSON's shapes: text
        ``str``, check boxes and radio groups ``[on_state]`` or ``[]``, choices ``[option]``.

        Raises:
            ActionRefusedError: the document is read-only, or the token lacks
                ``form-fields:fill`` for this field (the message says why).
        """
        rid = form_field_value_id(field_name)
        before = self._records.get(rid)
        if before is None:
            self.create(FormFieldValue(id=rid, name=field_name, value=value), "fill form field")
            return
        if not isinstance(before, FormFieldValue):
            raise ClientError(f"record {rid} is not a form field value")
        if before.value == value:
            return
        self.update(dataclasses.replace(before, value=value), "fill form field")

    def reply(self, record_id: str, text: str, creator_name: str | None = None) -> Comment:
        """Add a comment to the thread of a record (or of a comment's root); one undo step.

        The root becomes a thread root if it is not one yet and the user may edit it.

        Raises:
            ActionRefusedError: the user may not reply there (the message says why).
        """
        flags = self.flags(record_id)
        root = self.thread_root(record_id)
        if not flags.reply or root is None:
            raise ActionRefusedError(flags.reply_reason or "Select an annotation to reply to")
        comment = Comment(
            id=new_record_id(),
            root_id=root.id,
            page_index=root.page_index,
            text=Text(text),
            creator_name=creator_name,
        )
        with self.step("reply"):
            if not root.is_comment_thread_root and self.flags(root.id).edit:
                self._edits.perform(
                    Update(root, dataclasses.replace(root, is_comment_thread_root=True))
                )
            self._edits.perform(Create(comment))
        kept = self._records.get(comment.id) or comment
        assert isinstance(kept, Comment)
        return kept

    def apply_step(self, label: str, changes: Sequence[Change]) -> None:
        """Apply several changes as one undo step (an import)."""
        with self.step(label):
            for change in changes:
                self._edits.perform(change)

    def undo(self) -> bool:
        """Undo the user's last step (only the fields they changed); return whether anything
        changed."""
        return self._edits.undo()

    def redo(self) -> bool:
        """Redo the last undone step; return whether anything changed."""
        return self._edits.redo()

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
        changes.sort(key=lambda c: isinstance(_record_of(c), Comment))
        self._edits.apply(changes)
        return len(changes)

    def _missing(self, record_id: str) -> ClientError:
        layer = self.layer_of(record_id)
        if layer is not None:
            return ReadOnlyLayerError(
                f"record {record_id} is in layer {layer!r}, which is only viewed here: it "
                "cannot be changed"
            )
        return ClientError(f"record {record_id} does not exist")

    @contextlib.contextmanager
    def _batched(self) -> Iterator[None]:
        """Collect the document's local record events into one; report it at the end."""
        if self._batch is not None:
            yield
            return
        batch = self._batch = IdChanges()
        try:
            with self.document.gesture():
                yield
        finally:
            self._batch = None
            if batch:
                self._emit(
                    RecordsChanged(
                        tuple(batch.added), tuple(batch.changed), tuple(batch.removed), "local"
                    )
                )
            self._emit_threads(batch.roots)

    # --- connection, saving, conflicts --------------------------------------------------------

    @property
    def connection(self) -> ConnectionState:
        return self.document.connection_state

    @property
    def connection_reason(self) -> str:
        """Why the connection is in its state (one lowercase line, may be empty)."""
        return self.document.connection_reason

    @property
    def pending(self) -> int:
        """How many of the user's changes are not saved yet."""
        return self.document.pending_count

    @property
    def peers(self) -> tuple[Peer, ...]:
        """The other people connected to the user's layer."""
        return self.document.peers

    def conflicts(self) -> list[Conflict]:
        """Return the user's versions that lost, oldest first."""
        return self.document.conflicts()

    def reapply_conflict(self, conflict_id: str) -> None:
        """Apply the user's version from the conflict list again (not an undo step).

        Raises:
            ClientError: no such conflict, or nothing left to re-apply.
        """
        with self._batched():
            self.document.reapply_conflict(conflict_id)

    def dismiss_conflict(self, conflict_id: str) -> None:
        """Drop an entry from the conflict list without applying it."""
        self.document.dismiss_conflict(conflict_id)

    # --- the document's events ----------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        self._flags.clear()
        if isinstance(event, DocumentRecordsChanged):
            self._on_records(event.records, event.deleted, event.origin)
        elif isinstance(event, DocumentLayerRecordsChanged):
            if event.layer in self._layers:
                self._set_layer_records(event.layer, event.records)
        elif isinstance(event, ConnectionStateChanged):
            self._emit(ConnectionChanged(event.state, event.reason))
        elif isinstance(event, SyncStateChanged):
            self._emit(PendingChanged(event.pending))
        elif isinstance(event, PresenceChanged):
            self._emit(PeersChanged(event.peers))
        elif isinstance(event, ConflictAdded):
            self._emit(ConflictsChanged(added=(event.conflict.conflict_id,)))
        elif isinstance(event, ConflictRemoved):
            self._emit(ConflictsChanged(removed=(event.conflict_id,)))
        elif isinstance(event, ChangeRejected):
            self._emit(ChangeRefused(event.change_id, event.record_id, event.reason))
        elif isinstance(event, ServerBehind):
            self._emit(ServerFellBehind(event.message))
        elif isinstance(event, DocumentSaved):
            self._emit(PdfSaved(event.path))
        elif isinstance(event, LayersListed):
            self._emit(LayersOffered(event.layers))
        else:
            # A new kind of document event must be translated here (mypy checks it).
            assert_never(event)

    def _on_records(
        self, records: Iterable[Record], deleted: Iterable[RecordId], origin: Origin
    ) -> None:
        added: list[RecordId] = []
        changed: list[RecordId] = []
        removed: list[RecordId] = []
        roots: set[RecordId] = set()
        for record in records:
            is_new, touched = self._records.put(record)
            (added if is_new else changed).append(record.id)
            roots |= touched
        for rid in deleted:
            was_there, touched = self._records.pop(rid)
            if was_there:
                removed.append(rid)
            roots |= touched
        if self._batch is not None and origin == "local":
            self._batch.add(added, changed, removed, sorted(roots))
            return
        if added or changed or removed:
            self._emit(RecordsChanged(tuple(added), tuple(changed), tuple(removed), origin))
        self._emit_threads(sorted(roots))


def _short_type(record: Record) -> str:
    return record.type.rsplit("/", 1)[-1]


def _record_of(change: Change) -> Record:
    return change.after if isinstance(change, Update) else change.record
