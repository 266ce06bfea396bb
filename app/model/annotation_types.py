"""The annotation record classes, one per Instant JSON annotation ``type``.

Each class declares its fields with their Instant JSON keys and codecs
(:mod:`lamina.model.record_fields`); :mod:`lamina.model.records` parses and writes them and
re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lamina.model.geometry import Point, Rect
from lamina.model.json_values import JSON
from lamina.model.record_fields import (
    BOOLEAN,
    COLOR,
    INK_LINES,
    INTEGER,
    NUMBER,
    POINT,
    POINTS,
    RECTS,
    STRING,
    STRINGS,
    TEXT,
    VERBATIM,
    Annotation,
    InkLines,
    Text,
)
from lamina.model.record_fields import json_field as _jf


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
