"""Write records into a PDF as standard annotations with appearance streams.

:func:`apply_instant_json` applies an Instant JSON diff (DESIGN §3) to a PDF:

- every id in ``skippedPdfObjectIds`` removes that original annotation (a deletion, or the
  first half of an update);
- every annotation is written as a new PDF annotation (:mod:`lamina.pdf.builders`), with an
  ``/AP`` appearance stream that MuPDF generates, so poppler, pdf.js, PDFium and Acrobat show
  it. An annotation whose
  ``pdfObjectId`` is *not* skipped and still exists in the PDF is the unchanged original:
  it is left as it is;
- comments become sticky-note replies (``/IRT`` to their root annotation);
- form field values fill the widgets of their field;
- originals not skipped survive untouched, with their object numbers.

Author (``/T``), dates (``/CreationDate``, ``/M``), colour, opacity and text are written;
``flatten=True`` burns every annotation into the page content.

The whole diff is applied to one open document, page objects are loaded once, and each
annotation's appearance is generated once, so applying 10,000 annotations costs about what
calling PyMuPDF directly costs (``bench/export.py``). New annotations are added through
:class:`~lamina.pdf.page_batches.PageBatches`, so their cost does not grow with the number
already on the page (MuPDF re-checks every annotation of the page at each one otherwise).
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any

import pymupdf
from lamina.model.instant_json import Attachment, InstantDocument
from lamina.model.records import (
    Annotation,
    Comment,
    FormFieldValue,
    ImageAnnotation,
    Record,
)
from lamina.pdf.annotation_finish import strip_tags
from lamina.pdf.annotations import GROUP_KEY, read_records
from lamina.pdf.builders import add_annotation
from lamina.pdf.document import PdfDocument, open_pdf, serialized
from lamina.pdf.errors import PdfWriteError
from lamina.pdf.geometry import PageGeometry
from lamina.pdf.link_builder import burn_link_borders
from lamina.pdf.page_batches import PageBatches
from lamina.pdf.private_data import store_private
from lamina.pdf.stamp_images import stamp_image
from lamina.pdf.updates import keeps_appearance, move_to_object, patch_in_place
from lamina.pdf.values import PDF_SUBTYPES, iso_to_pdf_date
from pymupdf import mupdf

# PyMuPDF sets its constants at import time, which mypy cannot see.
_FITZ: Any = pymupdf

log = logging.getLogger(__name__)


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
                burn_link_borders(fitz_doc)  # MuPDF's bake leaves links as they are
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
        self.batches = PageBatches(self.fitz)
        self.xref_page: dict[int, int] = {}
        for index in range(doc.page_count):
            for xref, _, _ in self.fitz.load_page(index).annot_xrefs():
                self.xref_page[xref] = index
        # The annotations the PDF had when it was opened: only these can be "the unchanged
        # original" of a record. Objects written by this apply get numbers that records of
        # another copy of the PDF (renumbered by another program) may carry: those records
        # are new here, not originals (issue 10, defect 1).
        self.originals: dict[int, str] = {x: self._subtype(x) for x in self.xref_page}
        self.ids: dict[str, int] = {str(x): x for x in self.xref_page}
        self.replaced: dict[int, int] = {}
        self.geometries: dict[int, PageGeometry] = {}
        self.fonts: dict[str, int] = {}

    def _subtype(self, xref: int) -> str:
        kind, value = self.fitz.xref_get_key(xref, "Subtype")
        return str(value).lstrip("/") if kind == "name" else ""

    def is_unchanged_original(self, record: Annotation | Comment, skipped: set[int]) -> bool:
        """Tell whether ``record`` is an original of this PDF that the diff leaves alone."""
        original = record.pdf_object_id
        if original is None or original in skipped or original not in self.originals:
            return False
        wanted = PDF_SUBTYPES.get(record.type)
        return wanted is None or wanted == self.originals[original]

    def page(self, index: int) -> Any:
        page = self.pages.get(index)
        if page is None:
            self.doc.check_page(index)
            # Keep one page loaded: MuPDF's work per annotation update grows with the number
            # of pages held open, so records are written page by page (see apply()).
            self.pages.clear()
            self.batches.close()
            page = self.fitz.load_page(index)
            self.pages[index] = page
        return page

    def adding_page(self, index: int) -> Any:
        """Return page ``index`` to add one annotation to (lamina.pdf.page_batches)."""
        self.doc.check_page(index)
        self.geometry(index)  # read from the page as it is, before it is held
        self.pages.clear()
        return self.batches.page(index)

    def geometry(self, index: int) -> PageGeometry:
        cached = self.geometries.get(index)
        if cached is None:
            cached = PageGeometry.from_fitz_page(self.page(index))
            self.geometries[index] = cached
        return cached

    def apply(self, diff: InstantDocument) -> None:
        skipped = set(diff.skipped_pdf_object_ids or ())
        self._find_missing_images(diff)
        updates: dict[int, Record] = {
            r.pdf_object_id: r
            for r in (*diff.annotations, *diff.comments)
            if r.pdf_object_id is not None
            and r.pdf_object_id in skipped
            and r.pdf_object_id in self.originals
        }
        in_place = self._updates_keeping_appearance(updates)
        for xref in sorted(skipped - in_place, key=lambda x: (self.xref_page.get(x, -1), x)):
            self._delete(xref)
        by_page = sorted(enumerate(diff.annotations), key=lambda item: item[1].page_index)
        for i, record in by_page:
            original = record.pdf_object_id
            if self.is_unchanged_original(record, skipped):
                continue  # the unchanged original is still in the PDF
            try:
                if original in in_place:
                    assert original is not None
                    geometry = self.geometry(record.page_index)
                    patch_in_place(self.fitz, geometry, original, record)
                    store_private(self.fitz, original, record)
                    continue
                written = self._write(record)
            except (RuntimeError, ValueError, TypeError, KeyError) as exc:
                raise PdfWriteError(
                    f"annotations[{i}] ({record.type} {record.id}) cannot be written: {exc}"
                ) from exc
            if written:
                self.ids[str(record.id)] = written
                if original in updates:
                    assert original is not None
                    self.replaced[original] = written
        for i, comment in enumerate(diff.comments):
            if self.is_unchanged_original(comment, skipped):
                continue
            try:
                written = self._write_comment(comment)
            except (RuntimeError, ValueError, TypeError, KeyError) as exc:
                raise PdfWriteError(
                    f"comments[{i}] ({comment.id}) cannot be written: {exc}"
                ) from exc
            if comment.pdf_object_id is not None and comment.pdf_object_id in updates:
                self.replaced[comment.pdf_object_id] = written
        self.batches.close()
        if diff.form_field_values:
            self._fill(diff.form_field_values)
        self._link_groups(diff)
        self._keep_object_numbers()

    def _link_groups(self, diff: InstantDocument) -> None:
        """Write /IRT + /RT /Group for records grouped with another (replace-text pairs)."""
        for record in diff.annotations:
            parent = record.extra.get(GROUP_KEY)
            xref = self.ids.get(str(record.id))
            if not isinstance(parent, str) or xref is None:
                continue
            target = self.ids.get(parent)
            if target is None:
                raise PdfWriteError(
                    f"{record.type} {record.id} cannot be written: it is grouped with "
                    f"{parent}, which is not in the pdf"
                )
            self.fitz.xref_set_key(xref, "IRT", f"{target} 0 R")
            self.fitz.xref_set_key(xref, "RT", "/Group")

    def _updates_keeping_appearance(self, updates: dict[int, Record]) -> set[int]:
        """Return the originals whose update leaves their appearance as it is."""
        if not updates:
            return set()
        before = {r.pdf_object_id: r for r in read_records(self.doc)}
        keep = set()
        for xref, record in updates.items():
            original = before.get(xref)
            if original is None or isinstance(record, Comment):
                continue
            has_ap = self.fitz.xref_get_key(xref, "AP/N")[0] != "null"
            if has_ap and keeps_appearance(original, record):
                keep.add(xref)
        return keep

    def _keep_object_numbers(self) -> None:
        """Give each redrawn original its own object number back (issue 10, defect 8)."""
        if not self.replaced:
            return
        self.pages.clear()
        moved = {new: old for old, new in self.replaced.items()}
        for new, old in moved.items():
            page_xref = self.fitz.page_xref(self.xref_page[new])
            move_to_object(self.fitz, page_xref, new, old)
            self.xref_page[old] = self.xref_page.pop(new)
        for xref in self.xref_page:
            kind, value = self.fitz.xref_get_key(xref, "IRT")
            if kind == "xref" and int(value.split()[0]) in moved:
                self.fitz.xref_set_key(xref, "IRT", f"{moved[int(value.split()[0])]} 0 R")
        for key, xref in list(self.ids.items()):
            if xref in moved:
                self.ids[key] = moved[xref]

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

    # -- writing --------------------------------------------------------------------------

    def _write(self, record: Annotation) -> int | None:
        xref = add_annotation(self, self.adding_page(record.page_index), record)
        if xref is not None:
            self.xref_page[xref] = record.page_index
            store_private(self.fitz, xref, record)
        return xref

    def _write_comment(self, comment: Comment) -> int:
        root = self.ids.get(str(comment.root_id))
        page_index = self.xref_page.get(root) if root is not None else None
        if page_index is None:
            page_index = comment.page_index or 0
            log.warning("comment %s: root %s is not in the pdf", comment.id, comment.root_id)
        page = self.adding_page(page_index)
        position = (0.0, 0.0)
        if root is not None:
            kind, value = self.fitz.xref_get_key(root, "Rect")
            if kind == "array":
                x0, _, _, y1 = (float(v) for v in value.strip("[]").split())
                geometry = self.doc.page_geometry(page_index)
                position = tuple(geometry.pdf_to_instant_point(x0, y1))  # type: ignore[assignment]
        rich = comment.text.format == "xhtml"
        # Rich text: its words in /Contents (what every viewer shows), the markup in /RC.
        words = strip_tags(comment.text.value) if rich else comment.text.value
        annot = page.add_text_annot(position, words, icon="Comment")
        if root is not None:
            annot.set_irt_xref(root)
        info: dict[str, str] = {"content": words}
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
        if rich:
            self.fitz.xref_set_key(annot.xref, "RC", pymupdf.get_pdf_str(comment.text.value))
        store_private(self.fitz, annot.xref, comment)
        self.xref_page[annot.xref] = page_index
        self.ids[str(comment.id)] = annot.xref
        return int(annot.xref)

    def _fill(self, values: tuple[FormFieldValue, ...]) -> None:
        wanted = {v.name: v for v in values}
        # Check boxes and radio buttons: which widgets of each field, in document order (what
        # optionIndexes count), and which of them are on.
        buttons: dict[str, list[str]] = {}
        for index in range(self.doc.page_count):
            for widget in self.page(index).widgets() or ():
                if widget.field_name in wanted and widget.field_type_string in _BUTTONS:
                    buttons.setdefault(widget.field_name, []).append(str(widget.on_state()))
        decided: list[tuple[int, str]] = []
        for index in range(self.doc.page_count):
            page = self.page(index)
            for widget in page.widgets() or ():
                value = wanted.get(widget.field_name)
                if value is None:
                    continue
                raw = value.value
                if widget.field_type_string in _BUTTONS:
                    states = buttons[widget.field_name]
                    if value.option_indexes is not None:
                        chosen = {states[i] for i in value.option_indexes if 0 <= i < len(states)}
                    else:
                        chosen = {str(v) for v in (raw if isinstance(raw, list) else [raw]) if v}
                    on = str(widget.on_state()) in chosen - {"Off"}
                    widget.field_value = widget.on_state() if on else "Off"
                    widget.update()
                    decided.append((widget.xref, str(widget.on_state()) if on else "Off"))
                    continue
                if isinstance(raw, list):
                    widget.field_value = raw[0] if len(raw) == 1 else raw
                else:
                    widget.field_value = "" if raw is None else str(raw)
                widget.update()
                if raw in (None, "", []):
                    # PyMuPDF keeps the old value for an empty one: clear /V by hand.
                    self.fitz.xref_set_key(self._field_xref(widget.xref), "V", "()")
        # PyMuPDF turns a radio's siblings off as it updates each: the states go in last.
        self.pages.clear()
        for xref, state in decided:
            self._set_button_state(xref, state)
        for xref, state in decided:
            if state != "Off":
                self._field_value_name(xref, state)
        for xref, _ in decided:
            if not any(
                s != "Off" for x, s in decided if self._field_xref(x) == self._field_xref(xref)
            ):
                self._field_value_name(xref, "Off")

    def _field_xref(self, widget_xref: int) -> int:
        kind, value = self.fitz.xref_get_key(widget_xref, "Parent")
        if kind == "xref" and self.fitz.xref_get_key(widget_xref, "T")[0] == "null":
            return int(value.split()[0])
        return widget_xref

    def _field_value_name(self, widget_xref: int, state: str) -> None:
        # A button's /V is a name (PyMuPDF writes a string for radio groups).
        self.fitz.xref_set_key(self._field_xref(widget_xref), "V", _pdf_name(state))

    def _set_button_state(self, widget_xref: int, state: str) -> None:
        self.fitz.xref_set_key(widget_xref, "AS", _pdf_name(state))
        kind, value = self.fitz.xref_get_key(widget_xref, "AP/N")
        if kind != "dict":
            return
        # PyMuPDF gives the ZapfDingbats of a regenerated check mark a /WinAnsiEncoding:
        # poppler then finds no glyph and draws the box empty. A symbol font has none.
        for ref in re.findall(r"(\d+) 0 R", value):
            font_kind, fonts = self.fitz.xref_get_key(int(ref), "Resources/Font")
            for font_ref in re.findall(r"(\d+) 0 R", fonts if font_kind == "dict" else ""):
                base = self.fitz.xref_get_key(int(font_ref), "BaseFont")
                if base == ("name", "/ZapfDingbats"):
                    self.fitz.xref_set_key(int(font_ref), "Encoding", "null")


_BUTTONS = ("CheckBox", "RadioButton")


def _pdf_name(text: str) -> str:
    return "/" + "".join(ch if ch.isalnum() or ch in "-_." else f"#{ord(ch):02X}" for ch in text)
