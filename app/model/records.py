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
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from lamina.model.errors import InstantJsonError, JsonValueError
from lamina.model.geometry import Point, Rect
from lamina.model.ids import RecordId
from lamina.model.json_values import (
    JSON,
    as_boolean,
    as_integer,
    as_list,
    as_number,
    as_string,
    kind_of,
)

# --- value codecs -------------------------------------------------------------------------
# A codec turns one JSON value into its typed form (raising InstantJsonError with the path)
# and back. Keeping them as pairs of plain functions makes each field's rule one line below.


@dataclass(frozen=True)
class _Codec:
    decode: Callable[[JSON, str], Any]
    encode: Callable[[Any, int], JSON]


def _integer(value: JSON, path: str) -> int:
    # Instant JSON written by JavaScript may carry an integer as 3.0.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return as_integer(value, path)


def _numbers(value: JSON, path: str, count: int) -> tuple[float, ...]:
    if not isinstance(value, list):
        raise InstantJsonError(path, f"expected {count} numbers, got {kind_of(value)}")
    if len(value) != count:
        raise InstantJsonError(path, f"expected {count} numbers, got {len(value)}")
    return tuple(as_number(v, f"{path}[{i}]") for i, v in enumerate(value))


_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def _color(value: JSON, path: str) -> str | None:
    # JSON null means "no color" and differs from an absent key (which means the default),
    # so it gets its own typed value and is written back as null.
    if value is None:
        return NO_COLOR
    text = as_string(value, path)
    if not _COLOR_RE.match(text):
        raise InstantJsonError(path, f"expected a color like #RRGGBB, got {text!r}")
    return text


NO_COLOR = "transparent"
"""The typed form of a color given as JSON ``null``: no color at all."""


def _encode_color(value: str, version: int) -> JSON:
    return None if value == NO_COLOR else value


def _identity(value: Any, version: int) -> JSON:
    return value


def _encode_tuple_tree(value: Any, version: int) -> JSON:
    if isinstance(value, tuple | list):
        return [_encode_tuple_tree(v, version) for v in value]
    return value


def _verbatim(value: JSON, path: str) -> JSON:
    return value


def _rect(value: JSON, path: str) -> Rect:
    return Rect(*_numbers(value, path, 4))


def _point(value: JSON, path: str) -> Point:
    return Point(*_numbers(value, path, 2))


def _points(value: JSON, path: str) -> tuple[Point, ...]:
    return tuple(_point(p, f"{path}[{i}]") for i, p in enumerate(as_list(value, path)))


def _rects(value: JSON, path: str) -> tuple[Rect, ...]:
    return tuple(_rect(r, f"{path}[{i}]") for i, r in enumerate(as_list(value, path)))


def _strings(value: JSON, path: str) -> tuple[str, ...]:
    return tuple(as_string(s, f"{path}[{i}]") for i, s in enumerate(as_list(value, path)))


def _integers(value: JSON, path: str) -> tuple[int, ...]:
    return tuple(_integer(s, f"{path}[{i}]") for i, s in enumerate(as_list(value, path)))


@dataclass(frozen=True)
class InkLines:
    """The ``lines`` of an ink annotation: one list of points per stroke segment.

    ``intensities`` runs parallel to ``points`` (pen pressure 0..1; 0.5 when unknown).
    """

    points: tuple[tuple[Point, ...], ...]
    intensities: tuple[tuple[float, ...], ...]

    @classmethod
    def from_strokes(cls, strokes: list[list[tuple[float, float]]]) -> InkLines:
        """Build lines from plain point lists, with the default intensity 0.5."""
        pts = tuple(tuple(Point(x, y) for x, y in s) for s in strokes)
        return cls(pts, tuple(tuple(0.5 for _ in s) for s in pts))


def _ink_lines(value: JSON, path: str) -> InkLines:
    if not isinstance(value, dict):
        raise InstantJsonError(path, f"expected an object with points, got {kind_of(value)}")
    raw_points = as_list(value.get("points"), f"{path}.points")
    points = tuple(_points(s, f"{path}.points[{i}]") for i, s in enumerate(raw_points))
    raw_int = value.get("intensities")
    if raw_int is None:
        intensities = tuple(tuple(0.5 for _ in s) for s in points)
    else:
        segments = as_list(raw_int, f"{path}.intensities")
        intensities = tuple(
            tuple(
                as_number(v, f"{path}.intensities[{i}][{j}]")
                for j, v in enumerate(as_list(s, f"{path}.intensities[{i}]"))
            )
            for i, s in enumerate(segments)
        )
    return InkLines(points, intensities)


def _encode_ink_lines(value: InkLines, version: int) -> JSON:
    return {
        "points": [[[p.x, p.y] for p in seg] for seg in value.points],
        "intensities": [list(seg) for seg in value.intensities],
    }


@dataclass(frozen=True)
class Text:
    """Rich or plain text: v2 ``{"format": "plain"|"xhtml", "value": ...}``, v1 a string."""

    value: str
    format: str = "plain"


def _text(value: JSON, path: str) -> Text:
    if isinstance(value, str):
        return Text(value)
    if isinstance(value, dict):
        fmt = value.get("format", "plain")
        if fmt not in ("plain", "xhtml"):
            raise InstantJsonError(f"{path}.format", f"expected plain or xhtml, got {fmt!r}")
        return Text(as_string(value.get("value", ""), f"{path}.value"), fmt)
    raise InstantJsonError(path, f"expected a string or a text object, got {kind_of(value)}")


def _encode_text(value: Text, version: int) -> JSON:
    if version == 1:
        return value.value
    return {"format": value.format, "value": value.value}


NUMBER = _Codec(as_number, _identity)
INTEGER = _Codec(_integer, _identity)
STRING = _Codec(as_string, _identity)
BOOLEAN = _Codec(as_boolean, _identity)
COLOR = _Codec(_color, _encode_color)
RECT = _Codec(_rect, _encode_tuple_tree)
POINT = _Codec(_point, _encode_tuple_tree)
POINTS = _Codec(_points, _encode_tuple_tree)
RECTS = _Codec(_rects, _encode_tuple_tree)
STRINGS = _Codec(_strings, _encode_tuple_tree)
INTEGERS = _Codec(_integers, _encode_tuple_tree)
INK_LINES = _Codec(_ink_lines, _encode_ink_lines)
TEXT = _Codec(_text, _encode_text)
VERBATIM = _Codec(_verbatim, _identity)


def _jf(codec: _Codec, key: str | None = None, default: Any = None) -> Any:
    """Declare a field stored under Instant JSON ``key`` (camelCase of the name by default)."""
    return field(default=default, metadata={"codec": codec, "key": key})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# --- records ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Record:
    """Fields every record type shares. ``extra`` holds the keys this class does not know."""

    TYPE: ClassVar[str] = ""
    KIND: ClassVar[str] = ""
    """``annotation``, ``comment``, ``form-field``, ``form-field-value`` or ``bookmark``."""

    id: RecordId = _jf(STRING, default=RecordId(""))
    v: int = _jf(INTEGER, default=2)
    created_at: str | None = _jf(STRING)
    updated_at: str | None = _jf(STRING)
    creator_name: str | None = _jf(STRING)
    custom_data: JSON = _jf(VERBATIM, default=None)
    pdf_object_id: int | None = _jf(INTEGER)
    extra: Mapping[str, JSON] = field(default_factory=dict)

    @property
    def type(self) -> str:
        """The Instant JSON ``type`` string."""
        return self.TYPE


@dataclass(frozen=True, kw_only=True)
class Annotation(Record):
    """Fields of every annotation (Instant JSON ``BaseAnnotation``)."""

    KIND: ClassVar[str] = "annotation"

    page_index: int = _jf(INTEGER, default=0)
    bbox: Rect = _jf(RECT, default=Rect(0, 0, 0, 0))
    opacity: float | None = _jf(NUMBER)
    name: str | None = _jf(STRING)
    note: str | None = _jf(STRING)
    subject: str | None = _jf(STRING)
    flags: tuple[str, ...] | None = _jf(STRINGS)
    action: JSON = _jf(VERBATIM)
    blend_mode: str | None = _jf(STRING)
    is_comment_thread_root: bool | None = _jf(BOOLEAN)

    @property
    def effective_opacity(self) -> float:
        return 1.0 if self.opacity is None else self.opacity


@dataclass(frozen=True, kw_only=True)
class InkAnnotation(Annotation):
    TYPE: ClassVar[str] = "pspdfkit/ink"
    lines: InkLines = _jf(INK_LINES, default=InkLines((), ()))
    line_width: float = _jf(NUMBER, default=1)
    stroke_color: str | None = _jf(COLOR)
    background_color: str | None = _jf(COLOR)
    is_drawn_naturally: bool | None = _jf(BOOLEAN)
    is_signature: bool | None = _jf(BOOLEAN)


@dataclass(frozen=True, kw_only=True)
class ShapeAnnotation(Annotation):
    """Fields shared by rectangle, ellipse, line, polyline and polygon."""

    stroke_width: float | None = _jf(NUMBER)
    stroke_color: str | None = _jf(COLOR)
    fill_color: str | None = _jf(COLOR)
    stroke_dash_array: tuple[float, ...] | None = _jf(VERBATIM)
    measurement_scale: JSON = _jf(VERBATIM)
    measurement_precision: str | None = _jf(STRING)
    cloudy_border_intensity: float | None = _jf(NUMBER)
    cloudy_border_inset: JSON = _jf(VERBATIM)


@dataclass(frozen=True, kw_only=True)
class RectangleAnnotation(ShapeAnnotation):
    TYPE: ClassVar[str] = "pspdfkit/shape/rectangle"


@dataclass(frozen=True, kw_only=True)
class EllipseAnnotation(ShapeAnnotation):
    TYPE: ClassVar[str] = "pspdfkit/shape/ellipse"


LINE_CAPS = (
    "square",
    "circle",
    "diamond",
    "openArrow",
    "closedArrow",
    "butt",
    "reverseOpenArrow",
    "reverseClosedArrow",
    "slash",
)
"""Line cap names of ``lineCaps.start`` / ``lineCaps.end``."""


@dataclass(frozen=True, kw_only=True)
class LineAnnotation(ShapeAnnotation):
    TYPE: ClassVar[str] = "pspdfkit/shape/line"
    start_point: Point = _jf(POINT, default=Point(0, 0))
    end_point: Point = _jf(POINT, default=Point(0, 0))
    line_caps: JSON = _jf(VERBATIM)
    """``{"start": cap, "end": cap}`` with caps from :data:`LINE_CAPS`, or None."""


@dataclass(frozen=True, kw_only=True)
class PolylineAnnotation(ShapeAnnotation):
    TYPE: ClassVar[str] = "pspdfkit/shape/polyline"
    points: tuple[Point, ...] = _jf(POINTS, default=())
    line_caps: JSON = _jf(VERBATIM)


@dataclass(frozen=True, kw_only=True)
class PolygonAnnotation(ShapeAnnotation):
    TYPE: ClassVar[str] = "pspdfkit/shape/polygon"
    points: tuple[Point, ...] = _jf(POINTS, default=())


@dataclass(frozen=True, kw_only=True)
class MarkupAnnotation(Annotation):
    """Text markup: one rectangle per line of text, coloured with ``color``."""

    rects: tuple[Rect, ...] = _jf(RECTS, default=())
    color: str | None = _jf(COLOR)


@dataclass(frozen=True, kw_only=True)
class HighlightAnnotation(MarkupAnnotation):
    TYPE: ClassVar[str] = "pspdfkit/markup/highlight"


@dataclass(frozen=True, kw_only=True)
class UnderlineAnnotation(MarkupAnnotation):
    TYPE: ClassVar[str] = "pspdfkit/markup/underline"


@dataclass(frozen=True, kw_only=True)
class StrikeOutAnnotation(MarkupAnnotation):
    TYPE: ClassVar[str] = "pspdfkit/markup/strikeout"


@dataclass(frozen=True, kw_only=True)
class SquigglyAnnotation(MarkupAnnotation):
    TYPE: ClassVar[str] = "pspdfkit/markup/squiggly"


@dataclass(frozen=True, kw_only=True)
class RedactionAnnotation(MarkupAnnotation):
    """A redaction mark. Lamina reads and keeps it; it never applies it."""

    TYPE: ClassVar[str] = "pspdfkit/markup/redaction"
    outline_color: str | None = _jf(COLOR)
    fill_color: str | None = _jf(COLOR)
    overlay_text: str | None = _jf(STRING)
    repeat_overlay_text: bool | None = _jf(BOOLEAN)
    rotation: int | None = _jf(INTEGER)


@dataclass(frozen=True, kw_only=True)
class TextAnnotation(Annotation):
    """Free text on the page (``pspdfkit/text``)."""

    TYPE: ClassVar[str] = "pspdfkit/text"
    text: Text = _jf(TEXT, default=Text(""))
    font_size: float | None = _jf(NUMBER)
    font: str | None = _jf(STRING)
    font_color: str | None = _jf(COLOR)
    font_style: tuple[str, ...] | None = _jf(STRINGS)
    background_color: str | None = _jf(COLOR)
    horizontal_align: str | None = _jf(STRING)
    vertical_align: str | None = _jf(STRING)
    rotation: int | None = _jf(INTEGER)
    is_fitting: bool | None = _jf(BOOLEAN)
    callout: JSON = _jf(VERBATIM)
    border_style: str | None = _jf(STRING)
    border_width: float | None = _jf(NUMBER)
    border_color: str | None = _jf(COLOR)


@dataclass(frozen=True, kw_only=True)
class NoteAnnotation(Annotation):
    """A sticky note (``pspdfkit/note``)."""

    TYPE: ClassVar[str] = "pspdfkit/note"
    text: Text = _jf(TEXT, default=Text(""))
    icon: str | None = _jf(STRING)
    color: str | None = _jf(COLOR)


@dataclass(frozen=True, kw_only=True)
class CommentMarkerAnnotation(Annotation):
    """The anchor of a comment thread placed on the page."""

    TYPE: ClassVar[str] = "pspdfkit/comment-marker"
    icon: str | None = _jf(STRING)
    text: Text | None = _jf(TEXT)
    color: str | None = _jf(COLOR)


STAMP_TYPES = (
    "Accepted",
    "Approved",
    "AsIs",
    "Completed",
    "Confidential",
    "Departmental",
    "Draft",
    "Experimental",
    "Expired",
    "Final",
    "ForComment",
    "ForPublicRelease",
    "InformationOnly",
    "InitialHere",
    "NotApproved",
    "NotForPublicRelease",
    "PreliminaryResults",
    "Rejected",
    "Revised",
    "SignHere",
    "Sold",
    "TopSecret",
    "Void",
    "Witness",
    "Custom",
)
"""The standard stamp names of ``stampType``."""


@dataclass(frozen=True, kw_only=True)
class StampAnnotation(Annotation):
    TYPE: ClassVar[str] = "pspdfkit/stamp"
    stamp_type: str = _jf(STRING, default="Custom")
    title: str | None = _jf(STRING)
    subtitle: str | None = _jf(STRING)
    color: str | None = _jf(COLOR)
    rotation: int | None = _jf(INTEGER)


@dataclass(frozen=True, kw_only=True)
class ImageAnnotation(Annotation):
    """An image; its bytes are the document's ``attachments[image_attachment_id]``."""

    TYPE: ClassVar[str] = "pspdfkit/image"
    image_attachment_id: str | None = _jf(STRING)
    content_type: str | None = _jf(STRING)
    file_name: str | None = _jf(STRING)
    description: str | None = _jf(STRING)
    rotation: int | None = _jf(INTEGER)
    is_signature: bool | None = _jf(BOOLEAN)


@dataclass(frozen=True, kw_only=True)
class LinkAnnotation(Annotation):
    """A link. Lamina reads and keeps links; the UI does not create them."""

    TYPE: ClassVar[str] = "pspdfkit/link"
    border_color: str | None = _jf(COLOR)
    border_style: str | None = _jf(STRING)
    border_width: float | None = _jf(NUMBER)


@dataclass(frozen=True, kw_only=True)
class WidgetAnnotation(Annotation):
    """A form widget: the visible part of a form field."""

    TYPE: ClassVar[str] = "pspdfkit/widget"
    form_field_name: str | None = _jf(STRING)
    border_color: str | None = _jf(COLOR)
    border_style: str | None = _jf(STRING)
    border_width: float | None = _jf(NUMBER)
    background_color: str | None = _jf(COLOR)
    font: str | None = _jf(STRING)
    font_size: JSON = _jf(VERBATIM)
    """A number or ``"auto"``."""
    font_color: str | None = _jf(COLOR)
    horizontal_align: str | None = _jf(STRING)
    vertical_align: str | None = _jf(STRING)
    rotation: int | None = _jf(INTEGER)


@dataclass(frozen=True, kw_only=True)
class UnknownAnnotation(Annotation):
    """An annotation of a type Lamina does not model; every key is kept and written back."""

    unknown_type: str = ""

    @property
    def type(self) -> str:
        return self.unknown_type


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


ANNOTATION_CLASSES: dict[str, type[Annotation]] = {
    cls.TYPE: cls
    for cls in (
        InkAnnotation,
        RectangleAnnotation,
        EllipseAnnotation,
        LineAnnotation,
        PolylineAnnotation,
        PolygonAnnotation,
        HighlightAnnotation,
        UnderlineAnnotation,
        StrikeOutAnnotation,
        SquigglyAnnotation,
        RedactionAnnotation,
        TextAnnotation,
        NoteAnnotation,
        CommentMarkerAnnotation,
        StampAnnotation,
        ImageAnnotation,
        LinkAnnotation,
        WidgetAnnotation,
    )
}
"""Annotation classes by Instant JSON ``type``."""

OTHER_CLASSES: dict[str, type[Record]] = {
    Comment.TYPE: Comment,
    FormFieldValue.TYPE: FormFieldValue,
    Bookmark.TYPE: Bookmark,
}

_FORM_FIELD_PREFIX = "pspdfkit/form-field/"

R = TypeVar("R", bound=Record)


def _specs(cls: type[Record]) -> list[tuple[str, str, _Codec]]:
    cached = _SPEC_CACHE.get(cls)
    if cached is None:
        cached = [
            (f.name, f.metadata["key"] or _camel(f.name), f.metadata["codec"])
            for f in dataclasses.fields(cls)
            if "codec" in f.metadata
        ]
        _SPEC_CACHE[cls] = cached
    return cached


_SPEC_CACHE: dict[type[Record], list[tuple[str, str, _Codec]]] = {}

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
