"""The Comments panel follows the document row by row: a change touches only its own row."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from lamina.model.geometry import Rect
from lamina.model.ids import new_record_id
from lamina.model.records import Comment, NoteAnnotation, StampAnnotation, Text
from lamina.ui.comments_panel import page_order
from lamina.ui.main_window import MainWindow
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidgetItem

from tests.conftest import corpus_pdf
from tests.ui.conftest import open_file


def rows(window: MainWindow) -> dict[str, QTreeWidgetItem]:
    tree = window.comments.tree
    out = {}
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        assert item is not None
        out[str(item.data(0, Qt.ItemDataRole.UserRole))] = item
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
    picked = before[stamps[1].id]
    window.comments.tree.setCurrentItem(picked)

    note = NoteAnnotation(
        id=new_record_id(), page_index=0, bbox=Rect(10, 10, 32, 32), text=Text("first")
    )
    model.create(note)
    after = rows(window)
    # Inserted where the page puts it (top left of page 1: first), the others in order.
    assert list(after) == [note.id, *before]
    assert all(after[rid] is item for rid, item in before.items())  # the others untouched
    assert window.comments.tree.currentItem() is picked

    model.update(dataclasses.replace(note, text=Text("second")))
    assert rows(window)[note.id] is after[note.id]
    assert after[note.id].text(0) == "p. 1 \u00b7 Note: second"

    reply = model.reply(stamps[1].id, "why?", "Ann")
    assert isinstance(reply, Comment)
    assert [picked.child(i).text(0) for i in range(picked.childCount())] == ["why?"]

    model.delete(stamps[0].id)
    assert list(rows(window)) == [rid for rid in after if rid != stamps[0].id]
    assert window.comments.tree.currentItem() is picked
    model.undo()
    assert set(rows(window)) == set(after)
    assert list(rows(window)) == [a.id for a in sorted(model.annotations(), key=page_order)]


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
    tree = window.comments.tree
    assert tree.topLevelItem(0).text(0).startswith("p. 1 ")  # the page number comes first

    first = window.comments._items[made[2].id]
    tree.setFocus()
    tree.setCurrentItem(first)
    assert window.view.selected_id == made[2].id
    qtbot.keyClick(tree, Qt.Key.Key_Down)  # the keyboard moves the page selection too
    assert window.comments.current_id() == made[1].id
    assert window.view.selected_id == made[1].id

    window.view.set_selected(made[0].id)  # picked on the page: the list follows
    assert window.comments.current_id() == made[0].id
    qtbot.mouseClick(window.comments.delete_button, Qt.MouseButton.LeftButton)
    assert model.record(made[0].id) is None and model.record(made[1].id) is not None

    window.view.set_selected(None)  # nothing selected on the page: no row stays picked
    assert window.comments.current_id() is None
    assert not window.comments.delete_button.isEnabled()
