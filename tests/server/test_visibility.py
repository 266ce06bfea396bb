"""What a restricted token learns: form field group inheritance, no existence leaks (§4.8)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ulid import ULID

from tests.server.conftest import Client, ServerThread, create, delete, join, run, update

TEACHER = [
    "annotations:view:all",
    "annotations:edit:all",
    "annotations:delete:all",
    "form-fields:view:all",
    "form-fields:edit:all",
    "form-fields:delete:all",
    "form-fields:fill:all",
    "form-fields:set-group:all",
]
EXAM_TAKER = [
    "annotations:view:self",
    "annotations:edit:self",
    "annotations:delete:self",
    "form-fields:view:group=exam",
    "form-fields:fill:group=exam",
]


def _field(name: str, widget_id: str, group: str | None) -> dict[str, Any]:
    rid = str(ULID())
    return {
        "change_id": str(ULID()),
        "op": "create",
        "record_id": rid,
        "kind": "form-field",
        "content": {
            "v": 1,
            "type": "pspdfkit/form-field/text",
            "id": rid,
            "name": name,
            "label": name,
            "annotationIds": [widget_id],
        },
        "group": group,
    }


def _widget(widget_id: str, field_name: str) -> dict[str, Any]:
    change = create(widget_id, type="pspdfkit/widget", formFieldName=field_name)
    change["content"].pop("strokeColor")
    return change


def _value(field_name: str, value: str) -> dict[str, Any]:
    rid = f"form-field-value/{field_name}"
    return {
        "change_id": str(ULID()),
        "op": "create",
        "record_id": rid,
        "kind": "form-field-value",
        "content": {
            "v": 1,
            "type": "pspdfkit/form-field-value",
            "name": field_name,
            "value": value,
        },
        "group": None,
    }


async def _drain(*clients: Client) -> None:
    await asyncio.sleep(0.2)
    for c in clients:
        while True:
            try:
                await c.recv(timeout=0.2)
            except TimeoutError:
                break


def test_form_field_values_and_widgets_inherit_the_group_of_their_field(
    server: ServerThread, doc: str
) -> None:
    async def scenario() -> None:
        teacher, _, _ = await join(
            server.url,
            server.token(
                doc, user_id="tina", collaboration_permissions=TEACHER, default_group="teachers"
            ),
        )
        sam, _, _ = await join(
            server.url,
            server.token(
                doc, user_id="sam", collaboration_permissions=EXAM_TAKER, default_group="students"
            ),
        )
        widget_id = str(ULID())
        ack = await teacher.push(_field("answer", widget_id, "exam"), _widget(widget_id, "answer"))
        field, widget = ack["results"]
        assert field["status"] == "applied" and widget["status"] == "applied"
        # The widget was created with no group (the teacher's default is "teachers"), but it
        # belongs to the exam's field, so it is in the exam group and Sam sees it.
        assert widget["record"]["group"] == "exam"
        relayed = await sam.recv_type("changes")
        assert {r["id"] for r in relayed["records"]} == {field["record_id"], widget_id}

        # Sam fills the field although new records of his go to "students": the value's
        # permission check uses its field's group, where Sam may fill.
        filled = (await sam.push(_value("answer", "42")))["results"][0]
        assert filled["status"] == "applied", filled
        assert filled["record"]["group"] == "exam"
        value_id = filled["record_id"]
        changed = (await sam.push(update(value_id, 1, value="43")))["results"][0]
        assert changed["status"] == "applied"

        archivist, _, archive_snap = await join(
            server.url,
            server.token(
                doc,
                user_id="ada",
                collaboration_permissions=["form-fields:view:group=archive"],
                default_group="archive",
            ),
        )
        assert archive_snap["records"] == []
        await _drain(sam)

        # The teacher closes the exam: the field moves to the archive, and with it its widget
        # and value, whatever group they were stored with.
        field_rev = field["record"]["rev"]
        moved = await teacher.push({**update(field["record_id"], field_rev), "group": "archive"})
        assert moved["results"][0]["status"] == "applied"
        # Sam's replica loses all three (content-less tombstones); the archivist's gains them.
        lost: dict[str, Any] = {}
        gained: dict[str, Any] = {}
        while len(lost) < 3:
            lost.update({r["id"]: r for r in (await sam.recv_type("changes"))["records"]})
        while len(gained) < 3:
            gained.update({r["id"]: r for r in (await archivist.recv_type("changes"))["records"]})
        everything = {field["record_id"], widget_id, value_id}
        assert set(lost) == set(gained) == everything
        assert all(r["deleted"] and r["content"] is None for r in lost.values())
        assert all(not r["deleted"] and r["group"] == "archive" for r in gained.values())
        assert gained[value_id]["content"]["value"] == "43"
        late = (await sam.push(update(value_id, 3, value="44")))["results"][0]
        assert late["status"] == "rejected" and late["record"] is None
        # Moving the value alone (away from its field's group) is refused even to the teacher.
        alone = await teacher.push({**update(value_id, 3), "group": "exam"})
        assert alone["results"][0]["status"] == "rejected"
        assert "group of their form field" in alone["results"][0]["reason"]

        again, _, snap = await join(
            server.url,
            server.token(
                doc, user_id="sam", collaboration_permissions=EXAM_TAKER, default_group="students"
            ),
        )
        assert {r["id"] for r in snap["records"]} & {
            field["record_id"],
            widget_id,
            value_id,
        } == set()
        _, _, teacher_snap = await join(
            server.url, server.token(doc, user_id="tina", collaboration_permissions=TEACHER)
        )
        assert {field["record_id"], widget_id, value_id} <= {
            r["id"] for r in teacher_snap["records"]
        }
        await again.ws.close()
        await archivist.ws.close()

    run(scenario())


def test_records_a_token_cannot_view_are_indistinguishable_from_unknown_ids(
    server: ServerThread, doc: str
) -> None:
    async def scenario() -> None:
        teacher, _, _ = await join(
            server.url,
            server.token(
                doc, user_id="tina", collaboration_permissions=TEACHER, default_group="teachers"
            ),
        )
        sam, _, _ = await join(
            server.url,
            server.token(
                doc, user_id="sam", collaboration_permissions=EXAM_TAKER, default_group="students"
            ),
        )
        hidden = (await teacher.push(create(note="secret-marker-1")))["results"][0]
        gone = (await teacher.push(create(note="secret-marker-2")))["results"][0]
        assert (await teacher.push(delete(gone["record_id"], 1)))["results"][0]["status"] == (
            "applied"
        )
        mine = (await sam.push(create()))["results"][0]
        assert mine["status"] == "applied"

        # Creating over a hidden live record, a hidden tombstone, or one's own record: one
        # answer, naming no creator, group or content.
        over_hidden = (await sam.push(create(hidden["record_id"])))["results"][0]
        over_gone = (await sam.push(create(gone["record_id"])))["results"][0]
        over_mine = (await sam.push(create(mine["record_id"])))["results"][0]
        for result, rid in (
            (over_hidden, hidden["record_id"]),
            (over_gone, gone["record_id"]),
            (over_mine, mine["record_id"]),
        ):
            assert result["status"] == "rejected"
            assert result["reason"] == f"record id {rid} is taken: create the record with a new id"
        assert over_hidden["record"] is None and over_gone["record"] is None

        # Changing or deleting a hidden record is answered as for an id nobody ever used.
        unknown = str(ULID())
        for change_of in (
            lambda rid: update(rid, 1, strokeColor="#000000"),
            lambda rid: delete(rid, 1),
        ):
            never = (await sam.push(change_of(unknown)))["results"][0]
            for rid in (hidden["record_id"], gone["record_id"]):
                result = (await sam.push(change_of(rid)))["results"][0]
                assert result["status"] == never["status"] == "rejected"
                assert result["reason"] == never["reason"].replace(unknown, rid)
                assert result["record"] is None

        # The hidden tombstone was not restored by Sam's attempt, and nothing leaked.
        await _drain(teacher, sam)
        _, _, teacher_snap = await join(
            server.url, server.token(doc, user_id="tina", collaboration_permissions=TEACHER)
        )
        ids = {r["id"] for r in teacher_snap["records"]}
        assert hidden["record_id"] in ids and gone["record_id"] not in ids
        # (Presence names who is connected; records are what must not leak.)
        raw = json.dumps([m for m in sam.received if m["type"] != "presence"])
        assert "secret-marker" not in raw and "tina" not in raw and "teachers" not in raw

    run(scenario())
