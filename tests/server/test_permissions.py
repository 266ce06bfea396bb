"""Layers and Collaboration Permissions through live connections (teacher/student roles)."""

from __future__ import annotations

import asyncio

from tests.server.conftest import Client, ServerThread, create, delete, join, run, update

STUDENT = [
    "annotations:view:group=students",
    "annotations:view:self",
    "annotations:edit:self",
    "annotations:delete:self",
    "comments:view:all",
    "comments:edit:self",
    "comments:delete:self",
    "comments:reply:all",
]
TEACHER = [
    "annotations:view:all",
    "annotations:edit:all",
    "annotations:delete:all",
    "annotations:set-group:group=students",
    "comments:view:all",
    "comments:edit:all",
    "comments:delete:all",
    "comments:reply:all",
]


def _comment(root_id: str, text: str) -> dict[str, object]:
    change = create(
        type="pspdfkit/comment",
        rootId=root_id,
        text={"format": "plain", "value": text},
    )
    change["kind"] = "comment"
    content = change["content"]
    assert isinstance(content, dict)
    for key in ("pageIndex", "bbox", "strokeColor"):
        content.pop(key)
    return change


def _ids(client: Client) -> set[str]:
    return {r["id"] for r in client.records_seen()}


def test_students_see_their_group_and_own_records_teachers_see_all(
    server: ServerThread, doc: str
) -> None:
    async def scenario() -> None:
        teacher, _, t_snap = await join(
            server.url,
            server.token(
                doc, user_id="tina", collaboration_permissions=TEACHER, default_group="teachers"
            ),
        )
        s1, _, s1_snap = await join(
            server.url,
            server.token(
                doc, user_id="sam", collaboration_permissions=STUDENT, default_group="students"
            ),
        )
        s2, _, _ = await join(
            server.url,
            server.token(
                doc, user_id="sue", collaboration_permissions=STUDENT, default_group="students"
            ),
        )
        assert len(t_snap["records"]) == 5  # the PDF's own stamps
        assert s1_snap["records"] == []  # no creator, no group: not the students' to see

        teachers_only = (await teacher.push(create()))["results"][0]
        for_students = (await teacher.push(create(group="students")))["results"][0]
        sams = (await s1.push(create()))["results"][0]
        sues = (await s2.push(create()))["results"][0]
        assert sams["record"]["group"] == "students"

        # Students edit and delete only their own records.
        r = (await s1.push(update(sues["record_id"], 1, strokeColor="#00ff00")))["results"][0]
        assert r["status"] == "rejected" and r["reason"]
        r = (await s1.push(delete(sues["record_id"], 1)))["results"][0]
        assert r["status"] == "rejected"
        r = (await s1.push(update(sams["record_id"], 1, strokeColor="#00ff00")))["results"][0]
        assert r["status"] == "applied"
        # Teachers edit anything.
        r = (await teacher.push(update(sues["record_id"], 1, strokeColor="#0000ff")))["results"][0]
        assert r["status"] == "applied"

        # Students reply to every comment thread, but edit only their own comments.
        question = (await teacher.push(_comment(for_students["record_id"], "why?")))["results"][0]
        assert question["status"] == "applied"
        reply = (await s1.push(_comment(for_students["record_id"], "because")))["results"][0]
        assert reply["status"] == "applied"
        r = (await s1.push(update(question["record_id"], 1, text={"value": "x"})))["results"][0]
        assert r["status"] == "rejected"

        # Let every relay arrive, then check what each side ever received.
        await asyncio.sleep(0.3)
        for c in (teacher, s1, s2):
            while True:
                try:
                    await c.recv(timeout=0.2)
                except TimeoutError:
                    break
        for student in (s1, s2):
            seen = _ids(student)
            assert teachers_only["record_id"] not in seen
            assert {for_students["record_id"], sams["record_id"], sues["record_id"]} <= seen
            assert not any(r["id"].isdigit() for r in student.records_seen())  # PDF stamps
        assert {teachers_only["record_id"], sams["record_id"], sues["record_id"]} <= _ids(teacher)

    run(scenario())


def test_layers_are_isolated_and_view_layers_is_read_only(server: ServerThread, doc: str) -> None:
    async def scenario() -> None:
        a, _, _ = await join(server.url, server.token(doc, layer="a", user_id="ann"))
        b, _, _ = await join(server.url, server.token(doc, layer="b", user_id="ben"))
        lead, _, _ = await join(
            server.url, server.token(doc, layer="lead", user_id="lea", view_layers=["*"])
        )
        on_a = (await a.push(create()))["results"][0]["record_id"]
        await lead.send({"type": "view_layer", "layer": "a"})
        snap = await lead.recv_type("snapshot")
        assert snap["layer"] == "a"
        assert on_a in {r["id"] for r in snap["records"]}
        second = (await a.push(create()))["results"][0]["record_id"]
        relayed = await lead.recv_type("changes")
        assert relayed["layer"] == "a" and [r["id"] for r in relayed["records"]] == [second]
        # The lead's pushes go to its own layer only.
        own = (await lead.push(create()))["results"][0]["record_id"]

        late_b, _, b_snap = await join(server.url, server.token(doc, layer="b"))
        b_ids = {r["id"] for r in b_snap["records"]}
        assert not {on_a, second, own} & b_ids
        assert not {on_a, second, own} & _ids(b)
        _, _, a_snap = await join(server.url, server.token(doc, layer="a"))
        assert {on_a, second} <= {r["id"] for r in a_snap["records"]}
        assert own not in {r["id"] for r in a_snap["records"]}

        # Without view_layers, asking to view another layer is forbidden.
        await b.send({"type": "view_layer", "layer": "a"})
        code, frames = await b.closed()
        assert code == 4403 and frames[-1]["code"] == "forbidden"
        await late_b.ws.close()

    run(scenario())
