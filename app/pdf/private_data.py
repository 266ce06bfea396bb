"""Keep the Instant JSON fields a PDF annotation dictionary has no key for, inside it.

PDF has no place for ``customData``, ``isCommentThreadRoot``, ink ``intensities``, a stamp's
``subtitle``, a comment marker's type, the exact ``id`` a client minted and more. The writer
puts the record's whole Instant JSON in a private key (``/LaminaInstant``, a text string;
viewers ignore keys they do not know) together with a fingerprint of the standard keys it
wrote (``/Rect``, colours, text, dates ...). The reader then:

- when the fingerprint still matches (nobody changed the annotation since Lamina wrote it),
  takes the record from the private copy, so every field comes back exactly as written;
- when it does not (another program moved it, recoloured it, ...), takes the record from the
  standard keys, as for any PDF, and adds only the fields the standard keys cannot hold and
  the record read from them does not have.

The object number, page and (for comments) the root always come from the PDF itself. The
``id`` the record had when Lamina wrote it is kept either way (a client's ULID stays the
record's id, whatever its ``name``), unless it was an object number: that is the PDF's own.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import pymupdf
from lamina.model.errors import InstantJsonError
from lamina.model.records import Record, record_from_json, record_to_json
from lamina.pdf.values import PDF_SUBTYPES

log = logging.getLogger(__name__)

PRIVATE_KEY = "LaminaInstant"
"""The annotation dictionary key holding the record's Instant JSON."""

# The standard keys another program changes when it edits an annotation.
_FINGERPRINT_KEYS = (
    "Subtype",
    "Rect",
    "C",
    "IC",
    "CA",
    "Contents",
    "RC",
    "M",
    "T",
    "F",
    "BS",
    "BE",
    "Border",
    "QuadPoints",
    "Vertices",
    "InkList",
    "L",
    "LE",
    "DA",
    "Q",
    "BM",
    "Name",
    "NM",
    "Rotate",
    "CL",
)
# Always the PDF's own, never the private copy's: where the annotation is and what it is, and
# the image it shows (attachments are named by the SHA-256 of the bytes read back).
_FROM_PDF = ("id", "pdfObjectId", "pageIndex", "rootId", "imageAttachmentId", "contentType")

STANDARD_KEYS = frozenset(
    {
        "bbox",
        "opacity",
        "name",
        "note",
        "subject",
        "flags",
        "createdAt",
        "updatedAt",
        "creatorName",
        "text",
        "color",
        "strokeColor",
        "fillColor",
        "backgroundColor",
        "fontColor",
        "fontSize",
        "strokeWidth",
        "lineWidth",
        "strokeDashArray",
        "rects",
        "points",
        "lines",
        "startPoint",
        "endPoint",
        "lineCaps",
        "icon",
        "blendMode",
        "action",
        "borderColor",
        "borderWidth",
        "horizontalAlign",
        "stampType",
        "title",
    }
)
"""Instant keys the standard PDF keys hold: after another program's edit, only the PDF's."""


def _fingerprint(fitz_doc: Any, xref: int) -> str:
    digest = hashlib.sha256()
    for key in _FINGERPRINT_KEYS:
        kind, value = fitz_doc.xref_get_key(xref, key)
        digest.update(f"{key}={kind}:{value}\n".encode())
    return digest.hexdigest()[:24]


def store_private(fitz_doc: Any, xref: int, record: Record) -> None:
    """Write ``record``'s Instant JSON into annotation ``xref`` (call it last, after every
    standard key is set)."""
    data = {"fingerprint": _fingerprint(fitz_doc, xref), "record": record_to_json(record)}
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    fitz_doc.xref_set_key(xref, PRIVATE_KEY, pymupdf.get_pdf_str(text))


def with_private(fitz_doc: Any, xref: int, record: Record) -> Record:
    """Return ``record`` (read from the standard keys) completed from the private copy."""
    kind, value = fitz_doc.xref_get_key(xref, PRIVATE_KEY)
    if kind != "string" or not value:
        return record
    try:
        data = json.loads(value)
        stored = data["record"]
        untouched = data.get("fingerprint") == _fingerprint(fitz_doc, xref)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("annotation %d: its %s is unreadable: %s", xref, PRIVATE_KEY, exc)
        return record
    if not isinstance(stored, dict) or not _same_kind(str(stored.get("type")), record.type):
        return record  # another kind of annotation now: the private copy is stale
    native = record_to_json(record)
    if untouched:
        merged = dict(stored)
        for key in _FROM_PDF:
            if key in native:
                merged[key] = native[key]
        if "name" not in merged and "name" in native:
            merged["name"] = native["name"]  # /NM: the writer names every annotation
    else:
        merged = dict(native)
        merged["type"] = record.type
        for key, item in stored.items():
            if key not in native and key not in STANDARD_KEYS and key not in _FROM_PDF:
                merged[key] = item
    kept_id = stored.get("id")
    if isinstance(kept_id, str) and kept_id and not kept_id.isdigit():
        merged["id"] = kept_id
    merged.setdefault("v", native.get("v", 2))
    try:
        return record_from_json(merged, f"annotation {xref}")
    except InstantJsonError as exc:
        log.warning("annotation %d: its %s is not a valid record: %s", xref, PRIVATE_KEY, exc)
        return record


def _same_kind(stored: str, read: str) -> bool:
    # A comment marker is written as a sticky note (/Text), which reads back as a note.
    return stored == read or PDF_SUBTYPES.get(stored, stored) == PDF_SUBTYPES.get(read, read)
