"""The yellow sticky note next to "Introduction" in ``annot-all-markup-types`` shows in the
app, as poppler, PDFium and pdf.js show it (issue 10).

Its appearance begins with a clip that has no path (``q W n``): MuPDF alone clipped the
whole icon away, so the page view showed nothing there. The render worker's copy of the
PDF is mended for drawing (:mod:`lamina.pdf.appearance_repair`); the file is not.
"""

from __future__ import annotations

import pymupdf
from lamina.ui.main_window import MainWindow
from PySide6.QtGui import QImage

from tests.support.corpus import corpus_pdf
from tests.ui.conftest import open_file
from tests.ui.test_page_appearance import _wait_painted

NOTE = 37  # the /Text annotation (its /F is 28: print, no zoom, no rotate)


def _yellow(color) -> bool:  # type: ignore[no-untyped-def]
    return color.red() > 200 and color.green() > 180 and color.blue() < 100


def test_the_sticky_note_icon_is_drawn_in_the_page_view(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    path = corpus_pdf("annot-all-markup-types")
    before = path.read_bytes()
    open_file(qtbot, window, path)
    assert window.session is not None
    (note,) = [a for a in window.session.annotations() if a.pdf_object_id == NOTE]
    window.view.scroll_to_rect(0, note.bbox)
    _wait_painted(qtbot, window)
    assert window.view.native(note) is True  # drawn by the tiles, from its own /AP
    shot = window.view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    box = note.bbox
    top_left = window.view.instant_to_viewport(0, (box.left, box.top))
    bottom_right = window.view.instant_to_viewport(0, (box.right, box.bottom))
    x0, y0 = round(top_left.x()), round(top_left.y())
    x1, y1 = round(bottom_right.x()), round(bottom_right.y())
    assert 0 <= x0 < x1 <= shot.width() and 0 <= y0 < y1 <= shot.height()
    yellow = sum(1 for y in range(y0, y1) for x in range(x0, x1) if _yellow(shot.pixelColor(x, y)))
    assert yellow >= 0.25 * (x1 - x0) * (y1 - y0), f"{yellow} yellow pixels in the icon's box"
    # only the drawing copy was mended: the file, and what MuPDF reads from it, are unchanged
    assert path.read_bytes() == before
    assert b"W n" in pymupdf.open(path).xref_stream(40)
