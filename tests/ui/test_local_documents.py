"""Local PDFs through the real client: edits are kept without saving; Ctrl+S writes the file."""

from __future__ import annotations

import shutil
from pathlib import Path

from lamina.model.records import InkAnnotation
from lamina.pdf import open_pdf
from lamina.pdf.annotations import read_records
from lamina.ui.controller import AppController
from lamina.ui.main_window import MainWindow
from lamina.ui.page_view import page_rect_center
from PySide6.QtCore import Qt

from tests.conftest import corpus_pdf
from tests.ui.conftest import open_file

BOXES = corpus_pdf("geometry-rotations-offset-mediabox-cropbox")


def draw_ink(qtbot, window: MainWindow, points: list[tuple[float, float]]) -> None:  # type: ignore[no-untyped-def]
    view = window.view
    view.set_zoom(1.0)
    view.go_to_page(0)
    qtbot.waitUntil(lambda: view.current_page == 0)
    qtbot.keyClick(view, Qt.Key.Key_P)
    vp = view.viewport()
    px = [page_rect_center(view, 0, p) for p in points]
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=px[0])
    for p in px[1:]:
        qtbot.mouseMove(vp, p)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=px[-1])


def inks(window: MainWindow) -> list[InkAnnotation]:
    assert window.session is not None
    return [a for a in window.session.annotations() if isinstance(a, InkAnnotation)]


def test_a_stroke_survives_closing_the_window_without_saving(
    qtbot, controller: AppController, tmp_path: Path
) -> None:
    pdf = tmp_path / "boxes.pdf"
    shutil.copyfile(BOXES, pdf)
    before = pdf.read_bytes()
    first = controller.new_window()
    qtbot.addWidget(first)
    first.show()
    open_file(qtbot, first, pdf)
    draw_ink(qtbot, first, [(100, 400), (150, 420), (200, 480)])
    assert len(inks(first)) == 1
    assert "1 change kept" in first.sync_label.text()
    first.close()  # no save: the PDF is untouched, the stroke is in the local store

    second = controller.new_window()
    qtbot.addWidget(second)
    second.show()
    open_file(qtbot, second, pdf)
    (ink,) = inks(second)
    assert ink.lines.points[0][0] == inks_first_point(ink)
    assert pdf.read_bytes() == before
    assert "1 change kept" in second.sync_label.text()


def inks_first_point(ink: InkAnnotation) -> tuple[float, float]:
    x, y = ink.lines.points[0][0][:2]
    assert abs(x - 100) < 1.5 and abs(y - 400) < 1.5
    return ink.lines.points[0][0]


def test_ctrl_s_writes_the_stroke_into_the_pdf_and_keeps_a_backup(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    pdf = tmp_path / "boxes.pdf"
    shutil.copyfile(BOXES, pdf)
    original = pdf.read_bytes()
    open_file(qtbot, window, pdf)
    draw_ink(qtbot, window, [(100, 400), (160, 430)])
    with qtbot.waitSignal(window.bridge.pdf_saved, timeout=20000):  # type: ignore[union-attr]
        qtbot.keyClick(window.view, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.sync_label.text() == "All changes saved into the PDF")
    with open_pdf(pdf) as doc:
        assert any(isinstance(r, InkAnnotation) for r in read_records(doc))
    backups = list(tmp_path.glob("boxes.orig*.pdf"))
    assert len(backups) == 1 and backups[0].read_bytes() == original


def test_a_second_pdf_never_shows_the_first_ones_annotations(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    stamps = tmp_path / "stamps.pdf"
    shutil.copyfile(corpus_pdf("annot-stamps-acrobat"), stamps)
    open_file(qtbot, window, stamps)
    assert len(window.view.annotations()) == 5
    assert window.comments.row_count() == 5
    # The pages of the next file show at once; its annotations (none) follow.
    assert window.open_path(BOXES)
    assert window.view.annotations() == []
    assert window.comments.row_count() == 0
    qtbot.waitUntil(lambda: window.session is not None, timeout=20000)
    assert window.view.annotations() == [] and inks(window) == []
