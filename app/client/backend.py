"""The port through which the client reads and writes PDFs without importing ``lamina.pdf``.

The desktop app and the command line pass an implementation built on :mod:`lamina.pdf`; the
client only needs two operations, for standalone documents and for ``export_pdf``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class PdfBackend(Protocol):
    """Reads a PDF's own annotations and writes annotations into a PDF."""

    def read_base_records(self, path: Path, password: str | None = None) -> list[dict[str, Any]]:
        """Return the annotations already in the PDF as Instant JSON records.

        Each record carries ``pdfObjectId`` and has ``id`` equal to its string (sync §2.4).
        """
        ...

    def write_pdf(
        self,
        source: Path,
        instant_json: dict[str, Any],
        out_path: Path,
        *,
        flatten: bool = False,
        password: str | None = None,
    ) -> None:
        """Write ``source`` with the Instant JSON diff applied to ``out_path``.

        ``instant_json`` follows DESIGN §3: new records without ``pdfObjectId``, changed
        originals with ``pdfObjectId`` listed in ``skippedPdfObjectIds``, deleted originals
        only in ``skippedPdfObjectIds``. ``flatten`` burns the annotations into the pages.
        ``out_path`` is never ``source``; the caller replaces files atomically.
        """
        ...
