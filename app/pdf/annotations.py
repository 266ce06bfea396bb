"""Read the annotations already in a PDF as records (the base layer, DESIGN §3).

Every annotation becomes the record Instant JSON has for it, with ``pdfObjectId`` (its object
number) and that number as its id; one Lamina wrote keeps the id its record had (a client's
ULID, see :mod:`lamina.pdf.private_data`), and replies name their root by that id. The
mapping:

- Text (sticky note) -> ``pspdfkit/note``; a note that replies to another annotation through
  ``/IRT`` (without ``/RT /Group``) -> ``pspdfkit/comment`` whose ``rootId`` is the parent.
- FreeText -> ``pspdfkit/text``; Line, Square, Circle, Polygon, PolyLine -> the shapes;
  Highlight, Underline, StrikeOut, Squiggly -> markup with one rect per quad; Ink -> ink;
  Stamp -> ``pspdfkit/stamp`` (standard names recognised, Acrobat's ``SB``/``SH`` prefixes
  too); a Stamp whose appearance draws one image -> ``pspdfkit/image`` when it is Lamina's
  (``/Name /LaminaImage``, or PyMuPDF's ``/ImageStamp``) or has no ``/Name`` (Acrobat's and
  Preview's image stamps): ``imageAttachmentId`` is the SHA-256 hex of the image bytes, which
  come back as the document's ``attachments`` (PNG or JPEG); named stamps stay stamps;
  Link -> ``pspdfkit/link`` with its action; Widget -> ``pspdfkit/widget`` plus one
  ``pspdfkit/form-field-value`` per field.
- Popup is not a record (its text is the parent's ``/Contents``).
- Any other kind (Caret, FileAttachment, Sound, ...) -> an annotation of type
  ``pspdfkit/unknown`` that keeps its place, dates, author, colour and text, and names the PDF
  subtype in ``customData.pdfSubtype``.

Common keys: ``/T`` -> ``creatorName``, ``/Contents`` -> ``note`` (``text`` for notes, free
text and comments), ``/CreationDate`` and ``/M`` -> ``createdAt``/``updatedAt`` (ISO 8601, UTC),
``/C`` -> the type's colour, ``/CA`` -> ``opacity``, ``/NM`` -> ``name``, ``/Subj`` ->
``subject``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import pymupdf
from lamina.model.geometry import Rect
from lamina.model.ids import RecordId, record_id_for_pdf_object
from lamina.model.instant_json import Attachment, InstantDocument, document_from_records
from lamina.model.records import (
    Comment,
    EllipseAnnotation,
    FormFieldValue,
    HighlightAnnotation,
    ImageAnnotation,
    InkAnnotation,
    InkLines,
    LineAnnotation,
    LinkAnnotation,
    MarkupAnnotation,
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
    WidgetAnnotation,
    form_field_value_id,
)
from lamina.pdf import annotation_keys as keys
from lamina.pdf.document import LockSlices, PdfDocument, serialized
from lamina.pdf.geometry import PageGeometry
from lamina.pdf.private_data import untouched_record, with_private
from lamina.pdf.stamp_images import IMAGE_INFO_KEY, IMAGE_STAMP_NAMES, stamp_image
from lamina.pdf.values import (
    BORDER_STYLES_FROM_PDF,
    NOTE_ICONS_FROM_PDF,
    flags_from_pdf,
    pdf_date_to_iso,
    rgb_to_hex,
    stamp_type_from_name,
)

log = logging.getLogger(__name__)

# PyMuPDF sets its constants at import time, which mypy cannot see.
_FITZ: Any = pymupdf

UNKNOWN_TYPE = "pspdfkit/unknown"
"""Instant JSON type of annotation kinds Lamina does not model."""

_MARKUP = {
    "Highlight": HighlightAnnotation,
    "Underline": UnderlineAnnotation,
    "StrikeOut": StrikeOutAnnotation,
    "Squiggly": SquigglyAnnotation,
}
_SKIPPED_SUBTYPES = {"Popup"}


def read_records(doc: PdfDocument) -> list[Record]:
    """Return every annotation, comment and form field value already in the PDF.

    Records keep ``pdfObjectId`` and use its string as id (or the id Lamina wrote them
    with). Annotations come page by page in
    the page's ``/Annots`` order, then comments, then form field values. The bytes of image
    annotations are not part of records: see :func:`read_records_and_attachments`.
    """
    return read_records_and_attachments(doc)[0]


def read_records_and_attachments(doc: PdfDocument) -> tuple[list[Record], dict[str, Attachment]]:
    """Return :func:`read_records` and the image attachments its image annotations name.

    Holds :data:`~lamina.pdf.document.MUPDF_LOCK` a few milliseconds at a time, so other
    threads' MuPDF calls get in while a big PDF is read.
    """
    with LockSlices() as slices:
        return _read_records_and_attachments(doc, slices)


def _read_records_and_attachments(
    doc: PdfDocument, slices: LockSlices
) -> tuple[list[Record], dict[str, Attachment]]:
    attachments: dict[str, Attachment] = {}
    annotations: list[Record] = []
    comments: list[Record] = []
    values: dict[str, FormFieldValue] = {}
    for page_index in range(doc.page_count):
        slices.breathe()
        page = doc.fitz_page(page_index)
        geometry = PageGeometry.from_fitz_page(page)
        links = {link.get("xref"): link for link in page.get_links()}
        widgets = (
            {w.xref: w for w in page.widgets()}
            if any(t == _FITZ.PDF_ANNOT_WIDGET for _, t, _ in page.annot_xrefs())
            else {}
        )
        for xref, subtype in _annotation_xrefs(doc, page):
            if subtype in _SKIPPED_SUBTYPES:
                continue
            slices.breathe()
            record = untouched_record(doc.fitz_document, xref, subtype, page_index)
            if record is None:
                try:
                    record = _read_one(
                        doc, page, page_index, geometry, xref, subtype, links, widgets, attachments
                    )
                except (RuntimeError, ValueError, TypeError, KeyError) as exc:
                    log.warning(
                        "annotation %d on page %d could not be read: %s", xref, page_index, exc
                    )
                    record = _unknown(doc, page_index, geometry, xref, subtype)
                record = with_private(doc.fitz_document, xref, record)
            record = _required_fields(record)
            record = _with_group(doc.fitz_document, xref, record)
            if isinstance(record, Comment):
                comments.append(record)
            else:
                annotations.append(record)
            if subtype == "Widget" and xref in widgets:
                value = _field_value(widgets[xref])
                if value is not None and value.name not in values:
                    values[value.name] = value
                elif value is not None and isinstance(value.value, list) and value.value:
                    # another widget of a radio group or of check boxes sharing a name: the
                    # value lists every widget that is on
                    before = values[value.name].value
                    merged = [*(before if isinstance(before, list) else []), *value.value]
                    values[value.name] = dataclasses.replace(
                        values[value.name], value=list(dict.fromkeys(merged))
                    )
    return [*_unique_ids(annotations, comments), *values.values()], attachments


def _unique_ids(annotations: list[Record], comments: list[Record]) -> list[Record]:
    """Make each id unique and point comments and groups at their root's id.

    An annotation Lamina wrote keeps the id its record had (:mod:`lamina.pdf.private_data`);
    ``/IRT`` names the root by object number, so a reply's ``rootId`` is mapped to that id.
    Should two annotations carry one id (a program copied the dictionary), the later one is
    known by its object number.
    """
    by_object: dict[str, str] = {}
    seen: set[str] = set()
    out: list[Record] = []
    for record in [*annotations, *comments]:
        own = str(record.pdf_object_id) if record.pdf_object_id is not None else None
        if str(record.id) in seen and own is not None:
            record = dataclasses.replace(record, id=record_id_for_pdf_object(int(own)))
        seen.add(str(record.id))
        if own is not None:
            by_object[own] = str(record.id)
        out.append(record)
    fixed: list[Record] = []
    for record in out:
        if isinstance(record, Comment) and str(record.root_id) in by_object:
            record = dataclasses.replace(record, root_id=RecordId(by_object[str(record.root_id)]))
        group = record.extra.get(GROUP_KEY) if not isinstance(record, Comment) else None
        if isinstance(group, str) and group in by_object:
            record = dataclasses.replace(
                record, extra={**record.extra, GROUP_KEY: by_object[group]}
            )
        fixed.append(record)
    return fixed


@serialized
def dump_instant_json(doc: PdfDocument) -> InstantDocument:
    """Return the PDF's annotations, comments, form fields and their values and images as
    Instant JSON."""
    from lamina.pdf.form_records import read_form_field_records  # reads widgets like this

    records, attachments = read_records_and_attachments(doc)
    fields = read_form_field_records(doc)
    return document_from_records([*records, *fields], attachments=attachments, pdf_id=doc.pdf_id)


# -- reading one annotation -------------------------------------------------------------


def _annotation_xrefs(doc: PdfDocument, page: Any) -> Iterator[tuple[int, str]]:
    fitz_doc = doc.fitz_document
    for xref, _, _ in page.annot_xrefs():
        kind, value = fitz_doc.xref_get_key(xref, "Subtype")
        yield xref, value.lstrip("/") if kind == "name" else ""


def _read_one(
    doc: PdfDocument,
    page: Any,
    page_index: int,
    geometry: PageGeometry,
    xref: int,
    subtype: str,
    links: dict[Any, dict[str, Any]],
    widgets: dict[int, Any],
    attachments: dict[str, Attachment],
) -> Record:
    fitz_doc = doc.fitz_document
    if subtype == "Link":
        return _link(doc, page_index, geometry, xref, links.get(xref))
    if subtype == "Widget":
        return _widget(doc, page_index, geometry, xref, widgets.get(xref))
    annot = page.load_annot(xref)
    if annot is None:
        return _unknown(doc, page_index, geometry, xref, subtype)
    common = _common(doc, page_index, geometry, xref, annot)
    contents = keys.contents(fitz_doc, xref)
    stroke = rgb_to_hex(annot.colors.get("stroke"))
    fill = rgb_to_hex(annot.colors.get("fill"))
    width = keys.border_width(annot)
    if subtype == "Text":
        irt = annot.irt_xref
        rt = fitz_doc.xref_get_key(xref, "RT")
        if irt and rt != ("name", "/Group"):
            return Comment(
                id=common["id"],
                pdf_object_id=xref,
                root_id=record_id_for_pdf_object(irt),
                page_index=page_index,
                text=Text(contents or ""),
                created_at=common.get("created_at"),
                updated_at=common.get("updated_at"),
                creator_name=common.get("creator_name"),
            )
        icon_name = keys.name_key(fitz_doc, xref, "Name")
        return NoteAnnotation(
            **common,
            text=Text(contents or ""),
            icon=NOTE_ICONS_FROM_PDF.get(icon_name or "Note", "note"),
            color=stroke,
        )
    if subtype == "FreeText":
        return _free_text(fitz_doc, geometry, xref, common, contents, stroke, width)
    if subtype in ("Square", "Circle"):
        cls = RectangleAnnotation if subtype == "Square" else EllipseAnnotation
        return cls(
            **common,
            note=contents,
            stroke_width=width,
            stroke_color=stroke,
            fill_color=fill,
            stroke_dash_array=keys.dashes(annot),
        )
    if subtype == "Line":
        vertices = annot.vertices or []
        start, end = [*vertices, (0.0, 0.0), (0.0, 0.0)][:2]
        return LineAnnotation(
            **common,
            note=contents,
            stroke_width=width,
            stroke_color=stroke,
            fill_color=fill,
            stroke_dash_array=keys.dashes(annot),
            start_point=geometry.pymupdf_to_instant_point(start),
            end_point=geometry.pymupdf_to_instant_point(end),
            line_caps=keys.line_caps(fitz_doc, xref),
        )
    if subtype in ("Polygon", "PolyLine"):
        points = tuple(geometry.pymupdf_to_instant_point(p) for p in annot.vertices or [])
        if subtype == "Polygon":
            return PolygonAnnotation(
                **common,
                note=contents,
                stroke_width=width,
                stroke_color=stroke,
                fill_color=fill,
                stroke_dash_array=keys.dashes(annot),
                points=points,
            )
        return PolylineAnnotation(
            **common,
            note=contents,
            stroke_width=width,
            stroke_color=stroke,
            fill_color=fill,
            stroke_dash_array=keys.dashes(annot),
            points=points,
            line_caps=keys.line_caps(fitz_doc, xref),
        )
    if subtype in _MARKUP:
        vertices = annot.vertices or []
        rects = tuple(
            Rect.bounding(geometry.pymupdf_to_instant_point(p) for p in vertices[i : i + 4])
            for i in range(0, len(vertices) - 3, 4)
        )
        return _MARKUP[subtype](**common, note=contents, rects=rects, color=stroke)
    if subtype == "Redact":
        vertices = annot.vertices or []
        rects = tuple(
            Rect.bounding(geometry.pymupdf_to_instant_point(p) for p in vertices[i : i + 4])
            for i in range(0, len(vertices) - 3, 4)
        ) or (common["bbox"],)
        _, text_color = keys.default_appearance(fitz_doc, xref)
        return RedactionAnnotation(
            **common,
            note=contents,
            rects=rects,
            outline_color=stroke,
            fill_color=fill,
            overlay_text=keys.string_key(fitz_doc, xref, "OverlayText"),
            color=text_color,
        )
    if subtype == "Ink":
        strokes = [
            [geometry.pymupdf_to_instant_point(p) for p in stroke_points]
            for stroke_points in annot.vertices or []
        ]
        lines = InkLines.from_strokes([[(p.x, p.y) for p in s] for s in strokes])
        if common["bbox"] == Rect(0, 0, 0, 0) and strokes:
            pad = (width or 1) / 2
            common["bbox"] = Rect.bounding((p for s in strokes for p in s), pad)
        return InkAnnotation(
            **common,
            note=contents,
            lines=lines,
            line_width=width if width is not None else 1,
            stroke_color=stroke,
        )
    if subtype == "Stamp":
        name = keys.name_key(fitz_doc, xref, "Name")
        image = stamp_image(fitz_doc, xref) if name in IMAGE_STAMP_NAMES else None
        if image is not None:
            digest = hashlib.sha256(image.data).hexdigest()
            attachments[digest] = image
            description = keys.string_key(fitz_doc, xref, f"{IMAGE_INFO_KEY}/Description")
            return ImageAnnotation(
                **common,
                note=contents if contents != description else None,
                image_attachment_id=digest,
                content_type=image.content_type,
                file_name=keys.string_key(fitz_doc, xref, f"{IMAGE_INFO_KEY}/FileName"),
                description=description,
            )
        stamp_type = stamp_type_from_name(name)
        return StampAnnotation(
            **common,
            note=contents,
            stamp_type=stamp_type,
            title=name if stamp_type == "Custom" and name else None,
            color=stroke,
        )
    return _unknown(doc, page_index, geometry, xref, subtype, annot)


def _common(
    doc: PdfDocument, page_index: int, geometry: PageGeometry, xref: int, annot: Any | None
) -> dict[str, Any]:
    fitz_doc = doc.fitz_document
    out: dict[str, Any] = {
        "id": record_id_for_pdf_object(xref),
        "pdf_object_id": xref,
        "page_index": page_index,
        "bbox": _bbox(fitz_doc, geometry, xref),
    }
    created = pdf_date_to_iso(keys.string_key(fitz_doc, xref, "CreationDate"))
    updated = pdf_date_to_iso(keys.string_key(fitz_doc, xref, "M"))
    if created:
        out["created_at"] = created
    if updated:
        out["updated_at"] = updated
    author = keys.string_key(fitz_doc, xref, "T")
    if author:
        out["creator_name"] = author
    name = keys.string_key(fitz_doc, xref, "NM")
    if name:
        out["name"] = name
    subject = keys.string_key(fitz_doc, xref, "Subj")
    if subject:
        out["subject"] = subject
    if annot is not None and annot.opacity is not None and 0 <= annot.opacity < 1:
        out["opacity"] = round(float(annot.opacity), 4)
    blend = keys.blend_mode(fitz_doc, xref)
    if blend:
        out["blend_mode"] = blend
    kind, value = keys.get_key(fitz_doc, xref, "F")
    flags = flags_from_pdf(int(float(value)) if kind in ("int", "float") else 0)
    if flags:
        out["flags"] = flags
    return out


def _bbox(fitz_doc: Any, geometry: PageGeometry, xref: int) -> Rect:
    kind, value = keys.get_key(fitz_doc, xref, "Rect")
    if kind != "array":
        return Rect(0, 0, 0, 0)
    numbers = [float(v) for v in value.strip("[]").split()]
    if len(numbers) != 4:
        return Rect(0, 0, 0, 0)
    rect = geometry.pdf_to_instant_rect(*numbers)
    return Rect(*(round(v, 4) for v in rect))


def _unknown(
    doc: PdfDocument,
    page_index: int,
    geometry: PageGeometry,
    xref: int,
    subtype: str,
    annot: Any | None = None,
) -> UnknownAnnotation:
    fitz_doc = doc.fitz_document
    common = _common(doc, page_index, geometry, xref, annot)
    contents = keys.contents(fitz_doc, xref)
    color = rgb_to_hex(annot.colors.get("stroke")) if annot is not None else None
    extra: dict[str, Any] = {}
    if color and color != "transparent":
        extra["color"] = color
    return UnknownAnnotation(
        **common,
        unknown_type=UNKNOWN_TYPE,
        note=contents,
        custom_data={"pdfSubtype": subtype or "unknown"},
        extra=extra,
    )


def _link(
    doc: PdfDocument, page_index: int, geometry: PageGeometry, xref: int, link: Any
) -> LinkAnnotation:
    common = _common(doc, page_index, geometry, xref, None)
    action: dict[str, Any] | None = None
    if link is not None:
        if link.get("uri"):
            action = {"type": "uri", "uri": link["uri"]}
        elif link.get("kind") == _FITZ.LINK_GOTO and link.get("page", -1) >= 0:
            action = {"type": "goTo", "pageIndex": int(link["page"])}
        elif link.get("kind") == _FITZ.LINK_NAMED and link.get("name"):
            action = {"type": "named", "action": link["name"]}
        elif link.get("kind") == _FITZ.LINK_LAUNCH and link.get("file"):
            action = {"type": "launch", "filePath": link["file"]}
        elif link.get("kind") == _FITZ.LINK_GOTOR and link.get("file"):
            action = {"type": "goToRemote", "relativePath": link["file"]}
    fitz_doc = doc.fitz_document
    width = keys.link_border_width(fitz_doc, xref)
    if not width:
        return LinkAnnotation(**common, action=action)
    kind, value = fitz_doc.xref_get_key(xref, "C")
    color = rgb_to_hex([float(v) for v in value.strip("[]").split()]) if kind == "array" else None
    style = keys.name_key(fitz_doc, xref, "BS/S")
    return LinkAnnotation(
        **common,
        action=action,
        border_width=width,
        border_color=color,
        border_style=BORDER_STYLES_FROM_PDF.get(style or "S", "solid"),
    )


def _widget(
    doc: PdfDocument, page_index: int, geometry: PageGeometry, xref: int, widget: Any
) -> WidgetAnnotation:
    common = _common(doc, page_index, geometry, xref, None)
    common.pop("creator_name", None)  # a widget's /T is its field's name, not an author
    if widget is None:
        return WidgetAnnotation(**common)
    size = float(widget.text_fontsize) if widget.text_fontsize else None
    return WidgetAnnotation(
        **common,
        form_field_name=widget.field_name,
        font_size=(size if size else "auto") if widget.field_type_string == "Text" else None,
        font_color=rgb_to_hex(widget.text_color) if widget.text_color else None,
        border_color=rgb_to_hex(widget.border_color) if widget.border_color else None,
        background_color=rgb_to_hex(widget.fill_color) if widget.fill_color else None,
    )


def _field_value(widget: Any) -> FormFieldValue | None:
    name = widget.field_name
    if not name:
        return None
    kind = widget.field_type_string
    raw = widget.field_value
    value: Any
    if kind in ("CheckBox", "RadioButton"):
        value = [str(raw)] if raw not in (None, "", False, "Off") else []
        if raw is True:
            value = [str(widget.on_state() or "Yes")]
    elif kind == "Button" or kind == "Signature":
        return None
    elif isinstance(raw, list | tuple):
        value = [str(v) for v in raw]
    else:
        value = None if raw is None else str(raw)
    return FormFieldValue(id=form_field_value_id(name), name=name, value=value)


GROUP_KEY = "inReplyToGroup"
"""The record key (kept in ``extra``) naming the annotation this one is grouped with: PDF's
``/IRT`` with ``/RT /Group``, as a replace-text strike-out is grouped with its caret."""


def _with_group(fitz_doc: Any, xref: int, record: Record) -> Record:
    if isinstance(record, Comment) or fitz_doc.xref_get_key(xref, "RT") != ("name", "/Group"):
        return record
    kind, value = fitz_doc.xref_get_key(xref, "IRT")
    if kind != "xref":
        return record
    parent = record_id_for_pdf_object(int(value.split()[0]))
    return dataclasses.replace(record, extra={**record.extra, GROUP_KEY: str(parent)})


def _required_fields(record: Record) -> Record:
    """Fill what Document Engine's schemas require and the PDF did not say (defect 12)."""
    if isinstance(record, TextAnnotation):
        return dataclasses.replace(
            record,
            opacity=1.0 if record.opacity is None else record.opacity,
            font_size=record.font_size or 12,
            horizontal_align=record.horizontal_align or "left",
            vertical_align=record.vertical_align or "top",
        )
    if isinstance(record, MarkupAnnotation) and record.color is None:
        return dataclasses.replace(record, color="#ffff00")  # what the writer draws
    return record


def _free_text(
    fitz_doc: Any,
    geometry: PageGeometry,
    xref: int,
    common: dict[str, Any],
    contents: str | None,
    background: str | None,
    width: float | None,
) -> TextAnnotation:
    # A free text's /C is its background (PyMuPDF calls it "stroke"); the border is drawn
    # in the text colour, so there is no border colour to read.
    size, font_color = keys.default_appearance(fitz_doc, xref)
    rich = keys.string_key(fitz_doc, xref, "RC")
    text = Text(rich, "xhtml") if rich and not contents else Text(contents or "")
    kind, value = fitz_doc.xref_get_key(xref, "Q")
    align = {"1": "center", "2": "right"}.get(value, "left") if kind == "int" else "left"
    kind, value = fitz_doc.xref_get_key(xref, "Rotate")
    rotation = int(float(value)) % 360 if kind in ("int", "float") else 0
    return TextAnnotation(
        **{"opacity": 1.0, **common},
        text=text,
        font_size=size or 12,
        font=keys.da_font(fitz_doc, xref),
        font_color=font_color,
        background_color=background,
        border_width=width or None,
        horizontal_align=align,
        rotation=rotation or None,
        callout=keys.callout(fitz_doc, geometry, xref),
    )


__all__ = [
    "UNKNOWN_TYPE",
    "dump_instant_json",
    "read_records",
    "read_records_and_attachments",
]
