"""The page canvas: every page of a PDF in one vertical scroll, its tiles and annotations.

:class:`PageCanvas` lays the pages out (zoom, fit, the current page), converts between
viewport pixels and each page's Instant coordinates, paints the tiles the renderer draws,
the annotations it is given and the search hits. It takes no input but scrolling and
resizing: :class:`lamina.ui.page_view.PageView` adds the tools, selection and pointer input.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from lamina.model.geometry import Point, Rect
from lamina.model.records import Annotation
from lamina.model.tools import PageWord
from lamina.pdf import PageGeometry, PdfDocument, PdfError, page_words
from lamina.pdf.outline import Destination, PageLink, page_links
from lamina.pdf.render_worker import page_annotation_xrefs
from lamina.ui.annotation_painter import instant_transform, paint_annotation
from lamina.ui.render import TileKey, TileRenderer, application_workers, tiles_for
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QRegion, QResizeEvent
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

_SEARCH_FILL = QColor(255, 152, 0, 90)
_SEARCH_CURRENT = QColor(255, 87, 34, 150)
_BACKGROUND = QColor("#5f6368")
# A page's shadow always lies on the background: 60/255 black over it, premixed so that it
# is an opaque fill (a translucent one is blended scanline by scanline, a tenth of a frame).
_SHADOW = QColor("#494c50")
_PAPER = QColor("#ffffff")
_DARK_PAPER = QColor("#000000")

_WARM_WORKER_MS = 1000
"""How long after a page view exists a spare render worker is started."""

_GEOMETRY_SLICE = 8
"""Pages whose exact size is read per idle step once the first page is on screen."""


@dataclass(frozen=True)
class SearchHit:
    """One search hit: its page and rectangles (one per text line)."""

    page: int
    rects: tuple[Rect, ...]


class PageCanvas(QAbstractScrollArea):
    """Shows all pages of a PDF in one continuous vertical scroll, with their annotations.

    Signals:
        zoom_changed(float): the zoom (1.0 = 100 %) changed.
        current_page_changed(int): the page at the top of the view changed (0-based).
        first_paint(): the first page tile was painted (used to measure start-up).
        annotations_changed(object): what is drawn on these pages (a set of page indexes)
            changed, in the tiles or painted over them.
        document_shown(): a new document is laid out (its pages are about to be drawn).
    """

    zoom_changed = Signal(float)
    current_page_changed = Signal(int)
    first_paint = Signal()
    annotations_changed = Signal(object)
    document_shown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # paintEvent fills every pixel it is asked for: Qt need not erase the viewport first.
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._doc: PdfDocument | None = None
        self._renderer: TileRenderer | None = None
        self._geometries: list[PageGeometry] = []
        self._exact: list[bool] = []
        self._next_exact = 0
        self._geometry_timer = QTimer(self)
        self._geometry_timer.setInterval(0)
        self._geometry_timer.timeout.connect(self._read_geometry_slice)
        self._tops: list[float] = []
        # Two-page mode: pages side by side in rows; each page's left edge within its row
        # and its row's width (one page per row otherwise).
        self._columns = 1
        self._lefts: list[float] = []
        self._row_widths: list[float] = []
        self._inverted = False
        self._rotation = 0  # the view's own turn of every page, degrees clockwise
        self._inverted_tiles: OrderedDict[TileKey, tuple[int, QImage]] = OrderedDict()
        self._zoom = 1.0
        self._fit: str | None = "width"
        self._annotations: dict[int, list[Annotation]] = {}
        self._page_of: dict[str, int] = {}
        self._editable: Callable[[Annotation], bool] = lambda _a: True
        # The PDF's own annotations nobody edited: drawn by the tiles from their own
        # appearance streams, not painted here (None until told: the tiles show them all).
        self._native_ids: frozenset[str] = frozenset()
        self._native_xrefs: dict[int, int] | None = None
        self._words: dict[int, list[PageWord]] = {}
        self._links: dict[int, list[PageLink]] = {}
        self._search_hits: list[SearchHit] = []
        self._search_current = -1
        self._current_page = 0
        self._asked: int | None = None
        """The page a jump asked for, current until the user scrolls (see go_to_page)."""
        # True from opening a document until the user scrolls, zooms or jumps: while it is,
        # layout changes (a fit after the side panels appear) keep the top-left corner of the
        # first page in view instead of the point at the centre.
        self._at_start = False
        self._painted_once = False
        for bar in (self.horizontalScrollBar(), self.verticalScrollBar()):
            bar.actionTriggered.connect(self._on_user_scroll)
        # A render worker process takes most of a second of CPU to start: start a spare once
        # the app is idle, so it is warm when a document opens.
        QTimer.singleShot(_WARM_WORKER_MS, self._prestart_worker)

    def _prestart_worker(self) -> None:
        # Not while a document shows: it has its own worker, and a spare would only take a CPU
        # from it (the next document starts its own if none is waiting).
        if self._renderer is None:
            application_workers().prestart()

    # -- document -----------------------------------------------------------------------

    def set_document(self, doc: PdfDocument, renderer: TileRenderer) -> None:
        """Show ``doc``; ``renderer`` draws its tiles (it owns its own copy of the PDF)."""
        self._doc = doc
        self._renderer = renderer
        renderer.tile_ready.connect(self._on_tile_ready)
        # Reading the size of all 429 pages of a long PDF takes hundreds of milliseconds, so
        # the layout starts with every page the size of the first, visible pages are read
        # exactly before they are painted, and the rest is read in idle slices.
        count = doc.page_count
        first = self._turned(doc.page_geometry(0)) if count else None
        self._geometries = [first] * count if first is not None else []
        self._exact = [i == 0 for i in range(count)]
        self._next_exact = 1
        self._words.clear()
        self._links.clear()
        self._native_ids = frozenset()
        self._native_xrefs = None
        self._painted_once = False
        self._current_page = 0
        self._asked = None
        self._at_start = True
        if self._fit is not None:
            self._apply_fit()  # relays out and keeps the start in view
        else:
            self._relayout()
        self._scroll_to_start()
        self.viewport().update()
        self.document_shown.emit()

    @property
    def document(self) -> PdfDocument | None:
        """The PDF shown (None before the first)."""
        return self._doc

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

    def _read_geometry_slice(self) -> None:
        if self._doc is None or self._next_exact >= len(self._geometries):
            self._geometry_timer.stop()
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

    def set_annotations(
        self, annotations: Sequence[Annotation], editable: Callable[[Annotation], bool]
    ) -> None:
        """Replace what is drawn on the pages (bottom to top) and who may edit what."""
        by_page: dict[int, list[Annotation]] = {}
        for a in annotations:
            by_page.setdefault(a.page_index, []).append(a)
        changed = set(self._annotations) | set(by_page)
        self._annotations = by_page
        self._page_of = {a.id: a.page_index for a in annotations}
        self._editable = editable
        self._drawn_changed()
        self.viewport().update()
        if changed:
            self.annotations_changed.emit(changed)

    def set_page_annotations(self, pages: Mapping[int, Sequence[Annotation]]) -> None:
        """Replace what is drawn on these pages only (bottom to top); the others keep theirs.

        Only a page on screen is repainted.
        """
        for page, drawn in pages.items():
            for a in self._annotations.pop(page, ()):
                if self._page_of.get(a.id) == page:
                    del self._page_of[a.id]
            if drawn:
                self._annotations[page] = list(drawn)
                self._page_of.update((a.id, page) for a in drawn)
        self._drawn_changed()
        shown = self.visible_pages()
        if any(page in shown for page in pages):
            self.viewport().update()
        self.annotations_changed.emit(set(pages))

    def show_native(self, records: Iterable[Annotation]) -> None:
        """Let the page tiles draw these records with the PDF's own appearance streams.

        ``records`` are the PDF's own annotations nobody edited (they carry
        ``pdfObjectId``); the tiles leave out every other annotation of the PDF, and the
        canvas paints every other record itself (new ones, edited ones). Only the pages
        whose set changes are drawn again.
        """
        records = list(records)
        shown = {a.pdf_object_id: a.page_index for a in records if a.pdf_object_id is not None}
        self._native_ids = frozenset(a.id for a in records if a.pdf_object_id is not None)
        old, self._native_xrefs = self._native_xrefs, shown
        if self._renderer is not None:
            if old is None:
                # Until now the tiles showed every annotation: only pages with one not shown
                # from now on change.
                pages = {
                    page
                    for page in {key.page for key in self._renderer.cached_keys()}
                    if self._hides_some(page, shown)
                }
            else:
                pages = {old[x] for x in old.keys() - shown.keys()}
                pages |= {shown[x] for x in shown.keys() - old.keys()}
                pages |= {p for x, p in shown.items() if x in old and old[x] != p}
            self._renderer.show_annotations(frozenset(shown), pages)
        self.viewport().update()

    def _hides_some(self, page: int, shown: Mapping[int, int]) -> bool:
        if self._doc is None:
            return True
        try:
            return not page_annotation_xrefs(self._doc, page) <= shown.keys()
        except (PdfError, ValueError):
            return True

    def painted_annotations(self, page: int) -> list[Annotation]:
        """Return what the canvas paints itself over the tiles of ``page`` (bottom to top)."""
        return [a for a in self._annotations.get(page, ()) if a.id not in self._native_ids]

    def native_xrefs(self) -> frozenset[int] | None:
        """Return the PDF's own annotations the tiles draw (None: all of them)."""
        return None if self._native_xrefs is None else frozenset(self._native_xrefs)

    def native(self, annotation: Annotation) -> bool:
        """Return whether the page tiles draw ``annotation`` (see :meth:`show_native`)."""
        return annotation.id in self._native_ids

    def page_of(self, record_id: str) -> int | None:
        """Return the page a drawn annotation is on (None: it is not drawn)."""
        return self._page_of.get(record_id)

    def annotations(self) -> list[Annotation]:
        """Return everything drawn, page by page."""
        return [a for page in sorted(self._annotations) for a in self._annotations[page]]

    def _drawn_changed(self) -> None:
        """Called after the annotations drawn changed (a subclass drops a vanished pick)."""

    def words_of(self, page: int) -> list[PageWord]:
        """Return the words of ``page`` in reading order (read once, then kept)."""
        if page not in self._words and self._doc is not None:
            self._words[page] = [PageWord(w.text, w.rect) for w in page_words(self._doc, page)]
        return self._words.get(page, [])

    def links_of(self, page: int) -> list[PageLink]:
        """Return the links of ``page`` (read once, then kept; none for a damaged page)."""
        if page not in self._links and self._doc is not None:
            try:
                self._links[page] = page_links(self._doc, page)
            except (PdfError, RuntimeError, ValueError):
                self._links[page] = []
        return self._links.get(page, [])

    def link_at(self, pos: QPointF) -> PageLink | None:
        """Return the link under the viewport point ``pos``, if any."""
        located = self._locate(pos)
        if located is None:
            return None
        page, point = located
        for link in self.links_of(page):
            r = link.rect
            if r.left <= point.x <= r.right and r.top <= point.y <= r.bottom:
                return link
        return None

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

    # -- search -------------------------------------------------------------------------

    def set_search_hits(self, hits: list[SearchHit], current: int = -1) -> None:
        self._search_hits = hits
        self._search_current = current
        if 0 <= current < len(hits):
            hit = hits[current]
            self.scroll_to_rect(hit.page, hit.rects[0])
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
        if not turn or not self._geometries:
            self._rotation = (self._rotation + turn) % 360
            return
        page = self._current_page
        self._rotation = (self._rotation + turn) % 360
        self._geometries = [
            dataclasses.replace(g, rotation=(g.rotation + turn) % 360) for g in self._geometries
        ]
        if self._fit is not None:
            self._apply_fit()
        else:
            self._relayout()
        self.go_to_page(page)
        self.viewport().update()

    def _turned(self, geometry: PageGeometry) -> PageGeometry:
        if not self._rotation:
            return geometry
        return dataclasses.replace(geometry, rotation=(geometry.rotation + self._rotation) % 360)

    @property
    def inverted(self) -> bool:
        """Whether pages are shown with inverted colours (for reading in the dark)."""
        return self._inverted

    def set_inverted(self, inverted: bool) -> None:
        """Show pages with inverted colours (light text on dark paper), or as they are."""
        self._inverted = inverted
        self._inverted_tiles.clear()
        self.viewport().update()

    def _shown_tile(self, key: TileKey, image: QImage) -> QImage:
        """Return the tile as painted: inverted in the dark reading mode (kept for reuse)."""
        if not self._inverted:
            return image
        kept = self._inverted_tiles.get(key)
        if kept is not None and kept[0] == image.cacheKey():
            self._inverted_tiles.move_to_end(key)
            return kept[1]
        inverted = image.copy()
        inverted.invertPixels()
        self._inverted_tiles[key] = (image.cacheKey(), inverted)
        while len(self._inverted_tiles) > 96:
            self._inverted_tiles.popitem(last=False)
        return inverted

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

    # -- painting -----------------------------------------------------------------------

    def visible_tiles(self) -> list[TileKey]:
        """Return the tiles the viewport shows now, nearest the viewport centre first."""
        if self._renderer is None or not self._geometries:
            return []
        dpr = self.viewport().devicePixelRatioF()
        device_zoom = self._zoom * dpr
        viewport = QRectF(self.viewport().rect())
        centre = viewport.center()
        keys: list[tuple[float, TileKey]] = []
        for page in self.visible_pages():
            rect = self.page_rect(page)
            vis = rect.intersected(viewport)
            if vis.isEmpty():
                continue
            w_dev, h_dev = self._geometries[page].display_size(device_zoom)
            visible = (
                int((vis.left() - rect.left()) * dpr),
                int((vis.top() - rect.top()) * dpr),
                math.ceil((vis.right() - rect.left()) * dpr),
                math.ceil((vis.bottom() - rect.top()) * dpr),
            )
            for key in tiles_for(page, device_zoom, w_dev, h_dev, visible, self._rotation):
                cx = rect.left() + (key.x + key.width / 2) / dpr
                cy = rect.top() + (key.y + key.height / 2) / dpr
                keys.append((abs(cx - centre.x()) + abs(cy - centre.y()), key))
        keys.sort(key=lambda pair: pair[0])
        return [key for _d, key in keys]

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        if self._renderer is None:
            painter.fillRect(event.rect(), _BACKGROUND)
            painter.end()
            return
        pages = self.visible_pages()
        if pages and self._make_exact(pages):
            self._relayout_keeping_page()
            pages = self.visible_pages()
        dpr = self.viewport().devicePixelRatioF()
        renderer = self._renderer
        wanted = self.visible_tiles()
        missing = []
        stale = []
        painted_tile = False
        rects = {page: self.page_rect(page) for page in pages}
        # Every pixel is filled once: the background only around the pages, paper only
        # behind tiles not drawn yet (filling both under the tiles cost as much as the tiles).
        background = QRegion(event.rect())
        for rect in rects.values():
            background -= QRegion(_inner(rect))
        for part in background:  # type: ignore[attr-defined]  # (the stubs lack __iter__)
            painter.fillRect(part, _BACKGROUND)
        for rect in rects.values():
            # The shadow shows only as 2 px strips right of and under the page.
            box = rect.toRect()
            painter.fillRect(QRect(box.right() + 1, box.top() + 2, 2, box.height()), _SHADOW)
            painter.fillRect(QRect(box.left() + 2, box.bottom() + 1, box.width() - 2, 2), _SHADOW)
        for key in wanted:
            if key.page not in rects:
                rects[key.page] = self.page_rect(key.page)
            rect = rects[key.page]
            image = renderer.cached(key)
            if image is None:
                missing.append(key)
                painter.fillRect(
                    _tile_target(rect, key, dpr), _DARK_PAPER if self._inverted else _PAPER
                )
                continue
            # The tile is drawn 1:1 in device pixels (the image carries no ratio of its own
            # because it is shared with any window), so it is crisp at any ratio.
            painter.drawImage(_tile_target(rect, key, dpr), self._shown_tile(key, image))
            painted_tile = True
            if renderer.stale(key):
                stale.append(key)  # painted until its new pixels (annotations changed) arrive
        if missing:
            self._paint_previews(painter, missing)
        renderer.request(missing + stale, "view")
        renderer.request(self._prefetch_tiles(pages), "prefetch")
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for page in pages:
            self._paint_overlays(painter, page)
        painter.end()
        if painted_tile and not self._painted_once:
            self._painted_once = True
            if self._next_exact < len(self._geometries):
                self._geometry_timer.start()
            self.first_paint.emit()

    def _paint_previews(self, painter: QPainter, missing: list[TileKey]) -> None:
        """Fill tiles not drawn yet from a cached low-resolution image of their page."""
        assert self._renderer is not None
        dpr = self.viewport().devicePixelRatioF()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        for key in missing:
            preview = self._renderer.preview(key.page)
            if preview is None or key.rotation:
                continue  # (a preview is of the page unturned)
            rect = self.page_rect(key.page)
            sx = preview.width() / max(1.0, rect.width() * dpr)
            sy = preview.height() / max(1.0, rect.height() * dpr)
            target = QRectF(
                rect.left() + key.x / dpr,
                rect.top() + key.y / dpr,
                key.width / dpr,
                key.height / dpr,
            )
            source = QRectF(key.x * sx, key.y * sy, key.width * sx, key.height * sy)
            painter.drawImage(target, preview, source)
        painter.restore()

    def _prefetch_tiles(self, pages: range) -> list[TileKey]:
        """Return the tiles of the first screenful of the page after the visible ones."""
        if not pages or pages.stop >= len(self._geometries):
            return []
        nxt = pages.stop
        device_zoom = self._zoom * self.viewport().devicePixelRatioF()
        w_dev, h_dev = self._geometries[nxt].display_size(device_zoom)
        height = min(h_dev, self.viewport().height() * self.viewport().devicePixelRatioF())
        return tiles_for(
            nxt,
            device_zoom,
            w_dev,
            h_dev,
            (0, 0, math.ceil(w_dev), math.ceil(height)),
            self._rotation,
        )

    def _paint_overlays(self, painter: QPainter, page: int) -> None:
        x, y = self._page_origin(page)
        painter.save()
        painter.setTransform(instant_transform(self._geometries[page], self._zoom, x, y))
        for hit_index, hit in enumerate(self._search_hits):
            if hit.page == page:
                color = _SEARCH_CURRENT if hit_index == self._search_current else _SEARCH_FILL
                for r in hit.rects:
                    painter.fillRect(QRectF(r.left, r.top, r.width, r.height), color)
        self._paint_page(painter, page)
        painter.restore()

    def _paint_page(self, painter: QPainter, page: int) -> None:
        """Paint what lies on ``page`` over its tiles, in Instant coordinates."""
        for annotation in self._annotations.get(page, ()):
            if annotation.id not in self._native_ids:
                paint_annotation(painter, annotation)

    def _on_tile_ready(self, key: object) -> None:
        self.viewport().update()


def _tile_target(page_rect: QRectF, key: TileKey, dpr: float) -> QRectF:
    """Return where a tile of a page shown at ``page_rect`` goes, in viewport pixels."""
    return QRectF(
        page_rect.left() + key.x / dpr,
        page_rect.top() + key.y / dpr,
        key.width / dpr,
        key.height / dpr,
    )


def _inner(rect: QRectF) -> QRect:
    """Return the whole pixels inside ``rect`` (its fractional edges are left out)."""
    left, top = math.ceil(rect.left()), math.ceil(rect.top())
    return QRect(left, top, math.floor(rect.right()) - left, math.floor(rect.bottom()) - top)
