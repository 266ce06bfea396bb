"""Page tiles: their keys, the tiles of a page a view shows, and Qt images of their pixels.

A tile is a square of :data:`TILE_SIZE` device pixels of a page at one zoom (and turn of the
view); :class:`TileKey` names it in caches and wish lists. :func:`tiles_for` lists the tiles
that cover a visible part of a page; :func:`qimage_of` makes a ``Format_RGB32`` image of
rendered pixels, ready to blit; :func:`tile_target` says where a tile goes on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lamina.pdf import RenderedImage
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage

TILE_SIZE = 512
"""Side of a tile in device pixels."""

_QT_FORMATS = {
    "RGBA8888": QImage.Format.Format_RGBA8888,
    # B, G, R, A in memory with alpha 255: Qt's native 0xffRRGGBB on little-endian machines.
    "BGRA8888": QImage.Format.Format_RGB32,
}


@dataclass(frozen=True, order=True)
class TileKey:
    """One tile: page, zoom in device pixels per point (rounded), its pixel origin and size,
    and how far the view turns the page (degrees clockwise)."""

    page: int
    zoom_milli: int
    x: int
    y: int
    width: int
    height: int
    rotation: int = 0

    @property
    def zoom(self) -> float:
        return self.zoom_milli / 1000.0

    @property
    def clip(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.x + self.width, self.y + self.height)


def zoom_key(zoom: float) -> int:
    """Round a zoom to the thousandths that name a tile set."""
    return max(1, round(zoom * 1000))


def native_image(image: RenderedImage) -> QImage:
    """Return a ``Format_RGB32`` copy of rendered pixels, ready to blit (any thread)."""
    return qimage_of(image.data, image.width, image.height, image.stride, image.format)


def qimage_of(data: Any, width: int, height: int, stride: int, pixel_format: str) -> QImage:
    """Return a ``Format_RGB32`` copy of pixels in an :mod:`lamina.pdf` format (any thread).

    Pixels already in Qt's native order are copied as they are; others are converted in the
    same pass. The result does not refer to ``data``.
    """
    wrapped = QImage(data, width, height, stride, _QT_FORMATS[pixel_format])
    if wrapped.format() == QImage.Format.Format_RGB32:
        image = wrapped.copy()
    else:
        image = wrapped.convertToFormat(QImage.Format.Format_RGB32)
    del wrapped  # let go of ``data`` (it may be a view into shared memory)
    return image


def tile_target(page_rect: QRectF, key: TileKey, dpr: float) -> QRectF:
    """Return where a tile of a page shown at ``page_rect`` goes, in viewport pixels."""
    return QRectF(
        page_rect.left() + key.x / dpr,
        page_rect.top() + key.y / dpr,
        key.width / dpr,
        key.height / dpr,
    )


def tiles_for(
    page: int,
    zoom: float,
    page_width_px: float,
    page_height_px: float,
    visible: tuple[int, int, int, int],
    rotation: int = 0,
) -> list[TileKey]:
    """Return the tiles of a page (shown ``page_width_px`` wide) that meet ``visible``.

    ``visible`` is ``(x0, y0, x1, y1)`` in device pixels of the displayed page (turned by
    ``rotation`` degrees when the view rotates pages).
    """
    zk = zoom_key(zoom)
    width, height = int(page_width_px + 0.999), int(page_height_px + 0.999)
    vx0, vy0, vx1, vy1 = visible
    keys = []
    for ty in range(max(0, vy0 // TILE_SIZE) * TILE_SIZE, min(height, vy1), TILE_SIZE):
        for tx in range(max(0, vx0 // TILE_SIZE) * TILE_SIZE, min(width, vx1), TILE_SIZE):
            keys.append(
                TileKey(
                    page,
                    zk,
                    tx,
                    ty,
                    min(TILE_SIZE, width - tx),
                    min(TILE_SIZE, height - ty),
                    rotation,
                )
            )
    return keys
