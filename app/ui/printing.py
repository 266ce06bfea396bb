"""Print what the page view shows: the pages, the PDF's own annotations and the records.

Each page is rendered at the printer's resolution (capped: a poster-sized page must not need
gigabytes) from a private copy of the PDF, with the PDF's own annotations the view shows drawn
from their appearance streams, and the records the view paints itself painted over them, so
the sheet looks like the screen. :func:`print_pages` does the work (tests print into a PDF
file with a ``QPrinter``); :func:`print_with_dialog` asks first, with Qt's print dialog and
its page range.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from lamina.model.records import Annotation
from lamina.pdf import PdfError, open_pdf
from lamina.pdf.render_worker import AnnotationFilter, render_native
from lamina.ui.annotation_painter import instant_transform, paint_annotation
from lamina.ui.tiles import native_image
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QWidget

MAX_DPI = 300
"""The finest resolution a page is rendered at for printing."""

MAX_PIXELS = 40_000_000
"""A page never needs more pixels than this (a site plan prints at a lower resolution)."""


class PrintError(Exception):
    """The document could not be printed (the message says why, in one line)."""


def print_pages(
    printer: QPrinter,
    source: Path | bytes,
    password: str | None,
    pages: Sequence[int],
    native_xrefs: frozenset[int] | None,
    painted: Callable[[int], Sequence[Annotation]],
) -> int:
    """Print ``pages`` (0-based) of the PDF on ``printer``; return how many were printed.

    ``native_xrefs`` are the PDF's own annotations to draw (None: all of them, as a viewer
    would); ``painted(page)`` are the records drawn over them.

    Raises:
        PrintError: the PDF cannot be opened or a page cannot be drawn.
    """
    try:
        doc = open_pdf(source, password)
    except (PdfError, OSError) as exc:
        raise PrintError(f"cannot print: {exc}") from exc
    shown = AnnotationFilter()
    shown.show(native_xrefs)
    painter = QPainter()
    printed = 0
    try:
        if not painter.begin(printer):
            raise PrintError("cannot print: the printer could not be started")
        dpi = min(MAX_DPI, printer.resolution())
        for n, page in enumerate(pages):
            if n:
                printer.newPage()
            geometry = doc.page_geometry(page)
            w_pt, h_pt = geometry.display_size(1.0)
            zoom = dpi / 72.0
            zoom = min(zoom, math.sqrt(MAX_PIXELS / max(1.0, w_pt * h_pt)))
            w, h = geometry.display_size(zoom)
            try:
                image = native_image(
                    render_native(doc, page, zoom, (0, 0, math.ceil(w), math.ceil(h)), shown)
                )
            except (PdfError, ValueError) as exc:
                raise PrintError(f"cannot print page {page + 1}: {exc}") from exc
            # Fit the page into the printable area, keeping its proportions.
            area = printer.pageRect(QPrinter.Unit.DevicePixel)
            scale = min(area.width() / w_pt, area.height() / h_pt)
            target = QRectF(0, 0, w_pt * scale, h_pt * scale)
            painter.drawImage(target, image)
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setTransform(instant_transform(geometry, scale, 0, 0))
            for annotation in painted(page):
                paint_annotation(painter, annotation)
            painter.restore()
            printed += 1
    finally:
        if painter.isActive():
            painter.end()
        doc.close()
    return printed


def chosen_pages(printer: QPrinter, page_count: int, current: int) -> list[int]:
    """Return the 0-based pages a print dialog's choice names (all, a range, the current)."""
    mode = printer.printRange()
    if mode == QPrinter.PrintRange.CurrentPage:
        return [current]
    if mode == QPrinter.PrintRange.PageRange and printer.fromPage() > 0:
        first = max(1, printer.fromPage())
        last = min(page_count, printer.toPage() or page_count)
        return list(range(first - 1, last))
    return list(range(page_count))


def print_with_dialog(
    parent: QWidget,
    source: Path | bytes,
    password: str | None,
    page_count: int,
    current: int,
    native_xrefs: frozenset[int] | None,
    painted: Callable[[int], Sequence[Annotation]],
) -> int:
    """Ask with Qt's print dialog, then print; return the pages printed (0: cancelled).

    Raises:
        PrintError: as :func:`print_pages`.
    """
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setFromTo(1, page_count)
    dialog = QPrintDialog(printer, parent)
    dialog.setMinMax(1, page_count)
    dialog.setOption(QPrintDialog.PrintDialogOption.PrintCurrentPage, True)
    dialog.setOption(QPrintDialog.PrintDialogOption.PrintPageRange, True)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return 0
    pages = chosen_pages(printer, page_count, current)
    return print_pages(printer, source, password, pages, native_xrefs, painted)
