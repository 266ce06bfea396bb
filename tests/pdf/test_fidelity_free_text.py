"""Free text in any script draws in every engine and reads back as text (issue 10, defect 3).

Greek was drawn blank by PDFium: MuPDF wrote it with a base-14 font and a /Differences
encoding, which PDFium cannot draw without the font. Lamina embeds the font MuPDF draws with.
"""

from __future__ import annotations

import io
import subprocess

import pymupdf
import pypdf
import pytest
from lamina.model.geometry import Rect
from lamina.model.instant_json import InstantDocument
from lamina.model.records import Text, TextAnnotation
from lamina.pdf import apply_instant_json, dump_instant_json, open_pdf

from tests.pdf.engines.renderers import ENGINES, missing

WORDS = {"greek": "Καλημέρα κόσμε", "cyrillic": "Привет мир", "latin": "Bonjour à tous"}
RED = (0xC0, 0x00, 0x00)


def _pdf(text: str, *, flatten: bool = False, font: str = "Helvetica") -> bytes:
    doc = pymupdf.open()
    doc.new_page(width=300, height=120)
    record = TextAnnotation(
        id="01HZ0000000000000000000T01",
        page_index=0,
        bbox=Rect(20, 20, 260, 60),
        text=Text(text),
        font=font,
        font_size=20,
        font_color="#c00000",
        opacity=1.0,
    )
    return apply_instant_json(
        doc.tobytes(), InstantDocument(annotations=(record,)), flatten=flatten
    )


def _red(engine: str, pdf: bytes) -> int:
    (raster,) = ENGINES[engine](pdf)
    return sum(
        1
        for y in range(raster.height)
        for x in range(raster.width)
        if max(abs(a - b) for a, b in zip(raster.pixel(x, y), RED, strict=True)) < 60
    )


@pytest.mark.parametrize("font", ["Helvetica", "Times", "Courier"])
@pytest.mark.parametrize("script", sorted(WORDS))
def test_free_text_in_any_script_draws_in_pdfium_as_in_poppler(script: str, font: str) -> None:
    if missing("pdfium"):
        pytest.skip(str(missing("pdfium")))
    pdf = _pdf(WORDS[script], font=font)
    poppler, pdfium = _red("poppler", pdf), _red("pdfium", pdf)
    assert poppler > 300
    # PDFium's own Courier is thinner than poppler's (Latin 0.57); blank Greek was 0.16
    assert pdfium > 0.45 * poppler, (pdfium, poppler)


@pytest.mark.parametrize("script", sorted(WORDS))
def test_free_text_in_any_script_reads_back_as_its_words(script: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    words = WORDS[script]
    path = tmp_path / "t.pdf"
    path.write_bytes(_pdf(words))
    shown = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert words in shown
    flat = pypdf.PdfReader(io.BytesIO(_pdf(words, flatten=True)))
    assert words in flat.pages[0].extract_text()


def test_one_font_is_embedded_for_many_free_texts() -> None:
    doc = pymupdf.open()
    doc.new_page(width=300, height=300)
    records = tuple(
        TextAnnotation(
            id=f"01HZ0000000000000000000T{i:02d}",
            page_index=0,
            bbox=Rect(20, 20 + 40 * i, 260, 30),
            text=Text(WORDS["greek"]),
            font_size=12,
            opacity=1.0,
        )
        for i in range(5)
    )
    out = apply_instant_json(doc.tobytes(), InstantDocument(annotations=records))
    written = pymupdf.open(stream=out)
    programs = [
        x for x in range(1, written.xref_length()) if "/FontFile3" in written.xref_object(x)
    ]
    assert len(programs) == 1
    # and a Latin free text embeds none (base-14 fonts draw it everywhere)
    latin = apply_instant_json(
        doc.tobytes(),
        InstantDocument(
            annotations=(
                TextAnnotation(
                    id="01HZ0000000000000000000T99",
                    page_index=0,
                    bbox=Rect(20, 20, 200, 30),
                    text=Text(WORDS["latin"]),
                    opacity=1.0,
                ),
            )
        ),
    )
    assert b"FontFile3" not in pymupdf.open(stream=latin).tobytes(expand=255)


def test_vertical_align_survives_another_programs_edit() -> None:
    doc = pymupdf.open()
    doc.new_page(width=300, height=120)
    record = TextAnnotation(
        id="01HZ0000000000000000000T01",
        page_index=0,
        bbox=Rect(20, 20, 260, 60),
        text=Text("low"),
        vertical_align="bottom",
        opacity=1.0,
    )
    out = pymupdf.open(
        stream=apply_instant_json(doc.tobytes(), InstantDocument(annotations=(record,)))
    )
    (xref,) = [x for x, _, _ in out[0].annot_xrefs()]
    out.xref_set_key(xref, "T", "(Another program)")  # the standard keys change
    with open_pdf(out.tobytes()) as edited:
        (back,) = dump_instant_json(edited).annotations
    assert isinstance(back, TextAnnotation)
    assert back.creator_name == "Another program"
    assert back.vertical_align == "bottom"
