"""Read an XFDF file into records (the mapping is in :mod:`lamina.pdf.xfdf`)."""

from __future__ import annotations

import base64
import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from lamina.model.ids import RecordId, new_record_id
from lamina.model.instant_json import InstantDocument, PdfId, document_from_records
from lamina.model.records import (
    Annotation,
    Comment,
    CommentMarkerAnnotation,
    EllipseAnnotation,
    FormField,
    HighlightAnnotation,
    InkAnnotation,
    InkLines,
    LineAnnotation,
    LinkAnnotation,
    NoteAnnotation,
    PolygonAnnotation,
    PolylineAnnotation,
    Record,
    RectangleAnnotation,
    RedactionAnnotation,
    SquigglyAnnotation,
    StampAnnotation,
    StrikeOutAnnotation,
    Text,
    TextAnnotation,
    UnderlineAnnotation,
    UnknownAnnotation,
)
from lamina.pdf.annotations import UNKNOWN_TYPE
from lamina.pdf.errors import XfdfError
from lamina.pdf.geometry import PageGeometry
from lamina.pdf.xfdf import vocabulary as v
from lamina.pdf.xfdf.element import Element, child_text
from lamina.pdf.xfdf.fields import field_kinds, read_fields
from lamina.pdf.xfdf.markup import (
    DEFAULT_BODY_ATTRIBUTES,
    XFDF_NS,
    XML_NS,
    body_content,
    local_name,
    parse_xml,
    plain_text,
    same_text,
    serialize,
    split_tag,
)

T = TypeVar("T")
R = TypeVar("R", bound=Record)

MARKUP_ELEMENTS: dict[str, type[Annotation]] = {
    "highlight": HighlightAnnotation,
    "underline": UnderlineAnnotation,
    "strikeout": StrikeOutAnnotation,
    "squiggly": SquigglyAnnotation,
}
PDF_SUBTYPES = {
    "caret": "Caret",
    "fileattachment": "FileAttachment",
    "sound": "Sound",
    "projection": "Projection",
    "movie": "Movie",
    "3d": "3D",
}
"""XFDF elements read as ``pspdfkit/unknown`` with ``customData.pdfSubtype`` (as from a PDF)."""


@dataclass(frozen=True)
class XfdfContent:
    """What an XFDF file holds, as records.

    Attributes:
        records: annotations, comments and form field values, in the file's order.
        pdf_name: the ``<f href>`` of the PDF the file was made for, if given.
        pdf_id: the ``<ids>`` of that PDF as Instant JSON's ``pdfId``, if given.
        not_kept: one line for each thing in the file that no record keeps.
    """

    records: tuple[Record, ...]
    pdf_name: str | None = None
    pdf_id: PdfId | None = None
    not_kept: tuple[str, ...] = ()

    @property
    def document(self) -> InstantDocument:
        """The records as an Instant JSON document (new records: no ``pdfObjectId``)."""
        return document_from_records(self.records, pdf_id=self.pdf_id)


def xfdf_to_records(
    data: bytes | str,
    pages: Sequence[v.PageSize],
    *,
    form_fields: Iterable[FormField] = (),
) -> XfdfContent:
    """Read XFDF into records.

    Args:
        data: the XFDF file's bytes.
        pages: every page of the PDF the annotations go on, in order: its
            :class:`~lamina.pdf.geometry.PageGeometry` (``PdfDocument.page_geometry``), or
            ``(width, height)`` for a page whose boxes start at 0, 0. XFDF ``rect`` is in PDF
            user space (origin bottom-left, y up); records use Instant space.
        form_fields: the PDF's form fields, when known: a check box's value then reads as a
            list (``[]`` for ``Off``), a radio button's as one string or None, a list box's
            as a list. Without them one ``<value>`` reads as a string, several as a list.

    Raises:
        XfdfError: not well-formed or hostile XML, not XFDF, an annotation on a page the PDF
            does not have (the message names it), or without ``page``/``rect``.
    """
    root = parse_xml(data)
    ns, name = split_tag(root.tag)
    if name != "xfdf" or ns not in ("", XFDF_NS):
        raise XfdfError(f"not xfdf: the root element is <{name}>, not <xfdf>")
    reader = _Reader(v.page_geometries(pages), field_kinds({f.name: f.type for f in form_fields}))
    for key in root.attrib:
        if key != f"{{{XML_NS}}}space":
            reader.not_kept.append(f"attribute {split_tag(key)[1]!r} of <xfdf>")
    annots = [c for c in root if local_name(c) == "annots"]
    reader.check_pages([a for group in annots for a in group if local_name(a) != "popup"])
    for child in root:
        reader.read_top(child)
    return reader.finish()


class _Reader:
    def __init__(self, pages: list[PageGeometry], kinds: dict[str, str]) -> None:
        self.pages = pages
        self.kinds = kinds
        self.records: list[Record] = []
        self.not_kept: list[str] = []
        self.pdf_name: str | None = None
        self.pdf_id: PdfId | None = None
        self.ids: set[str] = set()
        self.reply_to: dict[str, str] = {}

    # -- the file ---------------------------------------------------------------------

    def check_pages(self, annotations: list[ET.Element]) -> None:
        past = []
        for index, elem in enumerate(annotations):
            raw = elem.get("page")
            if raw is None:
                raise XfdfError(f"xfdf annotation {_label(elem, index)} has no page")
            try:
                page = int(raw)
            except ValueError:
                raise XfdfError(
                    f"xfdf annotation {_label(elem, index)} has page={raw!r}, not a page number"
                ) from None
            if not 0 <= page < len(self.pages):
                past.append((index, elem, raw))
        if past:
            index, elem, raw = past[0]
            more = f"; {len(past) - 1} more annotations are past the end too" if past[1:] else ""
            raise XfdfError(
                f"xfdf annotation {_label(elem, index)} is on page={raw} (counted from 0), but "
                f"the pdf has {len(self.pages)} page{'s' if len(self.pages) != 1 else ''}{more}"
            )

    def read_top(self, child: ET.Element) -> None:
        name = local_name(child)
        if name == "annots":
            for index, elem in enumerate(child):
                if local_name(elem) == "popup":  # a popup belongs inside its annotation
                    self.not_kept.append(f"xfdf annotation {_label(elem, index)} alone")
                else:
                    self.records.append(self.read_annotation(elem, index))
        elif name == "fields":
            self.records.extend(read_fields(child, self.kinds, self.not_kept))
        elif name == "f":
            self.pdf_name = child.get("href")
            self.note_unread(child, {"href"}, "<f>")
        elif name == "ids":
            self.read_ids(child)
        else:
            self.not_kept.append(f"<{name}> of <xfdf>")

    def read_ids(self, elem: ET.Element) -> None:
        try:
            permanent, changing = (bytes.fromhex(elem.get(k, "")) for k in ("original", "modified"))
        except ValueError:
            self.not_kept.append("<ids>: original and modified are not hexadecimal")
            return
        self.pdf_id = PdfId(
            base64.b64encode(permanent).decode("ascii"), base64.b64encode(changing).decode("ascii")
        )
        self.note_unread(elem, {"original", "modified"}, "<ids>")

    def note_unread(self, elem: ET.Element, known: set[str], where: str) -> None:
        for key in elem.attrib:
            if key not in known:
                self.not_kept.append(f"attribute {split_tag(key)[1]!r} of {where}")
        for child in elem:
            self.not_kept.append(f"<{local_name(child)}> in {where}")

    def finish(self) -> XfdfContent:
        by_id = {r.id: r for r in self.records}
        roots: set[str] = set()
        records = []
        for record in self.records:
            if isinstance(record, Comment):
                record = self.link_reply(record, by_id)
                roots.add(record.root_id)
            records.append(record)
        records = [
            dataclasses.replace(r, is_comment_thread_root=True)
            if isinstance(r, Annotation) and r.id in roots
            else r
            for r in records
        ]
        return XfdfContent(tuple(records), self.pdf_name, self.pdf_id, tuple(self.not_kept))

    def link_reply(self, comment: Comment, by_id: dict[RecordId, Record]) -> Comment:
        # Instant comments hang off the thread's root annotation, never off another comment
        # (spec §1.6), so a reply to a reply climbs to the first non-comment.
        parent = self.reply_to[comment.id]
        seen: set[str] = {comment.id}
        root = parent
        while isinstance(by_id.get(RecordId(root)), Comment) and root not in seen:
            seen.add(root)
            root = self.reply_to.get(root, root)
        extra = dict(comment.extra)
        if root != parent:
            xfdf = dict(extra.get(v.EXTRA_KEY, {}))
            xfdf["attributes"] = {**xfdf.get("attributes", {}), "inreplyto": parent}
            extra[v.EXTRA_KEY] = xfdf
        return dataclasses.replace(comment, root_id=RecordId(root), extra=extra)

    # -- annotations ------------------------------------------------------------------

    def read_annotation(self, elem: ET.Element, index: int) -> Record:
        el = Element(elem, _label(elem, index))
        if el.tag == "text":
            reply_type = (el.pending.get("replyType") or "").lower()
            if el.pending.get("inreplyto") and reply_type != "group":
                return self.read_comment(el)
        page = int(el.take("page") or 0)  # checked by check_pages
        geometry = self.pages[page]
        common = self.common(el, page, geometry)
        reader = _READERS.get(el.tag, _Reader.read_unknown)
        return reader(self, el, geometry, common)

    def common(self, el: Element, page: int, geometry: PageGeometry) -> dict[str, Any]:
        raw_rect = el.take("rect")
        try:
            bbox = v.instant_rect(geometry, v.parse_numbers(raw_rect or "", 4))
        except ValueError:
            raise XfdfError(
                f"xfdf annotation {el.label} has rect={raw_rect!r}, not 4 numbers"
            ) from None
        name = el.take("name")
        out: dict[str, Any] = {"page_index": page, "bbox": bbox, "id": self.new_id(el, name)}
        if name is not None:
            out["name"] = name
        out.update(self.authorship(el))
        out["subject"] = el.take("subject")
        out["opacity"] = el.mapped("opacity", v.parse_number)
        out["flags"] = el.mapped("flags", v.parse_flags) if "flags" in el.pending else v.NO_FLAGS
        return out

    def authorship(self, el: Element) -> dict[str, Any]:
        return {
            "creator_name": el.take("title"),
            "created_at": el.mapped("creationdate", v.parse_date),
            "updated_at": el.mapped("date", v.parse_date),
        }

    def new_id(self, el: Element, name: str | None) -> RecordId:
        if name is not None and name not in self.ids:
            self.ids.add(name)
            return RecordId(name)
        record_id = new_record_id()
        if name is not None:
            self.not_kept.append(
                f"xfdf annotation {el.label}: its name is used twice, so it gets id {record_id}"
            )
        return record_id

    def build(self, cls: type[R], el: Element, fields: dict[str, Any]) -> R:
        extra = dict(fields.pop("extra", {}))
        leftovers = el.leftovers()
        if leftovers:
            extra[v.EXTRA_KEY] = leftovers
        return cls(**{k: x for k, x in fields.items() if x is not None}, extra=extra)

    def keep_popup_and_appearance(self, el: Element) -> None:
        popup = el.child("popup")
        if popup is not None:
            # Its page is the annotation's; written from the record so it follows a move.
            el.extra["popup"] = {k: x for k, x in popup.attrib.items() if k != "page"}
            for child in popup:
                self.not_kept.append(
                    f"xfdf annotation {el.label}: <{local_name(child)}> of <popup>"
                )
        appearance = el.child("appearance")
        if appearance is not None:
            el.extra["appearance"] = "".join((appearance.text or "").split())

    def rich_and_plain(self, el: Element) -> tuple[str | None, ET.Element | None]:
        plain_elem = el.child("contents")
        rich_elem = el.child("contents-richtext")
        plain = (plain_elem.text or "") if plain_elem is not None else None
        body = next(iter(rich_elem), None) if rich_elem is not None else None
        if rich_elem is not None and body is None and plain is None:
            plain = rich_elem.text or ""
        return plain, body

    def text(self, el: Element) -> Text | None:
        """Read ``contents``/``contents-richtext`` for a type whose text may be XHTML."""
        plain, body = self.rich_and_plain(el)
        if body is not None:
            if plain is not None and not same_text(plain, plain_text(body)):
                self.not_kept.append(
                    f"xfdf annotation {el.label}: <contents> differs from its rich text, "
                    "which is kept"
                )
            if dict(body.attrib) != DEFAULT_BODY_ATTRIBUTES:
                el.extra["richTextBody"] = dict(body.attrib)
            return Text(body_content(body), "xhtml")
        return None if plain is None else Text(plain)

    def note(self, el: Element) -> str | None:
        """Read the plain text of a type whose text is plain; its rich text is kept aside."""
        plain, body = self.rich_and_plain(el)
        if body is not None:
            el.extra["richText"] = serialize(body)
            return plain if plain is not None else plain_text(body)
        return plain

    def read_comment(self, el: Element) -> Comment:
        page = int(el.take("page") or 0)
        name = el.take("name")
        record_id = self.new_id(el, name)
        self.reply_to[record_id] = el.take("inreplyto") or ""
        fields = self.authorship(el)
        self.keep_popup_and_appearance(el)
        fields.update(id=record_id, root_id=RecordId(""), page_index=page)
        fields["text"] = self.text(el) or Text("")
        return self.build(Comment, el, fields)

    def read_text(self, el: Element, geometry: PageGeometry, common: dict[str, Any]) -> Record:
        common["color"] = el.mapped("color", v.parse_color)
        common["icon"] = el.mapped("icon", v.parse_note_icon, v.render_note_icon)
        self.keep_popup_and_appearance(el)
        if el.pending.get("IT") == v.COMMENT_MARKER_INTENT:
            el.take("IT")
            common["text"] = self.text(el)
            return self.build(CommentMarkerAnnotation, el, common)
        common["text"] = Text(self.note(el) or "")
        return self.build(NoteAnnotation, el, common)

    def shape(self, el: Element, common: dict[str, Any], inset: bool) -> dict[str, Any]:
        common["note"] = self.note(el)
        common["stroke_color"] = el.mapped("color", v.parse_color)
        common["fill_color"] = el.mapped("interior-color", v.parse_color)
        common["stroke_width"] = el.mapped("width", v.parse_number)
        style = el.pending.get("style")
        dashes = el.mapped("dashes", v.parse_numbers)
        if dashes or style == "dash":
            common["stroke_dash_array"] = dashes or [3.0]  # /D defaults to [3]
            if style == "dash":
                el.take("style")
        if style == "cloudy" and "intensity" in el.pending:
            common["cloudy_border_intensity"] = el.mapped("intensity", v.parse_number)
            if common["cloudy_border_intensity"] is not None:
                el.take("style")
            if inset and "fringe" in el.pending:
                common["cloudy_border_inset"] = el.mapped("fringe", _four)
        self.keep_popup_and_appearance(el)
        return common

    def read_square(self, el: Element, geometry: PageGeometry, common: dict[str, Any]) -> Record:
        cls = RectangleAnnotation if el.tag == "square" else EllipseAnnotation
        return self.build(cls, el, self.shape(el, common, inset=True))

    def read_line(self, el: Element, geometry: PageGeometry, common: dict[str, Any]) -> Record:
        fields = self.shape(el, common, inset=False)
        for key, attr in (("start_point", "start"), ("end_point", "end")):
            point = el.mapped(attr, lambda t: v.parse_numbers(t, 2))
            if point is not None:
                fields[key] = v.instant_point(geometry, *point)
        fields["line_caps"] = self.caps(el)
        return self.build(LineAnnotation, el, fields)

    def caps(self, el: Element) -> dict[str, str] | None:
        caps = {}
        for key, attr in (("start", "head"), ("end", "tail")):
            cap = el.mapped(attr, v.parse_cap, v.render_cap)
            if cap:
                caps[key] = cap
        return caps or None

    def read_poly(self, el: Element, geometry: PageGeometry, common: dict[str, Any]) -> Record:
        fields = self.shape(el, common, inset=False)
        vertices = el.child("vertices")
        if vertices is not None:
            try:
                fields["points"] = v.parse_points(geometry, vertices.text or "")
            except ValueError:
                el.children.append(vertices)
        if el.tag == "polyline":
            fields["line_caps"] = self.caps(el)
            return self.build(PolylineAnnotation, el, fields)
        if fields.get("cloudy_border_intensity") and el.pending.get("IT") == "PolygonCloud":
            el.take("IT")  # written again for every cloudy polygon
        return self.build(PolygonAnnotation, el, fields)

    def read_ink(self, el: Element, geometry: PageGeometry, common: dict[str, Any]) -> Record:
        common["note"] = self.note(el)
        common["stroke_color"] = el.mapped("color", v.parse_color)
        common["line_width"] = el.mapped("width", v.parse_number)
        inklist = el.child("inklist")
        if inklist is not None:
            try:
                strokes = [
                    [(p.x, p.y) for p in v.parse_points(geometry, g.text or "")]
                    for g in inklist
                    if local_name(g) == "gesture"
                ]
                common["lines"] = InkLines.from_strokes(strokes)
            except ValueError:
                el.children.append(inklist)
        self.keep_popup_and_appearance(el)
        return self.build(InkAnnotation, el, common)

    def read_markup(self, el: Element, geometry: PageGeometry, common: dict[str, Any]) -> Record:
        common["note"] = self.note(el)
        common["rects"] = el.mapped("coords", lambda t: v.parse_quads(geometry, t))
        if el.tag == "redact":
            common["outline_color"] = el.mapped("color", v.parse_color)
            common["fill_color"] = el.mapped("interior-color", v.parse_color)
            common["overlay_text"] = el.take("overlay-text")
            common["repeat_overlay_text"] = el.mapped(
                "overlay-text-repeat", v.parse_bool, v.render_bool
            )
            cls: type[Annotation] = RedactionAnnotation
        else:
            common["color"] = el.mapped("color", v.parse_color)
            cls = MARKUP_ELEMENTS[el.tag]
        self.keep_popup_and_appearance(el)
        return self.build(cls, el, common)

    def read_freetext(self, el: Element, geometry: PageGeometry, common: dict[str, Any]) -> Record:
        common["text"] = self.text(el) or Text("")
        common["background_color"] = el.mapped("color", v.parse_color)
        common["rotation"] = el.mapped("rotation", v.parse_integer)
        common["border_width"] = el.mapped("width", v.parse_number)
        common["border_style"] = el.mapped("style", v.parse_border_style, v.render_border_style)
        appearance = child_text(
            el, "defaultappearance", v.parse_default_appearance, v.render_default_appearance
        )
        style = child_text(el, "defaultstyle", v.parse_default_style, v.render_default_style)
        common["font"] = style.font
        common["font_size"] = style.font_size or appearance.font_size
        common["font_color"] = style.font_color or appearance.font_color
        common["border_color"] = appearance.border_color
        common["font_style"] = list(style.font_style) if style.font_style else None
        align = el.mapped("justification", v.parse_justification, v.render_justification)
        common["horizontal_align"] = align or style.horizontal_align
        raw_callout = el.take("callout")
        try:
            callout = v.parse_numbers(raw_callout) if raw_callout is not None else None
        except ValueError:
            callout = None
        if callout and len(callout) in (4, 6):
            points = [list(v.instant_point(geometry, *callout[i : i + 2])) for i in (0, 2, 4)]
            out: dict[str, Any] = {"start": points[0], "end": points[-1]}
            if len(callout) == 6:
                out["knee"] = points[1]
            cap = el.mapped("head", v.parse_cap, v.render_cap)
            if cap:
                out["cap"] = cap
            out["innerRectInset"] = el.mapped("fringe", _four) or [0, 0, 0, 0]
            common["callout"] = out
            if el.pending.get("IT") == "FreeTextCallout":
                el.take("IT")  # written again for every free text with a callout
        elif raw_callout is not None:
            el.kept["callout"] = raw_callout
        self.keep_popup_and_appearance(el)
        return self.build(TextAnnotation, el, common)

    def read_stamp(self, el: Element, geometry: PageGeometry, common: dict[str, Any]) -> Record:
        common["note"] = self.note(el)
        common["color"] = el.mapped("color", v.parse_color)
        common["rotation"] = el.mapped("rotation", v.parse_integer)
        icon = el.mapped("icon", v.parse_stamp_icon, v.render_stamp_icon)
        if icon is not None:
            common["stamp_type"], common["title"] = icon
        self.keep_popup_and_appearance(el)
        return self.build(StampAnnotation, el, common)

    def read_link(self, el: Element, geometry: PageGeometry, common: dict[str, Any]) -> Record:
        common["border_color"] = el.mapped("color", v.parse_color)
        common["border_width"] = el.mapped("width", v.parse_number)
        common["border_style"] = el.mapped("style", v.parse_border_style, v.render_border_style)
        activation = el.child("OnActivation")
        if activation is not None:
            common["action"] = v.parse_link_action(activation)
            if common["action"] is None:
                el.children.append(activation)
        self.keep_popup_and_appearance(el)
        return self.build(LinkAnnotation, el, common)

    def read_unknown(self, el: Element, geometry: PageGeometry, common: dict[str, Any]) -> Record:
        common["note"] = self.note(el)
        color = el.mapped("color", v.parse_color)
        common["extra"] = {"color": color} if color else {}
        subtype = PDF_SUBTYPES.get(el.tag, el.tag[:1].upper() + el.tag[1:])
        common["custom_data"] = {"pdfSubtype": subtype}
        if el.tag != "caret":  # a caret is written back from its pdfSubtype
            el.extra["element"] = el.tag
        self.keep_popup_and_appearance(el)
        return self.build(UnknownAnnotation, el, {**common, "unknown_type": UNKNOWN_TYPE})


def _label(elem: ET.Element, index: int) -> str:
    name = elem.get("name")
    tag = local_name(elem)
    return f"{name!r} (<{tag}>)" if name else f"<{tag}> number {index + 1} of <annots>"


def _four(text: str) -> list[float]:
    return v.parse_numbers(text, 4)


_READERS: dict[str, Callable[[_Reader, Element, PageGeometry, dict[str, Any]], Record]] = {
    "text": _Reader.read_text,
    "square": _Reader.read_square,
    "circle": _Reader.read_square,
    "line": _Reader.read_line,
    "polygon": _Reader.read_poly,
    "polyline": _Reader.read_poly,
    "ink": _Reader.read_ink,
    "freetext": _Reader.read_freetext,
    "stamp": _Reader.read_stamp,
    "link": _Reader.read_link,
    "redact": _Reader.read_markup,
    **{tag: _Reader.read_markup for tag in MARKUP_ELEMENTS},
}

__all__ = ["MARKUP_ELEMENTS", "PDF_SUBTYPES", "XfdfContent", "xfdf_to_records"]
