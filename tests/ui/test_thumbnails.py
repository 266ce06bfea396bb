"""Thumbnails (issue 14, defect 1): every page's thumbnail renders when scrolled to, on the
long corpus files, and thumbnails show the annotations the page shows."""

from __future__ import annotations

import pytest
from lamina.ui.main_window import MainWindow
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QImage, QTransform

from tests.support.corpus import corpus_pdf
from tests.ui.conftest import open_file
from tests.ui.test_review import stroke


def _icon_image(window: MainWindow, page: int) -> QImage:
    thumbs = window.thumbnails
    item = thumbs.item(page)
    pixmap = item.icon().pixmap(thumbs.iconSize())
    return pixmap.toImage().convertToFormat(QImage.Format.Format_RGB32)


def _thumbnail_rendered(window: MainWindow, page: int) -> bool:
    return page in window.thumbnails._shown


@pytest.mark.parametrize("name", ["long-352p-cropbox-links", "long-429p-broken-xref"])
def test_thumbnails_far_down_the_list_render(qtbot, window, name: str) -> None:  # type: ignore[no-untyped-def]
    open_file(qtbot, window, corpus_pdf(name))
    thumbs = window.thumbnails
    qtbot.waitUntil(lambda: _thumbnail_rendered(window, 0), timeout=20_000)
    for page in (40, 300, thumbs.count() - 1):
        thumbs.scrollToItem(thumbs.item(page))
        qtbot.waitUntil(lambda page=page: _thumbnail_rendered(window, page), timeout=20_000)
        # The row is on screen and its icon is the page, not the white placeholder.
        assert thumbs.viewport().rect().intersects(thumbs.visualItemRect(thumbs.item(page)))
        image = _icon_image(window, page)
        dark = sum(
            image.pixelColor(x, y).lightness() < 200
            for x in range(image.width())
            for y in range(image.height())
        )
        assert dark > 0, f"page {page + 1}'s thumbnail shows the page"


def test_thumbnail_shows_a_new_annotation(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    open_file(qtbot, window, corpus_pdf("annot-stamps-acrobat"))
    qtbot.waitUntil(lambda: _thumbnail_rendered(window, 0), timeout=20_000)
    before = _icon_image(window, 0)
    # A thick ink stroke across the empty lower part of the page.
    window.tool_actions["ink"].trigger()
    stroke(qtbot, window, [(100.0, 600.0), (300.0, 620.0), (500.0, 640.0)])
    qtbot.waitUntil(lambda: len(window.view.painted_annotations(0)) == 1, timeout=10_000)
    qtbot.waitUntil(lambda: _thumbnail_rendered(window, 0), timeout=20_000)

    def changed() -> None:
        after = _icon_image(window, 0)
        differs = sum(
            before.pixel(QPoint(x, y)) != after.pixel(QPoint(x, y))
            for x in range(after.width())
            for y in range(after.height())
        )
        assert differs > 10

    qtbot.waitUntil(changed, timeout=10_000)


def _difference(a: QImage, b: QImage) -> float:
    """Mean absolute difference of lightness between two images of one size."""
    total = sum(
        abs(a.pixelColor(x, y).lightness() - b.pixelColor(x, y).lightness())
        for x in range(a.width())
        for y in range(a.height())
    )
    return total / (a.width() * a.height())


def _lightness(image: QImage, rect: QRect) -> float:
    """Mean lightness (0–255) of ``rect`` of ``image``, sampled on a grid."""
    values = [
        image.pixelColor(x, y).lightness()
        for x in range(rect.left(), rect.right(), 4)
        for y in range(rect.top(), rect.bottom(), 4)
    ]
    return sum(values) / len(values)


def test_thumbnails_turn_with_the_view(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    open_file(qtbot, window, corpus_pdf("annot-stamps-acrobat"))
    qtbot.waitUntil(lambda: _thumbnail_rendered(window, 0), timeout=20_000)
    upright = _icon_image(window, 0)
    assert upright.height() > upright.width()  # a portrait page
    window.view.rotate(90)
    qtbot.waitUntil(lambda: _thumbnail_rendered(window, 0), timeout=20_000)
    turned = _icon_image(window, 0)
    # The icon is the page on its side: landscape, and the upright thumbnail turned a
    # quarter clockwise (not merely squeezed into a landscape box).
    assert turned.width() > turned.height()
    size = turned.size()
    quarter = upright.transformed(QTransform().rotate(90)).scaled(size)
    squeezed = upright.scaled(size)
    assert _difference(turned, quarter) < 0.5 * _difference(turned, squeezed)
    window.view.rotate(-90)
    qtbot.waitUntil(lambda: _thumbnail_rendered(window, 0), timeout=20_000)
    again = _icon_image(window, 0)
    assert again.height() > again.width()


def _stand_in(qtbot, window) -> QImage:  # type: ignore[no-untyped-def]
    """Zoom to a size no tile is drawn at yet and grab the view at once: the page shows the
    low-resolution stand-in (the thumbnail scaled up) where tiles are missing."""
    view = window.view
    view.set_zoom(view.zoom * 1.37)
    return view.viewport().grab().toImage()


def test_stand_in_tiles_are_inverted_like_the_tiles_and_turned_with_the_page(  # type: ignore[no-untyped-def]
    qtbot, window
) -> None:
    open_file(qtbot, window, corpus_pdf("annot-stamps-acrobat"))
    view = window.view
    qtbot.waitUntil(lambda: _thumbnail_rendered(window, 0), timeout=20_000)
    page = view.page_rect(0).toRect().intersected(view.viewport().rect())
    plain = _stand_in(qtbot, window)
    assert _lightness(plain, page.adjusted(4, 4, -4, -4)) > 200  # mostly white paper

    view.set_inverted(True)
    dark = _stand_in(qtbot, window)
    page = view.page_rect(0).toRect().intersected(view.viewport().rect())
    assert _lightness(dark, page.adjusted(4, 4, -4, -4)) < 60  # mostly black paper

    # Turned: the stand-in is the turned thumbnail, not blank paper.
    view.set_inverted(False)
    view.rotate(90)
    qtbot.waitUntil(lambda: _thumbnail_rendered(window, 0), timeout=20_000)
    turned = _stand_in(qtbot, window)
    page = view.page_rect(0).toRect().intersected(view.viewport().rect()).adjusted(4, 4, -4, -4)
    marks = sum(
        turned.pixelColor(x, y).lightness() < 200
        for x in range(page.left(), page.right(), 2)
        for y in range(page.top(), page.bottom(), 2)
    )
    assert marks > 20  # the page's stamps show while its sharp tiles are drawn


def test_a_long_pdf_of_one_page_size_lays_its_thumbnails_out_as_one_size(  # type: ignore[no-untyped-def]
    qtbot, window, monkeypatch
) -> None:
    """The list laid out all 429 rows of the long PDF at their own sizes as it opened, asking
    the delegate about each (40 ms and more before the first page was on screen)."""
    from lamina.ui import thumbnails

    asked: list[int] = []
    real = thumbnails._ThumbnailDelegate.initStyleOption

    def spy(self, option, index):  # type: ignore[no-untyped-def]
        asked.append(index.row())
        real(self, option, index)

    monkeypatch.setattr(thumbnails._ThumbnailDelegate, "initStyleOption", spy)
    assert window.open_path(corpus_pdf("long-429p-broken-xref"))
    assert len(set(asked)) < 50


def test_a_page_of_another_size_gets_a_thumbnail_row_of_its_own_size(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    open_file(qtbot, window, corpus_pdf("long-352p-cropbox-links"))
    thumbs = window.thumbnails
    assert window.pdf is not None
    first = window.pdf.page_geometry(0).display_size(1.0)
    other = next(
        p
        for p in range(1, window.pdf.page_count)
        if window.pdf.page_geometry(p).display_size(1.0)[1] != first[1]
    )
    thumbs.scrollToItem(thumbs.item(other))
    qtbot.waitUntil(lambda: _thumbnail_rendered(window, other), timeout=20_000)
    assert not thumbs.uniformItemSizes()
    heights = {thumbs.visualItemRect(thumbs.item(p)).height() for p in (0, other)}
    assert len(heights) == 2
