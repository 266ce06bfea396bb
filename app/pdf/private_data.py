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

from lamina.model.errors import InstantJsonError
from lamina.model.ids import record_id_for_pdf_object
from lamina.model.records import Record, record_from_json, record_to_json
from lamina.pdf.annotation_keys import get_key, string_key, value_text
from lamina.pdf.values import PDF_SUBTYPES
from pymupdf import mupdf

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


_FINGERPRINT_NAMES = tuple((key, mupdf.pdf_new_name(key)) for key in _FINGERPRINT_KEYS)
_PRIVATE_NAME = mupdf.pdf_new_name(PRIVATE_KEY)


def _fingerprint(fitz_doc: Any, xref: int) -> str:
    return _digest(mupdf.pdf_load_object(_pdf(fitz_doc), xref))


def _digest(obj: Any) -> str:
    """Return the digest of the standard keys of annotation dictionary ``obj``.

    Each key is hashed as ``Document.xref_get_key`` spells it (``key=kind:value``), which is
    what files written before already carry; read here from the dictionary directly (the one
    object loaded once, not once per key; MuPDF's low-level calls, which make no wrapper
    object per value: this runs for every annotation written and read).
    """
    ptr = obj.m_internal
    lines = []
    for key, name in _FINGERPRINT_NAMES:
        kind, value = value_text(mupdf.ll_pdf_dict_get(ptr, name.m_internal))
        lines.append(f"{key}={kind}:{value}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()[:24]


def _pdf(fitz_doc: Any) -> Any:
    return mupdf.pdf_document_from_fz_document(fitz_doc.this)


def store_private(fitz_doc: Any, xref: int, record: Record) -> None:
    """Write ``record``'s Instant JSON into annotation ``xref`` (call it last, after every
    standard key is set)."""
    obj = mupdf.pdf_load_object(_pdf(fitz_doc), xref)
    data = {"fingerprint": _digest(obj), "record": record_to_json(record)}
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    # A text string (PDFDocEncoding, else UTF-16BE), put directly: the string PyMuPDF's
    # xref_set_key would parse is built a character at a time.
    mupdf.pdf_dict_put_text_string(obj, _PRIVATE_NAME, text)


def _private_copy(fitz_doc: Any, xref: int) -> tuple[Any, bool] | None:
    """Return the private copy's record and whether the fingerprint still matches (nobody
    changed the annotation since); None when the annotation has no private copy.

    Raises:
        ValueError, KeyError, TypeError: the private copy is unreadable.
    """
    kind, value = get_key(fitz_doc, xref, PRIVATE_KEY)
    if kind != "string" or not value:
        return None
    data = json.loads(value)
    return data["record"], data.get("fingerprint") == _fingerprint(fitz_doc, xref)


def with_private(fitz_doc: Any, xref: int, record: Record) -> Record:
    """Return ``record`` (read from the standard keys) completed from the private copy."""
    try:
        found = _private_copy(fitz_doc, xref)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("annotation %d: its %s is unreadable: %s", xref, PRIVATE_KEY, exc)
        return record
    if found is None:
        return record
    stored, untouched = found
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


_UNTOUCHED_SUBTYPES = frozenset(
    {
        "Square",
        "Circle",
        "Line",
        "Polygon",
        "PolyLine",
        "Ink",
        "Highlight",
        "Underline",
        "StrikeOut",
        "Squiggly",
        "FreeText",
        "Text",
        "Redact",
    }
)
# The subtypes whose _FROM_PDF fields are only the object number, the page and /IRT: no image
# to read back (stamps and images name their attachment by the bytes read), no widget, no link.


def untouched_record(fitz_doc: Any, xref: int, subtype: str, page_index: int) -> Record | None:
    """Return the record Lamina wrote into annotation ``xref`` when nobody has changed the
    annotation since (its fingerprint matches), without reading the standard keys; None when
    it must be read from them (then :func:`with_private` completes it).

    The result equals ``with_private`` of the record read from the standard keys: the private
    copy with the object number, page, id rule, ``/IRT`` root and ``/NM`` name of the PDF's
    own. Reading a file Lamina wrote (a layer PDF, an export) costs about half as much.
    """
    if subtype not in _UNTOUCHED_SUBTYPES:
        return None
    try:
        found = _private_copy(fitz_doc, xref)
    except (ValueError, KeyError, TypeError):
        return None  # with_private says what is wrong with it
    if found is None or not found[1] or not isinstance(found[0], dict):
        return None
    stored = found[0]
    if PDF_SUBTYPES.get(str(stored.get("type"))) != subtype:
        return None
    merged = dict(stored)
    kept_id = stored.get("id")
    if not (isinstance(kept_id, str) and kept_id and not kept_id.isdigit()):
        merged["id"] = str(record_id_for_pdf_object(xref))
    merged["pdfObjectId"] = xref
    merged["pageIndex"] = page_index
    if subtype == "Text":
        root = _reply_to(fitz_doc, xref)
        if root is not None:
            merged["rootId"] = str(record_id_for_pdf_object(root))
    if "name" not in merged:
        name = string_key(fitz_doc, xref, "NM")
        if name:
            merged["name"] = name
    merged.setdefault("v", 2)
    try:
        return record_from_json(merged, f"annotation {xref}")
    except InstantJsonError:
        return None


def _reply_to(fitz_doc: Any, xref: int) -> int | None:
    # A /Text with /IRT (and no /RT /Group) is read as a comment whose root is the /IRT.
    kind, value = fitz_doc.xref_get_key(xref, "IRT")
    if kind != "xref" or fitz_doc.xref_get_key(xref, "RT") == ("name", "/Group"):
        return None
    root = int(value.split()[0])
    return root or None


def _same_kind(stored: str, read: str) -> bool:
    # A comment marker is written as a sticky note (/Text), which reads back as a note.
    return stored == read or PDF_SUBTYPES.get(stored, stored) == PDF_SUBTYPES.get(read, read)
