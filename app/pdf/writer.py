"""Write records into a PDF as standard annotations with appearance streams.

:func:`apply_instant_json` applies an Instant JSON diff (DESIGN §3) to a PDF:

- every id in ``skippedPdfObjectIds`` removes that original annotation (a deletion, or the
  first half of an update);
- every annotation is written as a new PDF annotation, with an ``/AP`` appearance stream
  that MuPDF generates, so poppler, pdf.js, PDFium and Acrobat show it. An annotation whose
  ``pdfObjectId`` is *not* skipped and still exists in the PDF is the unchanged original:
  it is left as it is;
- comments become sticky-note replies (``/IRT`` to their root annotation);
- form field values fill the widgets of their field;
- originals not skipped survive untouched, with their object numbers.

Author (``/T``), dates (``/CreationDate``, ``/M``), colour, opacity and text are written;
``flatten=True`` burns every annotation into the page content.

The whole diff is applied to one open document, page objects are loaded once, and each
annotation's appearance is generated once, so applying 10,000 annotations costs about what
calling PyMuPDF directly costs (``bench/export.py``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymupdf
from lamina.model.geometry import Rect
from lamina.model.instant_json import Attachment, InstantDocument
from lamina.model.records import (
    NO_COLOR,
    Annotation,
    Comment,
    EllipseAnnotation,
    FormFieldValue,
    ImageAnnotation,
    InkAnnotation,
    LineAnnotation,
    LinkAnnotation,
    MarkupAnnotation,
    NoteAnnotation,
    PolygonAnnotation,
    PolylineAnnotation,
    RectangleAnnotation,
    ShapeAnnotation,
    SquigglyAnnotation,
    StampAnnotation,
    StrikeOutAnnotation,
    TextAnnotation,
    UnderlineAnnotation,
    UnknownAnnotation,
    WidgetAnnotation,
)
from lamina.pdf.annotations import (
    CAPS_TO_LINE_ENDS,
    IMAGE_INFO_KEY,
    IMAGE_STAMP_NAME,
    NOTE_ICONS_TO_PDF,
    flags_to_pdf,
    hex_to_rgb,
    iso_to_pdf_date,
    stamp_image,
)
from lamina.pdf.document import PdfDocument, open_pdf, serialized
from lamina.pdf.errors import PdfWriteError
from lamina.pdf.geometry import PageGeometry
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


@serialized
def apply_instant_json(
    source: Path | bytes,
    diff: InstantDocument,
    *,
    flatten: bool = False,
    password: str | None = None,
) -> bytes:
    """Return the PDF bytes of ``source`` with ``diff`` applied.

    Args:
        source: the original PDF (path or bytes).
        diff: the Instant JSON diff against it.
        flatten: burn the annotations into the page content (they can no longer be edited).
        password: the password of an encrypted PDF; the output keeps its encryption.

    Raises:
        PdfError: the PDF cannot be opened (see :func:`~lamina.pdf.document.open_pdf`).
        PdfWriteError: the PDF forbids annotating, or a record cannot be written (the
            message names the record).
    """
    with open_pdf(source, password=password) as doc:
        if doc.read_only_reason is not None:
            raise PdfWriteError(f"cannot annotate {doc.name}: {doc.read_only_reason}")
        writer = _Writer(doc, diff.attachments)
        writer.apply(diff)
        fitz_doc = doc.fitz_document
        if flatten:
            try:
                fitz_doc.bake(annots=True, widgets=True)
            except (RuntimeError, ValueError) as exc:
                raise PdfWriteError(f"cannot flatten {doc.name}: {exc}") from exc
        try:
            data: bytes = fitz_doc.tobytes(
                garbage=0,
                deflate=True,
                encryption=_FITZ.PDF_ENCRYPT_KEEP,
            )
        except (RuntimeError, ValueError) as exc:
            raise PdfWriteError(f"cannot save {doc.name}: {exc}") from exc
        return data


class _Writer:
    """Applies one diff to one open document."""

    def __init__(self, doc: PdfDocument, attachments: Any) -> None:
        self.doc = doc
        self.fitz = doc.fitz_document
        self.attachments: dict[str, Attachment] = dict(attachments)
        self.pages: dict[int, Any] = {}
        self.xref_page: dict[int, int] = {}
        for index in range(doc.page_count):
            for xref, _, _ in self.fitz.load_page(index).annot_xrefs():
                self.xref_page[xref] = index
        self.ids: dict[str, int] = {str(x): x for x in self.xref_page}
        self.replaced: dict[int, int] = {}
        self.geometries: dict[int, PageGeometry] = {}

    def page(self, index: int) -> Any:
        page = self.pages.get(index)
        if page is None:
            self.doc.check_page(index)
            # Keep one page loaded: MuPDF's work per annotation update grows with the number
            # of pages held open, so records are written page by page (see apply()).
            self.pages.clear()
            page = self.fitz.load_page(index)
            self.pages[index] = page
        return page

    def geometry(self, index: int) -> PageGeometry:
        cached = self.geometries.get(index)
        if cached is None:
            cached = PageGeometry.from_fitz_page(self.page(index))
            self.geometries[index] = cached
        return cached

    def apply(self, diff: InstantDocument) -> None:
        skipped = set(diff.skipped_pdf_object_ids or ())
        self._find_missing_images(diff)
        for xref in sorted(skipped, key=lambda x: (self.xref_page.get(x, -1), x)):
            self._delete(xref)
        by_page = sorted(enumerate(diff.annotations), key=lambda item: item[1].page_index)
        for i, record in by_page:
            original = record.pdf_object_id
            if original is not None and original not in skipped and original in self.xref_page:
                continue  # the unchanged original is still in the PDF
            try:
                written = self._write(record)
            except (RuntimeError, ValueError, TypeError, KeyError) as exc:
                raise PdfWriteError(
                    f"annotations[{i}] ({record.type} {record.id}) cannot be written: {exc}"
                ) from exc
            if written:
                self.ids[str(record.id)] = written
                if original is not None:
                    self.replaced[original] = written
        self._repoint_replies()
        for i, comment in enumerate(diff.comments):
            original = comment.pdf_object_id
            if original is not None and original not in skipped and original in self.xref_page:
                continue
            try:
                self._write_comment(comment)
            except (RuntimeError, ValueError, TypeError, KeyError) as exc:
                raise PdfWriteError(
                    f"comments[{i}] ({comment.id}) cannot be written: {exc}"
                ) from exc
        if diff.form_field_values:
            self._fill(diff.form_field_values)

    def _find_missing_images(self, diff: InstantDocument) -> None:
        """Take image bytes a diff does not carry from the PDF's own image stamps.

        Records read from a PDF without their attachments (the server's and the desktop's
        base layer) still name the image by its SHA-256; an updated or copied image finds
        its bytes in the original stamp, read before the original is deleted.
        """
        missing = {
            record.image_attachment_id
            for record in diff.annotations
            if isinstance(record, ImageAnnotation)
            and record.image_attachment_id
            and record.image_attachment_id not in self.attachments
        }
        if not missing:
            return
        for xref in self.xref_page:
            if self.fitz.xref_get_key(xref, "Subtype") != ("name", "/Stamp"):
                continue
            image = stamp_image(self.fitz, xref)
            if image is not None:
                digest = hashlib.sha256(image.data).hexdigest()
                if digest in missing:
                    self.attachments[digest] = image

    # -- deleting -----------------------------------------------------------------------

    def _delete(self, xref: int) -> None:
        found = self.xref_page.pop(xref, None)
        if found is None:
            log.info("skipped pdf object %d is not an annotation of this pdf", xref)
            return
        page = self.page(found)
        pdf_page = page._pdf_page()
        annot = mupdf.pdf_first_annot(pdf_page)
        while annot.m_internal:
            if mupdf.pdf_to_num(mupdf.pdf_annot_obj(annot)) == xref:
                # Not Page.delete_annot: it also deletes the replies, which an update keeps.
                mupdf.pdf_delete_annot(pdf_page, annot)
                return
            annot = mupdf.pdf_next_annot(annot)
        widget = mupdf.pdf_first_widget(pdf_page)
        while widget.m_internal:
            if mupdf.pdf_to_num(mupdf.pdf_annot_obj(widget)) == xref:
                mupdf.pdf_delete_annot(pdf_page, widget)
                return
            widget = mupdf.pdf_next_widget(widget)
        for link in page.get_links():
            if link.get("xref") == xref:
                page.delete_link(link)
                return

    def _repoint_replies(self) -> None:
        if not self.replaced:
            return
        for xref in list(self.xref_page):
            kind, value = self.fitz.xref_get_key(xref, "IRT")
            if kind == "xref":
                old = int(value.split()[0])
                if old in self.replaced:
                    self.fitz.xref_set_key(xref, "IRT", f"{self.replaced[old]} 0 R")

    # -- writing --------------------------------------------------------------------------

    def _write(self, record: Annotation) -> int | None:
        page = self.page(record.page_index)
        writer = _WRITERS.get(type(record))
        if writer is None:
            log.warning("%s %s is not written: no pdf annotation for it", record.type, record.id)
            return None
        annot = writer(self, page, record)
        if annot is None:
            return None
        xref = int(annot.xref)
        self.xref_page[xref] = record.page_index
        return xref

    def _finish(
        self,
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
        """Set what every annotation carries, then generate its appearance once."""
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
        if width is not None or dashes:
            border: dict[str, Any] = {}
            if width is not None:
                border["width"] = width
            if dashes:
                border["dashes"] = [round(d) for d in dashes]
            annot.set_border(**border)
        if record.opacity is not None and record.opacity < 1:
            annot.set_opacity(record.opacity)
        if record.blend_mode:
            annot.set_blendmode(record.blend_mode[:1].upper() + record.blend_mode[1:])
        flags = flags_to_pdf(record.flags)
        if flags != 4:
            annot.set_flags(flags)
        annot.update()
        # Direct dictionary edits: PyMuPDF's xref_set_key parses a string for each call.
        obj = mupdf.pdf_annot_obj(annot.this)
        if not contents:
            # PyMuPDF fills in a default text for stamps ("Approved"); the record has none.
            mupdf.pdf_dict_del(obj, _NAME_CONTENTS)
        if keep_rect:
            # MuPDF resizes notes to their icon and stamps to their text when it draws them;
            # Instant's bbox wins. Viewers scale the appearance into /Rect.
            geometry = self.geometry(record.page_index)
            x0, y1 = geometry.instant_to_pdf_point((record.bbox.left, record.bbox.top))
            x1, y0 = geometry.instant_to_pdf_point((record.bbox.right, record.bbox.bottom))
            mupdf.pdf_dict_put_rect(obj, _NAME_RECT, mupdf.FzRect(x0, y0, x1, y1))
        mupdf.pdf_dict_put_text_string(obj, _NAME_NM, record.name or str(record.id))
        return annot

    def _write_comment(self, comment: Comment) -> None:
        root = self.ids.get(str(comment.root_id))
        page_index = self.xref_page.get(root) if root is not None else None
        if page_index is None:
            page_index = comment.page_index or 0
            log.warning("comment %s: root %s is not in the pdf", comment.id, comment.root_id)
        page = self.page(page_index)
        position = (0.0, 0.0)
        if root is not None:
            kind, value = self.fitz.xref_get_key(root, "Rect")
            if kind == "array":
                x0, _, _, y1 = (float(v) for v in value.strip("[]").split())
                geometry = self.doc.page_geometry(page_index)
                position = tuple(geometry.pdf_to_instant_point(x0, y1))  # type: ignore[assignment]
        annot = page.add_text_annot(position, comment.text.value, icon="Comment")
        if root is not None:
            annot.set_irt_xref(root)
        info: dict[str, str] = {"content": comment.text.value}
        if comment.creator_name:
            info["title"] = comment.creator_name
        created = iso_to_pdf_date(comment.created_at)
        if created:
            info["creationDate"] = created
        updated = iso_to_pdf_date(comment.updated_at) or created
        if updated:
            info["modDate"] = updated
        annot.set_info(**info)
        annot.update()
        self.fitz.xref_set_key(annot.xref, "NM", pymupdf.get_pdf_str(str(comment.id)))
        self.xref_page[annot.xref] = page_index
        self.ids[str(comment.id)] = annot.xref

    def _fill(self, values: tuple[FormFieldValue, ...]) -> None:
        wanted = {v.name: v for v in values}
        for index in range(self.doc.page_count):
            page = self.page(index)
            for widget in page.widgets() or ():
                value = wanted.get(widget.field_name)
                if value is None:
                    continue
                raw = value.value
                if widget.field_type_string in ("CheckBox", "RadioButton"):
                    on = bool(raw) and raw not in (["Off"], "Off")
                    widget.field_value = widget.on_state() if on else "Off"
                elif isinstance(raw, list):
                    widget.field_value = raw[0] if len(raw) == 1 else raw
                else:
                    widget.field_value = "" if raw is None else str(raw)
                widget.update()


def _fitz_rect(rect: Rect) -> Any:
    return pymupdf.Rect(rect.left, rect.top, rect.right, rect.bottom)


def _note_text(record: Annotation) -> str | None:
    return record.note


def _write_shape(writer: _Writer, page: Any, record: Any) -> Any:
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
    return _finish_shape(writer, annot, record)


def _finish_shape(writer: _Writer, annot: Any, record: ShapeAnnotation) -> Any:
    """Style a new rectangle, ellipse, line, polyline or polygon the shape base way."""
    return writer._finish(
        annot,
        record,
        contents=record.note,
        stroke=record.stroke_color or "#000000",
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


def _write_line(writer: _Writer, page: Any, record: LineAnnotation) -> Any:
    annot = page.add_line_annot(tuple(record.start_point), tuple(record.end_point))
    if record.line_caps:
        annot.set_line_ends(*_line_ends(record))
    return _finish_shape(writer, annot, record)


def _write_poly(writer: _Writer, page: Any, record: Any) -> Any:
    points = [tuple(p) for p in record.points]
    if len(points) < 2:
        raise ValueError("a polygon or polyline needs at least 2 points")
    if isinstance(record, PolygonAnnotation):
        annot = page.add_polygon_annot(points)
    else:
        annot = page.add_polyline_annot(points)
        if record.line_caps:
            annot.set_line_ends(*_line_ends(record))
    return _finish_shape(writer, annot, record)


def _write_markup(writer: _Writer, page: Any, record: MarkupAnnotation) -> Any:
    quads = [_fitz_rect(r).quad for r in record.rects] or [_fitz_rect(record.bbox).quad]
    adders: dict[type, Callable[..., Any]] = {
        UnderlineAnnotation: page.add_underline_annot,
        StrikeOutAnnotation: page.add_strikeout_annot,
        SquigglyAnnotation: page.add_squiggly_annot,
    }
    add = adders.get(type(record), page.add_highlight_annot)
    annot = add(quads=quads)
    return writer._finish(annot, record, contents=record.note, stroke=record.color or "#ffff00")


def _write_ink(writer: _Writer, page: Any, record: InkAnnotation) -> Any:
    strokes = [[tuple(p) for p in line] for line in record.lines.points if line]
    if not strokes:
        log.warning("ink %s has no points: nothing to draw, not written", record.id)
        return None
    annot = page.add_ink_annot(strokes)
    return writer._finish(
        annot,
        record,
        contents=record.note,
        stroke=record.stroke_color or "#000000",
        width=record.line_width,
    )


def _write_text(writer: _Writer, page: Any, record: TextAnnotation) -> Any:
    font_color = hex_to_rgb(record.font_color) or (0, 0, 0)
    fill = hex_to_rgb(record.background_color) if record.background_color else None
    border = hex_to_rgb(record.border_color) if record.border_color else None
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
    )
    return writer._finish(
        annot,
        record,
        contents=record.text.value if record.text.format == "plain" else None,
        keep_rect=True,
    )


def _write_note(writer: _Writer, page: Any, record: NoteAnnotation) -> Any:
    icon = NOTE_ICONS_TO_PDF.get(record.icon or "comment", "Comment")
    annot = page.add_text_annot((record.bbox.left, record.bbox.top), record.text.value, icon=icon)
    return writer._finish(
        annot,
        record,
        contents=record.text.value,
        stroke=record.color or "#ffd83f",
        keep_rect=True,
    )


def _write_stamp(writer: _Writer, page: Any, record: StampAnnotation) -> Any:
    code = _PYMUPDF_STAMPS.get(record.stamp_type)
    annot = page.add_stamp_annot(_fitz_rect(record.bbox), stamp=code if code is not None else 0)
    annot = writer._finish(
        annot,
        record,
        contents=record.note,
        stroke=record.color,
        keep_rect=True,
    )
    if code is None:
        label = record.title or record.stamp_type
        _relabel_stamp(writer.fitz, annot, label)
        writer.fitz.xref_set_key(annot.xref, "Name", _pdf_name(record.stamp_type, label))
    return annot


def _write_image(writer: _Writer, page: Any, record: ImageAnnotation) -> Any:
    attachment = writer.attachments.get(record.image_attachment_id or "")
    if attachment is None:
        raise ValueError(f"attachment {record.image_attachment_id!r} is not in the document")
    annot = page.add_stamp_annot(_fitz_rect(record.bbox), stamp=attachment.data)
    annot = writer._finish(
        annot, record, contents=record.note or record.description, keep_rect=True
    )
    # The name marks the stamp as Lamina's image (read back as pspdfkit/image); what /Contents
    # cannot hold beside the note goes in a private dictionary viewers ignore.
    writer.fitz.xref_set_key(annot.xref, "Name", f"/{IMAGE_STAMP_NAME}")
    info = {"FileName": record.file_name, "Description": record.description}
    entries = " ".join(f"/{k} {pymupdf.get_pdf_str(v)}" for k, v in info.items() if v)
    if entries:
        writer.fitz.xref_set_key(annot.xref, IMAGE_INFO_KEY, f"<<{entries}>>")
    return annot


def _write_link(writer: _Writer, page: Any, record: LinkAnnotation) -> Any:
    action = record.action if isinstance(record.action, dict) else {}
    link: dict[str, Any] = {"from": _fitz_rect(record.bbox)}
    if action.get("type") == "uri":
        link.update(kind=_FITZ.LINK_URI, uri=str(action.get("uri", "")))
    elif action.get("type") == "goTo":
        link.update(kind=_FITZ.LINK_GOTO, page=int(action.get("pageIndex", 0)))
    else:
        log.warning("link %s: action %r is not written", record.id, action.get("type"))
        return None
    before = {x for x, _, _ in page.annot_xrefs()}
    page.insert_link(link)
    after = [x for x, _, _ in page.annot_xrefs() if x not in before]
    return _Xref(after[0]) if after else None


class _Xref:
    def __init__(self, xref: int) -> None:
        self.xref = xref


def _write_unknown(writer: _Writer, page: Any, record: UnknownAnnotation) -> Any:
    subtype = record.custom_data.get("pdfSubtype") if isinstance(record.custom_data, dict) else None
    if subtype != "Caret":
        log.warning(
            "%s %s (%s) is not written: no pdf annotation for it", record.type, record.id, subtype
        )
        return None
    created = mupdf.pdf_create_annot(page._pdf_page(), mupdf.PDF_ANNOT_CARET)
    annot = page.load_annot(mupdf.pdf_to_num(mupdf.pdf_annot_obj(created)))
    annot.set_rect(_fitz_rect(record.bbox))
    color = record.extra.get("color")
    return writer._finish(
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


def _relabel_stamp(fitz_doc: Any, annot: Any, label: str) -> None:
    """Put ``label`` in place of MuPDF's default stamp text, fitted to the stamp's box."""
    kind, value = fitz_doc.xref_get_key(annot.xref, "AP/N")
    if kind != "xref":
        return
    ap_xref = int(value.split()[0])
    text = label.upper() if label.replace(" ", "").isalpha() else label
    stream = fitz_doc.xref_stream(ap_xref).decode("latin-1")
    bbox_kind, bbox = fitz_doc.xref_get_key(ap_xref, "BBox")
    width = 190.0
    if bbox_kind == "array":
        numbers = [float(v) for v in bbox.strip("[]").split()]
        width = numbers[2] - numbers[0]
    unit = pymupdf.get_text_length(text, fontname="tiro", fontsize=1) or 1
    size = min(30.0, (width - 12) / unit)
    x = max(2.0, (width - unit * size) / 2)
    head, _, rest = stream.partition("BT")
    _, _, tail = rest.partition("ET")
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    body = f"BT\n/Times {size:.2f} Tf\n{x:.2f} 13 Td\n({escaped}) Tj\nET{tail}"
    fitz_doc.update_stream(ap_xref, (head + body).encode("latin-1", "replace"))


def _strip_tags(xhtml: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", xhtml)


_WRITERS: dict[type, Callable[[_Writer, Any, Any], Any]] = {
    RectangleAnnotation: _write_shape,
    EllipseAnnotation: _write_shape,
    LineAnnotation: _write_line,
    PolygonAnnotation: _write_poly,
    PolylineAnnotation: _write_poly,
    InkAnnotation: _write_ink,
    TextAnnotation: _write_text,
    NoteAnnotation: _write_note,
    StampAnnotation: _write_stamp,
    ImageAnnotation: _write_image,
    LinkAnnotation: _write_link,
    UnknownAnnotation: _write_unknown,
}
for _cls in MarkupAnnotation.__subclasses__():
    _WRITERS[_cls] = _write_markup
_WRITERS.pop(WidgetAnnotation, None)
_ = ShapeAnnotation
