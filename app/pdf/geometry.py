"""Coordinate conversions of one page: Instant JSON, PyMuPDF, PDF user space, the screen.

The four spaces, all in points except the display:

- **Instant**: the unrotated page, origin at the top-left corner of the visible area (the
  CropBox), y down. Instant JSON ``bbox``, ``rects``, ``points`` use it.
- **PyMuPDF**: PyMuPDF's "unrotated page" space (annotation rects, text positions). MuPDF
  already puts its origin at the top-left corner of the CropBox, whatever the MediaBox origin,
  so it equals Instant space; the conversions are kept explicit so that this assumption lives
  in one place and is tested on the ``geometry-*`` corpus files.
- **PDF**: PDF user space as written in the file (``/Rect``, ``/QuadPoints``): origin
  bottom-left of the MediaBox coordinate system, y up.
- **Display**: pixels of the page as shown at ``zoom`` (pixels per point), rotation applied,
  origin top-left. Rotation is clockwise, as ``/Rotate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pymupdf
from lamina.model.geometry import Point, Rect


@dataclass(frozen=True)
class PageGeometry:
    """The coordinate conversions of one page.

    Attributes:
        width: the unrotated visible page width in points (Instant space).
        height: the unrotated visible page height in points.
        rotation: 0, 90, 180 or 270 (clockwise, as shown).
        crop_left: the CropBox's left edge in PDF user space.
        crop_top: the CropBox's top edge (its larger y) in PDF user space.
    """

    width: float
    height: float
    rotation: int
    crop_left: float
    crop_top: float

    @classmethod
    def from_fitz_page(cls, page: Any) -> PageGeometry:
        """Read the geometry of a PyMuPDF page."""
        rotation = int(page.rotation) % 360
        displayed = page.rect
        if rotation in (90, 270):
            width, height = displayed.height, displayed.width
        else:
            width, height = displayed.width, displayed.height
        # PyMuPDF's cropbox has the PDF x but a y measured down from the MediaBox top.
        crop_left = float(page.cropbox.x0)
        crop_top = float(page.mediabox.y1) - float(page.cropbox.y0)
        return cls(float(width), float(height), rotation, crop_left, crop_top)

    # -- Instant <-> PyMuPDF ------------------------------------------------------------

    def instant_to_pymupdf_rect(self, rect: Rect) -> Any:
        """Return a ``pymupdf.Rect`` for an Instant ``[left, top, width, height]``."""
        return pymupdf.Rect(rect.left, rect.top, rect.left + rect.width, rect.top + rect.height)

    def pymupdf_to_instant_point(self, point: Any) -> Point:
        """Return the Instant point of a PyMuPDF point (or any ``(x, y)``)."""
        return Point(float(point[0]), float(point[1]))

    def pymupdf_to_instant_rect(self, rect: Any) -> Rect:
        """Return the Instant rect of a PyMuPDF rect (or any ``(x0, y0, x1, y1)``)."""
        return Rect.from_edges(float(rect[0]), float(rect[1]), float(rect[2]), float(rect[3]))

    # -- Instant <-> PDF user space -----------------------------------------------------

    def pdf_to_instant_point(self, x: float, y: float) -> Point:
        """Return the Instant point of a PDF user-space point (as written in the file)."""
        return Point(x - self.crop_left, self.crop_top - y)

    def instant_to_pdf_point(self, point: tuple[float, float]) -> tuple[float, float]:
        """Return the PDF user-space point of an Instant point."""
        return (point[0] + self.crop_left, self.crop_top - point[1])

    def pdf_to_instant_rect(self, x0: float, y0: float, x1: float, y1: float) -> Rect:
        """Return the Instant rect of a PDF rectangle (corners in any order)."""
        a = self.pdf_to_instant_point(x0, y0)
        b = self.pdf_to_instant_point(x1, y1)
        return Rect.from_edges(a.x, a.y, b.x, b.y)

    # -- Instant <-> display ------------------------------------------------------------

    def display_size(self, zoom: float) -> tuple[float, float]:
        """Return the size in pixels of the page shown at ``zoom`` (rotation applied)."""
        if self.rotation in (90, 270):
            return (self.height * zoom, self.width * zoom)
        return (self.width * zoom, self.height * zoom)

    def instant_to_display(self, point: tuple[float, float], zoom: float) -> tuple[float, float]:
        """Return where an Instant point appears on the page shown at ``zoom``."""
        x, y = point
        w, h = self.width, self.height
        if self.rotation == 90:
            x, y = h - y, x
        elif self.rotation == 180:
            x, y = w - x, h - y
        elif self.rotation == 270:
            x, y = y, w - x
        return (x * zoom, y * zoom)

    def display_to_instant(self, x: float, y: float, zoom: float) -> Point:
        """Return the Instant point under pixel ``(x, y)`` of the page shown at ``zoom``."""
        u, v = x / zoom, y / zoom
        w, h = self.width, self.height
        if self.rotation == 90:
            return Point(v, h - u)
        if self.rotation == 180:
            return Point(w - u, h - v)
        if self.rotation == 270:
            return Point(w - v, u)
        return Point(u, v)

    def instant_to_display_rect(self, rect: Rect, zoom: float) -> tuple[float, float, float, float]:
        """Return the pixel rectangle ``(x0, y0, x1, y1)`` an Instant rect covers on screen."""
        a = self.instant_to_display((rect.left, rect.top), zoom)
        b = self.instant_to_display((rect.right, rect.bottom), zoom)
        return (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
