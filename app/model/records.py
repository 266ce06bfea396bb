"""Typed records: every Instant JSON record type Lamina supports, as frozen dataclasses.

A record is an annotation, a comment, a form field, a form field value or a bookmark. Each
class maps its attributes to Instant JSON keys (``page_index`` <-> ``pageIndex``); every key a
class does not know is kept verbatim in ``extra`` and written back unchanged, and an annotation
``type`` we do not know becomes an :class:`UnknownAnnotation` that keeps all of its keys. So
``record_to_json(record_from_json(obj)) == obj`` for anything valid (v2 in, v2 out; v1 in,
v1 out), and nothing is lost on a round trip.

Optional attributes are ``None`` when the key is absent and are then omitted on output (the
spec says to omit optional keys), so a record never grows keys it did not have.

Use :func:`record_from_json` and :func:`record_to_json` to convert; both take an
``path`` used in error messages (``annotations[3].bbox: expected 4 numbers, got 3``).

The codecs and base classes live in :mod:`lamina.model.record_fields`, the annotation classes in
:mod:`lamina.model.annotation_types`; every name is re-exported here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from lamina.model.annotation_types import (
    ANNOTATION_CLASSES,
    LINE_CAPS,
    STAMP_TYPES,
    CommentMarkerAnnotation,
    EllipseAnnotation,
    HighlightAnnotation,
    ImageAnnotation,
    InkAnnotation,
    LineAnnotation,
    LinkAnnotation,
    MarkupAnnotation,
    NoteAnnotation,
    PolygonAnnotation,
    PolylineAnnotation,
    RectangleAnnotation,
    RedactionAnnotation,
    ShapeAnnotation,
    SquigglyAnnotation,
    StampAnnotation,
    StrikeOutAnnotation,
    TextAnnotation,
    UnderlineAnnotation,
    UnknownAnnotation,
    WidgetAnnotation,
)
from lamina.model.errors import InstantJsonError, JsonValueError
from lamina.model.ids import RecordId
from lamina.model.json_values import JSON, kind_of
from lamina.model.record_fields import (
    BOOLEAN,
    INTEGER,
    INTEGERS,
    NO_COLOR,
    STRING,
    STRINGS,
    TEXT,
    VERBATIM,
    Annotation,
    Codec,
    InkLines,
    Record,
    Text,
    camel,
)
from lamina.model.record_fields import json_field as _jf

__all__ = [
    "ANNOTATION_CLASSES",
    "LINE_CAPS",
    "NO_COLOR",
    "OTHER_CLASSES",
    "STAMP_TYPES",
    "Annotation",
    "Bookmark",
    "Comment",
    "CommentMarkerAnnotation",
    "EllipseAnnotation",
    "FormField",
    "FormFieldValue",
    "HighlightAnnotation",
    "ImageAnnotation",
    "InkAnnotation",
    "InkLines",
    "LineAnnotation",
    "LinkAnnotation",
    "MarkupAnnotation",
    "NoteAnnotation",
    "PolygonAnnotation",
    "PolylineAnnotation",
    "Record",
    "RectangleAnnotation",
    "RedactionAnnotation",
    "ShapeAnnotation",
    "SquigglyAnnotation",
    "StampAnnotation",
    "StrikeOutAnnotation",
    "Text",
    "TextAnnotation",
    "UnderlineAnnotation",
    "UnknownAnnotation",
    "WidgetAnnotation",
    "form_field_value_id",
    "parse_record_as",
    "record_class_for_type",
    "record_from_json",
    "record_to_json",
]


@dataclass(frozen=True, kw_only=True)
class Comment(Record):
    """A comment in a thread; ``root_id`` is the id of the thread's root annotation."""

    TYPE: ClassVar[str] = "pspdfkit/comment"
    KIND: ClassVar[str] = "comment"
    root_id: RecordId = _jf(STRING, default=RecordId(""))
    page_index: int | None = _jf(INTEGER)
    text: Text = _jf(TEXT, default=Text(""))


@dataclass(frozen=True, kw_only=True)
class FormFieldValue(Record):
    """The value of one form field, addressed by its fully qualified ``name``.

    Its record id is ``form-field-value/<name>``, so one field has one value per layer.
    """

    TYPE: ClassVar[str] = "pspdfkit/form-field-value"
    KIND: ClassVar[str] = "form-field-value"
    v: int = _jf(INTEGER, default=1)
    name: str = _jf(STRING, default="")
    value: JSON = _jf(VERBATIM)
    """A string, a list of strings, or None."""
    option_indexes: tuple[int, ...] | None = _jf(INTEGERS)
    is_fitting: bool | None = _jf(BOOLEAN)


@dataclass(frozen=True, kw_only=True)
class FormField(Record):
    """A form field definition (``pspdfkit/form-field/<kind>``)."""

    KIND: ClassVar[str] = "form-field"
    v: int = _jf(INTEGER, default=1)
    field_type: str = "pspdfkit/form-field/unknown"
    name: str = _jf(STRING, default="")
    label: str | None = _jf(STRING)
    annotation_ids: tuple[str, ...] | None = _jf(STRINGS)
    flags: tuple[str, ...] | None = _jf(STRINGS)

    @property
    def type(self) -> str:
        return self.field_type


@dataclass(frozen=True, kw_only=True)
class Bookmark(Record):
    TYPE: ClassVar[str] = "pspdfkit/bookmark"
    KIND: ClassVar[str] = "bookmark"
    v: int = _jf(INTEGER, default=1)
    name: str | None = _jf(STRING)
    action: JSON = _jf(VERBATIM)
    pdf_bookmark_id: str | None = _jf(STRING)


OTHER_CLASSES: dict[str, type[Record]] = {
    Comment.TYPE: Comment,
    FormFieldValue.TYPE: FormFieldValue,
    Bookmark.TYPE: Bookmark,
}

_FORM_FIELD_PREFIX = "pspdfkit/form-field/"

R = TypeVar("R", bound=Record)


def _specs(cls: type[Record]) -> list[tuple[str, str, Codec]]:
    cached = _SPEC_CACHE.get(cls)
    if cached is None:
        cached = [
            (f.name, f.metadata["key"] or camel(f.name), f.metadata["codec"])
            for f in dataclasses.fields(cls)
            if "codec" in f.metadata
        ]
        _SPEC_CACHE[cls] = cached
    return cached


_SPEC_CACHE: dict[type[Record], list[tuple[str, str, Codec]]] = {}

_REQUIRED: dict[str, tuple[str, ...]] = {
    "annotation": ("pageIndex", "bbox"),
    "comment": ("rootId",),
    "form-field-value": ("name",),
    "form-field": ("name",),
    "bookmark": (),
}


def record_class_for_type(type_name: str) -> type[Record]:
    """Return the class for an Instant JSON ``type`` (unknown annotations included)."""
    if type_name in ANNOTATION_CLASSES:
        return ANNOTATION_CLASSES[type_name]
    if type_name in OTHER_CLASSES:
        return OTHER_CLASSES[type_name]
    if type_name.startswith(_FORM_FIELD_PREFIX):
        return FormField
    return UnknownAnnotation


def record_from_json(obj: JSON, path: str = "", expected: type[Record] | None = None) -> Record:
    """Parse one Instant JSON record of any supported type (or of ``expected`` only).

    Raises:
        InstantJsonError: the value is not a valid record; the message names the path.
    """
    if not isinstance(obj, dict):
        raise InstantJsonError(path, f"expected an object, got {kind_of(obj)}")
    type_name = obj.get("type")
    if not isinstance(type_name, str) or not type_name:
        raise InstantJsonError(f"{path}.type" if path else "type", "missing record type")
    cls = record_class_for_type(type_name)
    if expected is not None and not issubclass(cls, expected):
        raise InstantJsonError(
            _join(path, "type"), f"expected a {expected.__name__}, got {type_name}"
        )
    for key in _REQUIRED[cls.KIND]:
        if key not in obj:
            raise InstantJsonError(_join(path, key), "is required")
    kwargs: dict[str, Any] = {}
    known = {"type"}
    try:
        for attr, key, codec in _specs(cls):
            known.add(key)
            if key in obj:
                kwargs[attr] = codec.decode(obj[key], _join(path, key))
    except InstantJsonError:
        raise
    except JsonValueError as exc:
        raise InstantJsonError(exc.path, exc.problem) from None
    if cls is UnknownAnnotation:
        kwargs["unknown_type"] = type_name
    elif cls is FormField:
        kwargs["field_type"] = type_name
    kwargs["extra"] = {k: v for k, v in obj.items() if k not in known}
    if cls.KIND == "form-field-value" and "id" not in obj:
        kwargs["id"] = form_field_value_id(kwargs["name"])
    return cls(**kwargs)


def record_to_json(record: Record, version: int | None = None) -> dict[str, JSON]:
    """Write a record as an Instant JSON object.

    Args:
        record: the record.
        version: 1 or 2 to force the annotation/comment format version; None keeps ``v``.
            Form field values, form fields and bookmarks are always ``v: 1``.
    """
    v = record.v if version is None or record.KIND not in ("annotation", "comment") else version
    out: dict[str, JSON] = {"type": record.type}
    for attr, key, codec in _specs(type(record)):
        value = getattr(record, attr)
        if attr == "v":
            out[key] = v
        elif attr == "id" and record.KIND == "form-field-value":
            continue  # derived from the name, not part of the format
        elif value is not None and not (attr == "id" and value == ""):
            out[key] = codec.encode(value, v)
    out.update(record.extra)
    return out


def form_field_value_id(name: str) -> RecordId:
    """Return the record id of the value of the form field ``name``."""
    return RecordId(f"form-field-value/{name}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def parse_record_as(cls: type[R], obj: JSON, path: str = "") -> R:
    """Parse ``obj`` and check that it is a ``cls``.

    Raises:
        InstantJsonError: invalid, or of another type.
    """
    record = record_from_json(obj, path, cls)
    assert isinstance(record, cls)
    return record
