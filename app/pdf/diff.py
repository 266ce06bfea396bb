"""Compute the Instant JSON diff between the annotations of two PDFs."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

from lamina.model.diff import diff_against_base
from lamina.model.ids import RecordId, new_record_id
from lamina.model.instant_json import InstantDocument, document_from_records
from lamina.model.records import Annotation, Comment, FormFieldValue, Record, record_to_json
from lamina.pdf.annotations import read_records, read_records_and_attachments
from lamina.pdf.document import PdfDocument, serialized


@serialized
def diff_documents(original: PdfDocument, edited: PdfDocument) -> InstantDocument:
    """Return the Instant JSON that turns ``original``'s annotations into ``edited``'s.

    Annotations and comments are matched to the originals by :func:`pair_with_originals`
    (``/NM``, then same content, then object number): one in both but different becomes
    skipped and updated; one only in ``original`` is skipped (deleted); one only in
    ``edited`` is new, with a fresh ULID and no ``pdfObjectId`` (comments on it follow it).
    Form field values that differ are included, and the image bytes of the image annotations
    in the diff.
    """
    before = read_records(original)
    after, images = read_records_and_attachments(edited)
    after = pair_with_originals(before, after)
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


def _content(record: Record) -> str:
    data = record_to_json(record, 2)
    for key in ("id", "pdfObjectId", "name", "rootId"):
        data.pop(key, None)
    return json.dumps(data, sort_keys=True)


def pair_with_originals(before: list[Record], after: list[Record]) -> list[Record]:
    """Give each record of the edited PDF the id and object number of its original, if any.

    Another program may renumber every object when it saves (pypdf, qpdf, "Save As"), so the
    object number alone pairs the wrong annotations. Pairs are found, in order: the same
    ``/NM`` (unique on both sides, same type); the same content; the same object number with
    the same type and page. An unpaired record is new (no ``pdfObjectId``); comments follow
    their root.
    """
    originals = [r for r in before if r.pdf_object_id is not None and not _is_value(r)]
    edited = [r for r in after if r.pdf_object_id is not None and not _is_value(r)]
    pairs: dict[int, Record] = {}  # index in edited -> original
    taken: set[int] = set()

    def pair_by(key: Callable[[Record], object]) -> None:
        left: dict[object, list[Record]] = {}
        for r in originals:
            if r.pdf_object_id not in taken:
                left.setdefault(key(r), []).append(r)
        right: dict[object, list[int]] = {}
        for i, r in enumerate(edited):
            if i not in pairs:
                right.setdefault(key(r), []).append(i)
        for k, indexes in right.items():
            found = left.get(k, [])
            if k is not None and len(indexes) == 1 and len(found) == 1:
                pairs[indexes[0]] = found[0]
                taken.add(found[0].pdf_object_id)  # type: ignore[arg-type]

    pair_by(lambda r: (r.type, getattr(r, "name", None)) if getattr(r, "name", None) else None)
    pair_by(_content)
    pair_by(lambda r: (r.type, getattr(r, "page_index", None), r.pdf_object_id))
    renamed: dict[str, str] = {}
    out_edited: list[Record] = []
    for i, r in enumerate(edited):
        match = pairs.get(i)
        if match is not None:
            renamed[str(r.id)] = str(match.id)
            out_edited.append(
                dataclasses.replace(r, id=match.id, pdf_object_id=match.pdf_object_id)
            )
        else:
            # Not an original: a number no original has, so the diff sees it as new.
            fresh = RecordId(f"new-{i}")
            renamed[str(r.id)] = fresh
            out_edited.append(dataclasses.replace(r, id=fresh, pdf_object_id=-1 - i))
    result: list[Record] = []
    for r in out_edited:
        if isinstance(r, Comment) and str(r.root_id) in renamed:
            r = dataclasses.replace(r, root_id=RecordId(renamed[str(r.root_id)]))
        result.append(r)
    return result + [r for r in after if r.pdf_object_id is None or _is_value(r)]


def _is_value(record: Record) -> bool:
    return isinstance(record, FormFieldValue)
