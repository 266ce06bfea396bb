"""The write-through from a client session to its local store (DESIGN §4 rule 6, sync §6.1).

:func:`load_state` rebuilds a session's persistent state from a
:class:`~lamina.client.store.LocalStore`; a :class:`StateWriter` then writes to the store
whatever the session changed since the last write (records, outbox, sent marks, conflicts,
the sequence position), as the session's containers report it, so each write touches only
what changed. A local edit is durable once :meth:`StateWriter.persist` returns.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Mapping
from typing import Any

from lamina.client.store import (
    LocalStore,
    StoredConflict,
    StoreWriter,
    change_rows,
    record_rows,
)
from lamina.model.ids import RecordId, new_record_id
from lamina.model.timestamps import utc_now_iso
from lamina.sync.local_replica import ClientState, Conflict
from lamina.sync.outbox import Outbox, TrackedIds, TrackedRecords
from lamina.sync.state import RecordState, change_from_wire


def load_state(store: LocalStore) -> tuple[ClientState, dict[str, str]]:
    """Return the session state the store holds, and when each conflict was learnt of.

    A store that was never used gets a new client id (written at once).
    """
    snap = store.load()
    client_id = snap.meta.get("client_id")
    state = ClientState(
        client_id=client_id or str(new_record_id()),
        last_seq=snap.meta.get("last_seq"),
        layer_epoch=snap.meta.get("layer_epoch"),
        replica=TrackedRecords(
            (RecordId(k), RecordState.from_store(v)) for k, v in snap.records.items()
        ),
        outbox=Outbox(change_from_wire(c, "outbox") for c in snap.outbox),
        sent_change_ids=TrackedIds(snap.sent_change_ids),
    )
    times: dict[str, str] = {}
    for stored in snap.conflicts:
        conflict, at = _conflict_from_store(stored.value)
        state.conflicts.append(conflict)
        times[conflict.change_id] = at
    if client_id is None:
        with store.write() as w:
            w.set_meta("client_id", state.client_id)
    return state, times


class StateWriter:
    """Writes a session's state to its store, only what changed since the last write.

    The replica, the outbox and the sent marks remember what changed
    (:mod:`lamina.sync.outbox`), so a persist after one edit writes that edit's rows and
    costs the same with 100 records or 100,000 (DESIGN §7). A snapshot (the replica cleared
    and refilled) rewrites the records in one transaction.

    Args:
        store: the local store.
        state: the session's state as loaded (what the store holds now).
        conflict_times: when each conflict was learnt of, by change id; a new conflict
            without an entry gets the current time (and the entry).
    """

    def __init__(
        self, store: LocalStore, state: ClientState, conflict_times: dict[str, str]
    ) -> None:
        self._store = store
        self._times = conflict_times
        # The state as loaded is what the store holds: from here on, track what changes.
        self._saved(state)
        self._conflicts: set[str] = {c.change_id for c in state.conflicts}
        self._seq = (state.last_seq, state.layer_epoch)
        self._pending_conflicts = self._conflicts
        self._pending_seq = self._seq
        self._lost = False
        """A write behind failed: the next write rewrites every record and change."""

    def _saved(self, state: ClientState) -> None:
        state.replica.saved()
        state.outbox.saved()
        state.sent_change_ids.saved()
        # A container assigned anew (``state.outbox = [...]``) is a rewrite: recognise it.
        self._tracked = (state.replica, state.outbox)

    def persist(self, state: ClientState) -> None:
        """Write to the store whatever ``state`` changed since the last persist.

        Raises:
            StoreError: the write failed; nothing of it is kept, and the next persist
                writes it again.
        """
        planned = self._plan(state)
        if planned is None:
            return
        fill, _records_only = planned
        with self._store.write() as w:
            fill(w)
        self._written(state)

    def persist_behind(self, state: ClientState) -> concurrent.futures.Future[None] | None:
        """Write what ``state`` changed on the store's own thread (:meth:`LocalStore.write_behind`).

        Return the future of that write (None: nothing to write). Only records, the outbox
        and the sent marks go behind; a change of the conflicts or the sequence position is
        written here and now, as :meth:`persist` does. A write behind that fails makes the
        next write a whole one (every record and change again), so nothing of it is lost
        unless the process dies first; it was never reported durable.

        Raises:
            StoreError: a write made here failed (as :meth:`persist`).
        """
        planned = self._plan(state)
        if planned is None:
            return None
        fill, records_only = planned
        if not records_only:
            with self._store.write() as w:
                fill(w)
            self._written(state)
            done: concurrent.futures.Future[None] = concurrent.futures.Future()
            done.set_result(None)
            return done
        future = self._store.write_behind(fill)
        self._written(state)

        def ended(f: concurrent.futures.Future[None]) -> None:
            if f.exception() is not None:
                self._lost = True  # read on the caller's thread by the next _plan

        future.add_done_callback(ended)
        return future

    def _plan(self, state: ClientState) -> tuple[Callable[[StoreWriter], None], bool] | None:
        """Return the writes that bring the store up to ``state`` (encoded now) and whether
        they touch only records, the outbox and sent marks; None: nothing changed."""
        replica, outbox = state.replica, state.outbox
        if replica is not self._tracked[0] or self._lost:
            replica.rewritten = True
        if outbox is not self._tracked[1] or self._lost:
            outbox.rewritten = True
        touched = replica.unsaved()
        changed, acked = outbox.unsaved()
        sent = {cid for cid in state.sent_change_ids.unsaved() if cid in outbox}
        if outbox.rewritten:
            sent = {c.change_id for c in outbox if c.change_id in state.sent_change_ids}
        conflicts_now = {c.change_id: c for c in state.conflicts}
        new_conflicts = [c for cid, c in conflicts_now.items() if cid not in self._conflicts]
        old_conflicts = [cid for cid in self._conflicts if cid not in conflicts_now]
        seq = (state.last_seq, state.layer_epoch)
        if (
            not (
                touched
                or changed
                or acked
                or sent
                or new_conflicts
                or old_conflicts
                or replica.rewritten
                or outbox.rewritten
            )
            and seq == self._seq
        ):
            return None
        # Encoded here: the session may change its values as soon as this returns.
        put: list[tuple[str, str]] = []
        gone: list[RecordId] = []
        if replica.rewritten:
            put = record_rows(r.to_store() for r in replica.values())
        elif touched:
            put = record_rows(
                r.to_store() for rid in touched if (r := replica.get(rid)) is not None
            )
            gone = [rid for rid in touched if rid not in replica]
        changes = change_rows(c.to_wire() for c in changed)
        stored_conflicts = [
            StoredConflict(
                c.change_id,
                c.record_id,
                _conflict_to_store(c, self._times.setdefault(c.change_id, utc_now_iso())),
            )
            for c in new_conflicts
        ]
        rewrite_records, rewrite_outbox = replica.rewritten, outbox.rewritten
        acked_ids, sent_ids = list(acked), list(sent)
        last_seq, layer_epoch = state.last_seq, state.layer_epoch
        seq_changed = seq != self._seq

        def fill(w: StoreWriter) -> None:
            if rewrite_records:
                w.replace_record_rows(put)
            else:
                if put:
                    w.put_record_rows(put)
                if gone:
                    w.delete_records(gone)
            if rewrite_outbox:
                w.clear_outbox()
            if acked_ids:
                w.remove_changes(acked_ids)
            if changes:
                w.put_change_rows(changes)
            if sent_ids:
                w.mark_sent(sent_ids)
            for conflict in stored_conflicts:
                w.add_conflict(conflict)
            for cid in old_conflicts:
                w.remove_conflict(cid)
            if seq_changed:
                w.set_meta("last_seq", last_seq)
                w.set_meta("layer_epoch", layer_epoch)

        records_only = not (new_conflicts or old_conflicts or seq_changed)
        self._pending_conflicts = set(conflicts_now)
        self._pending_seq = seq
        return fill, records_only

    def _written(self, state: ClientState) -> None:
        """Take the planned writes as made (or, behind, as given to the store's thread)."""
        self._saved(state)
        self._lost = False
        self._conflicts = self._pending_conflicts
        self._seq = self._pending_seq


def _conflict_to_store(conflict: Conflict, at: str) -> dict[str, Any]:
    return {
        "change_id": conflict.change_id,
        "record_id": conflict.record_id,
        "status": conflict.status,
        "mine": None if conflict.mine is None else dict(conflict.mine),
        "theirs": None if conflict.theirs is None else conflict.theirs.to_store(),
        "lost": dict(conflict.lost),
        "lost_unset": list(conflict.lost_unset),
        "lost_group": conflict.lost_group,
        "kind": conflict.kind,
        "at": at,
    }


def _conflict_from_store(value: Mapping[str, Any]) -> tuple[Conflict, str]:
    theirs = value.get("theirs")
    return (
        Conflict(
            change_id=value["change_id"],
            record_id=RecordId(value["record_id"]),
            status=value["status"],
            mine=value.get("mine"),
            theirs=None if theirs is None else RecordState.from_store(theirs),
            lost=value.get("lost", {}),
            lost_unset=tuple(value.get("lost_unset", ())),
            lost_group=value.get("lost_group"),
            kind=value.get("kind", "annotation"),
        ),
        str(value.get("at", "")),
    )
