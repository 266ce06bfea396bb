"""Thumbnails (issue 14, defect 1): every page's thumbnail renders when scrolled to, on the
long corpus files, and thumbnails show the annotations the page shows."""

from __future__ import annotations

import pytest
from lamina.ui.main_window import MainWindow
from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage

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
