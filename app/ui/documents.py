"""Open documents through ``app.client`` (standalone files and invites)."""

from __future__ import annotations

import importlib
import logging
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.model.errors import LaminaError
from app.model.records import Record, record_from_json
from app.ui.memory_document import MemoryDocument
from app.ui.pdf_backend import PdfBackendImpl

log = logging.getLogger(__name__)


def open_standalone(path: Path, password: str | None = None) -> Any:
    """Open a local PDF for annotating; return the client document.

    Uses the client's standalone document (autosaved to the local store) when ``app.client``
    provides one; until then an in-memory document with the PDF's own annotations.
    """
    try:
        module = importlib.import_module("app.client.document")
    except ImportError:
        module = None
    open_local = getattr(module, "open_local", None)
    if open_local is not None:
        return open_local(path, pdf_backend=PdfBackendImpl(), password=password)
    return MemoryDocument()


class _Relay(QObject):
    loaded = Signal(object)


def load_base_records(doc: MemoryDocument, path: Path, password: str | None) -> threading.Thread:
    """Read the PDF's own annotations on a thread and add them to ``doc`` on the GUI thread."""
    relay = _Relay()

    def deliver(records: object) -> None:
        if isinstance(records, list):
            doc.add_base(records)
        relay.deleteLater()

    relay.loaded.connect(deliver)

    def work() -> None:
        try:
            raw = PdfBackendImpl().read_base_records(path, password)
            records: list[Record] | str = [record_from_json(r) for r in raw]
        except (LaminaError, OSError) as exc:
            log.warning("cannot read the annotations of %s: %s", path.name, exc)
            records = str(exc)
        relay.loaded.emit(records)

    thread = threading.Thread(target=work, name="lamina-base-records", daemon=True)
    thread.start()
    return thread
