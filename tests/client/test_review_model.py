"""ReviewModel, headless: what a reviewer's window shows, against real client documents.

Standalone tests open a corpus PDF with ``LaminaDocument.open_local``; layers, permissions and
"undo only reverses my own changes" run against a real ``lamina serve`` (the client tests'
``server`` fixture). No Qt is imported here (the last test checks).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lamina.client.document import LaminaDocument
from lamina.client.errors import ClientError, LayerAccessError, ReadOnlyLayerError
from lamina.client.events import ConnectionState
from lamina.client.review_events import (
    ChangeRefused,
    ConflictsChanged,
    ConnectionChanged,
    LayerRecordsChanged,
    LayerVisibilityChanged,
    PeersChanged,
    PendingChanged,
    ReadOnlyChanged,
    RecordsChanged,
    ReviewEvent,
    ThreadsChanged,
    UndoChanged,
)
from lamina.client.review_model import ActionRefusedError, ReviewModel
from lamina.model.geometry import Rect
from lamina.model.ids import new_record_id
from lamina.model.records import Comment, NoteAnnotation, Text
from lamina.model.undo import Create
from lamina.pdf import open_pdf

from tests.client.conftest import FAST, PymupdfBackend, ServerProcess, async_test, eventually
from tests.conftest import corpus_pdf

BACKEND = PymupdfBackend()
STAMPS_ACROBAT = "annot-stamps-acrobat"
"""One page, five stamps of the PDF's own (the base layer of every test here)."""


class Recorder:
    """Every event a model reports, in order."""

    def __init__(self, model: ReviewModel) -> None:
        self.events: list[ReviewEvent] = []
        model.subscribe(self.events.append)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def clear(self) -> None:
        self.events.clear()


def _note(text: str, x: float = 100, creator: str | None = None) -> NoteAnnotation:
    return NoteAnnotation(
        page_index=0, bbox=Rect(x, 100, 32, 32), text=Text(text), creator_name=creator
    )


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    """A writable copy of the Acrobat stamps PDF."""
    path = tmp_path / "work" / "stamps.pdf"
    path.parent.mkdir()
    shutil.copyfile(corpus_pdf(STAMPS_ACROBAT), path)
    return path


async def _local(pdf: Path, tmp_path: Path) -> tuple[LaminaDocument, ReviewModel]:
    doc = await LaminaDocument.open_local(pdf, pdf_backend=BACKEND, store_dir=tmp_path / "s")
    return doc, ReviewModel(doc)


async def _review(server: ServerProcess, store: Path, **claims: Any) -> ReviewModel:
    doc = await LaminaDocument.open_invite(
        server.invite(**claims), store_dir=store, backoff=FAST, pdf_backend=BACKEND
    )
    await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
    return ReviewModel(doc)


async def _saved(model: ReviewModel, *ids: str) -> None:
    await asyncio.wait_for(model.document.ensure_changes_saved(list(ids)), 30)


# --- the user's own records ---------------------------------------------------------------------


@async_test
async def test_records_keep_a_stable_order_and_events_name_what_changed(
    pdf: Path, tmp_path: Path
) -> None:
    doc, model = await _local(pdf, tmp_path)
    stamps = [r.id for r in doc.records()]
    assert len(stamps) == 5
    assert [r.id for r in model.records()] == stamps
    assert [a.id for a in model.page_annotations(0)] == stamps
    assert model.page_annotations(1) == []
    seen = Recorder(model)

    note = model.create(_note("first"))
    assert seen.of(RecordsChanged) == [RecordsChanged(added=(note.id,), origin="local")]
    assert model.record(note.id) == note and doc.record(note.id) == note
    assert [r.id for r in model.records()] == [*stamps, note.id]

    # A changed record keeps its place; one that moves page leaves page 0's index.
    seen.clear()
    moved = dataclasses.replace(model.records()[0], bbox=Rect(5, 5, 40, 40))
    model.update(moved, "move")
    assert seen.of(RecordsChanged) == [RecordsChanged(changed=(stamps[0],), origin="local")]
    assert model.records()[0] == doc.record(stamps[0]) and model.records()[0].bbox == moved.bbox
    model.update(dataclasses.replace(note, page_index=3))
    assert note.id not in {a.id for a in model.page_annotations(0)}
    assert [a.id for a in model.page_annotations(3)] == [note.id]

    seen.clear()
    model.delete(stamps[2])
    assert seen.of(RecordsChanged) == [RecordsChanged(removed=(stamps[2],), origin="local")]
    assert stamps[2] not in {r.id for r in model.records()} and doc.record(stamps[2]) is None
    with pytest.raises(ClientError, match="does not exist"):
        model.delete(stamps[2])
    model.close()
    await doc.close()


@async_test
async def test_hiding_my_layer_hides_its_drawing_not_its_records(pdf: Path, tmp_path: Path) -> None:
    doc, model = await _local(pdf, tmp_path)
    seen = Recorder(model)
    assert model.own_layer == "" and model.layer_state("") == "shown"
    model.hide_layer("")
    assert seen.events == [LayerVisibilityChanged("", False)]
    assert model.visible_annotations() == [] and model.page_annotations(0) == []
    assert len(model.records()) == 5  # still there, still editable
    model.hide_layer("")
    assert len(seen.events) == 1  # no change, no event
    await model.show_layer("")
    assert seen.events[-1] == LayerVisibilityChanged("", True)
    assert len(model.visible_annotations()) == 5
    model.close()
    await doc.close()


# --- threads ------------------------------------------------------------------------------------


@async_test
async def test_replies_join_their_thread_in_order_and_go_with_its_root(
    pdf: Path, tmp_path: Path
) -> None:
    doc, model = await _local(pdf, tmp_path)
    root = model.create(_note("look here", creator="Ana"))
    seen = Recorder(model)
    first = model.reply(root.id, "agreed", creator_name="Bo")
    # One step: the root became a thread root and the comment was created, one event each.
    assert seen.of(ThreadsChanged) == [ThreadsChanged((root.id,))]
    [records] = seen.of(RecordsChanged)
    assert records == RecordsChanged(added=(first.id,), changed=(root.id,), origin="local")
    assert seen.of(UndoChanged)[-1].undo_label == "reply"
    kept_root = model.record(root.id)
    assert isinstance(kept_root, NoteAnnotation) and kept_root.is_comment_thread_root

    second = model.reply(first.id, "me too")  # replying to a comment joins its root's thread
    assert [c.text.value for c in model.thread(root.id)] == ["agreed", "me too"]
    assert second.root_id == root.id and isinstance(doc.record(second.id), Comment)
    assert model.threads() == {root.id: model.thread(root.id)}
    assert model.thread_root(second.id) == model.record(root.id)

    # Deleting the root takes its thread along, as one undo step.
    seen.clear()
    model.delete(root.id)
    [records] = seen.of(RecordsChanged)
    assert set(records.removed) == {root.id, first.id, second.id}
    assert model.thread(root.id) == [] and doc.record(first.id) is None
    assert model.undo()
    assert [c.text.value for c in model.thread(root.id)] == ["agreed", "me too"]
    assert doc.record(root.id) is not None

    stamp = model.records()[0]
    assert model.flags(stamp.id).reply  # any annotation may start a thread
    model.close()
    await doc.close()


# --- undo ---------------------------------------------------------------------------------------


@async_test
async def test_one_gesture_is_one_undo_step_and_undo_edits_the_document(
    pdf: Path, tmp_path: Path
) -> None:
    doc, model = await _local(pdf, tmp_path)
    seen = Recorder(model)
    assert not model.undo() and not model.redo()
    assert seen.events == []

    note = model.create(_note("drag me"))
    with model.step("move"):
        for x in (110, 120, 130):
            current = model.record(note.id)
            assert current is not None
            model.update(dataclasses.replace(current, bbox=Rect(x, 100, 32, 32)))
    assert doc.record(note.id).bbox.left == 130  # type: ignore[union-attr]
    # The drag was reported once, as one step.
    assert seen.of(RecordsChanged)[-1] == RecordsChanged(changed=(note.id,), origin="local")
    assert len(seen.of(RecordsChanged)) == 2
    assert seen.of(UndoChanged)[-1] == UndoChanged(True, False, "move", None)

    assert model.undo()
    assert doc.record(note.id).bbox.left == 100  # type: ignore[union-attr]
    assert seen.of(UndoChanged)[-1] == UndoChanged(True, True, "create note", "move")
    assert model.undo()
    assert doc.record(note.id) is None and model.record(note.id) is None
    assert seen.of(RecordsChanged)[-1] == RecordsChanged(removed=(note.id,), origin="local")
    assert not model.history.can_undo
    assert model.redo() and model.redo()
    assert doc.record(note.id).bbox.left == 130  # type: ignore[union-attr]
    assert seen.of(UndoChanged)[-1] == UndoChanged(True, False, "move", None)
    model.close()
    await doc.close()


@async_test
async def test_undo_reverses_only_my_own_changes(server: ServerProcess, tmp_path: Path) -> None:
    mine = await _review(server, tmp_path / "me", user_id="me")
    other = await _review(server, tmp_path / "other", user_id="other")
    seen = Recorder(mine)
    note = mine.create(_note("draft"))
    await _saved(mine, note.id)
    await eventually(lambda: other.record(note.id) is not None, what="the note reaches other")
    assert PendingChanged(0) in seen.events

    kept = mine.record(note.id)
    assert isinstance(kept, NoteAnnotation)
    mine.update(dataclasses.replace(kept, text=Text("my text")), "edit text")
    await _saved(mine, note.id)
    theirs = other.record(note.id)
    assert isinstance(theirs, NoteAnnotation)
    seen.clear()
    other.update(dataclasses.replace(theirs, color="#00ff00"))
    await _saved(other, note.id)
    await eventually(
        lambda: getattr(mine.record(note.id), "color", None) == "#00ff00", what="other's color"
    )
    assert RecordsChanged(changed=(note.id,), origin="remote") in seen.of(RecordsChanged)
    assert seen.of(UndoChanged) == []  # another's change is not mine to undo

    assert mine.undo()  # my text goes back; their colour stays
    current = mine.record(note.id)
    assert isinstance(current, NoteAnnotation)
    assert (current.text.value, current.color) == ("draft", "#00ff00")
    await _saved(mine, note.id)
    assert server.layer_records()[note.id]["color"] == "#00ff00"
    assert server.layer_records()[note.id]["text"]["value"] == "draft"
    assert mine.history.undo_label == "create note"
    for model in (mine, other):
        model.close()
        await model.document.close()


@async_test
async def test_an_import_is_one_step_and_a_restore_is_none(pdf: Path, tmp_path: Path) -> None:
    doc, model = await _local(pdf, tmp_path)
    before = {r.id: r for r in model.records()}
    first = dataclasses.replace(_note("one", x=10), id=new_record_id())
    second = dataclasses.replace(_note("two", x=60), id=new_record_id())
    seen = Recorder(model)
    model.apply_step("import notes.json", [Create(first), Create(second)])
    assert seen.of(RecordsChanged) == [RecordsChanged(added=(first.id, second.id), origin="local")]
    assert model.history.undo_label == "import notes.json"
    assert model.undo() and doc.record(first.id) is None and doc.record(second.id) is None

    # A restore brings a kept copy back without becoming a step of its own.
    stamp = next(iter(before))
    model.delete(stamp)
    changed = model.records()[0]
    model.update(dataclasses.replace(changed, note="changed since"))
    labels = (model.history.undo_label, model.history.redo_label)
    seen.clear()
    assert model.restore(before) == 2
    assert seen.of(RecordsChanged) == [
        RecordsChanged(added=(stamp,), changed=(changed.id,), origin="local")
    ]
    assert {r.id: r for r in model.records()} == before == {r.id: r for r in doc.records()}
    assert (model.history.undo_label, model.history.redo_label) == labels
    assert model.restore(before) == 0
    model.close()
    await doc.close()


@async_test
async def test_connection_peers_and_conflicts_are_reported_with_ids(
    server: ServerProcess, tmp_path: Path
) -> None:
    alice = await _review(server, tmp_path / "alice", user_id="alice")
    seen = Recorder(alice)
    bob = await _review(server, tmp_path / "bob", user_id="bob")
    await eventually(lambda: bool(alice.peers), what="alice sees bob")
    assert PeersChanged(alice.peers) in seen.events
    shared = alice.create(_note("shared"))
    await _saved(alice, shared.id)
    await eventually(lambda: bob.record(shared.id) is not None, what="bob sees the note")

    await alice.document.disconnect()
    assert ConnectionChanged(ConnectionState.OFFLINE, "disconnected by the user") in seen.events
    assert alice.connection is ConnectionState.OFFLINE and alice.peers == ()
    mine = alice.record(shared.id)
    assert isinstance(mine, NoteAnnotation)
    alice.update(dataclasses.replace(mine, color="#0000ff"))
    theirs = bob.record(shared.id)
    assert isinstance(theirs, NoteAnnotation)
    bob.update(dataclasses.replace(theirs, color="#ff0000"))
    await _saved(bob, shared.id)
    seen.clear()
    alice.document.connect()
    await asyncio.wait_for(alice.document.save(), 30)

    # Bob's colour came first; Alice's losing one is in her conflict list, named by id.
    [conflict] = alice.conflicts()
    assert ConflictsChanged(added=(conflict.conflict_id,)) in seen.events
    assert ConnectionChanged(ConnectionState.ONLINE) in seen.events
    assert RecordsChanged(changed=(shared.id,), origin="remote") in seen.of(RecordsChanged)
    assert getattr(alice.record(shared.id), "color", None) == "#ff0000"
    seen.clear()
    alice.reapply_conflict(conflict.conflict_id)
    assert seen.of(RecordsChanged) == [RecordsChanged(changed=(shared.id,), origin="local")]
    assert ConflictsChanged(removed=(conflict.conflict_id,)) in seen.events
    assert getattr(alice.record(shared.id), "color", None) == "#0000ff"
    await asyncio.wait_for(alice.document.save(), 30)
    assert PendingChanged(0) == seen.of(PendingChanged)[-1] and alice.pending == 0
    assert server.layer_records()[shared.id]["color"] == "#0000ff"
    for model in (alice, bob):
        model.close()
        await model.document.close()


# --- permissions --------------------------------------------------------------------------------

TEACHER = [
    "annotations:view:all",
    "annotations:edit:all",
    "annotations:delete:all",
    "comments:view:all",
    "comments:edit:self",
    "comments:reply:all",
]
STUDENT = [
    "annotations:view:all",
    "annotations:edit:self",
    "annotations:delete:self",
    "comments:view:all",
    "comments:edit:self",
    "comments:delete:self",
]
"""A student edits and deletes only their own records, and may not reply to threads."""


@async_test
async def test_flags_and_reasons_are_what_the_server_enforces(
    server: ServerProcess, tmp_path: Path
) -> None:
    teacher = await _review(
        server,
        tmp_path / "t",
        user_id="teacher",
        default_group="staff",
        collaboration_permissions=TEACHER,
    )
    theirs = teacher.create(_note("see me", creator="Ms Tan"))
    first = teacher.reply(theirs.id, "a thread", creator_name="Ms Tan")
    await _saved(teacher, theirs.id, first.id)
    student = await _review(
        server,
        tmp_path / "s",
        user_id="stu",
        default_group="class-a",
        collaboration_permissions=STUDENT,
    )
    await eventually(lambda: student.record(first.id) is not None, what="the thread arrives")
    seen = Recorder(student)

    flags = student.flags(theirs.id)
    assert (flags.edit, flags.delete, flags.reply) == (False, False, False)
    assert flags.reason == "Your invite does not allow changing Ms Tan's annotation"
    assert flags.reply_reason == "Your invite does not allow replying to this thread"
    assert "annotations:edit is not granted" in flags.edit_denied
    assert "annotations:delete is not granted" in flags.delete_denied
    assert "comments:reply is not granted" in flags.reply_denied
    assert student.flags(first.id).reply is False  # a comment's thread is its root's
    with pytest.raises(ActionRefusedError, match="does not allow replying"):
        student.reply(theirs.id, "may I?")
    with pytest.raises(ActionRefusedError, match="does not allow changing Ms Tan's"):
        student.update(dataclasses.replace(theirs, color="#ff0000"))
    with pytest.raises(ActionRefusedError, match="does not allow changing Ms Tan's"):
        student.delete(theirs.id)
    assert student.pending == 0 and not student.history.can_undo  # nothing was tried

    # The server refuses exactly these, with the same words: go past the model to try.
    student.document.update(theirs.id, {"color": "#ff0000"})
    await eventually(lambda: bool(seen.of(ChangeRefused)), what="the edit is refused")
    assert seen.of(ChangeRefused)[0].reason == flags.edit_denied
    student.document.delete(theirs.id)
    await eventually(lambda: len(seen.of(ChangeRefused)) == 2, what="the delete is refused")
    assert seen.of(ChangeRefused)[1].reason == flags.delete_denied
    reply = Comment(root_id=theirs.id, page_index=0, text=Text("sneaky"))
    student.document.create(reply)
    await eventually(lambda: len(seen.of(ChangeRefused)) == 3, what="the reply is refused")
    assert seen.of(ChangeRefused)[2].reason == flags.reply_denied
    await eventually(
        lambda: getattr(student.record(theirs.id), "color", None) == theirs.color,
        what="the refused edit is rolled back",
    )

    # The student's own note is theirs to change, before and after the server saw it.
    own = student.create(_note("mine", creator="Stu"))
    assert student.flags(own.id).edit and student.flags(own.id).delete
    assert student.flags(own.id).reason == ""
    await _saved(student, own.id)
    assert student.flags(own.id).edit
    # The teacher may reply to the student's note, and the server takes it.
    await eventually(lambda: teacher.record(own.id) is not None, what="the note reaches teacher")
    assert teacher.flags(own.id).reply and teacher.flags(own.id).reply_denied == ""
    answer = teacher.reply(own.id, "well done")
    await _saved(teacher, answer.id)
    assert answer.id in server.layer_records()
    for model in (teacher, student):
        model.close()
        await model.document.close()


@async_test
async def test_a_read_only_pdf_makes_every_record_read_only(pdf: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked.pdf"
    shutil.copyfile(corpus_pdf("encrypted-aes256-owner-only-no-annotate"), locked)
    with open_pdf(locked) as opened:
        reason = opened.read_only_reason
    assert reason is not None
    refused = f"Read-only: {reason}"
    doc = await LaminaDocument.open_local(locked, pdf_backend=BACKEND, store_dir=tmp_path / "l")
    model = ReviewModel(doc)
    model.set_read_only(reason)  # as the window does with what the PDF says
    with pytest.raises(ActionRefusedError, match=re.escape(refused)):
        model.create(_note("no"))
    assert doc.records() == [] and doc.pending_count == 0
    model.close()
    await doc.close()

    # The same reason on a PDF with annotations: each is read-only, with the reason shown.
    doc, model = await _local(pdf, tmp_path)
    seen = Recorder(model)
    assert model.read_only_reason is None and model.flags(model.records()[0].id).edit
    model.set_read_only(reason)
    assert seen.events == [ReadOnlyChanged(reason)]
    assert len(model.records()) == 5
    for record in model.records():
        flags = model.flags(record.id)
        assert (flags.edit, flags.delete, flags.reply) == (False, False, False)
        assert flags.reason == refused == flags.reply_reason
    stamp = model.records()[0]
    for attempt in (
        lambda: model.update(dataclasses.replace(stamp, note="no")),
        lambda: model.delete(stamp.id),
        lambda: model.reply(stamp.id, "no"),
    ):
        with pytest.raises(ActionRefusedError, match=re.escape(refused)):
            attempt()
    assert doc.pending_count == 0 and doc.record(stamp.id) == stamp
    model.set_read_only(None)
    assert seen.events[-1] == ReadOnlyChanged(None) and model.flags(stamp.id).edit
    model.close()
    await doc.close()


@async_test
async def test_a_viewer_without_write_gets_a_read_only_model(
    server: ServerProcess, tmp_path: Path
) -> None:
    viewer = await _review(server, tmp_path / "v", permissions=["read-document"])
    stamp = viewer.records()[0]
    assert viewer.read_only_reason is not None and "no write permission" in viewer.read_only_reason
    assert viewer.flags(stamp.id).edit is False
    assert viewer.flags(stamp.id).reason == f"Read-only: {viewer.read_only_reason}"
    viewer.close()
    await viewer.document.close()


# --- other layers -------------------------------------------------------------------------------


@async_test
async def test_other_layers_overlay_read_only_and_report_their_ids(
    server: ServerProcess, tmp_path: Path
) -> None:
    ana = await _review(server, tmp_path / "a", layer="ana", user_id="ana")
    hers = ana.create(_note("from ana", creator="Ana"))
    await _saved(ana, hers.id)
    lead = await _review(server, tmp_path / "lead", layer="lead", view_layers=["ana"])
    seen = Recorder(lead)
    assert lead.viewable_layers() == ("ana",) and lead.may_view_layer("ana")
    assert not lead.may_view_layer("bob")
    stamps = {a.id for a in lead.visible_annotations()}
    assert len(stamps) == 5

    await asyncio.wait_for(lead.show_layer("ana"), 30)
    assert seen.events[0] == LayerVisibilityChanged("ana", True)
    # The layer's copies of the PDF's stamps are not drawn twice: only Ana's own note.
    assert seen.of(LayerRecordsChanged) == [LayerRecordsChanged("ana", added=(hers.id,))]
    assert lead.layer_state("ana") == "shown" and lead.shown_layers() == ["ana"]
    assert [r.id for r in lead.layer_records("ana")] == [hers.id]
    assert {a.id for a in lead.visible_annotations()} == stamps | {hers.id}
    assert lead.overlay_annotations() == [("ana", lead.layer_records("ana")[0])]
    assert hers.id in {a.id for a in lead.page_annotations(0)}
    assert lead.layer_of(hers.id) == "ana" and lead.record(hers.id) is None
    flags = lead.flags(hers.id)
    assert (flags.edit, flags.delete, flags.reply) == (False, False, False)
    assert flags.reason == "Read-only: ana layer" == flags.reply_reason
    with pytest.raises(ReadOnlyLayerError, match="layer 'ana'"):
        lead.delete(hers.id)

    # Live: Ana's reply reaches the lead's view of her thread, with its ids.
    seen.clear()
    comment = ana.reply(hers.id, "and a thread", creator_name="Ana")
    await eventually(lambda: bool(lead.thread(hers.id)), what="Ana's comment reaches lead")
    assert [c.id for c in lead.thread(hers.id)] == [comment.id]
    added = {i for e in seen.of(LayerRecordsChanged) for i in e.added}
    assert comment.id in added and ThreadsChanged((hers.id,)) in seen.events

    seen.clear()
    lead.hide_layer("ana")
    [gone] = seen.of(LayerRecordsChanged)
    assert set(gone.removed) == {hers.id, comment.id}
    assert seen.events[-1] == LayerVisibilityChanged("ana", False)
    assert {a.id for a in lead.visible_annotations()} == stamps
    assert lead.thread(hers.id) == [] and lead.layer_state("ana") == "hidden"
    assert lead.document.viewed_layers() == []

    # Hidden while it is still loading (offline here): it stays hidden, quietly.
    await lead.document.disconnect()
    seen.clear()
    loading = asyncio.get_running_loop().create_task(lead.show_layer("ana"))
    await eventually(lambda: lead.layer_state("ana") == "loading", what="ana is asked for")
    lead.hide_layer("ana")
    await asyncio.wait_for(loading, 30)  # no error: the user hid it
    assert seen.events == [
        LayerVisibilityChanged("ana", True),
        LayerVisibilityChanged("ana", False),
    ]
    assert lead.layer_state("ana") == "hidden" and lead.document.viewed_layers() == []
    lead.document.connect()
    await asyncio.wait_for(lead.show_layer("ana"), 30)
    assert {r.id for r in lead.layer_records("ana")} == {hers.id, comment.id}
    lead.hide_layer("ana")

    # A layer the token may not view goes back to hidden, and the error says why.
    seen.clear()
    with pytest.raises(LayerAccessError, match="may not view layer 'bob'"):
        await lead.show_layer("bob")
    assert seen.events == [
        LayerVisibilityChanged("bob", True),
        LayerVisibilityChanged("bob", False),
    ]
    for model in (ana, lead):
        model.close()
        await model.document.close()


def _calls_made(fn: Any) -> tuple[Any, int]:
    """Run ``fn``; return its result and how many Python and builtin calls it made."""
    count = 0

    def profile(_frame: object, event: str, _arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        result = fn()
    finally:
        sys.setprofile(None)
    return result, count


@async_test
async def test_a_page_or_a_thread_of_another_layer_costs_what_it_holds_not_the_layer(
    server: ServerProcess, tmp_path: Path
) -> None:
    ana = await _review(server, tmp_path / "a", layer="ana", user_id="ana")
    with ana.step("many notes"):
        notes = [ana.create(_note(f"note {i}", x=10 + i % 50, creator="Ana")) for i in range(300)]
    reply = ana.reply(notes[0].id, "the one thread", creator_name="Ana")
    await _saved(ana, reply.id, *(n.id for n in notes))
    lead = await _review(server, tmp_path / "lead", layer="lead", view_layers=["ana"])
    await asyncio.wait_for(lead.show_layer("ana"), 30)
    assert len(lead.layer_records("ana")) == 301

    thread, thread_calls = _calls_made(lambda: lead.thread(notes[0].id))
    assert [c.id for c in thread] == [reply.id]
    empty, page_calls = _calls_made(lambda: lead.page_annotations(1))
    assert empty == []
    # Read from the layer's index by thread and by page: a few calls, not one per record.
    assert thread_calls < 30 and page_calls < 30, (thread_calls, page_calls)
    for model in (ana, lead):
        model.close()
        await model.document.close()


# --- subscribers --------------------------------------------------------------------------------


@pytest.mark.expect_error_log(r"review model subscriber .* failed")
@async_test
async def test_a_failing_subscriber_is_logged_and_the_others_still_hear(
    pdf: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    doc, model = await _local(pdf, tmp_path)

    def broken(event: ReviewEvent) -> None:
        raise RuntimeError("view exploded")

    model.subscribe(broken)
    seen = Recorder(model)
    note = model.create(_note("still heard"))
    assert RecordsChanged(added=(note.id,), origin="local") in seen.events
    failures = [r for r in caplog.records if "review model subscriber" in r.getMessage()]
    assert failures and failures[0].exc_info is not None  # logged with the traceback
    assert "view exploded" in str(failures[0].exc_info[1])

    unsubscribe = model.subscribe(seen.events.append)
    unsubscribe()
    seen.clear()
    model.close()  # no more events after close
    doc.create(_note("after close"))
    assert seen.events == []
    await doc.close()


def test_the_model_imports_no_qt() -> None:
    # In a fresh interpreter: another test module of the same run may have imported Qt.
    code = (
        "import sys, lamina.client.review_model;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'PyQt5', 'PyQt6'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
