"""Page rendering in the page view: ink shows where the PDF has ink, scrolling far asks only for
what is visible, and the tile cache stays within its byte bound."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtGui import QImage

from app.pdf import PdfDocument, open_pdf, render_page
from app.ui.page_view import PageView
from app.ui.render import TileRenderer, zoom_key
from tests.conftest import corpus_pdf

LONG = "long-429p-broken-xref"


def _wait_painted(qtbot, view: PageView) -> None:  # type: ignore[no-untyped-def]
    renderer = view._renderer
    assert renderer is not None

    def done() -> None:
        view.viewport().repaint()
        tiles = view.visible_tiles()
        assert tiles and all(renderer.cached(k) is not None for k in tiles)

    qtbot.waitUntil(done, timeout=20_000)
    view.viewport().repaint()


@pytest.fixture
def long_view(qtbot) -> Iterator[tuple[PageView, TileRenderer, PdfDocument]]:  # type: ignore[no-untyped-def]
    path = corpus_pdf(LONG)
    doc = open_pdf(path)
    renderer = TileRenderer(path, cache_bytes=4 * 1024 * 1024)
    view = PageView()
    qtbot.addWidget(view)
    view.resize(700, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_document(doc, renderer)
    yield view, renderer, doc
    renderer.stop()
    doc.close()


def test_page_shows_ink_where_the_pdf_has_ink(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    path = corpus_pdf(LONG)
    assert window.open_path(path)
    view = window.view
    _wait_painted(qtbot, view)
    shot = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    dpr = view.viewport().devicePixelRatioF()
    rect = view.page_rect(0)
    reference = render_page(window.pdf, 0, view.zoom * dpr, annots=False)
    ink = 0
    matched = 0
    step = 2
    for y in range(0, min(reference.height, int(shot.height() - rect.top() * dpr) - 2), step):
        for x in range(0, reference.width - 2, step):
            r, g, b, _a = reference.pixel(x, y)
            if r + g + b > 200:
                continue
            ink += 1
            sx = round(rect.left() * dpr + x)
            sy = round(rect.top() * dpr + y)
            # Allow a pixel of offset: the page may start at a fractional position.
            darkest = min(
                QImage.pixelColor(shot, sx + dx, sy + dy).lightness()
                for dx in (-1, 0, 1)
                for dy in (-1, 0, 1)
                if 0 <= sx + dx < shot.width() and 0 <= sy + dy < shot.height()
            )
            matched += darkest < 160
    assert ink > 20, "the first page of the corpus PDF has text"
    assert matched / ink > 0.9
    # Where the PDF is blank paper, the view shows white paper, not the grey background.
    corner = shot.pixelColor(round(rect.left() * dpr) + 3, round(rect.top() * dpr) + 3)
    assert corner.lightness() > 240
    # Tiles are drawn at zoom × device pixel ratio, so they stay sharp on HiDPI screens.
    assert {k.zoom_milli for k in view.visible_tiles()} == {zoom_key(view.zoom * dpr)}


def test_scrolling_far_requests_only_visible_tiles(qtbot, long_view) -> None:  # type: ignore[no-untyped-def]
    view, renderer, _doc = long_view
    _wait_painted(qtbot, view)
    qtbot.waitUntil(lambda: not renderer.pending("view") and not renderer.pending("prefetch"))
    before = set(renderer.cached_keys())
    view.go_to_page(300)
    view.viewport().repaint()
    visible = set(view.visible_pages())
    assert 300 in visible
    queued = renderer.pending("view")
    assert queued and {k.page for k in queued} <= visible
    _wait_painted(qtbot, view)
    drawn = set(renderer.cached_keys()) - before
    # Only the visible pages and the one after them (prefetch) were drawn: none of the
    # 290-odd pages scrolled past.
    assert {k.page for k in drawn} <= visible | {max(visible) + 1}
    assert {k.page for k in drawn} >= {k.page for k in view.visible_tiles()}


def test_tile_cache_stays_within_its_byte_bound(qtbot, long_view) -> None:  # type: ignore[no-untyped-def]
    view, renderer, _doc = long_view
    limit = 4 * 1024 * 1024
    for page in range(0, 24, 3):
        view.go_to_page(page)
        _wait_painted(qtbot, view)
        assert renderer.cache_bytes <= limit
        assert sum(renderer.cached(k).sizeInBytes() for k in renderer.cached_keys()) == (  # type: ignore[union-attr]
            renderer.cache_bytes
        )
    # What is on screen now is still cached (eviction drops the least recently used).
    assert all(renderer.cached(k) is not None for k in view.visible_tiles())
