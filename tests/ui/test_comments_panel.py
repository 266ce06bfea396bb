"""The Comments panel follows the document row by row: a change touches only its own row."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from lamina.model.geometry import Rect
from lamina.model.ids import new_record_id
from lamina.model.records import Comment, NoteAnnotation, StampAnnotation, Text
from lamina.model.undo import Create
from lamina.ui.comments_model import COMMENT_PREFIX
from lamina.ui.comments_panel import FILL_SLICE, CommentRows, page_order
from lamina.ui.main_window import MainWindow
from PySide6.QtCore import QAbstractItemModel, Qt

from tests.conftest import corpus_pdf
from tests.ui.conftest import open_file


def rows(window: MainWindow) -> dict[str, str]:
    """Return the annotation rows shown, in order: id → the text of its first column."""
    model = window.comments.model
    out = {}
    for row in range(model.rowCount()):
        text = model.data(model.index(row, 0))
        if not text.startswith(COMMENT_PREFIX):
            out[str(model.data(model.index(row, 0), Qt.ItemDataRole.UserRole))] = text
    return out


class ModelLog:
    """What a Qt item model reported: its structure changes and the rows changed."""

    def __init__(self, model: QAbstractItemModel) -> None:
        self.events: list[tuple[str, int, int]] = []
        model.rowsInserted.connect(lambda _p, a, b: self.events.append(("inserted", a, b)))
        model.rowsRemoved.connect(lambda _p, a, b: self.events.append(("removed", a, b)))
        model.rowsMoved.connect(lambda _p, a, b, _d, to: self.events.append(("moved", a, to)))
        model.modelReset.connect(lambda: self.events.append(("reset", 0, 0)))
        model.layoutChanged.connect(lambda *_: self.events.append(("layout", 0, 0)))
        model.dataChanged.connect(
            lambda a, b, *_: self.events.append(("changed", a.row(), b.row()))
        )

    def take(self) -> list[tuple[str, int, int]]:
        out, self.events = self.events, []
        return out


def test_an_edit_updates_its_row_and_keeps_the_others_and_the_pick(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    pdf = tmp_path / "stamps.pdf"
    shutil.copyfile(corpus_pdf("annot-stamps-acrobat"), pdf)
    open_file(qtbot, window, pdf)
    model = window.session
    assert model is not None
    stamps = [a for a in model.annotations() if isinstance(a, StampAnnotation)]
    before = rows(window)
    in_page_order = [a.id for a in sorted(model.annotations(), key=page_order)]
    assert list(before) == in_page_order and len(stamps) == 4
    panel = window.comments
    panel.select(stamps[1].id)
    log = ModelLog(panel.model)

    note = NoteAnnotation(
        id=new_record_id(), page_index=0, bbox=Rect(10, 10, 32, 32), text=Text("first")
    )
    model.create(note)
    after = rows(window)
    # Inserted where the page puts it (top left of page 1: first), the others in order.
    assert list(after) == [note.id, *before]
    # One row inserted, nothing else touched: no reset, the others keep their rows.
    assert log.take() == [("inserted", 0, 0)]
    assert panel.current_id() == stamps[1].id

    model.update(dataclasses.replace(note, text=Text("second")))
    assert log.take() == [("changed", 0, 0)]  # that row only
    assert rows(window)[note.id] == "p. 1 \u00b7 Note: second"

    reply = model.reply(stamps[1].id, "why?", "Ann")
    assert isinstance(reply, Comment)
    at = panel.model.row_of(stamps[1].id)
    assert at is not None
    # The comment is the row below its annotation, and only that row came.
    assert panel.model.data(panel.model.index(at + 1, 0)) == COMMENT_PREFIX + "why?"
    assert panel.model.data(panel.model.index(at + 1, 1)) == "Ann"
    assert ("inserted", at + 1, at + 1) in log.take()
    assert panel.current_id() == stamps[1].id

    gone = panel.model.row_of(stamps[0].id)
    model.delete(stamps[0].id)
    assert list(rows(window)) == [rid for rid in after if rid != stamps[0].id]
    assert log.take() == [("removed", gone, gone)]
    assert panel.current_id() == stamps[1].id
    model.undo()
    assert set(rows(window)) == set(after)
    assert list(rows(window)) == [a.id for a in sorted(model.annotations(), key=page_order)]
    assert log.take() == [("inserted", gone, gone)]


def test_the_list_follows_the_page_both_ways_and_delete_deletes_what_the_page_selected(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    """Issue 14 defect 5: rows in page order, keyboard moves the page selection too, and a
    page selection cleared leaves no row for Delete to act on; the page number shows."""
    from lamina.model.geometry import Rect
    from lamina.model.records import NoteAnnotation, Text

    pdf = tmp_path / "boxes.pdf"
    shutil.copyfile(corpus_pdf("geometry-rotations-offset-mediabox-cropbox"), pdf)
    open_file(qtbot, window, pdf)
    model = window.session
    assert model is not None
    made = []
    for page, top in ((2, 100.0), (0, 300.0), (0, 100.0)):  # created out of page order
        note = NoteAnnotation(
            id="", page_index=page, bbox=Rect(50, top, 24, 24), text=Text(f"p{page} {top:.0f}")
        )
        made.append(model.create(note))
    listed = [i for i in rows(window) if i in {m.id for m in made}]
    assert listed == [made[2].id, made[1].id, made[0].id]  # page 1 top, page 1 lower, page 3
    table = window.comments.table
    assert next(iter(rows(window).values())).startswith("p. 1 ")  # the page number first

    table.setFocus()
    window.comments.select(made[2].id)
    assert window.view.selected_id == made[2].id
    qtbot.keyClick(table, Qt.Key.Key_Down)  # the keyboard moves the page selection too
    assert window.comments.current_id() == made[1].id
    assert window.view.selected_id == made[1].id

    window.view.set_selected(made[0].id)  # picked on the page: the list follows
    assert window.comments.current_id() == made[0].id
    qtbot.mouseClick(window.comments.delete_button, Qt.MouseButton.LeftButton)
    assert model.record(made[0].id) is None and model.record(made[1].id) is not None

    window.activateWindow()
    window.comments.select(made[1].id)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Delete)  # the Delete key in the list: the page's pick
    assert model.record(made[1].id) is None and model.record(made[2].id) is not None

    window.view.set_selected(None)  # nothing selected on the page: no row stays picked
    assert window.comments.current_id() is None
    assert not window.comments.delete_button.isEnabled()


def test_many_records_at_once_are_listed_a_slice_at_a_time_not_a_row_each(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    pdf = tmp_path / "stamps.pdf"
    shutil.copyfile(corpus_pdf("annot-stamps-acrobat"), pdf)
    open_file(qtbot, window, pdf)
    model = window.session
    assert model is not None
    listed = window.comments.row_count()
    log = ModelLog(window.comments.model)
    count = 2 * FILL_SLICE + 50
    notes = [
        NoteAnnotation(
            id=new_record_id(), page_index=0, bbox=Rect(10 + i % 500, 10 + i % 700, 20, 20)
        )
        for i in range(count)
    ]
    model.apply_step("import", [Create(n) for n in notes])  # one event naming them all
    rows_of = window.bridge.findChild(CommentRows)
    qtbot.waitUntil(lambda: not rows_of.filling)
    assert window.comments.row_count() == count + listed
    assert list(rows(window)) == [a.id for a in sorted(model.annotations(), key=page_order)]
    inserts = [e for e in log.take() if e[0] == "inserted"]
    assert len(inserts) <= count // FILL_SLICE + 2  # slices, never one insert per row
