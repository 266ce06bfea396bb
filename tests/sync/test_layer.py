"""LayerState: the server's merge rules, one test per numbered rule (§4, §5.1)."""

from __future__ import annotations

import pytest
from lamina.model.ids import RecordId
from lamina.sync.errors import LocalProtocolError
from lamina.sync.layer import AllowAll, LayerState
from lamina.sync.state import (
    Actor,
    Change,
    ChangeResult,
    CreateChange,
    DeleteChange,
    RecordState,
    UpdateChange,
)

from tests.sync.sync_helpers import ink

ALICE = Actor(user_id="alice", default_group="reviewers")
BOB = Actor(user_id="bob")
RID = RecordId("01JREC")


def create(change_id: str = "c1", rid: str = RID, **content: object) -> CreateChange:
    return CreateChange(change_id, RecordId(rid), "annotation", {"id": rid, **ink(), **content})


def apply(layer: LayerState, *changes: Change, actor: Actor = ALICE) -> list[ChangeResult]:
    return list(layer.apply(changes, actor, AllowAll(), "2026-01-01T00:00:00Z").results)


@pytest.fixture
def layer() -> LayerState:
    layer = LayerState("e1")
    apply(layer, create())
    return layer


def test_create_sets_server_metadata_2_3(layer: LayerState) -> None:
    state = layer.get(RID)
    assert state is not None
    assert (state.rev, state.seq, state.creator_id, state.group) == (1, 1, "alice", "reviewers")
    assert state.created_at == state.updated_at == "2026-01-01T00:00:00Z"


def test_forced_creator_name_is_written_when_missing_4_7() -> None:
    layer = LayerState("e1")
    apply(layer, create(), actor=Actor(user_id="ann", creator_name="Ann"))
    state = layer.get(RID)
    assert state is not None and state.content is not None
    assert state.content["creatorName"] == "Ann"


def test_same_change_id_applies_once_and_gets_same_result_4_2(layer: LayerState) -> None:
    first = apply(layer, UpdateChange("u1", RID, 1, {"note": "a"}))[0]
    again = apply(layer, UpdateChange("u1", RID, 1, {"note": "a"}))[0]
    assert again == first
    assert layer.seq == 2
    state = layer.get(RID)
    assert state is not None and state.rev == 2


def test_duplicate_change_id_within_one_push_applies_once_4_2() -> None:
    layer = LayerState("e1")
    results = apply(layer, create("c1"), create("c1"))
    assert [r.status for r in results] == ["applied", "applied"]
    assert layer.seq == 1


def test_remembered_results_survive_a_reload_4_2(layer: LayerState) -> None:
    commit = layer.apply(
        [UpdateChange("u1", RID, 1, {"note": "a"})], ALICE, AllowAll(), "2026-01-01T00:00:01Z"
    )
    stored = [ChangeResult.from_wire(r.to_store(), "r") for r in commit.remembered]
    reloaded = LayerState.from_records(
        [RecordState.from_store(r.to_store()) for r in layer.records()],
        layer.seq,
        "e1",
        stored,
    )
    again = apply(reloaded, UpdateChange("u1", RID, 1, {"note": "b"}))[0]
    assert again.status == "applied"
    assert again.record is not None and again.record.content is not None
    assert again.record.content["note"] == "a"  # not applied a second time
    assert reloaded.seq == 2


def test_prepare_changes_nothing_until_applied_4_3(layer: LayerState) -> None:
    commit = layer.prepare([UpdateChange("u1", RID, 1, {"note": "x"})], ALICE, AllowAll(), "t")
    state = layer.get(RID)
    assert state is not None and state.content is not None and "note" not in state.content
    assert layer.seq == 1
    assert commit.seq == 2 and commit.records[0].content is not None
    layer.apply_prepared(commit)
    state = layer.get(RID)
    assert state is not None and state.content is not None and state.content["note"] == "x"
    with pytest.raises(LocalProtocolError):
        layer.apply_prepared(commit)  # twice: prepared on a stale seq


def test_group_commit_chains_prepared_pushes_4_3(layer: LayerState) -> None:
    first = layer.prepare([UpdateChange("u1", RID, 1, {"note": "a"})], ALICE, AllowAll(), "t")
    second = layer.prepare(
        [UpdateChange("u2", RID, 1, {"note": "b"})], BOB, AllowAll(), "t", after=first
    )
    assert second.results[0].status == "conflict"  # sees the first push's effect
    assert second.base_seq == first.seq
    layer.apply_prepared(first)
    layer.apply_prepared(second)
    state = layer.get(RID)
    assert state is not None and state.content is not None and state.content["note"] == "a"


def test_fields_changed_by_one_side_only_both_survive_4_5(layer: LayerState) -> None:
    a = apply(layer, UpdateChange("u1", RID, 1, {"strokeColor": "#00ff00"}))[0]
    b = apply(layer, UpdateChange("u2", RID, 1, {"note": "hi"}), actor=BOB)[0]
    assert (a.status, b.status) == ("applied", "applied")
    state = layer.get(RID)
    assert state is not None and state.content is not None
    assert (state.content["strokeColor"], state.content["note"]) == ("#00ff00", "hi")


def test_same_field_first_come_wins_loser_value_returned_4_5(layer: LayerState) -> None:
    apply(layer, UpdateChange("u1", RID, 1, {"strokeColor": "#00ff00"}))
    result = apply(
        layer, UpdateChange("u2", RID, 1, {"strokeColor": "#0000ff", "note": "n"}), actor=BOB
    )[0]
    assert result.status == "conflict"
    assert result.lost == {"strokeColor": "#0000ff"}
    assert result.record is not None and result.record.content is not None
    assert result.record.content["strokeColor"] == "#00ff00"
    assert result.record.content["note"] == "n"  # the other field of the change applied


def test_same_value_on_both_sides_is_no_conflict_4_5(layer: LayerState) -> None:
    apply(layer, UpdateChange("u1", RID, 1, {"strokeColor": "#00ff00"}))
    result = apply(layer, UpdateChange("u2", RID, 1, {"strokeColor": "#00ff00"}), actor=BOB)[0]
    assert result.status == "applied"
    assert result.made_rev is None and layer.seq == 2  # nothing changed, no seq taken


def test_unset_that_loses_is_reported_4_5(layer: LayerState) -> None:
    apply(layer, UpdateChange("u1", RID, 1, {"note": "a"}))
    apply(layer, UpdateChange("u2", RID, 2, {"note": "b"}))
    result = apply(layer, UpdateChange("u3", RID, 2, {}, ("note",)), actor=BOB)[0]
    assert result.status == "conflict" and result.lost_unset == ("note",)


def test_group_change_merges_like_a_field_4_5(layer: LayerState) -> None:
    apply(layer, UpdateChange("u1", RID, 1, {}, (), "leads"))
    result = apply(layer, UpdateChange("u2", RID, 1, {}, (), "others"), actor=BOB)[0]
    assert result.status == "conflict" and result.lost_group == "others"
    state = layer.get(RID)
    assert state is not None and state.group == "leads"


def test_record_without_field_history_conflicts_conservatively_4_5() -> None:
    base = RecordState(RecordId("12"), "annotation", 3, 0, {"id": "12", "note": "pdf", **ink()})
    layer = LayerState("e1", records=[base])
    stale = apply(layer, UpdateChange("u1", RecordId("12"), 2, {"note": "x"}))[0]
    fresh = apply(layer, UpdateChange("u2", RecordId("12"), 3, {"note": "y"}))[0]
    assert (stale.status, fresh.status) == ("conflict", "applied")


def test_id_and_type_cannot_change_4_1(layer: LayerState) -> None:
    result = apply(layer, UpdateChange("u1", RID, 1, {"type": "pspdfkit/note"}))[0]
    assert result.status == "rejected" and "type" in (result.reason or "")
    assert layer.seq == 1


def test_delete_wins_over_a_later_update_and_keeps_last_version_4_6(layer: LayerState) -> None:
    apply(layer, UpdateChange("u1", RID, 1, {"note": "last words"}))
    deleted = apply(layer, DeleteChange("d1", RID, 1), actor=BOB)[0]  # stale base: still applies
    assert deleted.status == "applied"
    late = apply(layer, UpdateChange("u2", RID, 2, {"note": "too late"}))[0]
    assert late.status == "deleted"
    assert late.record is not None and late.record.deleted
    assert late.record.content is not None and late.record.content["note"] == "last words"
    assert layer.snapshot() == []


def test_delete_of_tombstone_reports_deleted_4_6(layer: LayerState) -> None:
    apply(layer, DeleteChange("d1", RID, 1))
    assert apply(layer, DeleteChange("d2", RID, 1))[0].status == "deleted"
    assert layer.seq == 2


def test_create_of_live_id_is_rejected_4_7(layer: LayerState) -> None:
    result = apply(layer, create("c2"))[0]
    assert result.status == "rejected" and "already exists" in (result.reason or "")


def test_create_of_tombstone_id_restores_with_next_rev_4_7(layer: LayerState) -> None:
    apply(layer, DeleteChange("d1", RID, 1))
    result = apply(layer, create("c2"))[0]
    assert result.status == "applied"
    assert result.record is not None and result.record.rev == 3 and not result.record.deleted


def test_create_with_mismatched_content_id_is_rejected_4_7() -> None:
    layer = LayerState("e1")
    bad = CreateChange("c1", RID, "annotation", {**ink(), "id": "other"})
    assert apply(layer, bad)[0].status == "rejected"
    assert len(layer) == 0


def test_update_of_unknown_record_is_rejected_4_8() -> None:
    layer = LayerState("e1")
    result = apply(layer, UpdateChange("u1", RID, 0, {"note": "x"}))[0]
    assert result.status == "rejected" and "does not exist" in (result.reason or "")


class _NoDeletes:
    def check(self, change: Change, current: RecordState | None, actor: Actor) -> str | None:
        return "delete not permitted" if isinstance(change, DeleteChange) else None


def test_policy_rejection_is_reported_and_not_applied_4_8(layer: LayerState) -> None:
    commit = layer.apply([DeleteChange("d1", RID, 1)], ALICE, _NoDeletes(), "t")
    assert commit.results[0].status == "rejected"
    assert commit.results[0].reason == "delete not permitted"
    assert commit.records == () and commit.remembered == ()  # never relayed, not remembered
    state = layer.get(RID)
    assert state is not None and state.live


def test_commit_lists_previous_state_for_relay_filtering_4_9(layer: LayerState) -> None:
    commit = layer.apply([UpdateChange("u1", RID, 1, {"note": "x"})], ALICE, AllowAll(), "t")
    before = commit.previous[RID]
    assert before is not None and before.rev == 1
    assert commit.records[0].rev == 2


def test_seq_grows_by_one_per_change_4_10() -> None:
    layer = LayerState("e1")
    commit = layer.apply(
        [create("c1", "A"), create("c2", "B"), UpdateChange("u", RecordId("A"), 1, {"note": "n"})],
        ALICE,
        AllowAll(),
        "t",
    )
    assert (commit.base_seq, commit.seq, layer.seq) == (0, 3, 3)
    assert [r.seq for r in commit.records] == [2, 3]  # one entry per record, latest state


def test_changes_since_returns_exactly_what_was_missed_3_3() -> None:
    layer = LayerState("e1")
    apply(layer, create("c1", "A"), create("c2", "B"), create("c3", "C"))
    apply(layer, UpdateChange("u", RecordId("A"), 1, {"note": "n"}))
    missed = layer.changes_since(2)
    assert missed is not None
    assert [r.id for r in missed] == ["C", "A"]
    assert layer.changes_since(4) == []


def test_changes_since_needs_snapshot_when_history_is_unknown_3_3_3_4() -> None:
    layer = LayerState("e1", history_from=5, seq=9)
    assert layer.changes_since(None) is None
    assert layer.changes_since(3) is None  # older than kept history
    assert layer.changes_since(12) is None  # the client saw a future: server behind
    assert layer.changes_since(9) == []


def test_tombstones_are_caught_up_but_not_snapshotted_3_3(layer: LayerState) -> None:
    apply(layer, DeleteChange("d1", RID, 1))
    missed = layer.changes_since(1)
    assert missed is not None and missed[0].deleted
    assert layer.snapshot() == []


def test_base_layer_is_mirrored_then_copied_on_first_change_5_1() -> None:
    base = [RecordState(RecordId("7"), "annotation", 1, 0, {"id": "7", "pdfObjectId": 7})]
    layer = LayerState.from_base(base, "e1")
    assert [r.id for r in layer.snapshot()] == ["7"]
    first = layer.prepare([create("c1")], ALICE, AllowAll(), "t")
    assert [r.id for r in first.seeded] == ["7"]  # the store writes them with this commit
    layer.apply_prepared(first)
    second = layer.prepare([create("c2", "B")], ALICE, AllowAll(), "t")
    assert second.seeded == ()


def test_a_group_commit_chain_seeds_the_base_once_and_never_over_its_own_changes_5_1() -> None:
    # Three pushes prepared back to back before the store commits any (group commit): the
    # first deletes a base record. No later commit of the chain may write that record's base
    # version again, or the acknowledged delete would be lost in the store.
    base = [
        RecordState(RecordId(i), "annotation", 1, 0, {"id": i, "pdfObjectId": int(i)})
        for i in ("7", "8")
    ]
    layer = LayerState.from_base(base, "e1")
    first = layer.prepare([DeleteChange("d7", RecordId("7"), 1)], ALICE, AllowAll(), "t")
    second = layer.prepare([create("c1")], ALICE, AllowAll(), "t", after=first)
    third = layer.prepare([create("c2", "B")], ALICE, AllowAll(), "t", after=second)
    assert [r.id for r in first.seeded] == ["8"]
    assert second.seeded == () and third.seeded == ()
    written: dict[str, RecordState] = {}
    for commit in (first, second, third):  # what the store ends up with, in write order
        for record in (*commit.seeded, *commit.records):
            written[record.id] = record
    assert written["7"].deleted and not written["8"].deleted


def test_a_committed_state_encodes_its_content_once_and_its_wire_text_is_dumps_of_wire() -> None:
    """One 400 KB record used to be encoded three times per push (the size check, the wire
    text, the store row): each is now the one ``content_text``."""
    from lamina.sync.state import dumps

    layer = LayerState("e")
    big = {"id": "r1", **ink(), "note": "é" * 1000}
    commit = layer.prepare(
        [CreateChange("c1", RecordId("r1"), "annotation", big)], Actor("u"), AllowAll(), "t"
    )
    (state,) = commit.records
    assert "content_text" in state.__dict__, "the validation's encoding is kept"
    assert state.content_text == dumps(state.content)
    assert state.wire_text == dumps(state.wire)
    layer.apply_prepared(commit)
    update = layer.prepare(
        [UpdateChange("c2", RecordId("r1"), 1, {"note": "x"}, ())], Actor("u"), AllowAll(), "t"
    )
    (after,) = update.records
    assert after.content_text == dumps(after.content) and after.wire_text == dumps(after.wire)
