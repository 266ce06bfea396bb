"""Local edits of a document's own layer, and when they are saved (the autosave mode).

An :class:`Editor` turns a create, update or delete into a change of the sans-I/O session,
makes it durable in the local store before returning (sync §6.1), reports it to subscribers,
and asks the document's :class:`~lamina.client.upstream.Upstream` to save it when the
:class:`~lamina.client.port.AutosaveMode` says so: at once, when the edit gesture ends, or
only on an explicit save.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterable, Mapping
from typing import Any

from lamina.client.errors import ClientError, ReadOnlyLayerError
from lamina.client.events import ConflictRemoved, SyncStateChanged
from lamina.client.port import AutosaveMode, LocalEdit
from lamina.client.replica import Replica, kind_of_content
from lamina.client.upstream import Upstream
from lamina.model.diff import FIXED_KEYS, key_changes
from lamina.model.ids import RecordId, new_record_id
from lamina.model.records import Record, form_field_value_id, record_to_json
from lamina.sync.errors import SyncError
from lamina.sync.state import Change


class Editor:
    """Applies the user's edits to a replica and saves them per the autosave mode.

    Attributes:
        autosave: the mode (change it with :meth:`set_autosave`).
    """

    def __init__(self, replica: Replica, upstream: Upstream, autosave: AutosaveMode) -> None:
        self._replica = replica
        self._session = replica.session
        self._upstream = upstream
        self.autosave = autosave
        self._gesture_depth = 0
        self._saving = 0
        self._update_paused()

    # --- edits ----------------------------------------------------------------------------

    def create(self, record: Record | Mapping[str, Any], group: str | None) -> LocalEdit:
        content = record_to_json(record) if isinstance(record, Record) else dict(record)
        kind = kind_of_content(content)
        record_id: str | None = None
        if kind == "form-field-value":
            # One value per field and layer: its id comes from the field's name (records.py).
            record_id = record.id if isinstance(record, Record) else None
            record_id = record_id or form_field_value_id(str(content.get("name", "")))
        elif not content.get("id"):
            content["id"] = new_record_id()
        try:
            change = self._session.create(kind, content, group, record_id=record_id)
        except SyncError as exc:
            raise ClientError(str(exc)) from exc
        return self._after_local(change, None)

    def update(
        self,
        record_id: str,
        set_: Mapping[str, Any],
        unset: Iterable[str],
        group: str | None,
    ) -> LocalEdit:
        unset = list(unset)
        if any(k in FIXED_KEYS for k in (*set_, *unset)):
            raise ClientError("a record's id and type cannot change")
        self.refuse_other_layer(RecordId(record_id))
        before = self._replica.record(record_id)
        try:
            change = self._session.update(record_id, dict(set_), unset, group)
        except SyncError as exc:
            raise ClientError(str(exc)) from exc
        return self._after_local(change, before)

    def replace(self, record: Record) -> LocalEdit:
        self.require_own(record.id)
        changes = key_changes(self._replica.view[record.id], record_to_json(record))
        return self.update(record.id, changes.set, changes.unset, None)

    def delete(self, record_id: str) -> LocalEdit:
        self.refuse_other_layer(RecordId(record_id))
        before = self._replica.record(record_id)
        try:
            change = self._session.delete(record_id)
        except SyncError as exc:
            raise ClientError(str(exc)) from exc
        return self._after_local(change, before)

    def reapply_conflict(self, conflict_id: str) -> LocalEdit:
        found = [c for c in self._session.state.conflicts if c.change_id == conflict_id]
        if not found:
            raise ClientError(f"no conflict {conflict_id}")
        before = self._replica.record(found[0].record_id)
        try:
            change = self._session.reapply_conflict(conflict_id)
        except SyncError as exc:
            raise ClientError(str(exc)) from exc
        self._replica.conflict_times.pop(conflict_id, None)
        edit = self._after_local(change, before)
        self._replica.emit(ConflictRemoved(conflict_id))
        return edit

    def dismiss_conflict(self, conflict_id: str) -> None:
        self._session.dismiss_conflict(conflict_id)
        self._replica.conflict_times.pop(conflict_id, None)
        self._replica.persist()
        self._replica.emit(ConflictRemoved(conflict_id))

    def _after_local(self, change: Change, before: Record | None) -> LocalEdit:
        # The outbox reaches SQLite before the caller hears of the change (§6.1); written
        # behind (a GUI's edits), before it can be sent or saved: every send persists first,
        # which waits for the writes behind.
        durable = None
        if self._replica.write_behind:
            durable = self._replica.persist_behind()
        else:
            self._replica.persist()
        rid = change.record_id
        self._replica.refresh([rid], origin="local")
        self._replica.emit(SyncStateChanged(self._session.pending_count))
        if self.autosave is AutosaveMode.IMMEDIATE or (
            self.autosave is AutosaveMode.INTELLIGENT and self._gesture_depth == 0
        ):
            self._flush_when_durable(durable)
        return LocalEdit(change.change_id, rid, before, self._replica.record(rid))

    def _flush_when_durable(self, durable: concurrent.futures.Future[None] | None) -> None:
        if durable is None or durable.done():
            self._flush_if_written(durable)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to come back to: wait here
            concurrent.futures.wait([durable])
            self._flush_if_written(durable)
            return
        durable.add_done_callback(lambda f: loop.call_soon_threadsafe(self._flush_if_written, f))

    def _flush_if_written(self, durable: concurrent.futures.Future[None] | None) -> None:
        # A failed write was logged (Replica); the next edit writes it again and flushes.
        if durable is None or durable.exception() is None:
            self._upstream.flush()

    # --- records of this layer only -------------------------------------------------------

    def require_own(self, rid: RecordId) -> None:
        """Refuse a record that is not in this layer's view.

        Raises:
            ReadOnlyLayerError: it is on another layer, only viewed here.
            ClientError: no such record.
        """
        if rid in self._replica.view:
            return
        self.refuse_other_layer(rid)
        raise ClientError(f"record {rid} does not exist")

    def refuse_other_layer(self, rid: RecordId) -> None:
        """Refuse an edit of a record of another layer, viewed read-only (sync §5.3).

        Raises:
            ReadOnlyLayerError: ``rid`` is not this layer's and is on a layer being viewed.
        """
        if rid in self._replica.view:
            return
        name = self._upstream.layer_of(rid)
        if name is not None:
            raise ReadOnlyLayerError(
                f"record {rid} is in layer {name!r}, which is only viewed here: it cannot "
                "be changed"
            )

    # --- gestures and autosave ------------------------------------------------------------

    def begin_gesture(self) -> None:
        self._gesture_depth += 1
        self._update_paused()

    def end_gesture(self) -> None:
        self._gesture_depth = max(0, self._gesture_depth - 1)
        self._update_paused()
        if self._gesture_depth == 0 and self.autosave is AutosaveMode.INTELLIGENT:
            self._upstream.flush()

    def set_autosave(self, mode: AutosaveMode) -> None:
        self.autosave = mode
        self._update_paused()
        if mode is AutosaveMode.IMMEDIATE and self._session.pending_count:
            self._upstream.flush()

    async def save(self) -> None:
        """Save everything now, whatever the mode (the outbox goes even when held)."""
        self._saving += 1
        self._update_paused()
        try:
            await self._upstream.save()
        finally:
            self._saving -= 1
            self._update_paused()

    def _update_paused(self) -> None:
        """Hold the outbox while the mode says nothing may be sent yet.

        ``DISABLED`` sends only during :meth:`save` (not even after a reconnect, which
        would otherwise send the outbox, sync §3.6); ``INTELLIGENT`` holds it during a
        gesture, so a drag goes as one change when it ends.
        """
        mode = self.autosave
        self._session.paused = self._saving == 0 and (
            mode is AutosaveMode.DISABLED
            or (mode is AutosaveMode.INTELLIGENT and self._gesture_depth > 0)
        )
