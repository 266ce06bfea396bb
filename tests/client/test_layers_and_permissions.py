"""Permission flags, other layers viewed read-only, merged export: against a real server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lamina.client.document import LaminaDocument
from lamina.client.errors import (
    ChangeRejectedError,
    LayerAccessError,
    ReadOnlyLayerError,
)
from lamina.client.events import ConnectionState, Event, LayerRecordsChanged
from lamina.pdf import open_pdf
from lamina.pdf.annotations import read_records

from tests.client.conftest import FAST, PymupdfBackend, ServerProcess, async_test, eventually, note

TEACHER = ["annotations:view:all", "annotations:edit:all", "annotations:delete:all"]
STUDENT = ["annotations:view:all", "annotations:edit:self", "annotations:delete:self"]


async def _open(server: ServerProcess, store: Path, **claims: Any) -> LaminaDocument:
    doc = await LaminaDocument.open_invite(
        server.invite(**claims), store_dir=store, backoff=FAST, pdf_backend=PymupdfBackend()
    )
    await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
    return doc


def _texts(records: list[Any]) -> set[str]:
    return {r.text.value for r in records if getattr(r, "text", None) is not None}


@async_test
async def test_a_student_may_edit_its_own_record_and_not_the_teachers(
    server: ServerProcess, tmp_path: Path
) -> None:
    teacher = await _open(
        server,
        tmp_path / "t",
        user_id="teacher",
        default_group="staff",
        collaboration_permissions=TEACHER,
    )
    theirs = teacher.create(note("teacher's note")).record_id
    await asyncio.wait_for(teacher.ensure_changes_saved([theirs]), 30)
    student = await _open(
        server,
        tmp_path / "s",
        user_id="stu",
        default_group="class-a",
        collaboration_permissions=STUDENT,
    )
    await eventually(lambda: student.record(theirs) is not None, what="teacher's note arrives")

    meta = student.record_meta(theirs)
    assert (meta.creator_id, meta.group, meta.kind) == ("teacher", "staff", "annotation")
    assert meta.record_type == "pspdfkit/note"
    flags = student.record_flags(theirs)
    assert not flags.edit and not flags.delete

    # Before the server has acknowledged it, the student's own record is already theirs.
    await student.disconnect()
    mine = student.create(note("student's note")).record_id
    meta = student.record_meta(mine)
    assert (meta.creator_id, meta.group) == ("stu", "class-a")
    assert student.record_flags(mine).edit and student.record_flags(mine).delete
    student.connect()
    await asyncio.wait_for(student.ensure_changes_saved([mine]), 30)
    assert student.record_meta(mine).creator_id == "stu"  # the server's, now
    assert student.record_flags(mine).edit

    # The PDF's own stamps have no creator: not the student's to edit either.
    stamp = next(r.id for r in student.records() if r.id not in (mine, theirs))
    assert student.record_meta(stamp).creator_id is None
    assert not student.record_flags(stamp).edit

    # The flags say what the server enforces.
    student.update(theirs, {"color": "#ff0000"})
    with pytest.raises(ChangeRejectedError):
        await asyncio.wait_for(student.ensure_changes_saved([theirs]), 30)
    assert teacher.permissions().can_edit(student.record_meta(mine))
    await teacher.close()
    await student.close()


@async_test
async def test_a_lead_sees_reviewers_layers_live_and_read_only(
    server: ServerProcess, tmp_path: Path
) -> None:
    a = await _open(server, tmp_path / "a", layer="a", user_id="ann")
    b = await _open(server, tmp_path / "b", layer="b", user_id="bob")
    from_a = a.create(note("from A")).record_id
    from_b = b.create(note("from B")).record_id
    await asyncio.wait_for(a.ensure_changes_saved([from_a]), 30)
    await asyncio.wait_for(b.ensure_changes_saved([from_b]), 30)

    lead = await _open(server, tmp_path / "lead", layer="lead", view_layers=["*"])
    events: list[Event] = []
    lead.subscribe(events.append)
    assert lead.available_layers() == ("*",)
    assert lead.may_view_layer("a") and not lead.may_view_layer("lead")
    seen_a = await asyncio.wait_for(lead.view_layer("a"), 30)
    seen_b = await asyncio.wait_for(lead.view_layer("b"), 30)
    assert "from A" in _texts(seen_a) and "from B" not in _texts(seen_a)
    assert "from B" in _texts(seen_b)
    assert lead.viewed_layers() == ["a", "b"]
    assert from_a not in {r.id for r in lead.records()}  # my own layer is untouched

    # Live: a new record and a delete in reviewer A's layer reach the lead.
    second = a.create(note("A again")).record_id
    await eventually(
        lambda: "A again" in _texts(lead.layer_records("a")), what="A's new note reaches lead"
    )
    assert any(
        isinstance(e, LayerRecordsChanged)
        and e.layer == "a"
        and "A again" in _texts(list(e.records))
        for e in events
    )
    a.delete(from_a)
    await eventually(
        lambda: from_a not in {r.id for r in lead.layer_records("a")}, what="A's delete"
    )

    # Read-only: the API refuses edits of another layer's records.
    with pytest.raises(ReadOnlyLayerError, match="layer 'a'"):
        lead.update(second, {"color": "#ff0000"})
    with pytest.raises(ReadOnlyLayerError):
        lead.delete(second)
    assert lead.record_flags(second).edit is False
    assert lead.pending_count == 0

    # After a reconnect the viewed layers are asked for again and stay live.
    await lead.disconnect()
    lead.connect()
    await asyncio.wait_for(lead.wait_for_state(ConnectionState.ONLINE), 30)
    b.create(note("B after reconnect"))
    await eventually(
        lambda: "B after reconnect" in _texts(lead.layer_records("b")),
        what="B's note after the lead reconnected",
    )
    lead.hide_layer("b")
    with pytest.raises(LayerAccessError, match="not being viewed"):
        lead.layer_records("b")
    for doc in (a, b, lead):
        await doc.close()


@async_test
async def test_a_reviewer_without_view_layers_gets_a_clear_error_and_stays_online(
    server: ServerProcess, tmp_path: Path
) -> None:
    reviewer = await _open(server, tmp_path / "a", layer="a", user_id="ann")
    assert reviewer.available_layers() == ()
    with pytest.raises(LayerAccessError, match=r"may not view layer 'b'.*view_layers"):
        await reviewer.view_layer("b")
    with pytest.raises(LayerAccessError, match="own layer"):
        await reviewer.view_layer("a")
    # Nothing was sent that would make the server close the connection: edits still sync.
    edit = reviewer.create(note("still here"))
    await asyncio.wait_for(reviewer.ensure_changes_saved([edit.record_id]), 30)
    assert reviewer.connection_state is ConnectionState.ONLINE
    assert server.layer_records(layer="a")[edit.record_id]["text"]["value"] == "still here"
    await reviewer.close()


@async_test
async def test_export_pdf_merges_the_chosen_layers(server: ServerProcess, tmp_path: Path) -> None:
    a = await _open(server, tmp_path / "a", layer="a")
    b = await _open(server, tmp_path / "b", layer="b")
    for doc, text in ((a, "from A"), (b, "from B")):
        edit = doc.create(note(text, bbox=[100, 100, 32, 32]))
        await asyncio.wait_for(doc.ensure_changes_saved([edit.record_id]), 30)
    lead = await _open(server, tmp_path / "lead", layer="lead", view_layers=["a", "b"])
    await asyncio.wait_for(lead.pdf_bytes(), 30)
    lead.create(note("lead's own"))
    await asyncio.wait_for(lead.view_layer("a"), 30)
    await asyncio.wait_for(lead.view_layer("b"), 30)

    merged = tmp_path / "merged.pdf"
    await lead.export_pdf(merged, layers=["a", "b"])
    with open_pdf(merged) as pdf:
        records = read_records(pdf)
    assert {"from A", "from B", "lead's own"} <= _texts(records)
    # originals once (the corpus's unnamed image stamp reads as pspdfkit/image)
    assert sum(1 for r in records if r.type in ("pspdfkit/stamp", "pspdfkit/image")) == 5

    only_a = tmp_path / "only-a.pdf"
    await lead.export_pdf(only_a, layers=["a"])
    with open_pdf(only_a) as pdf:
        texts = _texts(read_records(pdf))
    assert "from A" in texts and "from B" not in texts
    with pytest.raises(LayerAccessError):
        await lead.export_pdf(tmp_path / "x.pdf", layers=["c"])
    assert not (tmp_path / "x.pdf").exists()
    for doc in (a, b, lead):
        await doc.close()
