"""The page thumbnails sidebar: small renders of every page, drawn as they scroll into view.

A page's size is read only when its thumbnail is first wanted: reading all 429 page sizes of
a long PDF up front would delay the first page on screen. Thumbnails show the annotations as
the page does: the PDF's own in the rendered pixels, the records the page view paints (new and
edited ones) painted over them (:meth:`ThumbnailPanel.follow_annotations`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

from lamina.model.records import Annotation
from lamina.pdf import PageGeometry, PdfDocument, PdfError
from lamina.ui.annotation_painter import instant_transform, paint_annotation
from lamina.ui.render import TileRenderer
from lamina.ui.tiles import TileKey, zoom_key
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QListView,
    QListWidget,
    QListWidgetItem,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

THUMB_WIDTH = 110

FOLLOW_DELAY_MS = 120
"""How long the page view's current page must stay put before the thumbnails follow it.

Scrolling the list along with every page of a fast scroll repainted it on every frame (about
1.5 ms a frame, as much as the page view itself)."""


# Read once: the list asks the delegate for every row's size when it lays out (429 rows of a
# long PDF), and each look-up of a Qt enum member from Python costs microseconds.
_TOP = QStyleOptionViewItem.Position.Top
_CENTRE = Qt.AlignmentFlag.AlignHCenter


class _ThumbnailDelegate(QStyledItemDelegate):
    """Draw a thumbnail with its page number centred under it."""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        option.decorationPosition = _TOP
        option.decorationAlignment = _CENTRE
        option.displayAlignment = _CENTRE


class ThumbnailPanel(QListWidget):
    """One thumbnail per page; a click goes to the page.

    Signals:
        page_chosen(int): the user picked a page (0-based).
    """

    page_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thumbnails")
        # List mode lays each item out at its own height (icon mode steps by the tallest);
        # the delegate puts the page number under the thumbnail as icon mode would.
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setItemDelegate(_ThumbnailDelegate(self))
        self.setFlow(QListView.Flow.TopToBottom)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        # Items are as big as their own thumbnail (a landscape page's is short), so the
        # selection highlight fits the thumbnail instead of a portrait-sized box; while every
        # page read so far has one size, the rows are laid out as one size (set_document).
        self.setUniformItemSizes(False)
        self.setIconSize(QSize(THUMB_WIDTH, int(THUMB_WIDTH * 1.4)))
        self.setSpacing(4)
        self.setMinimumWidth(THUMB_WIDTH + 40)
        self._renderer: TileRenderer | None = None
        self._keys: dict[TileKey, int] = {}
        self._shown: set[int] = set()  # pages whose rendered thumbnail is their icon
        self._doc: PdfDocument | None = None
        self._zooms: list[float | None] = []
        self._sizes: list[tuple[int, int]] = []
        self._following: int | None = None
        self._rotation = 0  # as the page view turns its pages, degrees clockwise
        self._painted: Callable[[int], Sequence[Annotation]] = lambda _page: ()
        self._follow_timer = QTimer(self)
        self._follow_timer.setSingleShot(True)
        self._follow_timer.setInterval(FOLLOW_DELAY_MS)
        self._follow_timer.timeout.connect(self._follow)
        self.currentRowChanged.connect(self._on_row)
        self.verticalScrollBar().valueChanged.connect(lambda _v: self._request())

    def set_document(self, doc: PdfDocument, renderer: TileRenderer) -> None:
        self.clear()
        self._follow_timer.stop()
        self._following = None
        self._doc = doc
        self._renderer = renderer
        renderer.tile_ready.connect(self._on_tile)
        self._keys = {}
        self._shown = set()
        self._zooms = [None] * doc.page_count
        self._sizes = [(0, 0)] * doc.page_count
        # Until a page's own size is read, its placeholder has the first page's size.
        icon = QIcon()
        if doc.page_count:
            try:
                self._key(0)
                icon = self._blank_icon(self._sizes[0])
            except (PdfError, ValueError):
                pass  # the document was closed; nothing left to draw
        # One size for every row until a page of another size shows up (see _key): laying
        # out 429 rows of their own sizes asked the delegate about each (40 ms and more
        # before the first page was on screen).
        self.setUniformItemSizes(True)
        self.setUpdatesEnabled(False)
        for i in range(doc.page_count):
            # (The delegate centres the page number: no alignment per item, 429 calls.)
            self.addItem(QListWidgetItem(icon, str(i + 1)))
        self.setUpdatesEnabled(True)
        self._request()

    def set_rotation(self, rotation: int) -> None:
        """Turn every thumbnail as the page view turns its pages (degrees clockwise)."""
        if rotation == self._rotation:
            return
        self._rotation = rotation
        if self._doc is None:
            return
        self._keys = {}
        self._shown = set()
        self._zooms = [None] * len(self._zooms)
        self._sizes = [(0, 0)] * len(self._sizes)
        if self._zooms:
            try:
                self._key(0)
            except (PdfError, ValueError):
                return  # the document was closed; nothing left to draw
            icon = self._blank_icon(self._sizes[0])
            self.setUniformItemSizes(True)  # (until a page of another size shows up again)
            self.setUpdatesEnabled(False)
            for row in range(self.count()):
                item = self.item(row)
                if item is not None:
                    item.setIcon(icon)
            self.setUpdatesEnabled(True)
        self._request()

    def _geometry(self, page: int) -> PageGeometry:
        """Return the page's geometry as the view shows it (turned by its rotation)."""
        assert self._doc is not None
        geometry = self._doc.page_geometry(page)  # the caller handles a closed document
        if not self._rotation:
            return geometry
        return dataclasses.replace(geometry, rotation=(geometry.rotation + self._rotation) % 360)

    def follow_annotations(self, painted: Callable[[int], Sequence[Annotation]]) -> None:
        """Paint ``painted(page)`` (what the page view paints itself) over each thumbnail."""
        self._painted = painted
        self.redraw_pages(range(self.count()))

    def redraw_pages(self, pages: Iterable[int]) -> None:
        """Draw the thumbnails of ``pages`` again (their annotations changed)."""
        self._shown.difference_update(pages)
        self._request()

    def _visible_rows(self) -> range:
        """Return the rows the list shows now (at least one), plus a couple below."""
        vp = self.viewport().rect()
        middle = vp.width() // 2

        def row_at(y: int, step: int) -> int:
            # The spacing between items is no item: step past it.
            for _ in range(12):
                row = self.indexAt(QPoint(middle, y)).row()
                if row >= 0:
                    return row
                y += step
            return -1

        first = max(0, row_at(vp.top(), 3))
        last = row_at(vp.bottom(), -3)
        if last < first:
            last = first + 12
        return range(first, min(last + 3, len(self._zooms)))

    def _key(self, page: int) -> TileKey:
        zoom = self._zooms[page]
        if zoom is None:
            geometry = self._geometry(page)
            w, h = geometry.display_size(1.0)
            zoom = min(THUMB_WIDTH / w, THUMB_WIDTH * 1.4 / h) * self.devicePixelRatioF()
            dw, dh = geometry.display_size(zoom)
            self._zooms[page] = zoom
            self._sizes[page] = (max(1, int(dw)), max(1, int(dh)))
            item = self.item(page)
            if item is not None and page and self._sizes[page] != self._sizes[0]:
                if self.uniformItemSizes():
                    self.setUniformItemSizes(False)  # rows of their own sizes from now on
                item.setIcon(self._blank_icon(self._sizes[page]))
        w, h = self._sizes[page]
        return TileKey(page, zoom_key(zoom), 0, 0, w, h, self._rotation)

    def _blank_icon(self, size: tuple[int, int]) -> QIcon:
        """Return a white placeholder of a thumbnail ``size`` device pixels big."""
        blank = QPixmap(*size)
        blank.setDevicePixelRatio(self.devicePixelRatioF())
        blank.fill(QColor("#ffffff"))
        return QIcon(blank)

    def _request(self) -> None:
        if self._renderer is None or not self._zooms:
            return
        wanted = []
        for page in self._visible_rows():
            try:
                key = self._key(page)
            except (PdfError, ValueError):
                return  # the document was closed; nothing left to draw
            self._keys[key] = page
            if page in self._shown and not self._renderer.stale(key):
                continue  # its icon is drawn already: setting it again on every scroll is waste
            if self._renderer.cached(key) is None or self._renderer.stale(key):
                wanted.append(key)
            else:
                self._set_icon(page, key)
        self._renderer.request(wanted, channel="thumbnails")

    def _set_icon(self, page: int, key: TileKey) -> None:
        assert self._renderer is not None
        image: QImage | None = self._renderer.cached(key)
        item = self.item(page)
        if image is not None and item is not None:
            painted = self._painted(page)
            if painted and self._doc is not None:
                image = self._with_annotations(image, page, painted)
            shown = QPixmap.fromImage(image)
            shown.setDevicePixelRatio(self.devicePixelRatioF())
            item.setIcon(QIcon(shown))
            self._shown.add(page)

    def _with_annotations(self, image: QImage, page: int, painted: Sequence[Annotation]) -> QImage:
        assert self._doc is not None
        out = image.copy()
        painter = QPainter(out)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        zoom = self._zooms[page] or 1.0
        try:
            painter.setTransform(instant_transform(self._geometry(page), zoom, 0, 0))
            for annotation in painted:
                paint_annotation(painter, annotation)
        except (PdfError, ValueError):
            pass  # the document was closed under us: the bare thumbnail will do
        finally:
            painter.end()
        return out

    def _on_tile(self, key: object) -> None:
        if isinstance(key, TileKey) and key in self._keys:
            assert self._renderer is not None
            if self._renderer.stale(key) or self._renderer.cached(key) is None:
                self._shown.discard(key.page)
                self._request()  # its annotations changed: ask for it again
            else:
                self._set_icon(self._keys[key], key)

    def set_current(self, page: int) -> None:
        """Highlight ``page`` (and scroll to it) once the page view stops changing page."""
        self._following = page
        self._follow_timer.start()

    def _follow(self) -> None:
        if self._following is None or self._following >= self.count():
            return
        self.blockSignals(True)
        self.setCurrentRow(self._following)
        self.blockSignals(False)

    def _on_row(self, row: int) -> None:
        if row >= 0:
            self.page_chosen.emit(row)
