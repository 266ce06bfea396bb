"""LocalReplica: the view, coalescing unsent edits, push batches and rebasing (§6.1-§6.3)."""

from __future__ import annotations

import json

import pytest
from lamina.model.ids import RecordId
from lamina.sync.errors import ChangeTooLargeError
from lamina.sync.local_replica import (
    MAX_PUSH_CHANGES,
    PUSH_BUDGET,
    ClientState,
    LocalReplica,
    replay_changes,
)
from lamina.sync.state import CreateChange, DeleteChange, RecordState, UpdateChange

from tests.sync.sync_helpers import ink


def replica_with(rid: str, rev: int = 3) -> LocalReplica:
    replica = LocalReplica(ClientState("c"))
    replica.state.replica[RecordId(rid)] = RecordState(
        RecordId(rid), "annotation", rev, rev, {"id": rid, **ink()}
    )
    return replica


def test_edits_of_an_unsent_change_merge_into_it_and_a_sent_one_stays_6_2() -> None:
    replica = replica_with("r")
    first = replica.update("r", {"note": "1"})
    assert replica.update("r", {"strokeColor": "#000000"}).change_id == first.change_id
    batch = replica.next_push()
    assert batch is not None and [c.change_id for c in batch[0]] == [first.change_id]
    later = replica.update("r", {"note": "2"})  # the first one was sent: a change of its own
    assert later.change_id != first.change_id and replica.pending_count == 2
    assert replica.view()[RecordId("r")]["note"] == "2"


def test_a_push_takes_one_change_per_record_and_at_most_the_limit_6_2() -> None:
    replica = LocalReplica(ClientState("c"))
    rid = replica.create("annotation", ink()).record_id
    replica.next_push()
    replica.update(rid, {"note": "x"})  # sent create + unsent update of the same record
    others = [replica.create("annotation", ink()).record_id for _ in range(MAX_PUSH_CHANGES)]
    batch = replica.next_push()
    assert batch is not None
    changes, frame = batch
    assert [c.record_id for c in changes] == [rid]  # the record's create went first
    assert json.loads(frame)["type"] == "push"
    replica.state.outbox = replica.state.outbox[2:]  # as if both were acked
    batch = replica.next_push()
    assert batch is not None and len(batch[0]) == MAX_PUSH_CHANGES
    assert [c.record_id for c in batch[0]] == others
    assert LocalReplica(ClientState("empty")).next_push() is None


def test_a_change_larger_than_a_push_is_refused_at_once_1_2() -> None:
    replica = LocalReplica(ClientState("c"))
    with pytest.raises(ChangeTooLargeError):
        replica.create("annotation", {**ink(), "note": "x" * PUSH_BUDGET})
    assert replica.pending_count == 0


def test_rebase_moves_later_changes_that_saw_the_rev_before_6_2() -> None:
    replica = replica_with("r", rev=3)
    replica.update("r", {"note": "1"})
    replica.next_push()
    replica.update("r", {"note": "2"})
    replica.delete("r")
    replica.rebase(RecordId("r"), made_rev=4)  # our first update made rev 4
    later = replica.state.outbox[1:]
    assert [(type(c), getattr(c, "base_rev", None)) for c in later] == [
        (UpdateChange, 4),
        (DeleteChange, 4),
    ]
    assert isinstance(replica.state.outbox[0], UpdateChange)


def test_replay_is_create_update_delete_in_order_6_3() -> None:
    rid = RecordId("r")
    records = {rid: {"id": "r", "note": "a"}}
    changes = [
        UpdateChange("c1", rid, 1, {"note": "b"}, ()),
        DeleteChange("c2", rid, 2),
        CreateChange("c3", rid, "annotation", {"id": "r", "note": "c"}),
    ]
    assert replay_changes(records, changes) == {rid: {"id": "r", "note": "c"}}
    assert records[rid]["note"] == "a"  # the input is not changed
