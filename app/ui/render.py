"""Page tiles rendered off the GUI thread, kept in a cache bounded by bytes.

One worker thread owns its own :class:`~app.pdf.PdfDocument` (PyMuPDF is not thread-safe)
and renders the tiles the view asks for, newest request first. The view calls
:meth:`TileRenderer.request` with the tiles it would like to paint now; the previous wish
list is dropped, so fast scrolling never builds a backlog of pages nobody looks at any more.
The worker wraps MuPDF's 4-byte RGBA buffer as a ``QImage`` and turns it into Qt's native
``Format_RGB32`` there (QImage is safe off the GUI thread), so the GUI thread only caches the
image and blits it: no pixel conversion and no ``QPixmap`` upload per frame. Tiles live in an
LRU cache bounded by bytes.

Wish lists are per channel and channels have a fixed priority (:data:`CHANNELS`): the visible
tiles of the page view, then its prefetch, then the thumbnails.

PyMuPDF keeps the GIL while it draws, so a tile being drawn delays the GUI thread by up to the
tile's render time; small tiles keep that delay short.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from app.pdf import PdfDocument, PdfError, RenderedImage, open_pdf, render_tile

log = logging.getLogger(__name__)

TILE_SIZE = 512
"""Side of a tile in device pixels."""

DEFAULT_CACHE_BYTES = 192 * 1024 * 1024

CHANNELS = ("view", "prefetch", "thumbnails")
"""Wish-list channels, most urgent first."""


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


def native_image(image: RenderedImage) -> QImage:
    """Return a ``Format_RGB32`` copy of rendered pixels, ready to blit (any thread)."""
    return image_from_rendered(image).convertToFormat(QImage.Format.Format_RGB32)


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
        self._cache: OrderedDict[TileKey, QImage] = OrderedDict()
        self._cache_bytes = 0
        self._limit = cache_bytes
        self._wanted: dict[str, list[TileKey]] = {c: [] for c in CHANNELS}
        self._previews: dict[int, TileKey] = {}
        self._in_flight: dict[TileKey, str] = {}
        self._cond = threading.Condition()
        self._stopping = False
        self._relay = _Relay()
        self._relay.done.connect(self._on_done)
        self._thread = threading.Thread(target=self._run, name="lamina-render", daemon=True)
        self._thread.start()

    # -- GUI thread -------------------------------------------------------------------------

    def cached(self, key: TileKey) -> QImage | None:
        """Return the tile's image if it is cached (and mark it recently used)."""
        image = self._cache.get(key)
        if image is not None:
            self._cache.move_to_end(key)
        return image

    def preview(self, page: int) -> QImage | None:
        """Return a cached whole-page image of ``page`` at any zoom (a thumbnail), if any.

        The page view scales it up while the sharp tiles are being drawn.
        """
        key = self._previews.get(page)
        return self._cache.get(key) if key is not None else None

    def pending(self, channel: str = "view") -> list[TileKey]:
        """Return the tiles of ``channel`` still waiting or being drawn, most wanted first."""
        with self._cond:
            queued = list(self._wanted.get(channel, ()))
            return [k for k, c in self._in_flight.items() if c == channel] + queued

    def cached_keys(self) -> list[TileKey]:
        """Return the cached tiles, least recently used first."""
        return list(self._cache)

    def request(self, keys: list[TileKey], channel: str = "view") -> None:
        """Replace the wish list of ``channel`` with ``keys`` (first = most wanted).

        Cached tiles and tiles being drawn are skipped; the old wish list of the channel is
        dropped (tiles nobody looks at any more are never drawn). Channels are served in the
        order of :data:`CHANNELS`.
        """
        if channel not in CHANNELS:
            raise ValueError(f"unknown render channel {channel!r}; use one of {CHANNELS}")
        with self._cond:
            seen: set[TileKey] = set()
            wanted = []
            for k in keys:
                if k not in self._cache and k not in self._in_flight and k not in seen:
                    seen.add(k)
                    wanted.append(k)
            if wanted != self._wanted[channel]:
                self._wanted[channel] = wanted
                self._cond.notify()

    @property
    def cache_bytes(self) -> int:
        """Bytes of pixmaps held by the cache now."""
        return self._cache_bytes

    def clear(self) -> None:
        """Drop every cached tile (the zoom changed a lot, or memory is needed)."""
        self._cache.clear()
        self._previews.clear()
        self._cache_bytes = 0

    def stop(self) -> None:
        """Stop the worker thread and wait for it (the document is closing)."""
        with self._cond:
            self._stopping = True
            self._wanted = {c: [] for c in CHANNELS}
            self._cond.notify()
        self._thread.join(timeout=5)

    @Slot(object, object)
    def _on_done(self, key: TileKey, image: QImage | str) -> None:
        with self._cond:
            self._in_flight.pop(key, None)
        if self._stopping:
            return
        if isinstance(image, str):
            self.failed.emit(image)
            return
        old_image = self._cache.pop(key, None)
        if old_image is not None:
            self._cache_bytes -= old_image.sizeInBytes()
        self._cache[key] = image
        self._cache_bytes += image.sizeInBytes()
        if key.x == 0 and key.y == 0:
            self._note_preview(key)
        while self._cache_bytes > self._limit and len(self._cache) > 1:
            old_key, old = self._cache.popitem(last=False)
            self._cache_bytes -= old.sizeInBytes()
            if self._previews.get(old_key.page) == old_key:
                del self._previews[old_key.page]
        self.tile_ready.emit(key)

    def _note_preview(self, key: TileKey) -> None:
        # A tile at the origin that is small enough to be a whole page is a thumbnail render;
        # keep the sharpest one per page as the stand-in for tiles not drawn yet.
        if key.width >= TILE_SIZE or key.height >= TILE_SIZE:
            return
        best = self._previews.get(key.page)
        if best is None or best not in self._cache or best.width < key.width:
            self._previews[key.page] = key

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
                    channel = next(c for c in CHANNELS if self._wanted[c])
                    key = self._wanted[channel].pop(0)
                    self._in_flight[key] = channel
                try:
                    image: QImage | str = native_image(
                        render_tile(doc, key.page, key.zoom, key.clip, annots=False)
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
