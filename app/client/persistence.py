"""The write-through from a client session to its local store (DESIGN §4 rule 6, sync §6.1).

:func:`load_state` rebuilds a session's persistent state from a
:class:`~lamina.client.store.LocalStore`; a :class:`StateWriter` then writes to the store
whatever the session changed since the last write (records, outbox, sent marks, conflicts,
the sequence position), as the session's containers report it, so each write touches only
what changed. A local edit is durable once :meth:`StateWriter.persist` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.client.store import LocalStore, StoredConflict
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
        replica, outbox = state.replica, state.outbox
        if replica is not self._tracked[0]:
            replica.rewritten = True
        if outbox is not self._tracked[1]:
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
            return
        with self._store.write() as w:
            if replica.rewritten:
                w.replace_records(r.to_store() for r in replica.values())
            elif touched:
                put = [r for rid in touched if (r := replica.get(rid)) is not None]
                gone = [rid for rid in touched if rid not in replica]
                if put:
                    w.put_records(r.to_store() for r in put)
                if gone:
                    w.delete_records(gone)
            if outbox.rewritten:
                w.clear_outbox()
            if acked:
                w.remove_changes(acked)
            if changed:
                w.put_changes(c.to_wire() for c in changed)
            if sent:
                w.mark_sent(sent)
            for conflict in new_conflicts:
                at = self._times.setdefault(conflict.change_id, utc_now_iso())
                w.add_conflict(
                    StoredConflict(
                        conflict.change_id, conflict.record_id, _conflict_to_store(conflict, at)
                    )
                )
            for cid in old_conflicts:
                w.remove_conflict(cid)
            if seq != self._seq:
                w.set_meta("last_seq", state.last_seq)
                w.set_meta("layer_epoch", state.layer_epoch)
        self._saved(state)
        self._conflicts = set(conflicts_now)
        self._seq = seq


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
