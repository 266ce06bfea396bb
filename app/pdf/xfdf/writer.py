"""Write records as XFDF that Acrobat reads (the mapping is in :mod:`lamina.pdf.xfdf`)."""

from __future__ import annotations

import base64
import dataclasses
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from lamina.model.geometry import Rect
from lamina.model.ids import RecordId
from lamina.model.instant_json import PdfId
from lamina.model.records import (
    Annotation,
    Comment,
    CommentMarkerAnnotation,
    EllipseAnnotation,
    FormField,
    FormFieldValue,
    InkAnnotation,
    LineAnnotation,
    LinkAnnotation,
    MarkupAnnotation,
    NoteAnnotation,
    PolygonAnnotation,
    PolylineAnnotation,
    Record,
    RectangleAnnotation,
    RedactionAnnotation,
    ShapeAnnotation,
    StampAnnotation,
    Text,
    TextAnnotation,
    UnknownAnnotation,
)
from lamina.pdf.errors import XfdfError
from lamina.pdf.geometry import PageGeometry
from lamina.pdf.xfdf import vocabulary as v
from lamina.pdf.xfdf.fields import field_kinds, write_fields
from lamina.pdf.xfdf.losses import (
    NOT_XFDF,
    WRITTEN_FIELDS,
    record_label,
    unknown_element,
    unwritable,
    xfdf_export_losses,
)
from lamina.pdf.xfdf.markup import (
    XFDF_NS,
    XML_NS,
    parse_xml,
    plain_text,
    rich_body,
    same_text,
    serialize,
)
from lamina.pdf.xfdf.reader import MARKUP_ELEMENTS

T = TypeVar("T")

_ELEMENTS_OF_MARKUP = {cls: tag for tag, cls in MARKUP_ELEMENTS.items()}


def records_to_xfdf(
    records: Iterable[Record],
    pages: Sequence[v.PageSize],
    *,
    pdf_name: str | None = None,
    pdf_id: PdfId | None = None,
    skip_unwritable: bool = False,
) -> bytes:
    """Write records as an XFDF file (UTF-8), as Acrobat writes one.

    Args:
        records: annotations, comments and form field values (form field records tell the
            kind of a field; widgets, field definitions and bookmarks are not written).
        pages: every page of the PDF, as for :func:`~lamina.pdf.xfdf.xfdf_to_records`.
        pdf_name: the PDF's file name, written as ``<f href>`` (Acrobat offers to open it).
        pdf_id: the PDF's ``/ID`` (``PdfDocument.pdf_id``), written as ``<ids>``.
        skip_unwritable: leave out the records that cannot be written instead of failing;
            tell the user which first, with :func:`xfdf_export_losses`.

    What XFDF cannot carry is listed by :func:`xfdf_export_losses`; call it to tell the user.

    Raises:
        XfdfError: a record cannot be written (an image, an annotation on a page the PDF
            does not have, rich text that is not XML, a character XML cannot hold, ...); the
            message names the record.
    """
    records = list(records)
    out = _Writer(records, v.page_geometries(pages))
    root = ET.Element(f"{{{XFDF_NS}}}xfdf", {f"{{{XML_NS}}}space": "preserve"})
    annots = ET.Element("annots")
    values = []
    for record in records:
        try:
            if isinstance(record, FormFieldValue):
                serialize(write_fields([record], out.kinds), XFDF_NS)  # fails here, named
                values.append(record)
            elif isinstance(record, Annotation | Comment) and not isinstance(record, NOT_XFDF):
                elem = out.element(record)
                serialize(elem, XFDF_NS)
                annots.append(elem)
        except (ValueError, XfdfError) as exc:
            if not skip_unwritable:
                raise XfdfError(
                    f"{record_label(record)} cannot be written as xfdf: {exc}"
                ) from None
    if len(annots):
        root.append(annots)
    if values:
        root.append(write_fields(values, out.kinds))
    if pdf_name is not None:
        ET.SubElement(root, "f", {"href": pdf_name})
    if pdf_id is not None:
        ET.SubElement(
            root, "ids", {"original": _hex(pdf_id.permanent), "modified": _hex(pdf_id.changing)}
        )
    try:
        text = serialize(root)
    except ValueError as exc:  # only the file's name is left unchecked
        raise XfdfError(f"xfdf cannot be written: the pdf name: {exc}") from None
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{text}\n'.encode()


# -- the writer ---------------------------------------------------------------------------


class _Out:
    """One element being written; the record's leftover XFDF goes back in at the end."""

    def __init__(self, tag: str, record: Record) -> None:
        self.elem = ET.Element(tag)
        left = record.extra.get(v.EXTRA_KEY)
        self.left: Mapping[str, Any] = left if isinstance(left, dict) else {}
        attributes = self.left.get("attributes")
        self.pending = {str(k): str(x) for k, x in (attributes or {}).items()}
        self.children: list[ET.Element] = []

    def set(self, name: str, text: str | None) -> None:
        self.pending.pop(name, None)
        if text is not None:
            self.elem.set(name, text)

    def mapped(
        self,
        name: str,
        current: T | None,
        parse: Callable[[str], T],
        render: Callable[[T], str | None],
    ) -> None:
        """Write ``current``; the file's own text when it still reads as ``current``."""
        raw = self.pending.pop(name, None)
        if raw is not None:
            try:
                same = parse(raw) == current
            except ValueError:
                same = current is None
            if same:
                self.elem.set(name, raw)
                return
        text = render(current) if current is not None else None
        if text is not None:
            self.elem.set(name, text)

    def child(self, name: str, text: str | None) -> ET.Element:
        elem = ET.Element(name)
        elem.text = text
        self.children.append(elem)
        return elem

    def kept_text(
        self, name: str, current: T, parse: Callable[[str], T], render: Callable[[T], str | None]
    ) -> None:
        """Write a child's text: the file's own when it still reads as ``current``."""
        raw = (self.left.get("texts") or {}).get(name)
        text = raw if isinstance(raw, str) and parse(raw) == current else render(current)
        if text is not None:
            self.child(name, text)

    def finish(self, page: int) -> ET.Element:
        for name, text in self.pending.items():
            if name not in self.elem.attrib:
                self.elem.set(name, text)
        self.elem.extend(self.children)
        popup = self.left.get("popup")
        if isinstance(popup, dict):
            ET.SubElement(
                self.elem,
                "popup",
                {**{str(k): str(x) for k, x in popup.items()}, "page": str(page)},
            )
        appearance = self.left.get("appearance")
        if isinstance(appearance, str) and appearance:
            ET.SubElement(self.elem, "appearance").text = "\n".join(textwrap.wrap(appearance, 76))
        for text in self.left.get("elements") or ():
            wrapper = parse_xml(f'<w xmlns="{XFDF_NS}">{text}</w>', "kept xfdf")
            self.elem.extend(list(wrapper))
        return self.elem


class _Writer:
    def __init__(self, records: list[Record], pages: list[PageGeometry]) -> None:
        self.pages = pages
        self.by_id = {r.id: r for r in records if isinstance(r, Annotation | Comment)}
        self.names = {
            r.id: (r.name or r.id) if isinstance(r, Annotation) else r.id
            for r in self.by_id.values()
        }
        self.kinds = field_kinds({r.name: r.type for r in records if isinstance(r, FormField)})

    def geometry(self, record: Annotation | Comment, page: int) -> PageGeometry:
        if not 0 <= page < len(self.pages):
            count = len(self.pages)
            pages = f"{count} page{'s' if count != 1 else ''}"
            raise ValueError(f"it is on page index {page}, but the pdf has {pages}")
        return self.pages[page]

    def element(self, record: Annotation | Comment) -> ET.Element:
        reason = unwritable(record)
        if reason:
            raise ValueError(reason)
        if isinstance(record, Comment):
            return self.comment(record)
        geometry = self.geometry(record, record.page_index)
        tag, write = _TAGS[type(record)]
        if isinstance(record, UnknownAnnotation):
            tag = unknown_element(record) or tag
        out = _Out(tag, record)
        self.common(out, record, geometry)
        write(self, out, record, geometry)
        return out.finish(record.page_index)

    def common(self, out: _Out, record: Annotation, geometry: PageGeometry) -> None:
        out.set("page", str(record.page_index))
        out.set("rect", v.render_rect(geometry, record.bbox))
        out.set("name", self.names[record.id])
        self.authorship(out, record)
        out.set("subject", record.subject)
        out.mapped("opacity", record.opacity, v.parse_number, v.render_number)
        raw_flags = out.pending.pop("flags", None)
        flags = v.render_flags(record.flags)
        try:
            keep = raw_flags is not None and v.parse_flags(raw_flags) == (record.flags or None)
        except ValueError:
            keep = record.flags is None
        out.set("flags", raw_flags if keep else flags)

    def authorship(self, out: _Out, record: Annotation | Comment) -> None:
        out.set("title", record.creator_name)
        out.mapped("creationdate", record.created_at, v.parse_date, v.render_date)
        out.mapped("date", record.updated_at, v.parse_date, v.render_date)

    def text(self, out: _Out, text: Text | None) -> None:
        if text is None:
            return
        if text.format != "xhtml":
            if text.value:
                out.child("contents", text.value)
            return
        try:
            attributes = out.left.get("richTextBody")
            body = rich_body(text.value, attributes if isinstance(attributes, dict) else None)
        except XfdfError as exc:
            raise ValueError(str(exc)) from None
        out.child("contents", plain_text(body))
        out.child("contents-richtext", None).append(body)

    def note(self, out: _Out, note: str | None) -> None:
        if note is None:
            return
        out.child("contents", note)
        rich = out.left.get("richText")
        if isinstance(rich, str):
            body = rich_body(rich)
            if same_text(plain_text(body), note):
                out.child("contents-richtext", None).append(body)

    def comment(self, record: Comment) -> ET.Element:
        root = self.by_id.get(record.root_id)
        page = record.page_index
        if page is None:
            page = root.page_index if isinstance(root, Annotation) else 0
        geometry = self.geometry(record, page)
        out = _Out("text", record)
        out.set("page", str(page))
        if "rect" not in out.pending:
            anchor = root.bbox if isinstance(root, Annotation) else Rect(0, 0, 0, 0)
            out.set("rect", v.render_rect(geometry, Rect(anchor.left, anchor.top, 20, 20)))
        out.set("name", record.id)
        parent = out.pending.pop("inreplyto", None)
        via = self.by_id.get(RecordId(parent)) if parent else None
        if not (isinstance(via, Comment) and via.root_id == record.root_id):
            parent = self.names.get(record.root_id, record.root_id)
        out.set("inreplyto", parent)
        if "icon" not in out.pending:
            out.set("icon", "Comment")
        self.authorship(out, record)
        self.text(out, record.text)
        return out.finish(page)

    def write_note(self, out: _Out, record: NoteAnnotation, geometry: PageGeometry) -> None:
        out.mapped("color", record.color, v.parse_color, v.render_color)
        out.mapped("icon", record.icon, v.parse_note_icon, v.render_note_icon)
        if record.text.format == "xhtml":
            self.text(out, record.text)
        else:
            self.note(out, record.text.value)

    def write_marker(
        self, out: _Out, record: CommentMarkerAnnotation, geometry: PageGeometry
    ) -> None:
        out.set("IT", v.COMMENT_MARKER_INTENT)
        out.mapped("color", record.color, v.parse_color, v.render_color)
        out.mapped("icon", record.icon, v.parse_note_icon, v.render_note_icon)
        self.text(out, record.text)

    def write_shape(self, out: _Out, record: ShapeAnnotation, geometry: PageGeometry) -> None:
        self.note(out, record.note)
        out.mapped("color", record.stroke_color, v.parse_color, v.render_color)
        out.mapped("interior-color", record.fill_color, v.parse_color, v.render_color)
        out.mapped("width", record.stroke_width, v.parse_number, v.render_number)
        if record.cloudy_border_intensity is not None:
            out.set("style", "cloudy")
            out.mapped("intensity", record.cloudy_border_intensity, v.parse_number, v.render_number)
            inset = record.cloudy_border_inset
            if isinstance(record, RectangleAnnotation | EllipseAnnotation) and inset:
                out.set("fringe", v.render_numbers(inset))
        elif record.stroke_dash_array:
            out.set("style", "dash")
        dashes = list(record.stroke_dash_array) if record.stroke_dash_array else None
        out.mapped("dashes", dashes, v.parse_numbers, v.render_numbers)

    def write_line(self, out: _Out, record: LineAnnotation, geometry: PageGeometry) -> None:
        self.write_shape(out, record, geometry)
        out.set("start", v.render_numbers(v.pdf_point(geometry, record.start_point)))
        out.set("end", v.render_numbers(v.pdf_point(geometry, record.end_point)))
        self.caps(out, record.line_caps)

    def caps(self, out: _Out, line_caps: Any) -> None:
        caps = line_caps if isinstance(line_caps, dict) else {}
        out.mapped("head", caps.get("start"), v.parse_cap, v.render_cap)
        out.mapped("tail", caps.get("end"), v.parse_cap, v.render_cap)

    def write_poly(self, out: _Out, record: Any, geometry: PageGeometry) -> None:
        self.write_shape(out, record, geometry)
        if isinstance(record, PolylineAnnotation):
            self.caps(out, record.line_caps)
        elif record.cloudy_border_intensity and "IT" not in out.pending:
            out.set("IT", "PolygonCloud")  # Acrobat's cloud tool, so Acrobat edits it as one
        if record.points:
            out.child("vertices", v.render_points(geometry, record.points))

    def write_ink(self, out: _Out, record: InkAnnotation, geometry: PageGeometry) -> None:
        self.note(out, record.note)
        out.mapped("color", record.stroke_color, v.parse_color, v.render_color)
        out.mapped("width", record.line_width, v.parse_number, v.render_number)
        inklist = out.child("inklist", None)
        for stroke in record.lines.points:
            ET.SubElement(inklist, "gesture").text = v.render_points(geometry, stroke)

    def write_markup(self, out: _Out, record: MarkupAnnotation, geometry: PageGeometry) -> None:
        self.note(out, record.note)
        if isinstance(record, RedactionAnnotation):
            out.mapped("color", record.outline_color, v.parse_color, v.render_color)
            out.mapped("interior-color", record.fill_color, v.parse_color, v.render_color)
            out.set("overlay-text", record.overlay_text)
            out.mapped(
                "overlay-text-repeat", record.repeat_overlay_text, v.parse_bool, v.render_bool
            )
        else:
            out.mapped("color", record.color, v.parse_color, v.render_color)
        if record.rects:
            out.set("coords", v.render_quads(geometry, record.rects))

    def write_freetext(self, out: _Out, record: TextAnnotation, geometry: PageGeometry) -> None:
        out.mapped("color", record.background_color, v.parse_color, v.render_color)
        out.mapped("rotation", record.rotation, v.parse_integer, str)
        out.mapped("width", record.border_width, v.parse_number, v.render_number)
        out.mapped("style", record.border_style, v.parse_border_style, v.render_border_style)
        out.mapped(
            "justification", record.horizontal_align, v.parse_justification, v.render_justification
        )
        callout = record.callout if isinstance(record.callout, dict) else None
        if callout and callout.get("start") and callout.get("end"):
            points = [
                callout["start"],
                *([callout["knee"]] if callout.get("knee") else []),
                callout["end"],
            ]
            out.set("callout", ",".join(v.render_numbers(v.pdf_point(geometry, p)) for p in points))
            out.mapped("head", callout.get("cap"), v.parse_cap, v.render_cap)
            inset = callout.get("innerRectInset")
            if inset and any(inset):
                out.set("fringe", v.render_numbers(inset))
            if "IT" not in out.pending:
                out.set("IT", "FreeTextCallout")
        self.text(out, record.text)
        out.kept_text(
            "defaultappearance",
            v.DefaultAppearance(record.font_size, record.font_color, record.border_color),
            v.parse_default_appearance,
            v.render_default_appearance,
        )
        style = v.DefaultStyle(
            record.font,
            record.font_size,
            record.font_color,
            record.horizontal_align,
            tuple(record.font_style) if record.font_style else None,
        )
        out.kept_text("defaultstyle", style, _style_as_read(record), v.render_default_style)

    def write_stamp(self, out: _Out, record: StampAnnotation, geometry: PageGeometry) -> None:
        self.note(out, record.note)
        out.mapped("color", record.color, v.parse_color, v.render_color)
        out.mapped("rotation", record.rotation, v.parse_integer, str)
        out.mapped(
            "icon", (record.stamp_type, record.title), v.parse_stamp_icon, v.render_stamp_icon
        )

    def write_link(self, out: _Out, record: LinkAnnotation, geometry: PageGeometry) -> None:
        out.mapped("color", record.border_color, v.parse_color, v.render_color)
        out.mapped("width", record.border_width, v.parse_number, v.render_number)
        out.mapped("style", record.border_style, v.parse_border_style, v.render_border_style)
        activation = v.render_link_action(record.action)
        if activation is not None:
            out.children.append(activation)

    def write_unknown(self, out: _Out, record: UnknownAnnotation, geometry: PageGeometry) -> None:
        self.note(out, record.note)
        color = record.extra.get("color")
        out.mapped(
            "color", color if isinstance(color, str) else None, v.parse_color, v.render_color
        )


def _style_as_read(record: TextAnnotation) -> Callable[[str], v.DefaultStyle]:
    """Parse a kept ``/DS`` as the reader combines it with ``/DA``, to compare like with like."""

    def parse(text: str) -> v.DefaultStyle:
        style = v.parse_default_style(text)
        return dataclasses.replace(
            style,
            font_size=style.font_size or record.font_size,
            font_color=style.font_color or record.font_color,
            horizontal_align=style.horizontal_align or record.horizontal_align,
        )

    return parse


def _hex(value: str) -> str:
    return base64.b64decode(value).hex().upper()


_TAGS: dict[type, tuple[str, Callable[[_Writer, _Out, Any, PageGeometry], None]]] = {
    NoteAnnotation: ("text", _Writer.write_note),
    CommentMarkerAnnotation: ("text", _Writer.write_marker),
    RectangleAnnotation: ("square", _Writer.write_shape),
    EllipseAnnotation: ("circle", _Writer.write_shape),
    LineAnnotation: ("line", _Writer.write_line),
    PolygonAnnotation: ("polygon", _Writer.write_poly),
    PolylineAnnotation: ("polyline", _Writer.write_poly),
    InkAnnotation: ("ink", _Writer.write_ink),
    RedactionAnnotation: ("redact", _Writer.write_markup),
    TextAnnotation: ("freetext", _Writer.write_freetext),
    StampAnnotation: ("stamp", _Writer.write_stamp),
    LinkAnnotation: ("link", _Writer.write_link),
    UnknownAnnotation: ("caret", _Writer.write_unknown),
    **{cls: (tag, _Writer.write_markup) for cls, tag in _ELEMENTS_OF_MARKUP.items()},
}

__all__ = ["NOT_XFDF", "WRITTEN_FIELDS", "records_to_xfdf", "xfdf_export_losses"]
