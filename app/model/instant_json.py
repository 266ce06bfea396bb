"""Read and write Instant JSON documents (``https://pspdfkit.com/instant-json/v1``).

An Instant JSON document is a *diff* against the original PDF (DESIGN §3, spec §1.2):

- an annotation without ``pdfObjectId`` is new;
- an id in ``skippedPdfObjectIds`` with an annotation of that ``pdfObjectId`` is an update of
  the original; without one, the original is deleted.

:func:`parse_instant_json` validates everything and reports the first problem with its path;
:func:`instant_json_to_dict` writes it back (annotations ``v: 2`` by default, ``v: 1`` on
request). Keys at the top level that Lamina does not model are kept in ``extra``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lamina.model.errors import InstantJsonError, JsonValueError
from lamina.model.json_values import as_integer, as_list, as_string
from lamina.model.records import (
    JSON,
    Annotation,
    Bookmark,
    Comment,
    FormField,
    FormFieldValue,
    Record,
    parse_record_as,
    record_to_json,
)

FORMAT = "https://pspdfkit.com/instant-json/v1"
"""The value of the top-level ``format`` key."""

SUPPORTED_VERSIONS = (1, 2)


@dataclass(frozen=True)
class Attachment:
    """Binary data referenced by image annotations and stamps (``attachments`` values)."""

    data: bytes
    content_type: str


@dataclass(frozen=True)
class PdfId:
    """The two halves of the PDF trailer ``/ID``, base64 in Instant JSON."""

    permanent: str
    changing: str


@dataclass(frozen=True)
class InstantDocument:
    """A whole Instant JSON document."""

    annotations: tuple[Annotation, ...] = ()
    comments: tuple[Comment, ...] = ()
    form_fields: tuple[FormField, ...] = ()
    form_field_values: tuple[FormFieldValue, ...] = ()
    bookmarks: tuple[Bookmark, ...] = ()
    attachments: Mapping[str, Attachment] = field(default_factory=dict)
    skipped_pdf_object_ids: tuple[int, ...] | None = None
    """None when the key is absent (real exports may omit it)."""
    pdf_id: PdfId | None = None
    extra: Mapping[str, JSON] = field(default_factory=dict)

    @property
    def records(self) -> tuple[Record, ...]:
        """Every record, annotations first."""
        return (
            *self.annotations,
            *self.comments,
            *self.form_fields,
            *self.form_field_values,
            *self.bookmarks,
        )

    @property
    def deleted_pdf_object_ids(self) -> frozenset[int]:
        """Original annotations this diff deletes: skipped ids no annotation updates."""
        updated = {a.pdf_object_id for a in self.annotations if a.pdf_object_id is not None}
        return frozenset(i for i in self.skipped_pdf_object_ids or () if i not in updated)


_LISTS: tuple[tuple[str, str, type[Record]], ...] = (
    ("annotations", "annotations", Annotation),
    ("comments", "comments", Comment),
    ("formFields", "form_fields", FormField),
    ("formFieldValues", "form_field_values", FormFieldValue),
    ("bookmarks", "bookmarks", Bookmark),
)

_KNOWN_KEYS = {
    "format",
    "attachments",
    "skippedPdfObjectIds",
    "pdfId",
    *(key for key, _, _ in _LISTS),
}


def parse_instant_json(source: str | bytes | Mapping[str, JSON]) -> InstantDocument:
    """Parse and validate an Instant JSON document.

    Args:
        source: JSON text, or an already decoded object.

    Raises:
        InstantJsonError: not JSON, or not Instant JSON; the message names the path of the
            first offending value.
    """
    if isinstance(source, str | bytes):
        try:
            obj = json.loads(source)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InstantJsonError("", f"not valid JSON: {exc}") from exc
    else:
        obj = source
    if not isinstance(obj, dict):
        raise InstantJsonError("", "expected a JSON object at the top level")
    try:
        return _parse_document(obj)
    except InstantJsonError:
        raise
    except JsonValueError as exc:
        raise InstantJsonError(exc.path, exc.problem) from None


def _parse_document(obj: dict[str, JSON]) -> InstantDocument:
    fmt = obj.get("format", FORMAT)
    if fmt != FORMAT:
        raise InstantJsonError("format", f"expected {FORMAT!r}, got {fmt!r}")
    lists: dict[str, Any] = {}
    for key, attr, cls in _LISTS:
        parsed = []
        for i, item in enumerate(as_list(obj.get(key, []), key)):
            path = f"{key}[{i}]"
            record = parse_record_as(cls, item, path)
            if record.KIND in ("annotation", "comment") and record.v not in SUPPORTED_VERSIONS:
                raise InstantJsonError(f"{path}.v", f"unsupported version {record.v}")
            parsed.append(record)
        lists[attr] = tuple(parsed)
    return InstantDocument(
        **lists,
        attachments=_parse_attachments(obj.get("attachments", {})),
        skipped_pdf_object_ids=_parse_skipped(obj.get("skippedPdfObjectIds")),
        pdf_id=_parse_pdf_id(obj.get("pdfId")),
        extra={k: v for k, v in obj.items() if k not in _KNOWN_KEYS},
    )


def _parse_attachments(raw: JSON) -> dict[str, Attachment]:
    if not isinstance(raw, dict):
        raise InstantJsonError("attachments", "expected an object keyed by attachment id")
    out = {}
    for key, value in raw.items():
        path = f"attachments.{key}"
        if not isinstance(value, dict) or not isinstance(value.get("binary"), str):
            raise InstantJsonError(f"{path}.binary", "expected base64 text")
        try:
            data = base64.b64decode(value["binary"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InstantJsonError(f"{path}.binary", f"not valid base64: {exc}") from exc
        content_type = as_string(
            value.get("contentType", "application/octet-stream"), f"{path}.contentType"
        )
        out[key] = Attachment(data, content_type)
    return out


def _parse_skipped(raw: JSON) -> tuple[int, ...] | None:
    if raw is None:
        return None
    path = "skippedPdfObjectIds"
    return tuple(as_integer(v, f"{path}[{i}]") for i, v in enumerate(as_list(raw, path)))


def _parse_pdf_id(raw: JSON) -> PdfId | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InstantJsonError("pdfId", "expected an object with permanent and changing")
    for key in ("permanent", "changing"):
        if not isinstance(raw.get(key), str):
            raise InstantJsonError(f"pdfId.{key}", "expected base64 text")
    return PdfId(raw["permanent"], raw["changing"])


def instant_json_to_dict(document: InstantDocument, version: int = 2) -> dict[str, JSON]:
    """Write a document as a JSON-ready dict, annotations and comments as ``v: version``.

    Empty lists are omitted, as Nutrient does; ``format`` always comes first.

    Raises:
        ValueError: ``version`` is not 1 or 2.
    """
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"instant json version must be 1 or 2, got {version}")
    out: dict[str, JSON] = {"format": FORMAT}
    for key, attr, _ in _LISTS:
        records: tuple[Record, ...] = getattr(document, attr)
        if records:
            out[key] = [record_to_json(r, version) for r in records]
    if document.attachments:
        out["attachments"] = {
            key: {
                "binary": base64.b64encode(a.data).decode("ascii"),
                "contentType": a.content_type,
            }
            for key, a in document.attachments.items()
        }
    if document.skipped_pdf_object_ids is not None:
        out["skippedPdfObjectIds"] = list(document.skipped_pdf_object_ids)
    if document.pdf_id is not None:
        out["pdfId"] = {
            "permanent": document.pdf_id.permanent,
            "changing": document.pdf_id.changing,
        }
    out.update(document.extra)
    return out


def dumps_instant_json(document: InstantDocument, version: int = 2, indent: int | None = 2) -> str:
    """Return the document as Instant JSON text."""
    return json.dumps(instant_json_to_dict(document, version), indent=indent, ensure_ascii=False)


def document_from_records(
    records: Iterable[Record],
    *,
    attachments: Mapping[str, Attachment] | None = None,
    skipped_pdf_object_ids: Iterable[int] | None = None,
    pdf_id: PdfId | None = None,
) -> InstantDocument:
    """Sort records into a document by kind."""
    buckets: dict[str, list[Any]] = {attr: [] for _, attr, _ in _LISTS}
    kinds = {cls.KIND: attr for _, attr, cls in _LISTS}
    for record in records:
        buckets[kinds[record.KIND]].append(record)
    return InstantDocument(
        annotations=tuple(buckets["annotations"]),
        comments=tuple(buckets["comments"]),
        form_fields=tuple(buckets["form_fields"]),
        form_field_values=tuple(buckets["form_field_values"]),
        bookmarks=tuple(buckets["bookmarks"]),
        attachments=dict(attachments or {}),
        skipped_pdf_object_ids=(
            None if skipped_pdf_object_ids is None else tuple(sorted(set(skipped_pdf_object_ids)))
        ),
        pdf_id=pdf_id,
    )
