"""The field codecs of Instant JSON records and the two base classes, Record and Annotation.

A codec turns one JSON value into its typed form (raising InstantJsonError with the path) and
back; ``json_field`` declares a dataclass field stored under an Instant JSON key with its
codec. :mod:`lamina.model.records` reads these declarations to parse and write every record;
import the record classes from there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lamina.model.errors import InstantJsonError
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
class Codec:
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


NUMBER = Codec(as_number, _identity)
INTEGER = Codec(_integer, _identity)
STRING = Codec(as_string, _identity)
BOOLEAN = Codec(as_boolean, _identity)
COLOR = Codec(_color, _encode_color)
RECT = Codec(_rect, _encode_tuple_tree)
POINT = Codec(_point, _encode_tuple_tree)
POINTS = Codec(_points, _encode_tuple_tree)
RECTS = Codec(_rects, _encode_tuple_tree)
STRINGS = Codec(_strings, _encode_tuple_tree)
INTEGERS = Codec(_integers, _encode_tuple_tree)
INK_LINES = Codec(_ink_lines, _encode_ink_lines)
TEXT = Codec(_text, _encode_text)
VERBATIM = Codec(_verbatim, _identity)


def json_field(codec: Codec, key: str | None = None, default: Any = None) -> Any:
    """Declare a field stored under Instant JSON ``key`` (camelCase of the name by default)."""
    return field(default=default, metadata={"codec": codec, "key": key})


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_jf = json_field

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
