"""What Lamina reads from other programs' annotations: blend modes, free text, schemas.

Issue 10, defects 3 (free text background, alignment, rotation, rich text), 5 (blend modes)
and 12 (the fields Document Engine's schemas require).
"""

from __future__ import annotations

import io

import pymupdf
import pypdf
from lamina.model.geometry import Rect
from lamina.model.instant_json import InstantDocument
from lamina.model.records import (
    HighlightAnnotation,
    LinkAnnotation,
    MarkupAnnotation,
    Text,
    TextAnnotation,
)
from lamina.pdf import apply_instant_json, dump_instant_json, open_pdf, read_records

from tests.conftest import CORPUS_PDFS, corpus_pdf
from tests.pdf.test_fidelity_corpus import strip_with_pypdf


def test_the_corpus_multiply_highlight_reads_and_writes_its_blend_mode() -> None:
    path = corpus_pdf("annot-textmarkup-quadpoints")
    with open_pdf(path) as doc:
        dumped = dump_instant_json(doc)
    (highlight,) = [a for a in dumped.annotations if isinstance(a, HighlightAnnotation)]
    assert highlight.blend_mode == "multiply"
    out = apply_instant_json(strip_with_pypdf(path), dumped)
    reader = pypdf.PdfReader(io.BytesIO(out))
    (annot,) = [
        a.get_object()
        for a in reader.pages[0]["/Annots"]  # type: ignore[union-attr]
        if a.get_object()["/Subtype"] == "/Highlight"
    ]
    appearance = annot["/AP"]["/N"].get_object()
    states = appearance["/Resources"].get("/ExtGState", {})
    modes = {str(annot.get("/BM"))} | {str(s.get_object().get("/BM")) for s in states.values()}
    assert "/Multiply" in modes


def _free_text_by_another_program() -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    annot = page.add_freetext_annot(
        pymupdf.Rect(100, 100, 300, 160),
        "centred",
        fontsize=14,
        fontname="Cour",
        text_color=(1, 0, 0),
        fill_color=(1, 1, 0),
        align=1,
        rotate=90,
    )
    annot.update()
    return bytes(doc.tobytes())


def test_another_programs_free_text_reads_background_alignment_font_and_rotation() -> None:
    with open_pdf(_free_text_by_another_program()) as doc:
        (text,) = read_records(doc)
    assert isinstance(text, TextAnnotation)
    assert text.background_color == "#ffff00"
    assert text.border_color is None  # /C is the background, not a border
    assert text.horizontal_align == "center"
    assert text.rotation == 90
    assert text.font == "Courier"
    assert text.font_color == "#ff0000" and text.font_size == 14


def test_a_dumped_free_text_applies_again_and_rich_text_keeps_its_words() -> None:
    source = _free_text_by_another_program()
    with open_pdf(source) as doc:
        dumped = dump_instant_json(doc)
    rich = TextAnnotation(
        id="01HZ0000000000000000000077",
        page_index=0,
        bbox=Rect(100, 300, 200, 50),
        text=Text("<p>bold <b>words</b></p>", "xhtml"),
        border_color="#0000ff",
        border_width=1,
    )
    diff = InstantDocument(annotations=(*dumped.annotations, rich))
    out = apply_instant_json(strip_with_pypdf_bytes(source), diff)
    reader = pypdf.PdfReader(io.BytesIO(out))
    contents = sorted(str(a.get_object().get("/Contents")) for a in reader.pages[0]["/Annots"])  # type: ignore[union-attr]
    assert contents == ["bold words", "centred"]
    with open_pdf(out) as doc:
        back = {r.name: r for r in read_records(doc)}
    again = back["01HZ0000000000000000000077"]
    assert isinstance(again, TextAnnotation) and again.text == rich.text


def strip_with_pypdf_bytes(data: bytes) -> bytes:
    reader = pypdf.PdfReader(io.BytesIO(data))
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        if "/Annots" in page:
            del page["/Annots"]
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_every_corpus_free_text_and_markup_has_the_fields_the_schemas_require() -> None:
    checked = 0
    for path in sorted(CORPUS_PDFS.glob("annot-*.pdf")):
        with open_pdf(path) as doc:
            for record in read_records(doc):
                if isinstance(record, TextAnnotation):
                    assert record.opacity is not None, path.name
                    assert record.horizontal_align and record.vertical_align, path.name
                    assert record.font_size, path.name
                    checked += 1
                elif isinstance(record, MarkupAnnotation):
                    assert record.color, path.name
                    checked += 1
    assert checked >= 10


def test_free_text_is_written_in_its_font_and_rotation_and_a_link_keeps_its_name() -> None:
    records = (
        TextAnnotation(
            id="01HZ0000000000000000000081",
            page_index=0,
            bbox=Rect(100, 100, 200, 60),
            text=Text("courier"),
            font="Courier",
            rotation=90,
        ),
        LinkAnnotation(
            id="01HZ0000000000000000000082",
            page_index=0,
            bbox=Rect(100, 300, 100, 20),
            action={"type": "uri", "uri": "https://example.com"},
        ),
    )
    doc = pymupdf.open()
    doc.new_page(width=595, height=842)
    out = apply_instant_json(bytes(doc.tobytes()), InstantDocument(annotations=records))
    reader = pypdf.PdfReader(io.BytesIO(out))
    by_subtype = {
        str(a.get_object()["/Subtype"]): a.get_object()
        for a in reader.pages[0]["/Annots"]  # type: ignore[union-attr]
    }
    free = by_subtype["/FreeText"]
    assert "/Cour" in str(free["/DA"]) and int(free["/Rotate"]) == 90
    assert str(by_subtype["/Link"]["/NM"]) == "01HZ0000000000000000000082"
