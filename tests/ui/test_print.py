"""Printing (issue 14): the chosen pages go to the printer with the annotations on them; checked
by printing into a PDF file with a QPrinter and reading it back with pypdf and pdftoppm."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pymupdf
import pypdf
from lamina.ui.printing import print_pages
from PySide6.QtGui import QImage
from PySide6.QtPrintSupport import QPrinter

from tests.support.corpus import corpus_pdf
from tests.ui.conftest import open_file
from tests.ui.test_review import stroke


def _printer(out: Path) -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(out))
    printer.setResolution(100)
    return printer


def _raster(pdf: Path, page: int, tmp_path: Path) -> QImage:
    prefix = tmp_path / f"sheet{page}"
    subprocess.run(
        ["pdftoppm", "-r", "40", "-f", str(page), "-l", str(page), "-png", str(pdf), str(prefix)],
        check=True,
    )
    (png,) = tmp_path.glob(f"sheet{page}-*.png")
    image = QImage(str(png))
    png.unlink()
    return image.convertToFormat(QImage.Format.Format_RGB32)


def _red(image: QImage) -> int:
    count = 0
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            count += c.red() > 150 and c.green() < 110 and c.blue() < 110
    return count


def test_print_a_page_range_with_the_annotations(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = corpus_pdf("annot-stamps-acrobat")
    open_file(qtbot, window, source)
    # A new red ink stroke the app paints itself, next to the PDF's own (red) stamps.
    stroke(qtbot, window, [(100.0, 650.0), (300.0, 670.0), (500.0, 700.0)])
    view = window.view
    qtbot.waitUntil(lambda: len(view.painted_annotations(0)) == 1)
    out = tmp_path / "printed.pdf"
    printed = print_pages(
        _printer(out),
        source,
        None,
        [0],
        view.native_xrefs(),
        view.painted_annotations,
    )
    assert printed == 1
    assert len(pypdf.PdfReader(out).pages) == 1
    sheet = _raster(out, 1, tmp_path)
    # The stamps (red, their own appearance) and the stroke are on the sheet: red in the top
    # half (stamps) and in the bottom part (the stroke).
    top = sheet.copy(0, 0, sheet.width(), sheet.height() // 2)
    bottom = sheet.copy(0, int(sheet.height() * 0.7), sheet.width(), int(sheet.height() * 0.3))
    assert _red(top) > 50
    assert _red(bottom) > 10


def test_print_only_the_chosen_pages(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = corpus_pdf("long-429p-broken-xref")
    open_file(qtbot, window, source)
    out = tmp_path / "range.pdf"
    view = window.view
    assert (
        print_pages(_printer(out), source, None, [18, 19, 21], None, view.painted_annotations) == 3
    )
    assert len(pypdf.PdfReader(out).pages) == 3
    # Each sheet is the page it should be: its ink, over the ink of each of the three pages,
    # is the same scale factor only for its own page (the pages fit the sheet alike).
    doc = pymupdf.open(source)
    sheets = [_ink(_raster(out, n, tmp_path)) for n in (1, 2, 3)]
    pages = []
    for page in (18, 19, 21):
        pix = doc[page].get_pixmap(dpi=40)
        ref = QImage(pix.samples, pix.width, pix.height, pix.stride, QImage.Format.Format_RGB888)
        pages.append(_ink(ref))
    ratios = [s / p for s, p in zip(sheets, pages, strict=True)]
    assert max(ratios) / min(ratios) < 1.35, (sheets, pages)
    assert len(set(pages)) == 3


def _ink(image: QImage) -> int:
    return sum(
        image.pixelColor(x, y).lightness() < 128
        for x in range(0, image.width(), 2)
        for y in range(0, image.height(), 2)
    )
