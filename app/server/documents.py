"""Adding documents: check the PDF, read its annotations into the base layer, store it once."""

from __future__ import annotations

from pathlib import Path

from lamina.model.ids import RecordId
from lamina.model.records import record_to_json
from lamina.pdf import open_pdf
from lamina.pdf.annotations import read_records
from lamina.server.store import DocumentInfo, Store, check_document_id
from lamina.sync.state import RecordState
from ulid import ULID


def add_document_file(store: Store, path: Path, document_id: str | None = None) -> DocumentInfo:
    """Add the PDF at ``path`` to ``store`` and return the stored document.

    The PDF's own annotations become the document's base layer (§5.1), with ids equal to their
    ``pdfObjectId`` and no creator (§2.4).

    Raises:
        lamina.pdf.errors.PdfError: not a PDF, damaged, encrypted, ... (one-line message).
        DocumentExistsError: ``document_id`` is taken.
        InvalidNameError: ``document_id`` is not a valid id.
        OSError: the file cannot be read.
    """
    if document_id is not None:
        check_document_id(document_id)
    data = Path(path).read_bytes()
    with open_pdf(data, name=Path(path).name) as pdf:  # messages name the file
        records = read_records(pdf)
        page_count = pdf.page_count
    base = [
        RecordState(
            id=RecordId(str(record.id)),
            kind=record.KIND,
            rev=1,
            seq=0,
            content=record_to_json(record),
        )
        for record in records
        if record.id
    ]
    return store.add_document(
        document_id or str(ULID()),
        data,
        page_count=page_count,
        filename=Path(path).name,
        base_records=base,
    )
