"""A layer as Instant JSON (a diff against the PDF, DESIGN §3) and as a PDF.

Both are built only from the records the token may view: a base annotation the token may not
see is listed in ``skippedPdfObjectIds`` like a deleted one, so it leaves the exported PDF too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lamina.model.instant_json import Attachment, InstantDocument, document_from_records
from lamina.model.records import record_from_json
from lamina.server.store import DocumentInfo, Store
from lamina.sync.state import RecordState


def _pdf_object_id(content: Mapping[str, Any] | None) -> int | None:
    value = (content or {}).get("pdfObjectId")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def layer_diff(
    base_contents: Iterable[Mapping[str, Any]],
    contents: Iterable[Mapping[str, Any]],
    attachments: Mapping[str, Attachment] | None = None,
) -> InstantDocument:
    """Return a layer's records as an Instant JSON diff against the PDF's own annotations.

    Args:
        base_contents: the Instant JSON of the annotations in the PDF (with ``pdfObjectId``).
        contents: the Instant JSON of the layer's live records the token may view.
        attachments: image bytes by attachment id (those of the PDF's own images); the ones
            the diff's image annotations name are carried along.
    """
    base: dict[int, Mapping[str, Any]] = {}
    for content in base_contents:
        pdf_id = _pdf_object_id(content)
        if pdf_id is not None:
            base[pdf_id] = content
    out = []
    kept: set[int] = set()
    skipped: set[int] = set()
    for content in contents:
        pdf_id = _pdf_object_id(content)
        if pdf_id is not None and pdf_id in base:
            kept.add(pdf_id)
            if dict(content) == dict(base[pdf_id]):
                continue
            # A changed original: listed, and its PDF object skipped (DESIGN §3).
            skipped.add(pdf_id)
        out.append(record_from_json(dict(content), f"record {content.get('id')}"))
    skipped.update(pdf_id for pdf_id in base if pdf_id not in kept)
    named = {getattr(r, "image_attachment_id", None) for r in out}
    carried = {k: v for k, v in (attachments or {}).items() if k in named}
    return document_from_records(out, attachments=carried, skipped_pdf_object_ids=sorted(skipped))


def build_layer_pdf(
    store: Store,
    document: DocumentInfo,
    records: Iterable[RecordState],
    visible: Callable[[RecordState], bool] | None,
    flatten: bool,
) -> bytes:
    """Return the document's PDF with the layer's visible records written into it."""
    from lamina.model.records import record_to_json
    from lamina.pdf import apply_instant_json, open_pdf
    from lamina.pdf.annotations import read_records

    source = store.read_asset(document.sha256)
    with open_pdf(source) as pdf:
        base = [record_to_json(r) for r in read_records(pdf)]
    contents = [
        r.content
        for r in records
        if not r.deleted and r.content is not None and (visible is None or visible(r))
    ]
    diff = layer_diff(base, contents)
    data: bytes = apply_instant_json(source, diff, flatten=flatten)
    return data
