"""Open documents through ``app.client`` (standalone files and invites)."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from app.model.records import Record, record_from_json
from app.ui.memory_document import MemoryDocument
from app.ui.pdf_backend import PdfBackendImpl

log = logging.getLogger(__name__)


def open_standalone(path: Path, password: str | None = None) -> Any:
    """Open a local PDF for annotating; return the client document.

    Uses the client's standalone document (autosaved to the local store) when ``app.client``
    provides one; until then an in-memory document with the PDF's own annotations.
    """
    backend = PdfBackendImpl()
    try:
        module = importlib.import_module("app.client.document")
    except ImportError:
        module = None
    open_local = getattr(module, "open_local", None)
    if open_local is not None:
        return open_local(path, pdf_backend=backend, password=password)
    base: list[Record] = [record_from_json(r) for r in backend.read_base_records(path, password)]
    return MemoryDocument(base)
