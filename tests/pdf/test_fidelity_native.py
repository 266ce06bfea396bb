"""What the standard PDF keys say, read by pypdf, not through Lamina's private copy (defect 7).

Dash arrays keep their fractions, a shape without a stroke colour gets no border, a widget's
field name is not its author, and a PDF whose ``/ID`` is made of literal strings has a pdfId.
"""

from __future__ import annotations

import base64
import io
import re

import pymupdf
import pypdf
from lamina.model.geometry import Rect
from lamina.model.instant_json import InstantDocument
from lamina.model.records import RectangleAnnotation, WidgetAnnotation
from lamina.pdf import apply_instant_json, open_pdf, read_records

from tests.pdf.test_fidelity_forms import radio_pdf


def _blank() -> bytes:
    doc = pymupdf.open()
    doc.new_page(width=595, height=842)
    return bytes(doc.tobytes())


def _only_annotation(data: bytes) -> pypdf.generic.DictionaryObject:
    reader = pypdf.PdfReader(io.BytesIO(data))
    (annot,) = [a.get_object() for a in reader.pages[0]["/Annots"]]  # type: ignore[union-attr]
    return annot  # type: ignore[no-any-return]


def test_a_dash_array_is_written_with_its_fractions() -> None:
    record = RectangleAnnotation(
        id="01HZ0000000000000000000001",
        page_index=0,
        bbox=Rect(100, 100, 100, 50),
        stroke_color="#ff0000",
        stroke_width=2,
        stroke_dash_array=(3.5, 1.25),
    )
    annot = _only_annotation(apply_instant_json(_blank(), InstantDocument(annotations=(record,))))
    assert [float(v) for v in annot["/BS"]["/D"]] == [3.5, 1.25]
    appearance = annot["/AP"]["/N"].get_object().get_data()
    assert b"[3.5 1.25]" in appearance


def test_a_shape_without_stroke_colour_gets_no_border() -> None:
    record = RectangleAnnotation(
        id="01HZ0000000000000000000001",
        page_index=0,
        bbox=Rect(100, 100, 100, 50),
        fill_color="#00ff00",
    )
    annot = _only_annotation(apply_instant_json(_blank(), InstantDocument(annotations=(record,))))
    assert list(annot.get("/C", [])) == []
    appearance = annot["/AP"]["/N"].get_object().get_data()
    assert b" RG" not in appearance  # no stroke colour set, so nothing stroked in black


def test_a_widgets_field_name_is_not_read_as_its_author() -> None:
    with open_pdf(radio_pdf()) as doc:
        widgets = [r for r in read_records(doc) if isinstance(r, WidgetAnnotation)]
    assert {w.form_field_name for w in widgets} == {"size", "agree"}
    assert all(w.creator_name is None for w in widgets)


def test_a_literal_string_id_gives_a_pdf_id() -> None:
    data = re.sub(rb"/ID\s*\[[^\]]*\]", rb"/ID[(ab\\(c)(xy\\101)]", _blank())
    assert b"/ID[(ab" in data
    with open_pdf(data) as doc:
        assert doc.pdf_id is not None
        assert base64.b64decode(doc.pdf_id.permanent) == b"ab(c"
        assert base64.b64decode(doc.pdf_id.changing) == b"xyA"
