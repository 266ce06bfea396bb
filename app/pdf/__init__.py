"""The PDF bridge: everything that touches PyMuPDF (DESIGN §6).

- :func:`open_pdf` opens a file or bytes with typed errors (:mod:`lamina.pdf.errors`).
- :class:`PageGeometry` converts Instant, PyMuPDF, PDF and display coordinates.
- :func:`render_page` / :func:`render_tile` draw to a Qt-free :class:`RenderedImage`.
- :func:`page_words` / :func:`search_page` give the text layer.
- :func:`read_records` / :func:`dump_instant_json` read the annotations already in a PDF.
- :func:`apply_instant_json` writes an Instant JSON diff into a PDF; :func:`diff_documents`
  computes one from two PDFs.
- :class:`lamina.pdf.backend.PdfBackendImpl` is the client's ``PdfBackend`` port;
  :mod:`lamina.pdf.render_worker` draws tiles in a worker process for the desktop.

PyMuPDF is not thread-safe: each thread opens its own :class:`PdfDocument`.
"""

from lamina.pdf import _startup  # noqa: F401  (must run before pymupdf is imported)
from lamina.pdf.annotations import UNKNOWN_TYPE, dump_instant_json, read_records
from lamina.pdf.diff import diff_documents
from lamina.pdf.document import MUPDF_LOCK, PageInfo, PdfDocument, open_pdf
from lamina.pdf.errors import (
    DamagedPdfError,
    EmptyFileError,
    NotAPdfError,
    PageOutOfRangeError,
    PasswordRequiredError,
    PdfError,
    PdfWriteError,
    WrongPasswordError,
)
from lamina.pdf.geometry import PageGeometry
from lamina.pdf.render import (
    BGRA_FORMAT,
    MAX_RENDER_PIXELS,
    PIXEL_FORMAT,
    RenderedImage,
    RenderTooLargeError,
    render_page,
    render_tile,
    tile_grid,
)
from lamina.pdf.text import Word, page_words, search_page
from lamina.pdf.writer import apply_instant_json

__all__ = [
    "BGRA_FORMAT",
    "MAX_RENDER_PIXELS",
    "MUPDF_LOCK",
    "PIXEL_FORMAT",
    "UNKNOWN_TYPE",
    "DamagedPdfError",
    "EmptyFileError",
    "NotAPdfError",
    "PageGeometry",
    "PageInfo",
    "PageOutOfRangeError",
    "PasswordRequiredError",
    "PdfDocument",
    "PdfError",
    "PdfWriteError",
    "RenderTooLargeError",
    "RenderedImage",
    "Word",
    "WrongPasswordError",
    "apply_instant_json",
    "diff_documents",
    "dump_instant_json",
    "open_pdf",
    "page_words",
    "read_records",
    "render_page",
    "render_tile",
    "search_page",
    "tile_grid",
]
