"""The page view: every page in one vertical scroll, tiles, annotations and the active tool.

The view converts each ``QMouseEvent`` once into a :class:`~lamina.model.tools.PointerEvent` in
Instant coordinates (:meth:`PageGeometry.display_to_instant`) and feeds the active tool's
generator; everything else about drawing is in :mod:`lamina.model.tools`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from lamina.model.geometry import Point, Rect
from lamina.model.records import Annotation
from lamina.model.tools import (
    DRAWING_TOOLS,
    HANDLE_SIZE,
    PageWord,
    PointerEvent,
    ToolResult,
    ToolSession,
    ToolStyle,
    select_move_resize,
    text_select,
)
from lamina.pdf import PageGeometry, PdfDocument, PdfError, page_words
from lamina.ui.annotation_painter import instant_transform, paint_annotation, paint_selection
from lamina.ui.render import TileKey, TileRenderer, application_workers, tiles_for
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QNativeGestureEvent,
    QPainter,
    QPaintEvent,
    QRegion,
    QResizeEvent,
    QTabletEvent,
    QWheelEvent,
)
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

_SELECTION_FILL = QColor(30, 110, 230, 70)
_SEARCH_FILL = QColor(255, 152, 0, 90)
_SEARCH_CURRENT = QColor(255, 87, 34, 150)
_BACKGROUND = QColor("#5f6368")
# A page's shadow always lies on the background: 60/255 black over it, premixed so that it
# is an opaque fill (a translucent one is blended scanline by scanline, a tenth of a frame).
_SHADOW = QColor("#494c50")
_PAPER = QColor("#ffffff")

_WARM_WORKER_MS = 1000
"""How long after a page view exists a spare render worker is started."""

_GEOMETRY_SLICE = 8
"""Pages whose exact size is read per idle step once the first page is on screen."""


@dataclass(frozen=True)
class SearchHit:
    """One search hit: its page and rectangles (one per text line)."""

    page: int
    rects: tuple[Rect, ...]


class PageView(QAbstractScrollArea):
    """Shows all pages of a PDF in one continuous vertical scroll.

    Signals:
        record_created(Annotation): a drawing gesture finished with a new record.
        record_changed(Annotation, Annotation): the select tool moved or resized a record
            (before, after).
        selection_changed(object): the selected record id (str) or None.
        text_selection_changed(): the selected words changed.
        zoom_changed(float): the zoom (1.0 = 100 %) changed.
        current_page_changed(int): the page at the top of the view changed (0-based).
        first_paint(): the first page tile was painted (used to measure start-up).
    """

    record_created = Signal(object)
    record_changed = Signal(object, object)
    selection_changed = Signal(object)
    text_selection_changed = Signal()
    zoom_changed = Signal(float)
    current_page_changed = Signal(int)
    first_paint = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pageView")
        self.viewport().setMouseTracking(True)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents, True)
        # paintEvent fills every pixel it is asked for: Qt need not erase the viewport first.
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.grabGesture(Qt.GestureType.PinchGesture)
        self._doc: PdfDocument | None = None
        self._renderer: TileRenderer | None = None
        self._geometries: list[PageGeometry] = []
        self._exact: list[bool] = []
        self._next_exact = 0
        self._geometry_timer = QTimer(self)
        self._geometry_timer.setInterval(0)
        self._geometry_timer.timeout.connect(self._read_geometry_slice)
        self._tops: list[float] = []
        self._zoom = 1.0
        self._fit: str | None = "width"
        self._annotations: dict[int, list[Annotation]] = {}
        self._page_of: dict[str, int] = {}
        self._editable: Callable[[Annotation], bool] = lambda _a: True
        self._tool = "select"
        self._style = ToolStyle()
        self._styles: dict[str, ToolStyle] = {}
        self._session: ToolSession | None = None
        self._text_session: object | None = None
        self._words: dict[int, list[PageWord]] = {}
        self._text_page: int | None = None
        self._text_selected: list[int] = []
        self._selected_id: str | None = None
        self._search_hits: list[SearchHit] = []
        self._search_current = -1
        self._current_page = 0
        # True from opening a document until the user scrolls, zooms or jumps: while it is,
        # layout changes (a fit after the side panels appear) keep the top-left corner of the
        # first page in view instead of the point at the centre.
        self._at_start = False
        self._painted_once = False
        self._last_point: tuple[int, Point] | None = None
        # Pen pressure (0..1) of the tablet event being handled, None for a mouse.
        self._pen_pressure: float | None = None
        self.read_only = False
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
        first = doc.page_geometry(0) if count else None
        self._geometries = [first] * count if first is not None else []
        self._exact = [i == 0 for i in range(count)]
        self._next_exact = 1
        self._words.clear()
        self._painted_once = False
        self._current_page = 0
        self._at_start = True
        if self._fit is not None:
            self._apply_fit()  # relays out and keeps the start in view
        else:
            self._relayout()
        self._scroll_to_start()
        self.viewport().update()

    def _scroll_to_start(self) -> None:
        """Show the top-left corner of the first page (a page narrower than the view is centred
        by :meth:`_page_origin`)."""
        self.horizontalScrollBar().setValue(0)
        self.verticalScrollBar().setValue(0)

    def _on_user_scroll(self, _action: int) -> None:
        self._at_start = False

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
                    exact = self._doc.page_geometry(page)
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
        self._annotations = by_page
        self._page_of = {a.id: a.page_index for a in annotations}
        self._editable = editable
        if self._selected_id is not None and self._selected_id not in self._page_of:
            self.set_selected(None)
        self.viewport().update()

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
        if self._selected_id is not None and self._selected_id not in self._page_of:
            self.set_selected(None)
        shown = self.visible_pages()
        if any(page in shown for page in pages):
            self.viewport().update()

    def page_of(self, record_id: str) -> int | None:
        """Return the page a drawn annotation is on (None: it is not drawn)."""
        return self._page_of.get(record_id)

    def annotations(self) -> list[Annotation]:
        """Return everything drawn, page by page."""
        return [a for page in sorted(self._annotations) for a in self._annotations[page]]

    # -- tools and selection ----------------------------------------------------------------

    @property
    def tool(self) -> str:
        return self._tool

    def set_tool(self, name: str) -> None:
        """Make ``name`` (see :data:`lamina.model.tools.TOOL_NAMES`) the active tool."""
        if self._session is not None:
            self._session.cancel()
            self._session = None
        self._tool = name
        cursor = {
            "select": Qt.CursorShape.ArrowCursor,
            "text": Qt.CursorShape.IBeamCursor,
        }.get(name, Qt.CursorShape.CrossCursor)
        self.viewport().setCursor(cursor)
        self.viewport().update()

    def set_style(self, tool: str, style: ToolStyle) -> None:
        """Set how new annotations of ``tool`` look."""
        self._styles[tool] = style

    def style_for(self, tool: str) -> ToolStyle:
        return self._styles.get(tool, self._style)

    @property
    def selected_id(self) -> str | None:
        return self._selected_id

    def set_selected(self, record_id: str | None) -> None:
        if record_id != self._selected_id:
            self._selected_id = record_id
            self.selection_changed.emit(record_id)
            self.viewport().update()

    def selected_words(self) -> tuple[int | None, list[PageWord]]:
        """Return the page and the words of the text selection."""
        if self._text_page is None:
            return None, []
        words = self.words_of(self._text_page)
        return self._text_page, [words[i] for i in self._text_selected]

    def selected_text(self) -> str:
        _page, words = self.selected_words()
        return " ".join(w.text for w in words)

    def clear_text_selection(self) -> None:
        self._text_page = None
        self._text_selected = []
        self.text_selection_changed.emit()
        self.viewport().update()

    def words_of(self, page: int) -> list[PageWord]:
        """Return the words of ``page`` in reading order (read once, then kept)."""
        if page not in self._words and self._doc is not None:
            self._words[page] = [PageWord(w.text, w.rect) for w in page_words(self._doc, page)]
        return self._words.get(page, [])

    # -- search -------------------------------------------------------------------------

    def set_search_hits(self, hits: list[SearchHit], current: int = -1) -> None:
        self._search_hits = hits
        self._search_current = current
        if 0 <= current < len(hits):
            hit = hits[current]
            self.scroll_to_rect(hit.page, hit.rects[0])
        self.viewport().update()

    # -- zoom and layout ----------------------------------------------------------------

    @property
    def zoom(self) -> float:
        return self._zoom

    @property
    def fit_mode(self) -> str | None:
        return self._fit

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
        tops = []
        y = float(PAGE_GAP)
        widest = 0.0
        for g in self._geometries:
            tops.append(y)
            w, h = g.display_size(self._zoom)
            y += h + PAGE_GAP
            widest = max(widest, w)
        self._tops = tops
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
        w, _h = self._geometries[page].display_size(self._zoom)
        viewport_w = self.viewport().width()
        if w + 2 * MARGIN <= viewport_w:
            # A page that fits stays centred even when a wider (rotated) page scrolls sideways.
            x = (viewport_w - w) / 2
        else:
            x = (max(self._content_width, viewport_w) - w) / 2 - self.horizontalScrollBar().value()
        return x, self._tops[page] - self.verticalScrollBar().value()

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
        last = max(first, bisect.bisect_left(self._tops, bottom))
        return range(first, min(last, len(self._tops)))

    def go_to_page(self, page: int) -> None:
        """Scroll so that ``page`` (0-based) starts at the top."""
        if not self._geometries:
            return
        page = min(max(0, page), len(self._geometries) - 1)
        self._at_start = False
        self.verticalScrollBar().setValue(round(self._tops[page] - PAGE_GAP))
        self._update_current_page()

    def scroll_to_rect(self, page: int, rect: Rect) -> None:
        """Scroll so that an Instant rectangle of ``page`` is visible."""
        self._at_start = False
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
        if page != self._current_page:
            self._current_page = page
            self.current_page_changed.emit(page)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self._update_current_page()
        self.viewport().update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fit is not None:
            self._apply_fit()
        else:
            self._relayout()
            if self._at_start:
                self._scroll_to_start()

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
            for key in tiles_for(page, device_zoom, w_dev, h_dev, visible):
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
                painter.fillRect(_tile_target(rect, key, dpr), _PAPER)
                continue
            # The tile is drawn 1:1 in device pixels (the image carries no ratio of its own
            # because it is shared with any window), so it is crisp at any ratio.
            painter.drawImage(_tile_target(rect, key, dpr), image)
            painted_tile = True
        if missing:
            self._paint_previews(painter, missing)
        renderer.request(missing, "view")
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
            if preview is None:
                continue
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
            nxt, device_zoom, w_dev, h_dev, (0, 0, math.ceil(w_dev), math.ceil(height))
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
        preview = self._session.preview if self._session is not None else None
        editing_id = preview.id if preview is not None else None
        for annotation in self._annotations.get(page, ()):
            if annotation.id != editing_id:
                paint_annotation(painter, annotation)
        if preview is not None and preview.page_index == page:
            paint_annotation(painter, preview)
        if self._text_page == page and self._text_selected:
            words = self.words_of(page)
            for i in self._text_selected:
                r = words[i].rect
                painter.fillRect(QRectF(r.left, r.top, r.width, r.height), _SELECTION_FILL)
        if self._selected_id is not None:
            shown = preview if preview is not None and preview.id == self._selected_id else None
            if shown is None:
                shown = next(
                    (a for a in self._annotations.get(page, ()) if a.id == self._selected_id), None
                )
            if shown is not None and shown.page_index == page:
                paint_selection(painter, shown.bbox, HANDLE_SIZE * 1.2)
        painter.restore()

    def _on_tile_ready(self, key: object) -> None:
        self.viewport().update()

    # -- input --------------------------------------------------------------------------

    def _pointer(self, kind: str, event: QMouseEvent) -> PointerEvent | None:
        pos = event.position()
        page_hint = self._session_page()
        located = self._locate(pos, clamp_page=page_hint)
        if located is None:
            return None
        page, point = located
        self._last_point = (page, point)
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        pressure = 0.5 if self._pen_pressure is None else self._pen_pressure
        return PointerEvent(kind, page, point, pressure=pressure, shift=shift)  # type: ignore[arg-type]

    def _session_page(self) -> int | None:
        # While a gesture is under way, points outside its page still belong to it (clamped),
        # so a stroke that leaves the page ends at its edge instead of jumping pages.
        if self._session is not None and self._last_point is not None and self._session.preview:
            return self._session.preview.page_index
        if self._text_session is not None and self._text_page is not None:
            return self._text_page
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self.setFocus()
        pointer = self._pointer("press", event)
        if pointer is None:
            self.set_selected(None)
            return
        if self._tool == "text":
            words = self.words_of(pointer.page_index)
            gen = text_select(words)
            next(gen)
            self._text_session = gen
            self._text_page = pointer.page_index
            self._text_selected = gen.send(pointer)
            self.viewport().update()
            return
        if self._session is None:
            self._session = self._start_session()
        if self._session is not None:
            self._feed(pointer)

    def _start_session(self) -> ToolSession | None:
        if self._tool == "select":
            return ToolSession(
                select_move_resize(self.annotations(), self._selected_id, self._editable)
            )
        factory = DRAWING_TOOLS.get(self._tool)
        if factory is None or self.read_only:
            return None
        return ToolSession(factory(self.style_for(self._tool)))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._text_session is not None:
            pointer = self._pointer("move", event)
            if pointer is not None:
                self._text_selected = self._text_session.send(pointer)  # type: ignore[attr-defined]
                self.viewport().update()
            return
        if self._session is not None:
            pointer = self._pointer("move", event)
            if pointer is not None:
                self._feed(pointer)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mouseReleaseEvent(event)
        if self._text_session is not None:
            pointer = self._pointer("release", event)
            gen, self._text_session = self._text_session, None
            if pointer is not None:
                try:
                    gen.send(pointer)  # type: ignore[attr-defined]
                except StopIteration as stop:
                    self._text_selected = list(stop.value)
            self.text_selection_changed.emit()
            self.viewport().update()
            return
        if self._session is not None:
            pointer = self._pointer("release", event)
            if pointer is not None:
                self._feed(pointer)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._session is not None and event.button() == Qt.MouseButton.LeftButton:
            pointer = self._pointer("double_click", event)
            if pointer is not None:
                self._feed(pointer)
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        names = {
            Qt.Key.Key_Escape: "Escape",
            Qt.Key.Key_Return: "Enter",
            Qt.Key.Key_Enter: "Enter",
            Qt.Key.Key_Backspace: "Backspace",
        }
        key = names.get(Qt.Key(event.key()))
        if key is not None and self._session is not None and self._last_point is not None:
            page, point = self._last_point
            self._feed(PointerEvent("key", page, point, key=key))
            return
        if key == "Escape":
            self.clear_text_selection()
            self.set_selected(None)
            return
        super().keyPressEvent(event)

    def _feed(self, pointer: PointerEvent) -> None:
        assert self._session is not None
        result = self._session.send(pointer)
        self.viewport().update()
        if result is not None:
            self._session = None
            self._finish(result)

    def _finish(self, result: ToolResult) -> None:
        if self._tool == "select":
            self.set_selected(result.selected)
        if result.created is not None:
            self.record_created.emit(result.created)
        elif result.updated is not None and result.before is not None:
            self.record_changed.emit(result.before, result.updated)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.set_zoom(self._zoom * (1.15**steps), event.position())
            event.accept()
            return
        super().wheelEvent(event)

    def viewportEvent(self, event: object) -> bool:
        if (
            isinstance(event, QNativeGestureEvent)
            and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture
        ):
            self.set_zoom(self._zoom * (1 + event.value()), event.position())
            return True
        if isinstance(event, QTabletEvent) and event.type() in _TABLET_TO_MOUSE:
            self._tablet_event(event)
            return True
        return super().viewportEvent(event)  # type: ignore[arg-type]

    def _tablet_event(self, event: QTabletEvent) -> None:
        """Handle a pen like the mouse, but with its pressure (ink intensities).

        Accepting the tablet event stops Qt from also sending the mouse events it would
        synthesize from it, so each pen point is handled once.
        """
        mouse_type = _TABLET_TO_MOUSE[event.type()]
        button = event.button()
        if mouse_type == QEvent.Type.MouseMove:
            button = Qt.MouseButton.NoButton
            if not event.buttons():
                event.accept()  # the pen hovers: nothing to draw
                return
        mouse = QMouseEvent(
            mouse_type,
            event.position(),
            event.globalPosition(),
            button,
            event.buttons(),
            event.modifiers(),
        )
        self._pen_pressure = max(0.0, min(1.0, event.pressure()))
        try:
            if mouse_type == QEvent.Type.MouseButtonPress:
                self.mousePressEvent(mouse)
            elif mouse_type == QEvent.Type.MouseMove:
                self.mouseMoveEvent(mouse)
            else:
                self.mouseReleaseEvent(mouse)
        finally:
            self._pen_pressure = None
        event.accept()


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


_TABLET_TO_MOUSE = {
    QEvent.Type.TabletPress: QEvent.Type.MouseButtonPress,
    QEvent.Type.TabletMove: QEvent.Type.MouseMove,
    QEvent.Type.TabletRelease: QEvent.Type.MouseButtonRelease,
}


def page_rect_center(view: PageView, page: int, point: tuple[float, float]) -> QPoint:
    """Return the viewport pixel (rounded) of an Instant point: what tests click on."""
    p = view.instant_to_viewport(page, point)
    return QPoint(round(p.x()), round(p.y()))
