"""XFDF for an open PDF: export its records, read a file against its pages and form fields.

The codec (:func:`~lamina.pdf.xfdf.records_to_xfdf`, :func:`~lamina.pdf.xfdf.xfdf_to_records`)
is pure; this module gives it what it needs from a :class:`~lamina.pdf.PdfDocument`: every
page's geometry, the file name and ``/ID``, and the kind of each form field (so a check box
value reads as a list and a radio group's as one name).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lamina.model.ids import RecordId
from lamina.model.instant_json import InstantDocument, document_from_records
from lamina.model.records import Annotation, Comment, FormField, Record, WidgetAnnotation
from lamina.pdf.annotations import read_records
from lamina.pdf.document import MUPDF_LOCK, PdfDocument
from lamina.pdf.geometry import PageGeometry
from lamina.pdf.xfdf.reader import XfdfContent, xfdf_to_records
from lamina.pdf.xfdf.writer import NOT_XFDF, records_to_xfdf, xfdf_export_losses

_FIELD_KINDS = {
    "CheckBox": "checkbox",
    "RadioButton": "radio",
    "Text": "text",
    "ComboBox": "combobox",
    "ListBox": "listbox",
    "Signature": "signature",
    "Button": "button",
}
"""PyMuPDF's ``field_type_string`` -> the Instant form field kind."""


@dataclass(frozen=True)
class XfdfExport:
    """An XFDF file written from records, and what it could not carry.

    Attributes:
        data: the XFDF file (UTF-8).
        losses: one line for each record left out or written without some of its fields
            (see :func:`~lamina.pdf.xfdf.xfdf_export_losses`; widgets and form field
            definitions, whose values are written, are not listed).
    """

    data: bytes
    losses: tuple[str, ...]


def page_geometries(doc: PdfDocument) -> list[PageGeometry]:
    """Return every page's geometry, in order (what the codec converts ``rect`` with)."""
    return [doc.page_geometry(i) for i in range(doc.page_count)]


def pdf_form_fields(doc: PdfDocument, records: Iterable[Record] = ()) -> list[FormField]:
    """Return the PDF's form fields (their names and kinds), from ``records`` or its widgets."""
    fields = {r.name: r for r in records if isinstance(r, FormField)}
    with MUPDF_LOCK:
        for index in range(doc.page_count):
            for widget in doc.fitz_page(index).widgets() or ():
                name = widget.field_name or ""
                kind = _FIELD_KINDS.get(widget.field_type_string or "", "unknown")
                if name and name not in fields:
                    fields[name] = FormField(
                        id=RecordId(f"field:{name}"),
                        name=name,
                        field_type=f"pspdfkit/form-field/{kind}",
                    )
    return list(fields.values())


def export_xfdf(doc: PdfDocument, records: Sequence[Record] | None = None) -> XfdfExport:
    """Write ``records`` (default: what the PDF holds) as XFDF for ``doc``.

    Records XFDF cannot hold (images) are left out and listed in :attr:`XfdfExport.losses`;
    form field values are written with the kinds of the PDF's fields.
    """
    if records is None:
        records = read_records(doc)
    fields = pdf_form_fields(doc, records)
    known = {f.name for f in records if isinstance(f, FormField)}
    data = records_to_xfdf(
        [*records, *(f for f in fields if f.name not in known)],
        page_geometries(doc),
        pdf_name=doc.name,
        pdf_id=doc.pdf_id,
        skip_unwritable=True,
    )
    losses = xfdf_export_losses(r for r in records if not isinstance(r, NOT_XFDF))
    return XfdfExport(data, losses)


def import_xfdf(doc: PdfDocument, data: bytes) -> XfdfContent:
    """Read XFDF ``data`` as records on ``doc``'s pages, with the kinds of its form fields.

    Raises:
        XfdfError: the XML is hostile or not XFDF, or an annotation lies past the last page.
    """
    return xfdf_to_records(data, page_geometries(doc), form_fields=pdf_form_fields(doc))


def xfdf_as_diff(doc: PdfDocument, content: XfdfContent) -> InstantDocument:
    """Return the Instant JSON diff that imports ``content`` into ``doc``, as Acrobat does.

    The file's annotations and replies are added and its field values set. An annotation of
    the PDF whose name (``/NM``, else its id) a record of the file carries is replaced by it,
    and so are the replies under a replaced annotation: importing a file exported from the
    same PDF does not double every annotation.
    """
    names = {getattr(r, "name", None) or r.id for r in content.records}
    originals = [r for r in read_records(doc) if r.pdf_object_id is not None]
    replaced = {
        r.id
        for r in originals
        if isinstance(r, Annotation | Comment)
        and not isinstance(r, WidgetAnnotation)
        and (getattr(r, "name", None) or r.id) in names
    }
    grew = True
    while grew:
        more = {r.id for r in originals if isinstance(r, Comment) and r.root_id in replaced}
        grew = not more <= replaced
        replaced |= more
    skipped = [r.pdf_object_id for r in originals if r.id in replaced]
    return document_from_records(
        content.records,
        skipped_pdf_object_ids=[i for i in skipped if i is not None] or None,
        pdf_id=doc.pdf_id,
    )
