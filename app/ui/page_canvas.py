"""The page canvas: the pages laid out by :class:`PageLayout`, their tiles and annotations.

:class:`PageCanvas` paints the tiles the renderer draws (inverted for dark reading), the
annotations it is given and the search hits, and keeps each page's words and links. It
takes no input but scrolling and resizing: :class:`lamina.ui.page_view.PageView` adds the
tools, selection and pointer input.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from lamina.model.geometry import Rect
from lamina.model.records import Annotation
from lamina.model.tools import PageWord
from lamina.pdf import PdfDocument, PdfError, page_words
from lamina.pdf.outline import PageLink, page_links
from lamina.pdf.render_worker import page_annotation_xrefs
from lamina.ui.annotation_painter import instant_transform, paint_annotation
from lamina.ui.baked_tiles import BakedTiles
from lamina.ui.page_layout import MARGIN, PAGE_GAP, PageLayout
from lamina.ui.render import TileRenderer
from lamina.ui.tiles import TileKey, tile_target, tiles_for, zoom_key
from lamina.ui.worker_pool import application_workers
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QRegion, QTransform
from PySide6.QtWidgets import QWidget

__all__ = ["MARGIN", "PAGE_GAP", "Drawing", "PageCanvas", "SearchHit", "drawing_of"]

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


@dataclass(frozen=True)
class Drawing:
    """What a canvas draws, grouped as it keeps it (see :func:`drawing_of`).

    Build it on any thread (it costs O(records)); :meth:`PageCanvas.set_drawing` installs it
    on the GUI thread with copies made in C, so a document of 10,000 records does not hold
    the GUI thread while it is grouped. Do not change its dicts after building it.
    """

    by_page: Mapping[int, list[Annotation]]
    page_of: Mapping[str, int]
    native_ids: frozenset[str]
    native_xref_of: Mapping[str, int]
    native_xrefs: Mapping[int, int]
    """The object number of each native annotation and its page."""


def drawing_of(annotations: Iterable[Annotation], natives: Iterable[Annotation]) -> Drawing:
    """Return the drawing of ``annotations`` (bottom to top) of which the page tiles draw
    ``natives`` (the PDF's own, unedited; see :meth:`PageCanvas.show_native`)."""
    by_page: dict[int, list[Annotation]] = {}
    page_of: dict[str, int] = {}
    for a in annotations:
        by_page.setdefault(a.page_index, []).append(a)
        page_of[a.id] = a.page_index
    xref_of: dict[str, int] = {}
    xrefs: dict[int, int] = {}
    for a in natives:
        if a.pdf_object_id:
            xref_of[a.id] = a.pdf_object_id
            xrefs[a.pdf_object_id] = a.page_index
    return Drawing(by_page, page_of, frozenset(xref_of), xref_of, xrefs)


@dataclass(frozen=True)
class SearchHit:
    """One search hit: its page and rectangles (one per text line)."""

    page: int
    rects: tuple[Rect, ...]


class PageCanvas(PageLayout):
    """Shows all pages of a PDF in one continuous vertical scroll, with their annotations.

    Signals (besides :class:`PageLayout`'s):
        first_paint(): the first page tile was painted (used to measure start-up).
        annotations_changed(object): what is drawn on these pages (a set of page indexes)
            changed, in the tiles or painted over them.
        document_shown(): a new document is laid out (its pages are about to be drawn).
    """

    first_paint = Signal()
    annotations_changed = Signal(object)
    document_shown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # paintEvent fills every pixel it is asked for: Qt need not erase the viewport first.
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._renderer: TileRenderer | None = None
        self._inverted = False
        self._inverted_images: OrderedDict[int, QImage] = OrderedDict()
        """Inverted copies of tiles and previews shown in the dark reading mode, by the
        ``cacheKey`` of the image they were made from (a new image gets a new key)."""
        self._annotations: dict[int, list[Annotation]] = {}
        self._page_of: dict[str, int] = {}
        self._editable: Callable[[Annotation], bool] = lambda _a: True
        # The PDF's own annotations nobody edited: drawn by the tiles from their own
        # appearance streams, not painted here (None until told: the tiles show them all).
        self._native_ids: set[str] = set()
        self._native_xref_of: dict[str, int] = {}
        self._native_xrefs: dict[int, int] | None = None
        """The object number of each native annotation shown and its page (None: all)."""
        self._words: dict[int, list[PageWord]] = {}
        self._links: dict[int, list[PageLink]] = {}
        # The records the canvas paints are drawn into a copy of each tile once, kept until
        # the tile or its page's records change: a frame only copies tiles to the screen.
        self._baked = BakedTiles()
        self._unbaked: dict[int, QRegion] = {}
        """Per page painted now, where its records are painted directly (tiles missing)."""
        self._search_hits: list[SearchHit] = []
        self._search_current = -1
        self._painted_once = False
        # The last visible_tiles() and the state of the view they were worked out for.
        self._visible: tuple[tuple[object, ...], list[TileKey]] | None = None
        self._scrolling_up = False  # the last scroll went up: prefetch above, not below
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
        self._renderer = renderer
        renderer.tile_ready.connect(self._on_tile_ready)
        self._words.clear()
        self._links.clear()
        self._native_ids = set()
        self._native_xref_of = {}
        self._native_xrefs = None
        self._painted_once = False
        self._lay_out_document(doc)
        self.viewport().update()
        self.document_shown.emit()

    def has_painted(self) -> bool:
        """Return whether the document's first page tile is on screen (``first_paint``)."""
        return self._painted_once

    def settled(self) -> bool:
        """Return whether the first tile is on screen and the view has stopped scrolling (work
        that is not drawing may go on without making frames late)."""
        return self._painted_once and self.quiet()

    def set_annotations(
        self, annotations: Sequence[Annotation], editable: Callable[[Annotation], bool]
    ) -> None:
        """Replace what is drawn on the pages (bottom to top) and who may edit what."""
        self._install_annotations(drawing_of(annotations, ()), editable)

    def set_drawing(self, drawing: Drawing, editable: Callable[[Annotation], bool]) -> None:
        """Replace what is drawn and which of it the tiles draw, as :meth:`set_annotations`
        then :meth:`show_native` would; ``drawing`` was grouped beforehand (any thread)."""
        # Natives first: those told of the new annotations (the thumbnails) ask at once what
        # the canvas paints itself, which is only what the tiles do not draw.
        self._install_native(drawing)
        self._install_annotations(drawing, editable)

    def _install_annotations(
        self, drawing: Drawing, editable: Callable[[Annotation], bool]
    ) -> None:
        changed = set(self._annotations) | set(drawing.by_page)
        self._annotations = dict(drawing.by_page)
        self._page_of = dict(drawing.page_of)
        self._baked.clear()
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
            old = self._annotations.pop(page, [])
            for a in old:
                if self._page_of.get(a.id) == page:
                    del self._page_of[a.id]
            if drawn:
                self._annotations[page] = list(drawn)
                self._page_of.update((a.id, page) for a in drawn)
            self._baked.records_changed(page, old, drawn, self._tile_transform, self._native_ids)
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
        self._install_native(drawing_of((), records))

    def _install_native(self, drawing: Drawing) -> None:
        shown = drawing.native_xrefs
        self._native_ids = set(drawing.native_ids)
        self._native_xref_of = dict(drawing.native_xref_of)
        old, self._native_xrefs = self._native_xrefs, dict(shown)
        self._baked.clear()
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

    def update_native(self, shown: Iterable[Annotation], hidden: Iterable[str]) -> None:
        """Change which records the tiles draw, by what changed: ``shown`` records (the
        PDF's own, unedited) are drawn by the tiles from now on, the ids in ``hidden`` are
        not (edited or deleted). The cost is that of the change, not of every record; only
        the pages affected are drawn again."""
        if self._native_xrefs is None:
            return  # the tiles show every annotation: nothing is left out to show again
        pages: set[int] = set()
        for record_id in hidden:
            xref = self._native_xref_of.pop(record_id, None)
            self._native_ids.discard(record_id)
            if xref is not None and xref in self._native_xrefs:
                pages.add(self._native_xrefs.pop(xref))
        for a in shown:
            xref = a.pdf_object_id
            if xref is None:
                continue
            old = self._native_xrefs.get(xref)
            if old != a.page_index:
                pages.add(a.page_index)
                if old is not None:
                    pages.add(old)
            self._native_ids.add(a.id)
            self._native_xref_of[a.id] = xref
            self._native_xrefs[xref] = a.page_index
        for page in pages:
            self._baked.page_changed(page)
        if pages and self._renderer is not None:
            self._renderer.show_annotations(frozenset(self._native_xrefs), pages)
        if pages:
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

    # -- search -------------------------------------------------------------------------

    def set_search_hits(self, hits: list[SearchHit], current: int = -1) -> None:
        self._search_hits = hits
        self._search_current = current
        if 0 <= current < len(hits):
            hit = hits[current]
            self.scroll_to_rect(hit.page, hit.rects[0])
        self.viewport().update()

    @property
    def inverted(self) -> bool:
        """Whether pages are shown with inverted colours (for reading in the dark)."""
        return self._inverted

    def set_inverted(self, inverted: bool) -> None:
        """Show pages with inverted colours (light text on dark paper), or as they are."""
        self._inverted = inverted
        self._inverted_images.clear()
        self._baked.clear()
        self.viewport().update()

    def _shown(self, image: QImage) -> QImage:
        """Return a tile or preview as painted: inverted in the dark reading mode (an
        inverted copy is kept for reuse)."""
        if not self._inverted:
            return image
        source = image.cacheKey()
        kept = self._inverted_images.get(source)
        if kept is not None:
            self._inverted_images.move_to_end(source)
            return kept
        inverted = image.copy()
        inverted.invertPixels()
        self._inverted_images[source] = inverted
        while len(self._inverted_images) > 96:
            self._inverted_images.popitem(last=False)
        return inverted

    def _excluded_id(self) -> str | None:
        """Return a record not to draw into tiles now (a subclass: the one being moved)."""
        return None

    def _painted_records(self, page: int) -> list[Annotation]:
        excluded = self._excluded_id()
        return [
            a
            for a in self._annotations.get(page, ())
            if a.id not in self._native_ids and a.id != excluded
        ]

    def _baked_tile(self, key: TileKey, image: QImage, excluded: str | None) -> QImage:
        """Return the tile with the records the canvas paints on its page drawn into it
        (made once, kept until the tile, its page's records or ``excluded`` change)."""
        records = [
            a
            for a in self._annotations.get(key.page, ())
            if a.id not in self._native_ids and a.id != excluded
        ]
        if not records:
            return image
        left_out = excluded if self._page_of.get(excluded or "") == key.page else None
        transform = self._tile_transform(key)
        assert transform is not None  # a tile painted now is of the current zoom and turn
        return self._baked.tile(key, image, records, left_out, transform)

    def _tile_transform(self, key: TileKey) -> QTransform | None:
        """Return the transform from Instant points to the pixels of tile ``key`` (None: the
        tile is of another zoom or turn than the view's)."""
        device_zoom = self._zoom * self.viewport().devicePixelRatioF()
        if key.zoom_milli != zoom_key(device_zoom) or key.rotation != self._rotation:
            return None
        # Tile pixels are the page's device pixels, shifted to the tile's origin.
        return instant_transform(self._geometries[key.page], device_zoom, -key.x, -key.y)

    def _paint_records(self, painter: QPainter, page: int) -> None:
        """Paint the records of ``page`` where its tiles are still missing (elsewhere they
        are drawn into the tiles), in Instant coordinates."""
        region = self._unbaked.get(page)
        if region is None or region.isEmpty():
            return
        records = self._painted_records(page)
        if not records:
            return
        painter.save()
        transform = painter.transform()
        painter.resetTransform()
        painter.setClipRegion(region)
        painter.setTransform(transform)
        for annotation in records:
            paint_annotation(painter, annotation)
        painter.restore()

    # -- painting -----------------------------------------------------------------------

    def visible_tiles(self) -> list[TileKey]:
        """Return the tiles the viewport shows now, nearest the viewport centre first."""
        if self._renderer is None or not self._geometries:
            return []
        dpr = self.viewport().devicePixelRatioF()
        size = self.viewport().size()
        # Asked several times a frame: worked out again only when the view moved or changed.
        state = (
            self._renderer,
            self._tops,
            self._row_widths,
            self.horizontalScrollBar().value(),
            self.verticalScrollBar().value(),
            size.width(),
            size.height(),
            self._zoom,
            dpr,
            self._rotation,
        )
        known = self._visible
        same = known is not None and all(
            a is b or a == b for a, b in zip(known[0], state, strict=True)
        )
        if known is not None and same:
            return list(known[1])
        keys = self._tiles_in_view(dpr)
        self._visible = (state, keys)
        return list(keys)

    def _tiles_in_view(self, dpr: float) -> list[TileKey]:
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
        excluded = self._excluded_id()
        self._unbaked = {}
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
            target = tile_target(rect, key, dpr)
            if image is None:
                missing.append(key)
                painter.fillRect(target, _DARK_PAPER if self._inverted else _PAPER)
                unbaked = self._unbaked.get(key.page, QRegion())
                self._unbaked[key.page] = unbaked.united(target.toAlignedRect())
                continue
            # The tile is drawn 1:1 in device pixels (the image carries no ratio of its own
            # because it is shared with any window), so it is crisp at any ratio.
            painter.drawImage(target, self._baked_tile(key, self._shown(image), excluded))
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
            self._read_rest_later()
            self.first_paint.emit()

    def _paint_previews(self, painter: QPainter, missing: list[TileKey]) -> None:
        """Fill tiles not drawn yet from a cached low-resolution image of their page."""
        assert self._renderer is not None
        dpr = self.viewport().devicePixelRatioF()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        for key in missing:
            preview = self._renderer.preview(key.page, key.rotation)
            if preview is None:
                continue
            preview = self._shown(preview)
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
        """Return the tiles of the next screenful in the direction of the last scroll, the
        nearest first: drawn while this one is looked at, they are there when it scrolls."""
        if not pages or self._renderer is None:
            return []
        dpr = self.viewport().devicePixelRatioF()
        device_zoom = self._zoom * dpr
        height = self.viewport().height()
        top = self.verticalScrollBar().value()
        if self._scrolling_up:
            band, nearest = (top - height, top), range(pages.start, -1, -1)
        else:
            # From the last page on screen: its part below the view is in the band too.
            band, nearest = (top + height, top + 2 * height), range(pages.stop - 1, self.page_count)
        keys: list[TileKey] = []
        for page in nearest:
            page_top = self._tops[page]
            w_dev, h_dev = self._geometries[page].display_size(device_zoom)
            page_bottom = page_top + h_dev / dpr
            if page_bottom <= band[0] or page_top >= band[1]:
                if (page_top >= band[1]) != self._scrolling_up:
                    break  # past the band
                continue
            y0 = max(0.0, band[0] - page_top) * dpr
            y1 = min(h_dev, (band[1] - page_top) * dpr)
            keys.extend(
                tiles_for(
                    page,
                    device_zoom,
                    w_dev,
                    h_dev,
                    (0, int(y0), math.ceil(w_dev), math.ceil(y1)),
                    self._rotation,
                )
            )
        return keys

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
        self._paint_records(painter, page)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        if dy:
            self._scrolling_up = dy > 0  # (content moving down: the view goes up)
        super().scrollContentsBy(dx, dy)

    def _on_tile_ready(self, key: object) -> None:
        self.viewport().update()


def _inner(rect: QRectF) -> QRect:
    """Return the whole pixels inside ``rect`` (its fractional edges are left out)."""
    left, top = math.ceil(rect.left()), math.ceil(rect.top())
    return QRect(left, top, math.floor(rect.right()) - left, math.floor(rect.bottom()) - top)
