"""The eraser tool in the window: drag over strokes, they go whole; one undo brings them back."""

from __future__ import annotations

import shutil
from pathlib import Path

from lamina.model.geometry import Rect
from lamina.model.records import InkAnnotation, NoteAnnotation, Text
from lamina.ui.main_window import MainWindow
from lamina.ui.page_view import page_rect_center
from PySide6.QtCore import Qt

from tests.conftest import corpus_pdf
from tests.ui.conftest import open_file
from tests.ui.test_forms import draw_ink

BOXES = corpus_pdf("geometry-rotations-offset-mediabox-cropbox")


def inks(window: MainWindow) -> list[InkAnnotation]:
    assert window.session is not None
    return [a for a in window.session.annotations() if isinstance(a, InkAnnotation)]


def test_the_eraser_takes_whole_strokes_it_crosses_in_one_undo_step(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    pdf = tmp_path / "boxes.pdf"
    shutil.copyfile(BOXES, pdf)
    open_file(qtbot, window, pdf)
    view = window.view
    view.set_zoom(1.0)
    view.go_to_page(0)
    qtbot.waitUntil(lambda: view.current_page == 0)
    draw_ink(qtbot, window, 0, [(100, 300), (300, 300)])
    draw_ink(qtbot, window, 0, [(100, 340), (300, 340)])
    draw_ink(qtbot, window, 0, [(100, 500), (300, 500)])  # not crossed
    assert window.session is not None
    window.session.create(
        NoteAnnotation(id="", page_index=0, bbox=Rect(190, 310, 20, 20), text=Text("kept"))
    )
    assert len(inks(window)) == 3

    window.tool_actions["eraser"].trigger()
    assert view.tool == "eraser"
    vp = view.viewport()
    path = [page_rect_center(view, 0, p) for p in ((200, 280), (200, 320), (200, 360))]
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=path[0])
    for p in path[1:]:
        qtbot.mouseMove(vp, p)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=path[-1])
    left = inks(window)
    assert len(left) == 1 and abs(left[0].lines.points[0][0].y - 500) < 1.5
    assert any(isinstance(a, NoteAnnotation) for a in window.session.annotations())  # ink only

    window.window_actions.undo_action.trigger()  # both strokes come back together
    assert len(inks(window)) == 3
    window.window_actions.redo_action.trigger()  # and go together again
    assert len(inks(window)) == 1
