"""Keyboard and mouse navigation of the page view (issue 14, defect 6): Home, End, Space,
Shift+Space, the arrow keys, the hand tool, middle-drag and Space-drag panning."""

from __future__ import annotations

from lamina.ui.main_window import MainWindow
from PySide6.QtCore import QPoint, Qt

from tests.support.corpus import corpus_pdf
from tests.ui.conftest import open_file

LONG = "long-429p-broken-xref"


def _open_long(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    open_file(qtbot, window, corpus_pdf(LONG))
    window.view.setFocus()
    qtbot.waitUntil(window.view.hasFocus)


def test_home_end_space_and_arrows_move_through_the_document(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    _open_long(qtbot, window)
    view = window.view
    bar = view.verticalScrollBar()
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert bar.value() == bar.maximum() > 0
    assert view.current_page == view.page_count - 1
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert bar.value() == 0
    assert view.current_page == 0
    qtbot.keyClick(view, Qt.Key.Key_Space)
    after_space = bar.value()
    assert after_space >= view.viewport().height() * 0.8
    qtbot.keyClick(view, Qt.Key.Key_Space, Qt.KeyboardModifier.ShiftModifier)
    assert bar.value() == 0
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert bar.value() > 0
    down = bar.value()
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert bar.value() < down
    # Fit width: nothing to scroll sideways, so Right and Left turn the page.
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.current_page == 1
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert view.current_page == 0


def _drag(qtbot, view, button, start: QPoint, end: QPoint) -> None:  # type: ignore[no-untyped-def]
    vp = view.viewport()
    qtbot.mousePress(vp, button, pos=start)
    qtbot.mouseMove(vp, QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2))
    qtbot.mouseMove(vp, end)
    qtbot.mouseRelease(vp, button, pos=end)


def test_hand_tool_and_middle_drag_pan_without_drawing(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    _open_long(qtbot, window)
    view = window.view
    view.set_zoom(2.0)  # wider than the window: it scrolls both ways
    bar, hbar = view.verticalScrollBar(), view.horizontalScrollBar()
    bar.setValue(1000)
    hbar.setValue(200)
    window.tool_actions["hand"].trigger()
    assert view.tool == "hand"
    _drag(qtbot, view, Qt.MouseButton.LeftButton, QPoint(300, 400), QPoint(250, 250))
    assert bar.value() == 1150
    assert hbar.value() == 250
    # Middle-drag pans with any tool, ink included, and draws nothing.
    window.tool_actions["ink"].trigger()
    _drag(qtbot, view, Qt.MouseButton.MiddleButton, QPoint(300, 250), QPoint(300, 350))
    assert bar.value() == 1050
    assert window.session is not None and window.session.annotations() == [
        a for a in window.session.annotations() if a.pdf_object_id is not None
    ]


def test_space_drag_pans_and_a_space_tap_pages_down(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    _open_long(qtbot, window)
    view = window.view
    bar = view.verticalScrollBar()
    bar.setValue(2000)
    window.tool_actions["ink"].trigger()
    qtbot.keyPress(view, Qt.Key.Key_Space)
    _drag(qtbot, view, Qt.MouseButton.LeftButton, QPoint(300, 400), QPoint(300, 300))
    qtbot.keyRelease(view, Qt.Key.Key_Space)
    assert bar.value() == 2100  # panned, and no page-down on release after a drag
    assert not [a for a in window.session.annotations() if a.pdf_object_id is None]
