"""Render pages and tiles to Qt-free images.

The pixels are 4 bytes each, R, G, B, A in memory order, on an opaque white background
(alpha is always 255, so premultiplied and straight alpha are the same). That is
``QImage.Format_RGBA8888`` (or ``Format_RGBX8888``) with no conversion: the UI wraps the
buffer as it is, while a 3-byte RGB pixmap costs a conversion of several milliseconds per
full page when it becomes a ``QPixmap``.

MuPDF draws straight into a pixmap we allocate with the tile's pixel rectangle, so a tile of
the 8400 pt page costs the tile's memory, never the page's. Tiles replay a display list that
:class:`~lamina.pdf.document.PdfDocument` keeps for the last few pages, so a page's content
stream is interpreted once however many tiles are drawn. Whole pages are drawn straight from
the content stream, which is what a first look at a page needs.

What is fastest (measured by ``bench/render.py`` on the 352-page corpus book, pages and
512 px tiles at zoom 1 and 2): PyMuPDF's ``Page.get_pixmap`` records a display list and then
replays it on every call, and gives 3-byte RGB. Drawing the page straight into a 4-byte
pixmap cleared to opaque white (``fz_new_draw_device`` + ``fz_run_page``) skips the list and
the later RGB -> 4-byte conversion, and is 0.8x the time of ``get_pixmap`` for whole pages;
tiles replaying a cached list are 0.8-0.9x. Reusing one pixmap for every page would save
about 7% more (best of 6 rounds, 26 pages at zoom 2: 84 ms against 91 ms), but the caller
keeps the returned buffer (the UI caches tiles), so each call allocates its own.

Thread safety: see :mod:`lamina.pdf.document` (a render thread opens its own document; calls
are serialised by ``MUPDF_LOCK``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pymupdf
from lamina.pdf.document import PdfDocument, serialized
from lamina.pdf.errors import PdfError
from pymupdf import mupdf

PIXEL_FORMAT = "RGBA8888"
"""R, G, B, A bytes in memory order, alpha 255 (``QImage.Format_RGBA8888``); the default."""

BGRA_FORMAT = "BGRA8888"
"""B, G, R, A bytes in memory order, alpha 255: on little-endian machines this is exactly
``QImage.Format_RGB32`` / ``Format_ARGB32`` (Qt's native raster format), so a UI that asks for
``byte_order="BGRA"`` blits the buffer with no conversion at all."""

MAX_RENDER_PIXELS = 50_000_000
"""Largest pixmap one call renders (200 MB); larger areas must be rendered as tiles."""


class RenderTooLargeError(PdfError, ValueError):
    """The requested area needs more pixels than :data:`MAX_RENDER_PIXELS`."""


@dataclass(frozen=True)
class RenderedImage:
    """Pixels of a rendered page or tile.

    Attributes:
        width: pixels per row.
        height: rows.
        stride: bytes per row (``width * 4``).
        format: :data:`PIXEL_FORMAT` (``"RGBA8888"``) or :data:`BGRA_FORMAT`.
        data: the pixels, a read-only buffer of ``stride * height`` bytes (``bytes(data)``
            copies it). It stays valid as long as this object lives.
        x: the left pixel of the image within the displayed page (0 for a whole page).
        y: the top pixel of the image within the displayed page.
    """

    width: int
    height: int
    stride: int
    format: str
    data: memoryview
    x: int = 0
    y: int = 0
    _owner: Any = field(default=None, repr=False, compare=False)

    def pixel(self, x: int, y: int) -> tuple[int, int, int, int]:
        """Return ``(r, g, b, a)`` at column ``x``, row ``y`` of this image."""
        offset = y * self.stride + x * 4
        r, g, b, a = self.data[offset : offset + 4]
        return (r, g, b, a)


_COLORSPACES = {
    "RGBA": (mupdf.FzColorspace(mupdf.FzColorspace.Fixed_RGB), PIXEL_FORMAT),
    "BGRA": (mupdf.FzColorspace(mupdf.FzColorspace.Fixed_BGR), BGRA_FORMAT),
}


@serialized
def render_page(
    doc: PdfDocument,
    page_index: int,
    zoom: float,
    *,
    annots: bool = True,
    byte_order: str = "RGBA",
) -> RenderedImage:
    """Render a whole page, rotation applied, at ``zoom`` pixels per point.

    Args:
        doc: the document.
        page_index: 0-based page.
        zoom: pixels per point (1.0 = 72 dpi; multiply by the screen's device pixel ratio).
        annots: also draw the annotations stored in the PDF (the app draws its records itself
            and passes False).
        byte_order: ``"RGBA"`` (:data:`PIXEL_FORMAT`) or ``"BGRA"`` (:data:`BGRA_FORMAT`,
            Qt's native ``Format_RGB32`` on little-endian machines).

    Raises:
        PageOutOfRangeError: no such page.
        RenderTooLargeError: the page needs more than :data:`MAX_RENDER_PIXELS` pixels at
            this zoom; render tiles instead.
    """
    page = doc.fitz_page(page_index)
    fz_page = page.this
    ctm = mupdf.FzMatrix(zoom, 0, 0, zoom, 0, 0)
    irect = mupdf.fz_round_rect(mupdf.fz_transform_rect(mupdf.fz_bound_page(fz_page), ctm))
    colorspace, pixel_format = _colorspace(byte_order)
    pixmap = _new_white_pixmap(irect, colorspace)
    device = mupdf.fz_new_draw_device(ctm, pixmap)
    try:
        if annots:
            mupdf.fz_run_page(fz_page, device, mupdf.FzMatrix(), mupdf.FzCookie())
        else:
            mupdf.fz_run_page_contents(fz_page, device, mupdf.FzMatrix(), mupdf.FzCookie())
    finally:
        mupdf.fz_close_device(device)
    return _image(pixmap, pixel_format)


@serialized
def render_tile(
    doc: PdfDocument,
    page_index: int,
    zoom: float,
    clip: tuple[int, int, int, int],
    *,
    annots: bool = True,
    byte_order: str = "RGBA",
) -> RenderedImage:
    """Render the pixel rectangle ``clip = (x0, y0, x1, y1)`` of the page shown at ``zoom``.

    ``clip`` is in pixels of the displayed page (rotation applied, origin top-left), the same
    space as :meth:`~lamina.pdf.geometry.PageGeometry.instant_to_display`; the part outside the
    page is white. Only the tile is allocated. ``annots`` and ``byte_order`` are as for
    :func:`render_page`.

    Raises:
        PageOutOfRangeError: no such page.
        RenderTooLargeError: the tile is larger than :data:`MAX_RENDER_PIXELS`.
        ValueError: ``clip`` is empty.
    """
    pixels = _tile_pixels(clip)
    display_list = doc.display_list(page_index, annots).this
    return _draw_tile(display_list, mupdf.FzMatrix(zoom, 0, 0, zoom, 0, 0), pixels, byte_order)


def _tile_pixels(clip: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Return ``clip`` as whole pixels (ValueError when it is empty)."""
    x0, y0, x1, y1 = (int(v) for v in clip)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"tile {clip} is empty: x1 must exceed x0 and y1 must exceed y0")
    return x0, y0, x1, y1


def _draw_tile(
    display_list: Any, ctm: Any, pixels: tuple[int, int, int, int], byte_order: str
) -> RenderedImage:
    """Draw the ``pixels`` rectangle of ``display_list`` placed by ``ctm`` on white.

    The caller holds :data:`~lamina.pdf.document.MUPDF_LOCK`.
    """
    x0, y0, x1, y1 = pixels
    colorspace, pixel_format = _colorspace(byte_order)
    pixmap = _new_white_pixmap(mupdf.FzIrect(x0, y0, x1, y1), colorspace)
    device = mupdf.fz_new_draw_device(mupdf.FzMatrix(), pixmap)
    try:
        mupdf.fz_run_display_list(
            display_list, device, ctm, mupdf.FzRect(x0, y0, x1, y1), mupdf.FzCookie()
        )
    finally:
        mupdf.fz_close_device(device)
    return _image(pixmap, pixel_format)


def tile_grid(
    display_width: float, display_height: float, tile_size: int = 512
) -> list[tuple[int, int, int, int]]:
    """Return the tiles that cover a displayed page of the given pixel size, row by row."""
    columns = math.ceil(display_width / tile_size)
    rows = math.ceil(display_height / tile_size)
    width, height = math.ceil(display_width), math.ceil(display_height)
    return [
        (
            c * tile_size,
            r * tile_size,
            min(width, (c + 1) * tile_size),
            min(height, (r + 1) * tile_size),
        )
        for r in range(rows)
        for c in range(columns)
    ]


def _colorspace(byte_order: str) -> tuple[Any, str]:
    try:
        return _COLORSPACES[byte_order]
    except KeyError:
        raise ValueError(f"byte_order must be RGBA or BGRA, got {byte_order!r}") from None


def _new_white_pixmap(irect: Any, colorspace: Any) -> Any:
    width = irect.x1 - irect.x0
    height = irect.y1 - irect.y0
    if width * height > MAX_RENDER_PIXELS:
        raise RenderTooLargeError(
            f"rendering {width}x{height} pixels at once is too large "
            f"(limit {MAX_RENDER_PIXELS} pixels); render the page as tiles"
        )
    pixmap = mupdf.fz_new_pixmap_with_bbox(colorspace, irect, mupdf.FzSeparations(), 1)
    # Opaque white: every byte 0xFF, alpha included.
    mupdf.fz_clear_pixmap_with_value(pixmap, 0xFF)
    return pixmap


def _image(fz_pixmap: Any, pixel_format: str) -> RenderedImage:
    pixmap = pymupdf.Pixmap("raw", fz_pixmap)
    return RenderedImage(
        width=int(pixmap.width),
        height=int(pixmap.height),
        stride=int(pixmap.stride),
        format=pixel_format,
        data=pixmap.samples_mv,
        x=int(pixmap.x),
        y=int(pixmap.y),
        _owner=pixmap,
    )
