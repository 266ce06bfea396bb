"""Page modes and reading comfort (issue 14): two pages side by side, dark theme and inverted
pages, a typed zoom percentage, full screen and presentation, and the reading position kept
per document."""

from __future__ import annotations

from lamina.ui.main_window import MainWindow
from lamina.ui.view_modes import parse_zoom
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPalette
from PySide6.QtWidgets import QApplication

from tests.support.corpus import corpus_pdf
from tests.ui.conftest import open_file

LONG = "long-429p-broken-xref"


def _painted(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    view, renderer = window.view, window.renderer
    assert renderer is not None

    def done() -> None:
        view.viewport().repaint()
        assert all(renderer.cached(k) is not None for k in view.visible_tiles())

    qtbot.waitUntil(done, timeout=20_000)


def test_two_pages_side_by_side(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    open_file(qtbot, window, corpus_pdf(LONG))
    view = window.view
    window.viewer.actions["two_pages"].trigger()
    assert view.columns == 2
    view.go_to_page(10)
    left, right = view.page_rect(10), view.page_rect(11)
    assert left.top() == right.top()
    assert left.right() < right.left()
    assert view.page_rect(12).top() > left.bottom()
    # Both pages of the row fit the width, and both are drawn.
    assert right.right() <= view.viewport().width()
    assert {10, 11} <= set(view.visible_pages())
    _painted(qtbot, window)
    assert {k.page for k in view.visible_tiles()} >= {10, 11}
    window.viewer.actions["two_pages"].trigger()
    assert view.columns == 1
    assert view.page_rect(11).top() > view.page_rect(10).bottom()


def test_dark_theme_and_inverted_pages(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    open_file(qtbot, window, corpus_pdf(LONG))
    _painted(qtbot, window)
    view = window.view
    rect = view.page_rect(view.current_page)
    x, y = round(rect.left()) + 4, round(rect.top()) + 4
    shot = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    assert shot.pixelColor(x, y).lightness() > 240  # white paper
    window.viewer.actions["invert"].trigger()
    view.viewport().repaint()
    shot = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    assert shot.pixelColor(x, y).lightness() < 15  # dark paper, light text
    window.viewer.actions["dark"].setChecked(True)
    window_color = QApplication.palette().color(QPalette.ColorRole.Window)
    assert window_color.lightness() < 80
    window.viewer.actions["dark"].setChecked(False)
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() > 150
    window.viewer.actions["invert"].trigger()
    assert not view.inverted


def test_typed_zoom_percentage(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    open_file(qtbot, window, corpus_pdf(LONG))
    box = window.viewer.zoom_box
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "150")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert abs(window.view.zoom - 1.5) < 1e-9
    assert box.text() == "150 %"
    box.setText("banana")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert abs(window.view.zoom - 1.5) < 1e-9
    assert box.text() == "150 %"
    assert parse_zoom("75 %") == 0.75 and parse_zoom("2x") == 2.0 and parse_zoom("0") is None


def test_reading_position_is_remembered_per_document(qtbot, controller, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = corpus_pdf(LONG)
    first = controller.new_window()
    qtbot.addWidget(first)
    first.resize(1000, 760)
    first.show()
    open_file(qtbot, first, path)
    first.view.set_zoom(1.25)
    first.view.go_to_page(123)
    first.viewer.save_position()
    first.close()
    again = controller.new_window()
    qtbot.addWidget(again)
    again.resize(1000, 760)
    again.show()
    open_file(qtbot, again, path)
    assert again.view.current_page == 123
    assert abs(again.view.zoom - 1.25) < 1e-3
    # Another PDF opens at its start.
    open_file(qtbot, again, corpus_pdf("annot-stamps-acrobat"))
    assert again.view.current_page == 0


def test_full_screen_and_presentation(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    open_file(qtbot, window, corpus_pdf(LONG))
    viewer = window.viewer
    viewer.actions["full_screen"].trigger()
    assert window.isFullScreen()
    viewer.actions["full_screen"].trigger()
    assert not window.isFullScreen()
    viewer.actions["presentation"].trigger()
    assert window.isFullScreen()
    assert not window.menuBar().isVisible()
    assert not window.docks["thumbnails"].isVisible()
    # One page fills the screen.
    rect = window.view.page_rect(window.view.current_page)
    assert rect.height() <= window.view.viewport().height()
    viewer.actions["presentation"].trigger()
    assert not window.isFullScreen()
    assert window.menuBar().isVisible()
    assert window.docks["thumbnails"].isVisible()


def test_rotate_view_turns_the_pages_and_their_pixels(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    import pymupdf

    path = corpus_pdf("annot-stamps-acrobat")
    open_file(qtbot, window, path)
    view = window.view
    view.set_zoom(0.5)
    portrait = view.page_rect(0)
    assert portrait.height() > portrait.width()
    window.viewer.actions["rotate_right"].trigger()
    assert view.rotation == 90
    turned = view.page_rect(0)
    assert (
        abs(turned.width() - portrait.height()) < 1 and abs(turned.height() - portrait.width()) < 1
    )
    _painted(qtbot, window)
    view.viewport().repaint()
    shot = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    page = pymupdf.open(path)[0]
    page.set_rotation(90)
    reference = page.get_pixmap(matrix=pymupdf.Matrix(view.zoom, view.zoom))
    rect = view.page_rect(0)
    diff = count = 0
    for y in range(4, reference.height - 4, 6):
        for x in range(4, reference.width - 4, 6):
            sx, sy = round(rect.left() + x), round(rect.top() + y)
            if not (0 <= sx < shot.width() and 0 <= sy < shot.height()):
                continue
            seen = shot.pixelColor(sx, sy)
            near = [reference.pixel(x + dx, y + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
            diff += min(
                abs(seen.red() - w[0]) + abs(seen.green() - w[1]) + abs(seen.blue() - w[2])
                for w in near
            )
            count += 3
    assert count > 1000
    assert diff / count < 4.0  # the tiles are MuPDF's own drawing of the turned page
    # An Instant point maps through the turn: the page's top-left corner is now top-right.
    corner = view.instant_to_viewport(0, (0.0, 0.0))
    assert abs(corner.x() - rect.right()) < 1 and abs(corner.y() - rect.top()) < 1
    for _ in range(3):
        window.viewer.actions["rotate_right"].trigger()
    assert view.rotation == 0
    window.viewer.actions["rotate_left"].trigger()
    assert view.rotation == 270
