"""Form field group rules (F1-F3): values and widgets follow their field's group."""

from __future__ import annotations

from typing import Any

from lamina.auth import form_field_name
from lamina.model.ids import RecordId
from lamina.sync.form_fields import FormFields
from lamina.sync.layer import AllowAll, LayerState
from lamina.sync.state import Actor, CreateChange, UpdateChange

from tests.sync.sync_helpers import ink

ALICE = Actor(user_id="alice", default_group="staff")


def field(name: str) -> dict[str, Any]:
    return {"type": "pspdfkit/form-field/text", "v": 1, "name": name, "label": name}


def widget(rid: str, name: str) -> dict[str, Any]:
    return {
        "id": rid,
        "type": "pspdfkit/widget",
        "v": 2,
        "pageIndex": 0,
        "bbox": [0, 0, 10, 10],
        "formFieldName": name,
    }


def layer_with_field(
    group: str | None = "hr", actor: Actor = ALICE
) -> tuple[LayerState, FormFields]:
    layer = LayerState("e")
    layer.apply(
        [CreateChange("c1", RecordId("f1"), "form-field", field("name"), group)],
        actor,
        AllowAll(),
        "t",
    )
    return layer, FormFields(layer, form_field_name)


def test_a_new_widget_or_value_takes_its_fields_group_f1() -> None:
    _, fields = layer_with_field("hr")
    changes = [
        CreateChange("c2", RecordId("w1"), "annotation", widget("w1", "name"), "other"),
        CreateChange("c3", RecordId("v1"), "form-field-value", {"name": "name", "value": "x"}),
        CreateChange("c4", RecordId("a1"), "annotation", {"id": "a1", **ink()}, "other"),
    ]
    out = fields.inherit_groups(changes, ALICE)
    fields.end_push(None)
    assert [c.group for c in out if isinstance(c, CreateChange)] == ["hr", "hr", "other"]
    _, ungrouped = layer_with_field(None, Actor(user_id="alice"))
    assert ungrouped.inherit_groups(changes, ALICE) is changes  # nothing to inherit


def test_a_field_and_its_widget_in_one_push_find_each_other_f3() -> None:
    layer = LayerState("e")
    fields = FormFields(layer, form_field_name)
    changes = [
        CreateChange("c1", RecordId("f1"), "form-field", field("pushed"), "hr"),
        CreateChange("c2", RecordId("w1"), "annotation", widget("w1", "pushed")),
    ]
    out = fields.inherit_groups(changes, ALICE)
    assert out[1].group == "hr"  # type: ignore[union-attr]
    commit = layer.prepare(out, ALICE, AllowAll(), "t")
    fields.end_push(commit)
    named = fields.named("pushed")
    assert named is not None and named.seq == 1  # in flight: the prepared state
    layer.apply_prepared(commit)
    fields.committed(commit.records)
    fields.forget_in_flight()
    assert fields.named("pushed") == layer.get("f1")


def test_moving_a_field_moves_its_widgets_and_values_along_f2() -> None:
    layer, fields = layer_with_field("hr")
    layer.apply(
        [
            CreateChange("c2", RecordId("w1"), "annotation", widget("w1", "name"), "hr"),
            CreateChange("c3", RecordId("a1"), "annotation", {"id": "a1", **ink()}, "hr"),
        ],
        ALICE,
        AllowAll(),
        "t",
    )
    before = layer.get("f1")
    assert before is not None
    move = layer.prepare(
        [UpdateChange("c4", RecordId("f1"), before.rev, group="public")], ALICE, AllowAll(), "t"
    )
    follow = fields.follow_group_moves(move, after=move, now="t2")
    assert follow is not None
    commit, shown_before = follow
    assert [(r.id, r.group) for r in commit.records] == [("w1", "public")]  # not a1
    judged = shown_before[RecordId("w1")]
    assert judged is not None and judged.group == "hr"
    assert "formFieldName" not in (judged.content or {})  # judged unlinked from its field


def test_a_field_without_a_name_moves_nothing_f2() -> None:
    layer = LayerState("e")
    nameless = {"type": "pspdfkit/form-field/text", "v": 1, "label": "x"}
    layer.apply(
        [
            CreateChange("c1", RecordId("f1"), "form-field", nameless, "hr"),
            CreateChange("c2", RecordId("a1"), "annotation", {"id": "a1", **ink()}, "hr"),
        ],
        ALICE,
        AllowAll(),
        "t",
    )
    fields = FormFields(layer, form_field_name)
    move = layer.prepare(
        [UpdateChange("c3", RecordId("f1"), 1, group="public")], ALICE, AllowAll(), "t"
    )
    assert fields.follow_group_moves(move, after=move, now="t2") is None
