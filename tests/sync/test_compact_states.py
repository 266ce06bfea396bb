"""Record states in the compact form a room keeps (issue 15, server memory): the same
record as the full state in every way a caller can see, kept as its JSON text."""

from __future__ import annotations

import copy
import pickle

import pytest
from lamina.model.ids import RecordId
from lamina.sync.layer import AllowAll, LayerState, _field_rev
from lamina.sync.state import GROUP_FIELD, Actor, RecordState, UpdateChange

CONTENT = {
    "v": 2,
    "type": "pspdfkit/note",
    "text": {"format": "plain", "value": "hi"},
    "pageIndex": 0,
    "bbox": [10, 10, 32, 32],
}


def _state(rev: int, field_revs: dict[str, int]) -> RecordState:
    return RecordState(
        RecordId("r1"),
        "annotation",
        rev,
        7,
        CONTENT,
        creator_id="alice",
        group="students",
        created_at="2024-05-01T10:00:00Z",
        updated_at="2024-05-02T10:00:00Z",
        field_revs=field_revs,
    )


FIELD_REVS = [
    pytest.param(1, {**dict.fromkeys(CONTENT, 1), GROUP_FIELD: 1}, id="created"),
    pytest.param(3, {**dict.fromkeys(CONTENT, 1), "text": 3, GROUP_FIELD: 2}, id="updated"),
    pytest.param(4, {**dict.fromkeys(CONTENT, 2), "color": 4, GROUP_FIELD: 2}, id="key-removed"),
    pytest.param(2, {"type": 1, "text": 2}, id="older-store-without-some-keys"),
    pytest.param(2, {}, id="none"),
]


@pytest.mark.parametrize(("rev", "field_revs"), FIELD_REVS)
def test_a_compact_state_is_the_same_record(rev: int, field_revs: dict[str, int]) -> None:
    full = _state(rev, field_revs)
    compact = full.compact()
    assert compact.__dict__["_content"] is not full.__dict__["_content"]
    assert compact == full
    assert compact.content == CONTENT and compact.has_content
    assert compact.wire_text == full.wire_text and compact.wire == full.wire
    assert {**compact.to_store(), "field_revs": None} == {**full.to_store(), "field_revs": None}
    # Every field at the same revision as §4.5 reads them; absent keys stay absent (rev 0).
    for key in (*CONTENT, "color", GROUP_FIELD, "never"):
        assert _field_rev(compact, key) == _field_rev(full, key), key


def test_a_compact_state_keeps_no_parsed_copy_and_survives_pickle_and_copy() -> None:
    compact = _state(3, {**dict.fromkeys(CONTENT, 1), "text": 3, GROUP_FIELD: 1}).compact()
    first = compact.content
    assert first is not compact.content  # parsed for each read, never kept
    assert "_wire_text" not in compact.__dict__ and compact.wire_text
    assert "_wire_text" not in compact.__dict__
    for again in (pickle.loads(pickle.dumps(compact)), copy.deepcopy(compact)):
        assert again == compact and again.content == CONTENT
        assert again.compact() is again  # still compact: the marker kept its identity


def test_a_tombstone_and_a_compact_state_compact_to_themselves() -> None:
    tombstone = RecordState(RecordId("r2"), "annotation", 2, 9, None, True)
    assert tombstone.compact() is tombstone and not tombstone.has_content
    compact = _state(1, {}).compact()
    assert compact.compact() is compact


def test_updates_of_a_compact_layer_still_find_their_conflicts() -> None:
    """The layer keeps compact states after each commit; the per-field revisions an update
    of them reads give the same §4.5 answers as the full states'."""
    state = LayerState.from_records(
        [_state(1, {**dict.fromkeys(CONTENT, 1), GROUP_FIELD: 1})], 7, "e"
    )
    actor, policy, now = Actor("alice"), AllowAll(), "2024-05-03T10:00:00Z"
    first = state.apply(
        [UpdateChange("c1", RecordId("r1"), 1, {"text": {"format": "plain", "value": "a"}})],
        actor,
        policy,
        now,
    )
    assert first.results[0].status == "applied"
    kept = state.get("r1")
    assert kept is not None and kept.compact() is kept  # the layer holds it compact
    # Another client, still at rev 1: the text changed after it (conflict), pageIndex not.
    stale = state.apply(
        [
            UpdateChange(
                "c2", RecordId("r1"), 1, {"text": {"format": "plain", "value": "b"}, "pageIndex": 2}
            )
        ],
        actor,
        policy,
        now,
    )
    (result,) = stale.results
    assert result.status == "conflict" and set(result.lost) == {"text"}
    now_state = state.get("r1")
    assert now_state is not None and now_state.content is not None
    assert now_state.content["text"]["value"] == "a" and now_state.content["pageIndex"] == 2
