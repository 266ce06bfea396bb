"""Link borders are written as PDF has them (/C, /Border, /BS) and drawn (issue 10, defect 7).

pypdf reads the keys; poppler draws the written link (the four-engine check draws it in every
engine, tests/pdf/test_engines.py); a border another program wrote reads back.
"""

from __future__ import annotations

import io

import pymupdf
import pypdf
import pytest
from lamina.model.geometry import Rect
from lamina.model.instant_json import InstantDocument
from lamina.model.records import LinkAnnotation
from lamina.pdf import apply_instant_json, dump_instant_json, open_pdf

from tests.pdf.engines.renderers import render_poppler


def _blank() -> bytes:
    doc = pymupdf.open()
    doc.new_page(width=300, height=200)
    return bytes(doc.tobytes())


def _link(**kw: object) -> LinkAnnotation:
    return LinkAnnotation(
        id="01HZ0000000000000000000L01",
        page_index=0,
        bbox=Rect(50, 50, 200, 100),
        action={"type": "uri", "uri": "https://example.com/"},
        **kw,  # type: ignore[arg-type]
    )


def _link_dict(pdf: bytes) -> pypdf.generic.DictionaryObject:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    (link,) = [a.get_object() for a in reader.pages[0]["/Annots"]]  # type: ignore[union-attr]
    return link


@pytest.mark.parametrize(("style", "pdf_style"), [("solid", "/S"), ("dashed", "/D")])
def test_a_link_border_is_written_with_its_keys_and_an_appearance(
    style: str, pdf_style: str
) -> None:
    out = apply_instant_json(
        _blank(),
        InstantDocument(
            annotations=(_link(border_color="#ff00ff", border_width=3, border_style=style),)
        ),
    )
    link = _link_dict(out)
    assert [float(v) for v in link["/C"]] == [1, 0, 1]
    assert [float(v) for v in link["/Border"]] == [0, 0, 3]
    assert link["/BS"]["/W"] == 3 and link["/BS"]["/S"] == pdf_style
    assert "/N" in link["/AP"]
    (raster,) = render_poppler(out)
    magenta = sum(
        1
        for y in range(raster.height)
        for x in range(raster.width)
        if (p := raster.pixel(x, y))[0] > 200 and p[1] < 80 and p[2] > 200
    )
    assert magenta > 400  # the border of a 200 x 100 pt box, 3 pt wide (dashed: about half)


def test_a_link_without_a_border_has_none() -> None:
    out = apply_instant_json(_blank(), InstantDocument(annotations=(_link(),)))
    link = _link_dict(out)
    assert [float(v) for v in link["/Border"]] == [0, 0, 0]
    assert "/AP" not in link


def test_a_border_another_program_wrote_reads_back() -> None:
    doc = pymupdf.open(stream=apply_instant_json(_blank(), InstantDocument(annotations=(_link(),))))
    (xref,) = [x for x, _, _ in doc[0].annot_xrefs()]
    doc.xref_set_key(xref, "LaminaInstant", "null")
    doc.xref_set_key(xref, "C", "[0 0 1]")
    doc.xref_set_key(xref, "BS", "<</W 2/S/U>>")
    with open_pdf(doc.tobytes()) as opened:
        (back,) = dump_instant_json(opened).annotations
    assert isinstance(back, LinkAnnotation)
    assert (back.border_color, back.border_width, back.border_style) == ("#0000ff", 2, "underline")
