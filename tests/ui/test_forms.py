"""Fillable forms in the app: annotating a form PDF, and filling each kind of field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lamina.model.records import InkAnnotation
from lamina.ui.main_window import MainWindow
from lamina.ui.page_view import page_rect_center
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.conftest import corpus_pdf
from tests.ui.conftest import open_file

FORM_1040 = corpus_pdf("form-acroform-242-widgets")


def draw_ink(qtbot, window: MainWindow, page: int, points: list[tuple[float, float]]) -> None:  # type: ignore[no-untyped-def]
    view = window.view
    qtbot.keyClick(view, Qt.Key.Key_P)
    assert view.tool == "ink"
    pixels = [page_rect_center(view, page, p) for p in points]
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=pixels[0])
    for px in pixels[1:]:
        qtbot.mouseMove(vp, px)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=pixels[-1])


def test_a_fillable_form_pdf_can_be_annotated(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 10 defect 10: the 242-widget form opened, but its values had no id and nothing drew."""
    pdf = tmp_path / "f1040.pdf"
    shutil.copyfile(FORM_1040, pdf)
    open_file(qtbot, window, pdf)
    session = window.session
    assert session is not None
    window.view.set_zoom(1.0)
    window.view.go_to_page(0)
    draw_ink(qtbot, window, 0, [(300.0, 400.0), (340.0, 420.0), (380.0, 470.0)])
    inks = [a for a in session.annotations() if isinstance(a, InkAnnotation)]
    assert len(inks) == 1
    assert inks[0].page_index == 0


@pytest.mark.expect_error_log("opening .* failed")
def test_an_unexpected_failure_reading_annotations_is_said_not_swallowed(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = tmp_path / "f1040.pdf"
    shutil.copyfile(FORM_1040, pdf)

    async def broken(path: Path, password: str | None = None) -> object:
        raise KeyError("id")

    monkeypatch.setattr(window.documents, "open_local", broken)
    assert window.open_path(pdf)
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "errorDialog") is not None)
    box = window.findChild(QMessageBox, "errorDialog")
    assert "KeyError" in box.text()
    assert window.pdf is None
