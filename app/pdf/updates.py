"""Update an original annotation where it is: same object number always, same /AP if it can.

The rule (DESIGN §6, issue 10): an annotation keeps its PDF object and its appearance stream
until its content changes. :func:`keeps_appearance` tells whether an update changes only
what the appearance does not show (author, dates, note text, flags, custom data...) or moves
or resizes it (viewers scale ``/AP`` into the new ``/Rect``); :func:`patch_in_place` then
edits those keys of the original dictionary and leaves ``/AP`` alone. Any other update is
drawn anew and :func:`move_to_object` puts the new dictionary under the original's object
number, so a later ``diff`` still sees the same annotation.
"""

from __future__ import annotations

import re
from typing import Any

import pymupdf
from lamina.model.records import (
    CommentMarkerAnnotation,
    ImageAnnotation,
    NoteAnnotation,
    Record,
    TextAnnotation,
    record_to_json,
)
from lamina.pdf.geometry import PageGeometry
from lamina.pdf.values import flags_to_pdf, iso_to_pdf_date
from pymupdf import mupdf

# Instant keys an annotation's appearance does not draw.
_NOT_DRAWN = frozenset(
    {
        "id",
        "v",
        "pdfObjectId",
        "bbox",
        "creatorName",
        "createdAt",
        "updatedAt",
        "name",
        "subject",
        "flags",
        "customData",
        "isCommentThreadRoot",
        "note",
        "group",
        "permissions",
    }
)
_ICON_TYPES = (NoteAnnotation, CommentMarkerAnnotation)  # an icon: the text is not drawn
_REF = re.compile(r"(\d+) 0 R")


def keeps_appearance(before: Record, after: Record) -> bool:
    """Tell whether ``after`` changes only what ``before``'s appearance does not draw."""
    if before.type != after.type:
        return False
    old, new = record_to_json(before, 2), record_to_json(after, 2)
    changed = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    allowed = set(_NOT_DRAWN)
    if isinstance(after, _ICON_TYPES):
        allowed.add("text")
    if isinstance(after, ImageAnnotation):
        allowed |= {"description", "fileName"}
    if isinstance(after, TextAnnotation):
        allowed.discard("bbox")  # free text is laid out in its box: a new box, new lines
    return changed <= allowed


def patch_in_place(fitz_doc: Any, geometry: PageGeometry, xref: int, record: Record) -> None:
    """Write the keys of ``record`` that are not drawn into annotation ``xref``; keep /AP."""
    bbox = getattr(record, "bbox", None)
    if bbox is not None:
        x0, y1 = geometry.instant_to_pdf_point((bbox.left, bbox.top))
        x1, y0 = geometry.instant_to_pdf_point((bbox.right, bbox.bottom))
        fitz_doc.xref_set_key(xref, "Rect", f"[{x0:g} {y0:g} {x1:g} {y1:g}]")
    text: str | None
    if isinstance(record, _ICON_TYPES):
        text = record.text.value if record.text else None
    elif isinstance(record, ImageAnnotation):
        text = record.note or record.description
    else:
        text = getattr(record, "note", None)
    strings = {
        "T": record.creator_name,
        "Contents": text,
        "CreationDate": iso_to_pdf_date(record.created_at),
        "M": iso_to_pdf_date(record.updated_at) or iso_to_pdf_date(record.created_at),
        "Subj": getattr(record, "subject", None),
        "NM": getattr(record, "name", None) or str(record.id),
    }
    for key, value in strings.items():
        fitz_doc.xref_set_key(xref, key, pymupdf.get_pdf_str(value) if value else "null")
    flags = getattr(record, "flags", None)
    fitz_doc.xref_set_key(xref, "F", str(flags_to_pdf(flags)))


def move_to_object(fitz_doc: Any, page_xref: int, new: int, old: int) -> None:
    """Put annotation ``new`` (just written on page ``page_xref``) under object number ``old``.

    The page's ``/Annots`` and the new annotation's popup then name ``old``; ``new`` becomes
    an empty (null) object. Call it with no page of the document loaded.
    """
    # Object by object: Document.xref_copy goes through text and refuses some keys.
    pdf = pymupdf._as_pdf_document(fitz_doc)
    mupdf.pdf_update_object(pdf, old, mupdf.pdf_copy_dict(mupdf.pdf_load_object(pdf, new)))
    kind, value = fitz_doc.xref_get_key(page_xref, "Annots")
    array_xref = int(value.split()[0]) if kind == "xref" else None
    text = fitz_doc.xref_object(array_xref) if array_xref else value
    refs = [int(n) for n in _REF.findall(text)]
    fixed = "[" + " ".join(f"{old if n == new else n} 0 R" for n in refs if n != old) + "]"
    if old not in refs and new not in refs:
        fixed = fixed[:-1] + f" {old} 0 R]"
    if array_xref:
        fitz_doc.update_object(array_xref, fixed)
    else:
        fitz_doc.xref_set_key(page_xref, "Annots", fixed)
    kind, value = fitz_doc.xref_get_key(old, "Popup")
    if kind == "xref":
        fitz_doc.xref_set_key(int(value.split()[0]), "Parent", f"{old} 0 R")
    fitz_doc.update_object(new, "null")
