"""The Comments panel follows the document row by row: a change touches only its own row."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from lamina.model.geometry import Rect
from lamina.model.ids import new_record_id
from lamina.model.records import Comment, NoteAnnotation, StampAnnotation, Text
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
    assert list(before) == [a.id for a in model.annotations()] and len(stamps) == 4
    picked = before[stamps[1].id]
    window.comments.tree.setCurrentItem(picked)

    note = NoteAnnotation(
        id=new_record_id(), page_index=0, bbox=Rect(10, 10, 32, 32), text=Text("first")
    )
    model.create(note)
    after = rows(window)
    assert list(after) == [*before, note.id]  # added last, in the model's order
    assert all(after[rid] is item for rid, item in before.items())  # the others untouched
    assert window.comments.tree.currentItem() is picked

    model.update(dataclasses.replace(note, text=Text("second")))
    assert rows(window)[note.id] is after[note.id]
    assert after[note.id].text(0) == "Note on page 1: second"

    reply = model.reply(stamps[1].id, "why?", "Ann")
    assert isinstance(reply, Comment)
    assert [picked.child(i).text(0) for i in range(picked.childCount())] == ["why?"]

    model.delete(stamps[0].id)
    assert list(rows(window)) == [rid for rid in after if rid != stamps[0].id]
    assert window.comments.tree.currentItem() is picked
    model.undo()
    assert set(rows(window)) == set(after)
    assert list(rows(window)) == [a.id for a in model.annotations()]  # the model's order
