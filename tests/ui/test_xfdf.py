"""File → Import XFDF… / Export XFDF…: the menu entries, run as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest
from lamina.model.records import Comment, NoteAnnotation, PolygonAnnotation
from lamina.pdf import open_pdf
from lamina.pdf.xfdf.document import import_xfdf
from lamina.ui.main_window import MainWindow
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from tests.support.corpus import SHARED
from tests.ui.conftest import open_file

REVIEW = SHARED / "corpus" / "xfdf" / "itext-acrobat-dc_polygon-cloud-review-replies"


def _bare_copy(target: Path) -> Path:
    doc = pymupdf.open(REVIEW.with_suffix(".pdf"))
    for page in doc:
        while page.first_annot is not None:
            page.delete_annot(page.first_annot)
    doc.save(target)
    return target


def _file_menu_action(window: MainWindow, name: str) -> QAction:
    actions = {a.objectName(): a for a in window.window_actions.file_menu.actions()}
    assert name in actions, sorted(actions)
    return actions[name]


def test_the_file_menu_has_import_and_export_xfdf_enabled_with_a_document(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    importing = _file_menu_action(window, "importXfdfAction")
    exporting = _file_menu_action(window, "exportXfdfAction")
    assert importing.text() == "Import &XFDF…" and exporting.text() == "Export XF&DF…"
    assert not importing.isEnabled() and not exporting.isEnabled()
    open_file(qtbot, window, _bare_copy(tmp_path / "review.pdf"))
    assert importing.isEnabled() and exporting.isEnabled()


def test_import_xfdf_from_the_menu_adds_its_annotations_and_replies_as_one_undo_step(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_file(qtbot, window, _bare_copy(tmp_path / "review.pdf"))
    assert window.session is not None and window.session.annotations() == []
    chosen = str(REVIEW.with_suffix(".xfdf"))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (chosen, ""))
    _file_menu_action(window, "importXfdfAction").trigger()
    annotations = window.session.annotations()
    assert sum(isinstance(a, PolygonAnnotation) for a in annotations) == 1
    assert sum(isinstance(a, NoteAnnotation) for a in annotations) == 7
    assert sum(isinstance(r, Comment) for r in window.session.records()) == 6
    polygon = next(a for a in annotations if isinstance(a, PolygonAnnotation))
    assert (polygon.stroke_color or "").lower() == "#e52237"
    assert polygon.cloudy_border_intensity == 2
    name = REVIEW.with_suffix(".xfdf").name
    assert window.statusBar().currentMessage() == f"Imported 14 changes from {name}"
    assert window.window_actions.undo_action.text() == f"&Undo import {name}"
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.session.annotations() == []


def test_export_xfdf_from_the_menu_writes_what_the_layer_holds(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = _bare_copy(tmp_path / "review.pdf")
    open_file(qtbot, window, pdf)
    assert window.session is not None
    chosen = str(REVIEW.with_suffix(".xfdf"))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (chosen, ""))
    _file_menu_action(window, "importXfdfAction").trigger()
    out = tmp_path / "exported.xfdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    _file_menu_action(window, "exportXfdfAction").trigger()
    assert window.statusBar().currentMessage().startswith(f"Exported XFDF to {out}")
    with open_pdf(pdf) as doc:
        back = import_xfdf(doc, out.read_bytes()).records
    layer = window.session.records()
    assert sorted(type(r).__name__ for r in back) == sorted(type(r).__name__ for r in layer)
    by_id = {r.id: r for r in back}
    for record in layer:
        if isinstance(record, PolygonAnnotation):
            again = by_id[record.id]
            assert isinstance(again, PolygonAnnotation)
            flat = [c for p in record.points for c in (p.x, p.y)]
            assert [c for p in again.points for c in (p.x, p.y)] == pytest.approx(flat)
            assert again.stroke_color == record.stroke_color


def test_a_hostile_xfdf_is_refused_with_a_message_and_changes_nothing(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_file(qtbot, window, _bare_copy(tmp_path / "review.pdf"))
    hostile = tmp_path / "hostile.xfdf"
    hostile.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
        b'<xfdf xmlns="http://ns.adobe.com/xfdf/"><annots/></xfdf>'
    )
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(window, "show_error", lambda title, text: shown.append((title, text)))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(hostile), ""))
    _file_menu_action(window, "importXfdfAction").trigger()
    assert len(shown) == 1 and shown[0][0] == "Cannot import this file"
    assert "\n" not in shown[0][1]
    assert window.session is not None and window.session.records() == []
