"""The client's :class:`~lamina.client.backend.PdfBackend` port, built on :mod:`lamina.pdf`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lamina.fsutil import write_bytes_atomically
from lamina.model.instant_json import parse_instant_json
from lamina.model.records import record_to_json
from lamina.pdf import open_pdf
from lamina.pdf.annotations import read_records
from lamina.pdf.writer import apply_instant_json


class PdfBackendImpl:
    """Read a PDF's own annotations and write annotations into a PDF, with PyMuPDF."""

    def read_base_records(self, path: Path, password: str | None = None) -> list[dict[str, Any]]:
        """Return the PDF's annotations as Instant JSON records (ids = ``pdfObjectId``)."""
        with open_pdf(path, password) as doc:
            return [record_to_json(r) for r in read_records(doc)]

    def write_pdf(
        self,
        source: Path,
        instant_json: dict[str, Any],
        out_path: Path,
        *,
        flatten: bool = False,
        password: str | None = None,
    ) -> None:
        """Write ``source`` with the Instant JSON diff applied (and flattened) to ``out_path``."""
        diff = parse_instant_json(instant_json)
        data = apply_instant_json(source, diff, flatten=flatten, password=password)
        write_bytes_atomically(out_path, data)
