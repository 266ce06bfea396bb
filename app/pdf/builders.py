"""Add one record to a page as a PDF annotation, with the appearance stream MuPDF draws.

:func:`add_annotation` picks the builder of the record's type (shapes, lines, polygons,
markup, ink, free text, notes, stamps, images, links, carets); each makes the PyMuPDF
annotation and :func:`~lamina.pdf.annotation_finish.finish` sets what every annotation
carries (author, dates, colours, border, opacity, blend mode, flags, ``/NM``) and generates
the appearance once. Free text, stamps and links have modules of their own
(:mod:`~lamina.pdf.free_text_builder`, :mod:`~lamina.pdf.stamp_builder`,
:mod:`~lamina.pdf.link_builder`). Widgets are
not built (form field values fill the existing widgets), nor are comments (the writer makes
them replies to their root).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import pymupdf
from lamina.model.geometry import Rect
from lamina.model.records import (
    NO_COLOR,
    Annotation,
    CommentMarkerAnnotation,
    EllipseAnnotation,
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
from lamina.pdf.annotation_finish import LINE_END_CODES, Canvas, finish, fitz_rect
from lamina.pdf.free_text_builder import write_text
from lamina.pdf.link_builder import write_link
from lamina.pdf.stamp_builder import write_image, write_stamp
from lamina.pdf.values import (
    CAPS_TO_LINE_ENDS,
    NOTE_ICONS_TO_PDF,
    hex_to_rgb,
)
from pymupdf import mupdf

# PyMuPDF sets its constants at import time, which mypy cannot see.
_FITZ: Any = pymupdf

log = logging.getLogger(__name__)


def add_annotation(canvas: Canvas, page: Any, record: Annotation) -> int | None:
    """Add ``record`` to ``page`` (a PyMuPDF page of ``canvas``); return its object number.

    None when there is nothing to draw (a shape with an empty bbox, an ink without points);
    a warning says which.

    Raises:
        RuntimeError, ValueError, TypeError, KeyError: the record cannot be written (no PDF
            annotation holds its type, an action PDF cannot hold, PyMuPDF refused it); the
            caller names the record in its error.
    """
    if isinstance(record, WidgetAnnotation):
        # A widget is the face of a form field, which lives in the PDF's AcroForm: it is
        # kept with its field or not at all; values are written through the fields.
        log.warning("widget %s is not written: its form field is not in this pdf", record.id)
        return None
    builder = _BUILDERS.get(type(record))
    if builder is None:
        raise ValueError(f"no pdf annotation can hold a {record.type}")
    annot = builder(canvas, page, record)
    return None if annot is None else int(annot.xref)


def _write_shape(canvas: Canvas, page: Any, record: Any) -> Any:
    # MuPDF grows the /Rect of a new square or circle by 1 pt and then keeps it while the
    # stroke is drawn inside it: shrinking by 1 pt first gives /Rect == bbox, as Instant means.
    bbox = record.bbox
    if bbox.width <= 0 or bbox.height <= 0:
        log.warning("%s %s has an empty bbox: nothing to draw, not written", record.type, record.id)
        return None
    clouds = _clouds(record)
    if clouds:
        # The cloud fills the bbox; the shape is the bbox less cloudyBorderInset (or less
        # the room MuPDF gives a cloud of that intensity: 5 pt per step).
        inset = _cloud_inset(record, clouds)
        inner = Rect(
            bbox.left + inset[0],
            bbox.top + inset[1],
            max(1.0, bbox.width - inset[0] - inset[2]),
            max(1.0, bbox.height - inset[1] - inset[3]),
        )
        rect = fitz_rect(inner)
    else:
        rect = fitz_rect(bbox.inflated(-1) if min(bbox.width, bbox.height) > 2 else bbox)
    if isinstance(record, RectangleAnnotation):
        annot = page.add_rect_annot(rect)
    else:
        annot = page.add_circle_annot(rect)
    annot = _finish_shape(canvas, annot, record, keep_rect=bool(clouds))
    if clouds:
        inset = _cloud_inset(record, clouds)
        canvas.fitz.xref_set_key(annot.xref, "RD", "[" + " ".join(f"{v:g}" for v in inset) + "]")
    return annot


def _clouds(record: Any) -> float:
    """Return the cloudy border intensity MuPDF can draw (0: a plain border)."""
    value = getattr(record, "cloudy_border_intensity", None)
    return float(value) if isinstance(value, int | float) and value > 0 else 0.0


def _cloud_inset(record: Any, clouds: float) -> tuple[float, float, float, float]:
    inset = getattr(record, "cloudy_border_inset", None)
    if isinstance(inset, list | tuple) and len(inset) == 4:
        return tuple(float(v) for v in inset)  # type: ignore[return-value]
    margin = 5.0 * clouds
    return (margin, margin, margin, margin)


def _finish_shape(
    canvas: Canvas, annot: Any, record: ShapeAnnotation, *, keep_rect: bool = False
) -> Any:
    """Style a new rectangle, ellipse, line, polyline or polygon the shape base way."""
    return finish(
        canvas,
        annot,
        record,
        contents=record.note,
        # No stroke colour means no stroke (a filled shape without a border stays one).
        stroke=record.stroke_color or NO_COLOR,
        fill=record.fill_color,
        width=record.stroke_width if record.stroke_width is not None else 1,
        dashes=record.stroke_dash_array,
        clouds=_clouds(record),
        keep_rect=keep_rect,
    )


def _line_ends(record: Any) -> tuple[int, int]:
    caps = record.line_caps if isinstance(record.line_caps, dict) else {}
    codes = []
    for key in ("start", "end"):
        name = CAPS_TO_LINE_ENDS.get(caps.get(key, ""), "None")
        codes.append(LINE_END_CODES[name])
    return codes[0], codes[1]


def _write_line(canvas: Canvas, page: Any, record: LineAnnotation) -> Any:
    annot = page.add_line_annot(tuple(record.start_point), tuple(record.end_point))
    if record.line_caps:
        annot.set_line_ends(*_line_ends(record))
    return _finish_shape(canvas, annot, record)


def _write_poly(canvas: Canvas, page: Any, record: Any) -> Any:
    points = [tuple(p) for p in record.points]
    if len(points) < 2:
        raise ValueError("a polygon or polyline needs at least 2 points")
    if isinstance(record, PolygonAnnotation):
        annot = page.add_polygon_annot(points)
    else:
        annot = page.add_polyline_annot(points)
        if record.line_caps:
            annot.set_line_ends(*_line_ends(record))
    return _finish_shape(canvas, annot, record)


def _write_markup(canvas: Canvas, page: Any, record: MarkupAnnotation) -> Any:
    quads = [fitz_rect(r).quad for r in record.rects] or [fitz_rect(record.bbox).quad]
    adders: dict[type, Callable[..., Any]] = {
        UnderlineAnnotation: page.add_underline_annot,
        StrikeOutAnnotation: page.add_strikeout_annot,
        SquigglyAnnotation: page.add_squiggly_annot,
    }
    add = adders.get(type(record), page.add_highlight_annot)
    annot = add(quads=quads)
    return finish(canvas, annot, record, contents=record.note, stroke=record.color or "#ffff00")


def _write_ink(canvas: Canvas, page: Any, record: InkAnnotation) -> Any:
    strokes = [[tuple(p) for p in line] for line in record.lines.points if line]
    if not strokes:
        log.warning("ink %s has no points: nothing to draw, not written", record.id)
        return None
    annot = page.add_ink_annot(strokes)
    return finish(
        canvas,
        annot,
        record,
        contents=record.note,
        stroke=record.stroke_color or "#000000",
        width=record.line_width,
    )


def _write_note(canvas: Canvas, page: Any, record: NoteAnnotation) -> Any:
    icon = NOTE_ICONS_TO_PDF.get(record.icon or "comment", "Comment")
    annot = page.add_text_annot((record.bbox.left, record.bbox.top), record.text.value, icon=icon)
    annot = finish(
        canvas,
        annot,
        record,
        contents=record.text.value,
        stroke=record.color or "#ffd83f",
        keep_rect=True,
    )
    _draw_icon(canvas.fitz, annot.xref, icon)
    return annot


# MuPDF draws these five icons as its star: Lamina draws them itself, in the 16 x 16 icon
# box MuPDF made (0 0 at the bottom left), over the note's colour.
_ICON_PATHS = {
    "Check": "1.8 w 1 J 1 j 3.5 8.5 m 6.5 5 l 12.5 12 l S",
    "Circle": "1.5 w 8 8 m " + "",  # completed below with Bezier arcs
    "Cross": "1.8 w 1 J 4 4 m 12 12 l S 4 12 m 12 4 l S",
    "RightArrow": "3 7 m 9 7 l 9 4 l 13.5 8 l 9 12 l 9 9 l 3 9 l h f",
    "RightPointer": "3 4 m 13.5 8 l 3 12 l 5.5 8 l h f",
}
_K = 4 * 0.5523
_ICON_PATHS["Circle"] = (
    "1.5 w 12 8 m "
    f"12 {8 + _K:.3f} {8 + _K:.3f} 12 8 12 c {8 - _K:.3f} 12 4 {8 + _K:.3f} 4 8 c "
    f"4 {8 - _K:.3f} {8 - _K:.3f} 4 8 4 c {8 + _K:.3f} 4 12 {8 - _K:.3f} 12 8 c S"
)


def _draw_icon(fitz_doc: Any, xref: int, icon: str) -> None:
    path = _ICON_PATHS.get(icon)
    if path is None:
        return
    kind, value = fitz_doc.xref_get_key(xref, "AP/N")
    if kind != "xref":
        return
    ap_xref = int(value.split()[0])
    stream = fitz_doc.xref_stream(ap_xref).decode("latin-1")
    background, _, _ = stream.partition("1 0 0 -1")  # keep MuPDF's coloured square
    fitz_doc.update_stream(ap_xref, f"{background}q 0 g 0 G {path} Q\n".encode("latin-1"))


def _write_comment_marker(canvas: Canvas, page: Any, record: CommentMarkerAnnotation) -> Any:
    # A sticky note in every viewer; the private copy makes it a comment marker again.
    icon = NOTE_ICONS_TO_PDF.get(record.icon or "comment", "Comment")
    text = record.text.value if record.text else ""
    annot = page.add_text_annot((record.bbox.left, record.bbox.top), text, icon=icon)
    return finish(
        canvas, annot, record, contents=text, stroke=record.color or "#ffd83f", keep_rect=True
    )


def _write_redaction(canvas: Canvas, page: Any, record: RedactionAnnotation) -> Any:
    quads = [fitz_rect(r).quad for r in record.rects] or [fitz_rect(record.bbox).quad]
    style: dict[str, Any] = {}
    if record.fill_color and record.fill_color != NO_COLOR:
        style["fill"] = hex_to_rgb(record.fill_color)
    if record.color and record.color != NO_COLOR:
        style["text_color"] = hex_to_rgb(record.color)
    annot = page.add_redact_annot(quads[0], text=record.overlay_text or None, **style)
    # PyMuPDF cannot redraw a redaction with overlay text and an opacity: /CA goes in last.
    plain = dataclasses.replace(record, opacity=None)
    annot = finish(canvas, annot, plain, contents=record.note, stroke=record.outline_color)
    if record.opacity is not None and record.opacity < 1:
        canvas.fitz.xref_set_key(annot.xref, "CA", f"{record.opacity:g}")
    return annot


def _write_unknown(canvas: Canvas, page: Any, record: UnknownAnnotation) -> Any:
    # An annotation kind Lamina does not model (Caret, FileAttachment, Sound, ...): the same
    # PDF subtype again, with its place, text and colour, and the appearance MuPDF draws.
    subtype = record.custom_data.get("pdfSubtype") if isinstance(record.custom_data, dict) else None
    code = mupdf.pdf_annot_type_from_string(str(subtype)) if subtype else -1
    if code < 0 or code in (mupdf.PDF_ANNOT_WIDGET, mupdf.PDF_ANNOT_POPUP, mupdf.PDF_ANNOT_LINK):
        raise ValueError(f"pdf subtype {subtype!r} cannot be written")
    created = mupdf.pdf_create_annot(page._pdf_page(), code)
    annot = page.load_annot(mupdf.pdf_to_num(mupdf.pdf_annot_obj(created)))
    annot.set_rect(fitz_rect(record.bbox))
    color = record.extra.get("color")
    return finish(
        canvas,
        annot,
        record,
        contents=record.note,
        stroke=color if isinstance(color, str) else None,
        keep_rect=True,
    )


_BUILDERS: dict[type, Callable[[Canvas, Any, Any], Any]] = {
    RectangleAnnotation: _write_shape,
    EllipseAnnotation: _write_shape,
    LineAnnotation: _write_line,
    PolygonAnnotation: _write_poly,
    PolylineAnnotation: _write_poly,
    InkAnnotation: _write_ink,
    TextAnnotation: write_text,
    NoteAnnotation: _write_note,
    CommentMarkerAnnotation: _write_comment_marker,
    StampAnnotation: write_stamp,
    ImageAnnotation: write_image,
    LinkAnnotation: write_link,
    UnknownAnnotation: _write_unknown,
}
for _cls in MarkupAnnotation.__subclasses__():
    _BUILDERS[_cls] = _write_markup
_BUILDERS[RedactionAnnotation] = _write_redaction
_BUILDERS.pop(WidgetAnnotation, None)
