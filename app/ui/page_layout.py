"""The page layout: every page of a PDF in one vertical scroll, at a zoom, turned, in columns.

:class:`PageLayout` places the pages (zoom, fit, one or two per row, the view's rotation),
keeps the current page, and converts between viewport pixels and each page's Instant
coordinates. It reads page sizes lazily (the first page's at once, the visible ones before
they are painted, the rest in idle slices once the view has stopped scrolling) and paints
nothing: :class:`lamina.ui.page_canvas.PageCanvas` paints the tiles and annotations over it.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import time

from lamina.model.geometry import Point, Rect
from lamina.pdf import PageGeometry, PdfDocument, PdfError
from lamina.pdf.outline import Destination
from lamina.ui.scroll_bars import flatten
from PySide6.QtCore import QPointF, QRectF, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

PAGE_GAP = 12
MARGIN = 16
MIN_ZOOM = 0.1
MAX_ZOOM = 8.0
ZOOM_STEPS = (
    0.1,
    0.25,
    0.33,
    0.5,
    0.67,
    0.75,
    0.9,
    1.0,
    1.1,
    1.25,
    1.5,
    1.75,
    2.0,
    2.5,
    3.0,
    4.0,
    5.0,
    6.0,
    8.0,
)

_GEOMETRY_SLICE = 8
"""Pages whose exact size is read per idle step once the first page is on screen."""

QUIET_AFTER_SCROLL_MS = 250
"""How long the view must not have scrolled before idle work (reading page sizes, then the
bookmarks) goes on: done between the frames of a scroll, it made them late."""


class PageLayout(QAbstractScrollArea):
    """Lays out all pages of a PDF in one continuous vertical scroll.

    Signals:
        zoom_changed(float): the zoom (1.0 = 100 %) changed.
        current_page_changed(int): the page at the top of the view changed (0-based).
        rotation_changed(int): the view turned its pages (the new :attr:`rotation`).
        pages_measured(): the exact size of every page is read (after the first paint, in
            idle slices); reading page sizes is cheap from now on.
    """

    zoom_changed = Signal(float)
    current_page_changed = Signal(int)
    rotation_changed = Signal(int)
    pages_measured = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._doc: PdfDocument | None = None
        self._geometries: list[PageGeometry] = []
        self._exact: list[bool] = []
        self._next_exact = 0
        self._geometry_timer = QTimer(self)
        self._geometry_timer.setInterval(0)
        self._geometry_timer.timeout.connect(self._read_geometry_slice)
        self._scrolled_at = 0.0  # time.monotonic() of the last scroll
        self._tops: list[float] = []
        # Two-page mode: pages side by side in rows; each page's left edge within its row
        # and its row's width (one page per row otherwise).
        self._columns = 1
        self._lefts: list[float] = []
        self._row_widths: list[float] = []
        self._rotation = 0  # the view's own turn of every page, degrees clockwise
        self._zoom = 1.0
        self._fit: str | None = "width"
        self._current_page = 0
        self._asked: int | None = None
        """The page a jump asked for, current until the user scrolls (see go_to_page)."""
        # True from opening a document until the user scrolls, zooms or jumps: while it is,
        # layout changes (a fit after the side panels appear) keep the top-left corner of the
        # first page in view instead of the point at the centre.
        self._at_start = False
        for bar in (self.horizontalScrollBar(), self.verticalScrollBar()):
            bar.actionTriggered.connect(self._on_user_scroll)
        # Painted on every scrolled frame: flat, not with the style's gradients (1 ms each).
        self._bar_style = flatten(self.horizontalScrollBar(), self.verticalScrollBar())

    @property
    def document(self) -> PdfDocument | None:
        """The PDF shown (None before the first)."""
        return self._doc

    def _lay_out_document(self, doc: PdfDocument) -> None:
        """Lay ``doc``'s pages out from the top-left corner of its first page."""
        self._doc = doc
        # Reading the size of all 429 pages of a long PDF takes hundreds of milliseconds, so
        # the layout starts with every page the size of the first, visible pages are read
        # exactly before they are painted, and the rest is read in idle slices.
        count = doc.page_count
        first = self._turned(doc.page_geometry(0)) if count else None
        self._geometries = [first] * count if first is not None else []
        self._exact = [i == 0 for i in range(count)]
        self._next_exact = 1
        self._current_page = 0
        self._asked = None
        self._at_start = True
        if self._fit is not None:
            self._apply_fit()  # relays out and keeps the start in view
        else:
            self._relayout()
        self._scroll_to_start()

    def _read_rest_later(self) -> None:
        """Read the exact size of the pages not read yet, in idle slices."""
        if self._next_exact < len(self._geometries):
            self._geometry_timer.start()
        else:
            self.pages_measured.emit()

    def _scroll_to_start(self) -> None:
        """Show the top-left corner of the first page (a page narrower than the view is centred
        by :meth:`_page_origin`)."""
        self.horizontalScrollBar().setValue(0)
        self.verticalScrollBar().setValue(0)

    def _on_user_scroll(self, _action: int) -> None:
        self._at_start = False
        self._asked = None

    @property
    def page_count(self) -> int:
        return len(self._geometries)

    def geometry_of(self, page: int) -> PageGeometry:
        if self._make_exact(range(page, page + 1)):
            self._relayout_keeping_page()
        return self._geometries[page]

    def _make_exact(self, pages: range) -> bool:
        """Read the exact geometry of ``pages``; return whether a page size changed."""
        changed = False
        if self._doc is None:
            return False
        for page in pages:
            if not self._exact[page]:
                try:
                    exact = self._turned(self._doc.page_geometry(page))
                except (PdfError, ValueError):
                    # The window closed the document under us; keep the estimate and stop.
                    self._geometry_timer.stop()
                    return changed
                self._exact[page] = True
                if exact.display_size(1.0) != self._geometries[page].display_size(1.0):
                    changed = True
                self._geometries[page] = exact
        return changed

    def quiet(self) -> bool:
        """Return whether the view has not scrolled for :data:`QUIET_AFTER_SCROLL_MS`."""
        return (time.monotonic() - self._scrolled_at) * 1000 >= QUIET_AFTER_SCROLL_MS

    def _read_geometry_slice(self) -> None:
        quiet_for = (time.monotonic() - self._scrolled_at) * 1000
        if quiet_for < QUIET_AFTER_SCROLL_MS:
            # Scrolling: the frames come first; read on once the view has been still a while.
            self._geometry_timer.setInterval(max(1, round(QUIET_AFTER_SCROLL_MS - quiet_for)))
            return
        self._geometry_timer.setInterval(0)
        if self._doc is None or self._next_exact >= len(self._geometries):
            self._geometry_timer.stop()
            if self._doc is not None:
                self.pages_measured.emit()
            return
        start = self._next_exact
        self._next_exact = min(len(self._geometries), start + _GEOMETRY_SLICE)
        if self._make_exact(range(start, self._next_exact)):
            self._relayout_keeping_page()

    def _relayout_keeping_page(self) -> None:
        """Lay the pages out again, keeping the page at the top where it was."""
        bar = self.verticalScrollBar()
        page = self._current_page
        offset = bar.value() - self._tops[page] if self._tops else 0.0
        self._relayout()
        if self._tops:
            bar.setValue(round(self._tops[page] + offset))
        self.viewport().update()

    # -- page modes ---------------------------------------------------------------------

    @property
    def columns(self) -> int:
        """Pages per row: 1 (single page, continuous) or 2 (two pages side by side)."""
        return self._columns

    def set_columns(self, columns: int) -> None:
        """Show one page per row, or two side by side (odd pages on the left, as in print)."""
        if columns not in (1, 2):
            raise ValueError(f"columns must be 1 or 2, not {columns}")
        if columns == self._columns:
            return
        page = self._current_page
        self._columns = columns
        if self._fit is not None:
            self._apply_fit()
        else:
            self._relayout()
        if self._geometries:
            self.go_to_page(page)
        self.viewport().update()

    @property
    def rotation(self) -> int:
        """How far the view turns every page, clockwise: 0, 90, 180 or 270 degrees."""
        return self._rotation

    def rotate(self, degrees: int) -> None:
        """Turn every page by ``degrees`` (a multiple of 90) more, keeping the current page."""
        if degrees % 90:
            raise ValueError(f"pages turn in steps of 90 degrees, not {degrees}")
        turn = degrees % 360
        if not turn:
            return
        self._rotation = (self._rotation + turn) % 360
        if self._geometries:
            page = self._current_page
            self._geometries = [
                dataclasses.replace(g, rotation=(g.rotation + turn) % 360) for g in self._geometries
            ]
            if self._fit is not None:
                self._apply_fit()
            else:
                self._relayout()
            self.go_to_page(page)
            self.viewport().update()
        self.rotation_changed.emit(self._rotation)

    def _turned(self, geometry: PageGeometry) -> PageGeometry:
        if not self._rotation:
            return geometry
        return dataclasses.replace(geometry, rotation=(geometry.rotation + self._rotation) % 360)

    # -- zoom and layout ----------------------------------------------------------------

    @property
    def zoom(self) -> float:
        return self._zoom

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Set the zoom (clamped to 10 %–800 %), keeping the point under ``anchor`` still."""
        self._fit = None
        self._at_start = False
        self._apply_zoom(zoom, anchor)

    def fit_width(self) -> None:
        self._fit = "width"
        self._apply_fit()

    def fit_page(self) -> None:
        self._fit = "page"
        self._apply_fit()

    def zoom_in(self) -> None:
        bigger = [z for z in ZOOM_STEPS if z > self._zoom * 1.01]
        self.set_zoom(bigger[0] if bigger else MAX_ZOOM)

    def zoom_out(self) -> None:
        smaller = [z for z in ZOOM_STEPS if z < self._zoom / 1.01]
        self.set_zoom(smaller[-1] if smaller else MIN_ZOOM)

    def _apply_fit(self) -> None:
        if not self._geometries:
            return
        page = self._geometries[min(self._current_page, len(self._geometries) - 1)]
        w, h = page.display_size(1.0)
        if self._columns == 2:
            w = 2 * w + PAGE_GAP
        avail_w = max(50, self.viewport().width() - 2 * MARGIN)
        avail_h = max(50, self.viewport().height() - 2 * PAGE_GAP)
        zoom = avail_w / w if self._fit == "width" else min(avail_w / w, avail_h / h)
        self._apply_zoom(zoom, None)
        if self._fit == "page" and not self._at_start:
            self.go_to_page(self._current_page)

    def _apply_zoom(self, zoom: float, anchor: QPointF | None) -> None:
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        if not self._geometries:
            self._zoom = zoom
            return
        if anchor is None:
            anchor = QPointF(self.viewport().width() / 2, self.viewport().height() / 2)
        located = self._locate(anchor)
        self._zoom = zoom
        self._relayout()
        if self._at_start:
            self._scroll_to_start()
        elif located is not None:
            page, point = located
            x, y = self._page_origin(page)
            px, py = self._geometries[page].instant_to_display(point, zoom)
            self.verticalScrollBar().setValue(
                round(y + py + self.verticalScrollBar().value() - anchor.y())
            )
            self.horizontalScrollBar().setValue(
                round(x + px + self.horizontalScrollBar().value() - anchor.x())
            )
        self.zoom_changed.emit(zoom)
        self.viewport().update()

    def _relayout(self) -> None:
        tops: list[float] = []
        lefts: list[float] = []
        row_widths: list[float] = []
        y = float(PAGE_GAP)
        widest = 0.0
        step = self._columns
        sizes = [g.display_size(self._zoom) for g in self._geometries]
        for first in range(0, len(sizes), step):
            row = sizes[first : first + step]
            x = 0.0
            for w, _h in row:
                tops.append(y)
                lefts.append(x)
                x += w + PAGE_GAP
            row_w = x - PAGE_GAP
            row_widths.extend([row_w] * len(row))
            y += max(h for _w, h in row) + PAGE_GAP
            widest = max(widest, row_w)
        self._tops = tops
        self._lefts = lefts
        self._row_widths = row_widths
        self._content_height = y
        self._content_width = widest + 2 * MARGIN
        vp = self.viewport()
        self.verticalScrollBar().setRange(0, max(0, math.ceil(y - vp.height())))
        self.verticalScrollBar().setPageStep(vp.height())
        self.verticalScrollBar().setSingleStep(40)
        self.horizontalScrollBar().setRange(0, max(0, math.ceil(self._content_width - vp.width())))
        self.horizontalScrollBar().setPageStep(vp.width())

    def _page_origin(self, page: int) -> tuple[float, float]:
        """Return the page's top-left corner in viewport pixels."""
        w = self._row_widths[page]
        viewport_w = self.viewport().width()
        if w + 2 * MARGIN <= viewport_w:
            # A page that fits stays centred even when a wider (rotated) page scrolls sideways.
            x = (viewport_w - w) / 2
        else:
            x = (max(self._content_width, viewport_w) - w) / 2 - self.horizontalScrollBar().value()
        return x + self._lefts[page], self._tops[page] - self.verticalScrollBar().value()

    def page_rect(self, page: int) -> QRectF:
        """Return where ``page`` is in viewport pixels."""
        x, y = self._page_origin(page)
        w, h = self._geometries[page].display_size(self._zoom)
        return QRectF(x, y, w, h)

    def visible_pages(self) -> range:
        if not self._geometries:
            return range(0)
        top = self.verticalScrollBar().value()
        bottom = top + self.viewport().height()
        first = max(0, bisect.bisect_right(self._tops, top) - 1)
        first -= first % self._columns  # the whole row
        last = max(first, bisect.bisect_left(self._tops, bottom))
        return range(first, min(last, len(self._tops)))

    def go_to_page(self, page: int) -> None:
        """Scroll so that ``page`` (0-based) starts at the top."""
        if not self._geometries:
            return
        page = min(max(0, page), len(self._geometries) - 1)
        self._at_start = False
        # Near the end the view cannot bring the page to the top, and "scrolled to the end"
        # would name the last page: the page asked for stays current until the user scrolls.
        self._asked = page
        self.verticalScrollBar().setValue(round(self._tops[page] - PAGE_GAP))
        self._update_current_page()

    def go_to_destination(self, target: Destination) -> None:
        """Show a bookmark's or link's page, its point (if the PDF names one) near the top."""
        if target.page is None or not self._geometries:
            return
        page = min(max(0, target.page), len(self._geometries) - 1)
        if target.point is None or (target.point.x == 0 and target.point.y == 0):
            self.go_to_page(page)
            return
        self._at_start = False
        _x, y = self._geometries[page].instant_to_display(target.point, self._zoom)
        self.verticalScrollBar().setValue(round(self._tops[page] + y - PAGE_GAP))
        self._update_current_page()

    def scroll_to_rect(self, page: int, rect: Rect) -> None:
        """Scroll so that an Instant rectangle of ``page`` is visible."""
        self._at_start = False
        self._asked = None
        _x0, y0, _x1, y1 = self._geometries[page].instant_to_display_rect(rect, self._zoom)
        top = self._tops[page] + y0
        bar = self.verticalScrollBar()
        if not (
            bar.value() <= top and self._tops[page] + y1 <= bar.value() + self.viewport().height()
        ):
            bar.setValue(round(top - self.viewport().height() / 3))

    @property
    def current_page(self) -> int:
        return self._current_page

    def _update_current_page(self) -> None:
        if not self._tops:
            return
        middle = self.verticalScrollBar().value() + self.viewport().height() / 3
        page = max(0, bisect.bisect_right(self._tops, middle) - 1)
        bar = self.verticalScrollBar()
        if self._asked is not None:
            page = self._asked
        elif bar.maximum() > 0 and bar.value() >= bar.maximum():
            page = len(self._tops) - 1  # scrolled to the end: the last page is the current one
        page -= page % self._columns  # the left page of its row
        if page != self._current_page:
            self._current_page = page
            self.current_page_changed.emit(page)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self._scrolled_at = time.monotonic()
        self._update_current_page()
        self.viewport().update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        # What is at the centre stays at the centre (a side panel narrowing or widening must
        # not slide the page sideways): remember it in content pixels before the resize.
        bar = self.horizontalScrollBar()
        grown = event.size().width() - event.oldSize().width()
        old_width = self.viewport().width() - grown
        centre = bar.value() + old_width / 2 if event.oldSize().width() > 0 else None
        super().resizeEvent(event)
        if self._fit is not None:
            self._apply_fit()
        else:
            self._relayout()
            if self._at_start:
                self._scroll_to_start()
            elif centre is not None:
                bar.setValue(round(centre - self.viewport().width() / 2))

    # -- coordinates ----------------------------------------------------------------------

    def _locate(self, pos: QPointF, clamp_page: int | None = None) -> tuple[int, Point] | None:
        """Return the page under ``pos`` and the Instant point there."""
        pages = [clamp_page] if clamp_page is not None else list(self.visible_pages())
        for page in pages:
            rect = self.page_rect(page)
            if clamp_page is not None or rect.contains(pos):
                x = min(max(pos.x() - rect.x(), 0.0), rect.width())
                y = min(max(pos.y() - rect.y(), 0.0), rect.height())
                return page, self._geometries[page].display_to_instant(x, y, self._zoom)
        return None

    def instant_to_viewport(self, page: int, point: tuple[float, float]) -> QPointF:
        """Return where an Instant point of ``page`` is in viewport pixels."""
        x, y = self._page_origin(page)
        px, py = self._geometries[page].instant_to_display(point, self._zoom)
        return QPointF(x + px, y + py)
