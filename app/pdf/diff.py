"""Compute the Instant JSON diff between the annotations of two PDFs."""

from __future__ import annotations

import dataclasses

from lamina.model.diff import diff_against_base
from lamina.model.ids import RecordId, new_record_id
from lamina.model.instant_json import InstantDocument, document_from_records
from lamina.model.records import Annotation, Comment, FormFieldValue, Record
from lamina.pdf.annotations import read_records, read_records_and_attachments
from lamina.pdf.document import PdfDocument, serialized


@serialized
def diff_documents(original: PdfDocument, edited: PdfDocument) -> InstantDocument:
    """Return the Instant JSON that turns ``original``'s annotations into ``edited``'s.

    Annotations and comments are matched by object number (``pdfObjectId``), as a PDF saved
    incrementally or by Lamina keeps them: one in both but different becomes skipped and
    updated; one only in ``original`` is skipped (deleted); one only in ``edited`` is new,
    with a fresh ULID and no ``pdfObjectId`` (comments on it follow it). Form field values
    that differ are included, and the image bytes of the image annotations in the diff.
    """
    before = read_records(original)
    after, images = read_records_and_attachments(edited)
    # The one diff rule, with the edited PDF's annotations as what the user sees; form field
    # values are compared by name below (they have no object of their own to match).
    diff = diff_against_base(
        before, [r for r in after if r.pdf_object_id is not None], attachments=images
    )
    originals = {r.pdf_object_id for r in before if r.pdf_object_id is not None}
    out: list[Record] = []
    new_ids: dict[str, RecordId] = {}
    for record in diff.records:
        if record.pdf_object_id in originals:
            out.append(record)
        else:
            # An object the original does not have: a new annotation, with an id of its own.
            fresh = new_record_id()
            new_ids[str(record.id)] = fresh
            out.append(dataclasses.replace(record, id=fresh, pdf_object_id=None))
    out = [_follow_root(r, new_ids) for r in out]
    before_values = {r.name: r for r in before if isinstance(r, FormFieldValue)}
    for value in (r for r in after if isinstance(r, FormFieldValue)):
        if before_values.get(value.name) != value:
            out.append(value)
    annotations_first = sorted(out, key=lambda r: 0 if isinstance(r, Annotation) else 1)
    return document_from_records(
        annotations_first,
        attachments=dict(diff.attachments),
        skipped_pdf_object_ids=diff.skipped_pdf_object_ids,
        pdf_id=original.pdf_id,
    )


def _follow_root(record: Record, new_ids: dict[str, RecordId]) -> Record:
    if isinstance(record, Comment) and str(record.root_id) in new_ids:
        return dataclasses.replace(record, root_id=new_ids[str(record.root_id)])
    return record
