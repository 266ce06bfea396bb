"""Page tiles rendered off the GUI thread, kept in a cache bounded by bytes.

One worker thread owns its own :class:`~app.pdf.PdfDocument` (PyMuPDF is not thread-safe)
and renders the tiles the view asks for, newest request first. The view calls
:meth:`TileRenderer.request` with the tiles it would like to paint now; the previous wish
list is dropped, so fast scrolling never builds a backlog of pages nobody looks at any more.
Finished tiles become ``QPixmap`` on the GUI thread (from a 4-byte RGBA buffer, wrapped
without conversion) and go into an LRU cache bounded by bytes.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage, QPixmap

from app.pdf import PdfDocument, PdfError, RenderedImage, open_pdf, render_tile

log = logging.getLogger(__name__)

TILE_SIZE = 512
"""Side of a tile in device pixels."""

DEFAULT_CACHE_BYTES = 192 * 1024 * 1024


@dataclass(frozen=True, order=True)
class TileKey:
    """One tile: page, zoom in device pixels per point (rounded), and its pixel origin."""

    page: int
    zoom_milli: int
    x: int
    y: int
    width: int
    height: int

    @property
    def zoom(self) -> float:
        return self.zoom_milli / 1000.0

    @property
    def clip(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.x + self.width, self.y + self.height)


def zoom_key(zoom: float) -> int:
    """Round a zoom to the thousandths that name a tile set."""
    return max(1, round(zoom * 1000))


def image_from_rendered(image: RenderedImage) -> QImage:
    """Wrap rendered pixels as a ``QImage`` without converting them.

    The ``QImage`` points into ``image.data``; keep ``image`` alive as long as it is used.
    """
    return QImage(
        image.data,
        image.width,
        image.height,
        image.stride,
        QImage.Format.Format_RGBA8888,
    )


class _Relay(QObject):
    """Carries finished tiles from the worker thread to the GUI thread (a queued signal)."""

    done = Signal(object, object)


class TileRenderer(QObject):
    """Render tiles of one PDF on a worker thread and cache them as pixmaps.

    Signals:
        tile_ready(TileKey): a tile is in the cache; repaint where it shows.
        failed(str): a tile could not be rendered (the message says why).
    """

    tile_ready = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        source: Path | bytes,
        password: str | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._source = source
        self._password = password
        self._cache: OrderedDict[TileKey, QPixmap] = OrderedDict()
        self._cache_bytes = 0
        self._limit = cache_bytes
        self._wanted: dict[str, list[TileKey]] = {}
        self._in_flight: set[TileKey] = set()
        self._cond = threading.Condition()
        self._stopping = False
        self._relay = _Relay()
        self._relay.done.connect(self._on_done)
        self._thread = threading.Thread(target=self._run, name="lamina-render", daemon=True)
        self._thread.start()

    # -- GUI thread -------------------------------------------------------------------------

    def cached(self, key: TileKey) -> QPixmap | None:
        """Return the tile's pixmap if it is cached (and mark it recently used)."""
        pixmap = self._cache.get(key)
        if pixmap is not None:
            self._cache.move_to_end(key)
        return pixmap

    def request(self, keys: list[TileKey], channel: str = "view") -> None:
        """Replace the wish list of ``channel`` with ``keys`` (first = most wanted).

        Cached tiles are skipped. Channels are served in the order they were first used, so
        the page view (the first) always goes before thumbnails.
        """
        with self._cond:
            wanted = [k for k in keys if k not in self._cache and k not in self._in_flight]
            self._wanted[channel] = wanted
            self._cond.notify()

    @property
    def cache_bytes(self) -> int:
        """Bytes of pixmaps held by the cache now."""
        return self._cache_bytes

    def clear(self) -> None:
        """Drop every cached tile (the zoom changed a lot, or memory is needed)."""
        self._cache.clear()
        self._cache_bytes = 0

    def stop(self) -> None:
        """Stop the worker thread and wait for it (the document is closing)."""
        with self._cond:
            self._stopping = True
            self._wanted = {}
            self._cond.notify()
        self._thread.join(timeout=5)

    @Slot(object, object)
    def _on_done(self, key: TileKey, image: RenderedImage | str) -> None:
        with self._cond:
            self._in_flight.discard(key)
        if self._stopping:
            return
        if isinstance(image, str):
            self.failed.emit(image)
            return
        pixmap = QPixmap.fromImage(image_from_rendered(image))
        self._cache[key] = pixmap
        self._cache_bytes += image.stride * image.height
        while self._cache_bytes > self._limit and len(self._cache) > 1:
            _old_key, old = self._cache.popitem(last=False)
            self._cache_bytes -= old.width() * old.height() * 4
        self.tile_ready.emit(key)

    # -- worker thread ----------------------------------------------------------------------

    def _run(self) -> None:
        doc: PdfDocument | None = None
        try:
            doc = open_pdf(self._source, self._password)
        except (PdfError, OSError) as exc:
            self._relay.done.emit(None, f"cannot render pages: {exc}")
            return
        try:
            while True:
                with self._cond:
                    while not self._stopping and not any(self._wanted.values()):
                        self._cond.wait()
                    if self._stopping:
                        return
                    queue = next(q for q in self._wanted.values() if q)
                    key = queue.pop(0)
                    self._in_flight.add(key)
                try:
                    image: RenderedImage | str = render_tile(
                        doc, key.page, key.zoom, key.clip, annots=False
                    )
                except (PdfError, ValueError) as exc:
                    image = f"page {key.page + 1} could not be drawn: {exc}"
                self._relay.done.emit(key, image)
        finally:
            doc.close()


def tiles_for(
    page: int,
    zoom: float,
    page_width_px: float,
    page_height_px: float,
    visible: tuple[int, int, int, int],
) -> list[TileKey]:
    """Return the tiles of a page (shown ``page_width_px`` wide) that meet ``visible``.

    ``visible`` is ``(x0, y0, x1, y1)`` in device pixels of the displayed page.
    """
    zk = zoom_key(zoom)
    width, height = int(page_width_px + 0.999), int(page_height_px + 0.999)
    vx0, vy0, vx1, vy1 = visible
    keys = []
    for ty in range(max(0, vy0 // TILE_SIZE) * TILE_SIZE, min(height, vy1), TILE_SIZE):
        for tx in range(max(0, vx0 // TILE_SIZE) * TILE_SIZE, min(width, vx1), TILE_SIZE):
            keys.append(
                TileKey(page, zk, tx, ty, min(TILE_SIZE, width - tx), min(TILE_SIZE, height - ty))
            )
    return keys
