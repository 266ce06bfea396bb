"""Two windows fit side by side on a 1920-pixel screen (issue 14 defect 7)."""

from __future__ import annotations

from lamina.ui.controller import AppController, side_by_side
from lamina.ui.hosting import LocalReviewServer
from lamina.ui.main_window import MAX_MIN_WIDTH, MainWindow
from PySide6.QtCore import QRect, Qt

from tests.conftest import corpus_pdf
from tests.ui.conftest import open_file


def test_the_narrowest_window_with_every_panel_open_is_under_half_of_1920(
    qtbot, window: MainWindow
) -> None:
    open_file(qtbot, window, corpus_pdf("geometry-rotations-offset-mediabox-cropbox"))
    for dock in window.docks.values():
        dock.show()
    assert window.minimumSizeHint().width() <= MAX_MIN_WIDTH  # was 1034-1066
    window.resize(MAX_MIN_WIDTH, 800)
    qtbot.waitUntil(lambda: window.width() == MAX_MIN_WIDTH)


def test_side_by_side_puts_two_windows_next_to_each_other_on_a_1920_screen() -> None:
    available = QRect(0, 0, 1920, 1050)
    left, right = side_by_side(available, MAX_MIN_WIDTH)
    assert left.right() < right.left()  # no overlap
    assert available.contains(left) and available.contains(right)
    assert left.width() == right.width() >= MAX_MIN_WIDTH
    # A small screen: they overlap, but both stay on it.
    small = QRect(0, 0, 1280, 800)
    a, b = side_by_side(small, MAX_MIN_WIDTH)
    assert small.contains(a) and small.contains(b) and b.left() > a.left()


def test_the_sample_review_places_its_two_windows_side_by_side(
    qtbot, controller: AppController, window: MainWindow, server: LocalReviewServer
) -> None:
    qtbot.mouseClick(window.welcome.sample_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(controller.windows) == 2, timeout=20000)
    other = controller.windows[1]
    qtbot.addWidget(other)
    left, right = side_by_side(window.screen().availableGeometry(), MAX_MIN_WIDTH)
    for placed, wanted in ((window.geometry(), left), (other.geometry(), right)):
        assert placed.size() == wanted.size()
        assert abs(placed.left() - wanted.left()) <= 16  # the window frame, if any
    for w in (window, other):
        qtbot.waitUntil(lambda w=w: "Online" in w.connection_label.text(), timeout=20000)
