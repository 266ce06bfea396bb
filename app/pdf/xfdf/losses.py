"""What XFDF cannot carry: the records it has no place for, and the fields each type keeps.

:func:`xfdf_export_losses` lists them for the user; the writer (:mod:`.writer`) passes over
:data:`NOT_XFDF` and refuses what :func:`unwritable` names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from lamina.model.records import (
    NO_COLOR,
    Annotation,
    Bookmark,
    Comment,
    CommentMarkerAnnotation,
    EllipseAnnotation,
    FormField,
    FormFieldValue,
    ImageAnnotation,
    InkAnnotation,
    LineAnnotation,
    LinkAnnotation,
    NoteAnnotation,
    PolygonAnnotation,
    PolylineAnnotation,
    Record,
    RectangleAnnotation,
    RedactionAnnotation,
    StampAnnotation,
    TextAnnotation,
    UnknownAnnotation,
    WidgetAnnotation,
)
from lamina.pdf.xfdf import vocabulary as v
from lamina.pdf.xfdf.reader import MARKUP_ELEMENTS

NOT_XFDF = (WidgetAnnotation, FormField, Bookmark)
"""Records XFDF has no place for: widgets and field definitions (XFDF holds field values
only) and bookmarks. :func:`~lamina.pdf.xfdf.writer.records_to_xfdf` passes over them;
:func:`xfdf_export_losses` lists them."""


def xfdf_export_losses(records: Iterable[Record]) -> tuple[str, ...]:
    """List, one line each, the records and the fields XFDF cannot carry.

    A record in the list with "not written" is passed over by
    :func:`~lamina.pdf.xfdf.writer.records_to_xfdf`; one that "cannot be written" makes it
    fail; the others are written without the fields named.
    """
    lines = []
    for record in records:
        if isinstance(record, NOT_XFDF):
            lines.append(
                f"{record_label(record)}: not written (xfdf holds field values and comments)"
            )
            continue
        reason = unwritable(record)
        if reason:
            lines.append(f"{record_label(record)} cannot be written: {reason}")
            continue
        lost = _lost_fields(record)
        if lost:
            lines.append(f"{record_label(record)}: xfdf has no place for {', '.join(lost)}")
    return tuple(lines)


# -- what is written ------------------------------------------------------------------------

_BASE = {
    "id",
    "v",
    "page_index",
    "bbox",
    "name",
    "creator_name",
    "created_at",
    "updated_at",
    "subject",
    "opacity",
    "flags",
    "note",
    "pdf_object_id",  # XFDF matches annotations by name; the object number has no place
    "is_comment_thread_root",  # derived from the replies on reading
    "extra",
}
_SHAPE = {"stroke_color", "fill_color", "stroke_width", "stroke_dash_array"}
_CLOUDY = {"cloudy_border_intensity"}
WRITTEN_FIELDS: dict[type[Record], frozenset[str]] = {
    NoteAnnotation: frozenset(_BASE | {"text", "icon", "color"}),
    CommentMarkerAnnotation: frozenset(_BASE | {"text", "icon", "color"}),
    Comment: frozenset(
        {"id", "v", "root_id", "page_index", "text", "created_at", "updated_at", "creator_name"}
        | {"pdf_object_id", "extra"}
    ),
    RectangleAnnotation: frozenset(_BASE | _SHAPE | _CLOUDY | {"cloudy_border_inset"}),
    EllipseAnnotation: frozenset(_BASE | _SHAPE | _CLOUDY | {"cloudy_border_inset"}),
    LineAnnotation: frozenset(_BASE | _SHAPE | {"start_point", "end_point", "line_caps"}),
    PolylineAnnotation: frozenset(_BASE | _SHAPE | _CLOUDY | {"points", "line_caps"}),
    PolygonAnnotation: frozenset(_BASE | _SHAPE | _CLOUDY | {"points"}),
    InkAnnotation: frozenset(_BASE | {"lines", "stroke_color", "line_width"}),
    RedactionAnnotation: frozenset(
        _BASE | {"rects", "outline_color", "fill_color", "overlay_text", "repeat_overlay_text"}
    ),
    TextAnnotation: frozenset(
        _BASE
        | {"text", "font", "font_size", "font_color", "font_style", "background_color"}
        | {"horizontal_align", "rotation", "callout", "border_style", "border_width"}
        | {"border_color"}
    ),
    StampAnnotation: frozenset(_BASE | {"stamp_type", "title", "color", "rotation"}),
    LinkAnnotation: frozenset(_BASE | {"action", "border_color", "border_width", "border_style"}),
    UnknownAnnotation: frozenset(_BASE | {"unknown_type", "custom_data"}),
    FormFieldValue: frozenset({"id", "v", "name", "value", "pdf_object_id", "extra"}),
    **{cls: frozenset(_BASE | {"rects", "color"}) for cls in MARKUP_ELEMENTS.values()},
}
"""The record fields each type keeps in XFDF; any other field that is set is lost."""


def _lost_fields(record: Record) -> list[str]:
    written = WRITTEN_FIELDS.get(type(record), frozenset())
    lost = []
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if "codec" not in f.metadata or value is None or value == f.default:
            continue
        if f.name not in written:
            lost.append(f.metadata["key"] or _camel(f.name))
        elif value == NO_COLOR:
            lost.append(f"{_camel(f.name)} null (reads back as absent)")
    if isinstance(record, InkAnnotation) and any(
        i != 0.5 for seg in record.lines.intensities for i in seg
    ):
        lost.append("lines.intensities")
    if (
        isinstance(record, LinkAnnotation)
        and record.action
        and v.render_link_action(record.action) is None
    ):
        lost.append(f"action of type {record.action.get('type')!r}")
    from_pdf = record.pdf_object_id is not None and record.id == str(record.pdf_object_id)
    if isinstance(record, Annotation) and record.name not in (None, record.id) and not from_pdf:
        lost.append("id (xfdf keeps the name only)")
    if isinstance(record, UnknownAnnotation):
        custom = {k: x for k, x in (record.custom_data or {}).items() if k != "pdfSubtype"}
        if custom:
            lost.append("customData")
    lost.extend(k for k in record.extra if k not in (v.EXTRA_KEY, "color"))
    return lost


def unwritable(record: Record) -> str | None:
    """Return why ``record`` cannot be written as XFDF, or None when it can."""
    if isinstance(record, ImageAnnotation):
        return "xfdf would need the image as an appearance stream, which lamina does not build"
    if isinstance(record, UnknownAnnotation) and unknown_element(record) is None:
        subtype = (record.custom_data or {}).get("pdfSubtype", record.type)
        return f"no xfdf element for a {subtype} annotation read without its data"
    if isinstance(record, Annotation | Comment) and type(record) not in WRITTEN_FIELDS:
        return f"no xfdf element for {record.type}"
    return None


def unknown_element(record: UnknownAnnotation) -> str | None:
    """Return the XFDF element an unknown annotation is written as, if it has one."""
    left = record.extra.get(v.EXTRA_KEY)
    if isinstance(left, dict) and isinstance(left.get("element"), str):
        return str(left["element"])
    subtype = (record.custom_data or {}).get("pdfSubtype")
    return "caret" if subtype == "Caret" else None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def record_label(record: Record) -> str:
    """Return how messages name ``record``."""
    return f"{record.type} {record.id}"


__all__ = [
    "NOT_XFDF",
    "WRITTEN_FIELDS",
    "record_label",
    "unknown_element",
    "unwritable",
    "xfdf_export_losses",
]
