"""Add one record to a page as a PDF annotation, with the appearance stream MuPDF draws.

:func:`add_annotation` picks the builder of the record's type (shapes, lines, polygons,
markup, ink, free text, notes, stamps, images, links, carets); each makes the PyMuPDF
annotation and :func:`finish` sets what every annotation carries (author, dates, colours,
border, opacity, blend mode, flags, ``/NM``) and generates the appearance once. Widgets are
not built (form field values fill the existing widgets), nor are comments (the writer makes
them replies to their root).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import pymupdf
from lamina.model.geometry import Rect
from lamina.model.instant_json import Attachment
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
from lamina.pdf.geometry import PageGeometry
from lamina.pdf.link_builder import write_link
from lamina.pdf.stamp_images import IMAGE_INFO_KEY, IMAGE_STAMP_NAME
from lamina.pdf.values import (
    CAPS_TO_LINE_ENDS,
    NOTE_ICONS_TO_PDF,
    flags_to_pdf,
    hex_to_rgb,
    iso_to_pdf_date,
)
from pymupdf import mupdf

# PyMuPDF sets its constants at import time, which mypy cannot see.
_FITZ: Any = pymupdf

log = logging.getLogger(__name__)

_PYMUPDF_STAMPS = {
    "Approved": 0,
    "AsIs": 1,
    "Confidential": 2,
    "Departmental": 3,
    "Experimental": 4,
    "Expired": 5,
    "Final": 6,
    "ForComment": 7,
    "ForPublicRelease": 8,
    "NotApproved": 9,
    "NotForPublicRelease": 10,
    "Sold": 11,
    "TopSecret": 12,
    "Draft": 13,
}
_LINE_END_CODES = {
    "None": _FITZ.PDF_ANNOT_LE_NONE,
    "Square": _FITZ.PDF_ANNOT_LE_SQUARE,
    "Circle": _FITZ.PDF_ANNOT_LE_CIRCLE,
    "Diamond": _FITZ.PDF_ANNOT_LE_DIAMOND,
    "OpenArrow": _FITZ.PDF_ANNOT_LE_OPEN_ARROW,
    "ClosedArrow": _FITZ.PDF_ANNOT_LE_CLOSED_ARROW,
    "Butt": _FITZ.PDF_ANNOT_LE_BUTT,
    "ROpenArrow": _FITZ.PDF_ANNOT_LE_R_OPEN_ARROW,
    "RClosedArrow": _FITZ.PDF_ANNOT_LE_R_CLOSED_ARROW,
    "Slash": _FITZ.PDF_ANNOT_LE_SLASH,
}
_NAME_CONTENTS = mupdf.pdf_new_name("Contents")
_NAME_RECT = mupdf.pdf_new_name("Rect")
_NAME_NM = mupdf.pdf_new_name("NM")


_TAG = re.compile(r"<[^>]+>")


class Canvas(Protocol):
    """What a builder needs of the document being written."""

    @property
    def fitz(self) -> Any:
        """The PyMuPDF document."""

    @property
    def attachments(self) -> Mapping[str, Attachment]:
        """Image bytes by attachment id."""

    def geometry(self, index: int) -> PageGeometry:
        """Return the coordinate conversions of page ``index``."""


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


def finish(
    canvas: Canvas,
    annot: Any,
    record: Annotation,
    *,
    contents: str | None,
    stroke: str | None = None,
    fill: str | None = None,
    width: float | None = None,
    dashes: Any = None,
    keep_rect: bool = False,
) -> Any:
    """Set what every annotation carries, then generate its appearance once.

    ``keep_rect``: put the record's bbox back as ``/Rect`` after MuPDF drew the appearance.
    """
    info: dict[str, str] = {}
    if record.creator_name:
        info["title"] = record.creator_name
    if contents:
        info["content"] = contents
    if record.subject:
        info["subject"] = record.subject
    created = iso_to_pdf_date(record.created_at)
    updated = iso_to_pdf_date(record.updated_at) or created
    if created:
        info["creationDate"] = created
    if updated:
        info["modDate"] = updated
    if info:
        annot.set_info(**info)
    colors: dict[str, Any] = {}
    if stroke is not None:
        colors["stroke"] = hex_to_rgb(stroke) if stroke != NO_COLOR else []
    if fill is not None:
        colors["fill"] = hex_to_rgb(fill) if fill != NO_COLOR else []
    if colors:
        annot.set_colors(**colors)
    if dashes:
        # Written directly: PyMuPDF's set_border drops dash lengths that are not integers.
        numbers = " ".join(f"{float(d):g}" for d in dashes)
        canvas.fitz.xref_set_key(
            annot.xref,
            "BS",
            f"<</W {float(width if width is not None else 1):g}/S/D/D[{numbers}]>>",
        )
    elif width is not None:
        annot.set_border(width=width)
    if record.opacity is not None and record.opacity < 1:
        annot.set_opacity(record.opacity)
    if record.blend_mode:
        annot.set_blendmode(record.blend_mode[:1].upper() + record.blend_mode[1:])
    flags = flags_to_pdf(record.flags)
    if flags != 4:
        annot.set_flags(flags)
    _place_popup(annot, record)  # before drawing: moving a popup makes MuPDF redraw
    line_ends = getattr(annot, "line_ends", None)
    if line_ends and any(line_ends) and annot.type[0] != _FITZ.PDF_ANNOT_LINE:
        # PyMuPDF draws a polyline's or polygon's line ends a second time, misplaced, after
        # MuPDF drew them, and prints "cannot set rect" on the way (through its message
        # stream, silenced for this call only): keep MuPDF's drawing only.
        stream = _FITZ._g_out_message
        _FITZ._g_out_message = None
        try:
            annot.update()
        finally:
            _FITZ._g_out_message = stream
        _keep_first_block(canvas.fitz, annot.xref)
    else:
        annot.update()
    # Direct dictionary edits: PyMuPDF's xref_set_key parses a string for each call.
    obj = mupdf.pdf_annot_obj(annot.this)
    if not contents:
        # PyMuPDF fills in a default text for stamps ("Approved"); the record has none.
        mupdf.pdf_dict_del(obj, _NAME_CONTENTS)
    if keep_rect:
        # MuPDF resizes notes to their icon and stamps to their text when it draws them;
        # Instant's bbox wins. Viewers scale the appearance into /Rect.
        geometry = canvas.geometry(record.page_index)
        x0, y1 = geometry.instant_to_pdf_point((record.bbox.left, record.bbox.top))
        x1, y0 = geometry.instant_to_pdf_point((record.bbox.right, record.bbox.bottom))
        mupdf.pdf_dict_put_rect(obj, _NAME_RECT, mupdf.FzRect(x0, y0, x1, y1))
    mupdf.pdf_dict_put_text_string(obj, _NAME_NM, record.name or str(record.id))
    return annot


def _place_popup(annot: Any, record: Annotation) -> None:
    """Open a popup beside its annotation, inside the page (PyMuPDF puts every popup at one
    fixed spot near the top left corner)."""
    if annot.popup_xref == 0:
        return
    page = annot.parent.rect
    box = record.bbox
    width, height = min(200.0, page.width), min(100.0, page.height)
    x0 = box.right + 4 if box.right + 4 + width <= page.width else max(0.0, box.left - 4 - width)
    y0 = min(max(0.0, box.top), max(0.0, page.height - height))
    annot.set_popup(pymupdf.Rect(x0, y0, x0 + width, y0 + height))


def _keep_first_block(fitz_doc: Any, xref: int) -> None:
    kind, value = fitz_doc.xref_get_key(xref, "AP/N")
    if kind != "xref":
        return
    ap_xref = int(value.split()[0])
    stream = fitz_doc.xref_stream(ap_xref).decode("latin-1")
    head, found, _ = stream.partition("\nQ\n")
    if found:
        fitz_doc.update_stream(ap_xref, (head + found).encode("latin-1"))


def _fitz_rect(rect: Rect) -> Any:
    return pymupdf.Rect(rect.left, rect.top, rect.right, rect.bottom)


def _write_shape(canvas: Canvas, page: Any, record: Any) -> Any:
    # MuPDF grows the /Rect of a new square or circle by 1 pt and then keeps it while the
    # stroke is drawn inside it: shrinking by 1 pt first gives /Rect == bbox, as Instant means.
    bbox = record.bbox
    if bbox.width <= 0 or bbox.height <= 0:
        log.warning("%s %s has an empty bbox: nothing to draw, not written", record.type, record.id)
        return None
    rect = _fitz_rect(bbox.inflated(-1) if min(bbox.width, bbox.height) > 2 else bbox)
    if isinstance(record, RectangleAnnotation):
        annot = page.add_rect_annot(rect)
    else:
        annot = page.add_circle_annot(rect)
    return _finish_shape(canvas, annot, record)


def _finish_shape(canvas: Canvas, annot: Any, record: ShapeAnnotation) -> Any:
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
    )


def _line_ends(record: Any) -> tuple[int, int]:
    caps = record.line_caps if isinstance(record.line_caps, dict) else {}
    codes = []
    for key in ("start", "end"):
        name = CAPS_TO_LINE_ENDS.get(caps.get(key, ""), "None")
        codes.append(_LINE_END_CODES[name])
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
    quads = [_fitz_rect(r).quad for r in record.rects] or [_fitz_rect(record.bbox).quad]
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


# The base-14 families a free text can name (PyMuPDF's short names).
_FREE_TEXT_FONTS = {"Helvetica": "helv", "Courier": "cour", "Times": "tiro", "Arial": "helv"}


def _write_text(canvas: Canvas, page: Any, record: TextAnnotation) -> Any:
    font_color = hex_to_rgb(record.font_color) or (0, 0, 0)
    fill = hex_to_rgb(record.background_color) if record.background_color else None
    # PyMuPDF draws a border colour for rich text only; a plain one is drawn in the text
    # colour (the record keeps its borderColor in the private copy).
    border = None
    align = {"left": 0, "center": 1, "right": 2}.get(record.horizontal_align or "left", 0)
    annot = page.add_freetext_annot(
        _fitz_rect(record.bbox),
        record.text.value if record.text.format == "plain" else _strip_tags(record.text.value),
        fontsize=record.font_size or 12,
        text_color=font_color,
        fill_color=fill,
        border_color=border,
        border_width=record.border_width or 0,
        align=align,
        fontname=_FREE_TEXT_FONTS.get((record.font or "Helvetica").split("-")[0], "helv"),
        rotate=(record.rotation or 0) % 360 if (record.rotation or 0) % 90 == 0 else 0,
    )
    return finish(
        canvas,
        annot,
        record,
        # Rich text keeps its words in /Contents too: viewers without /RC show those.
        contents=record.text.value
        if record.text.format == "plain"
        else _strip_tags(record.text.value),
        keep_rect=True,
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
    quads = [_fitz_rect(r).quad for r in record.rects] or [_fitz_rect(record.bbox).quad]
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


def _write_stamp(canvas: Canvas, page: Any, record: StampAnnotation) -> Any:
    code = _PYMUPDF_STAMPS.get(record.stamp_type)
    annot = page.add_stamp_annot(_fitz_rect(record.bbox), stamp=code if code is not None else 0)
    annot = finish(
        canvas,
        annot,
        record,
        contents=record.note,
        stroke=record.color,
        keep_rect=True,
    )
    if code is None or record.subtitle:
        label = record.title or _STAMP_WORDS.get(record.stamp_type, record.stamp_type)
        _relabel_stamp(canvas.fitz, annot, label, record.subtitle)
        canvas.fitz.xref_set_key(annot.xref, "Name", _pdf_name(record.stamp_type, label))
    return annot


# The words standard stamps show (their names run the words together).
_STAMP_WORDS = {
    "Accepted": "Accepted",
    "AsIs": "As Is",
    "Completed": "Completed",
    "ForComment": "For Comment",
    "ForPublicRelease": "For Public Release",
    "InformationOnly": "Information Only",
    "InitialHere": "Initial Here",
    "NotApproved": "Not Approved",
    "NotForPublicRelease": "Not For Public Release",
    "PreliminaryResults": "Preliminary Results",
    "Rejected": "Rejected",
    "Revised": "Revised",
    "SignHere": "Sign Here",
    "TopSecret": "Top Secret",
    "Void": "Void",
    "Witness": "Witness",
}


def _write_image(canvas: Canvas, page: Any, record: ImageAnnotation) -> Any:
    attachment = canvas.attachments.get(record.image_attachment_id or "")
    if attachment is None:
        raise ValueError(f"attachment {record.image_attachment_id!r} is not in the document")
    annot = page.add_stamp_annot(_fitz_rect(record.bbox), stamp=attachment.data)
    annot = finish(
        canvas, annot, record, contents=record.note or record.description, keep_rect=True
    )
    # The name marks the stamp as Lamina's image (read back as pspdfkit/image); what /Contents
    # cannot hold beside the note goes in a private dictionary viewers ignore.
    canvas.fitz.xref_set_key(annot.xref, "Name", f"/{IMAGE_STAMP_NAME}")
    info = {"FileName": record.file_name, "Description": record.description}
    entries = " ".join(f"/{k} {pymupdf.get_pdf_str(v)}" for k, v in info.items() if v)
    if entries:
        canvas.fitz.xref_set_key(annot.xref, IMAGE_INFO_KEY, f"<<{entries}>>")
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
    annot.set_rect(_fitz_rect(record.bbox))
    color = record.extra.get("color")
    return finish(
        canvas,
        annot,
        record,
        contents=record.note,
        stroke=color if isinstance(color, str) else None,
        keep_rect=True,
    )


def _pdf_name(stamp_type: str, label: str) -> str:
    text = stamp_type if stamp_type != "Custom" else label
    safe = "".join(ch for ch in text if ch.isalnum())
    return f"/{safe or 'Custom'}"


def _relabel_stamp(fitz_doc: Any, annot: Any, label: str, subtitle: str | None = None) -> None:
    """Put ``label`` (and ``subtitle`` below it) in place of MuPDF's default stamp text,
    fitted to the stamp's box in both directions."""
    kind, value = fitz_doc.xref_get_key(annot.xref, "AP/N")
    if kind != "xref":
        return
    ap_xref = int(value.split()[0])
    text = label.upper() if label.replace(" ", "").isalpha() else label
    stream = fitz_doc.xref_stream(ap_xref).decode("latin-1")
    bbox_kind, bbox = fitz_doc.xref_get_key(ap_xref, "BBox")
    width, height = 190.0, 50.0
    if bbox_kind == "array":
        numbers = [float(v) for v in bbox.strip("[]").split()]
        width, height = numbers[2] - numbers[0], numbers[3] - numbers[1]
    unit = pymupdf.get_text_length(text, fontname="tibo", fontsize=1) or 1
    room = height - 12 if not subtitle else (height - 12) * 0.62
    size = max(4.0, min(30.0, (width - 12) / unit, room / 0.75))
    x = max(2.0, (width - unit * size) / 2)
    head, _, rest = stream.partition("BT")
    _, _, tail = rest.partition("ET")
    body = "BT\n"
    if subtitle:
        sub_unit = pymupdf.get_text_length(subtitle, fontname="tibo", fontsize=1) or 1
        sub_size = max(4.0, min(size * 0.5, (width - 12) / sub_unit))
        y = 6 + sub_size * 1.2
        body += f"/Times {size:.2f} Tf\n{x:.2f} {y:.2f} Td\n({_pdf_text(text)}) Tj\nET\nBT\n"
        sub_x = max(2.0, (width - sub_unit * sub_size) / 2)
        body += f"/Times {sub_size:.2f} Tf\n{sub_x:.2f} 6 Td\n({_pdf_text(subtitle)}) Tj\n"
    else:
        y = max(2.0, (height - size * 0.7) / 2)
        body += f"/Times {size:.2f} Tf\n{x:.2f} {y:.2f} Td\n({_pdf_text(text)}) Tj\n"
    fitz_doc.update_stream(ap_xref, (head + body + "ET" + tail).encode("latin-1", "replace"))


def _pdf_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _strip_tags(xhtml: str) -> str:
    return _TAG.sub("", xhtml)


_BUILDERS: dict[type, Callable[[Canvas, Any, Any], Any]] = {
    RectangleAnnotation: _write_shape,
    EllipseAnnotation: _write_shape,
    LineAnnotation: _write_line,
    PolygonAnnotation: _write_poly,
    PolylineAnnotation: _write_poly,
    InkAnnotation: _write_ink,
    TextAnnotation: _write_text,
    NoteAnnotation: _write_note,
    CommentMarkerAnnotation: _write_comment_marker,
    StampAnnotation: _write_stamp,
    ImageAnnotation: _write_image,
    LinkAnnotation: write_link,
    UnknownAnnotation: _write_unknown,
}
for _cls in MarkupAnnotation.__subclasses__():
    _BUILDERS[_cls] = _write_markup
_BUILDERS[RedactionAnnotation] = _write_redaction
_BUILDERS.pop(WidgetAnnotation, None)
