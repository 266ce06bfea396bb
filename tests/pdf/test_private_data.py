"""The private copy (``/LaminaInstant``) and its fingerprint, as the writer now stores them.

The fingerprint is read from the annotation dictionary directly (not through PyMuPDF's
``xref_get_key``, once per key): it must stay the digest files written before carry, or
every annotation of such a file would read as edited by another program. The copy is put
as a text string: any character of the record comes back as it was.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pymupdf
import pypdf
import pytest
from lamina.model.geometry import Point, Rect
from lamina.model.instant_json import InstantDocument
from lamina.model.records import (
    Annotation,
    HighlightAnnotation,
    InkAnnotation,
    InkLines,
    LineAnnotation,
    NoteAnnotation,
    PolygonAnnotation,
    RectangleAnnotation,
    Text,
    TextAnnotation,
)
from lamina.pdf import apply_instant_json, dump_instant_json, open_pdf
from lamina.pdf.private_data import _FINGERPRINT_KEYS, PRIVATE_KEY, _fingerprint


def _blank() -> bytes:
    doc = pymupdf.open()
    doc.new_page(width=595, height=842)
    return bytes(doc.tobytes())


def _written_before(doc: Any, xref: int) -> str:
    """The fingerprint as the writer computed it before (one ``xref_get_key`` per key)."""
    digest = hashlib.sha256()
    for key in _FINGERPRINT_KEYS:
        kind, value = doc.xref_get_key(xref, key)
        digest.update(f"{key}={kind}:{value}\n".encode())
    return digest.hexdigest()[:24]


def _records() -> list[Annotation]:
    common: dict[str, Any] = {"page_index": 0, "creator_name": "Zoë 中文", "opacity": 0.5}
    return [
        RectangleAnnotation(
            id="01HZ00000000000000000000R1",
            bbox=Rect(40, 40, 80, 60),
            stroke_color="#ff0000",
            fill_color="#00ff00",
            stroke_width=2.5,
            stroke_dash_array=(3, 1.5),
            note="a note (with parentheses) \\ and a backslash",
            **common,
        ),
        RectangleAnnotation(
            id="01HZ00000000000000000000R2",
            bbox=Rect(200, 40, 80, 60),
            stroke_color="#0000ff",
            cloudy_border_intensity=2,
            **common,
        ),
        InkAnnotation(
            id="01HZ00000000000000000000I1",
            bbox=Rect(40, 200, 60, 40),
            lines=InkLines.from_strokes([[(40, 200), (70, 240), (100, 210)]]),
            line_width=3,
            stroke_color="#008000",
            **common,
        ),
        HighlightAnnotation(
            id="01HZ00000000000000000000H1",
            bbox=Rect(40, 300, 100, 12),
            rects=(Rect(40, 300, 100, 12),),
            color="#ffff00",
            **common,
        ),
        LineAnnotation(
            id="01HZ00000000000000000000L1",
            bbox=Rect(200, 200, 80, 40),
            start_point=Point(200, 200),
            end_point=Point(280, 240),
            stroke_color="#000000",
            line_caps={"start": "circle", "end": "openArrow"},
            **common,
        ),
        PolygonAnnotation(
            id="01HZ00000000000000000000P1",
            bbox=Rect(300, 300, 60, 60),
            points=(Point(300, 300), Point(360, 300), Point(330, 360)),
            stroke_color="#123456",
            **common,
        ),
        NoteAnnotation(
            id="01HZ00000000000000000000N1",
            bbox=Rect(400, 40, 20, 20),
            text=Text("Ελληνικά"),
            icon="check",
            color="#ffd83f",
            **common,
        ),
        TextAnnotation(
            id="01HZ00000000000000000000T1",
            bbox=Rect(400, 200, 120, 40),
            text=Text("Привет, мир"),
            font_size=10,
            font_color="#000000",
            **common,
        ),
    ]


def test_the_fingerprint_is_the_one_files_written_before_carry() -> None:
    out = apply_instant_json(_blank(), InstantDocument(annotations=tuple(_records())))
    doc = pymupdf.open(stream=out, filetype="pdf")
    xrefs = [x for x, _, _ in doc[0].annot_xrefs()]
    stored = {}
    for xref in xrefs:
        kind, value = doc.xref_get_key(xref, PRIVATE_KEY)
        if kind == "string":
            stored[xref] = json.loads(value)["fingerprint"]
            assert _fingerprint(doc, xref) == _written_before(doc, xref) == stored[xref]
    assert len(stored) == len(_records())
    # another program's edit changes it, as before
    first = next(iter(stored))
    doc.xref_set_key(first, "C", "[0 0 1]")
    assert _fingerprint(doc, first) == _written_before(doc, first) != stored[first]


@pytest.mark.parametrize(
    "text",
    [
        # U+0080..U+00A0 are where PDFDocEncoding and Latin-1 differ (as bytes, U+0085
        # reads back as an ellipsis, U+00A0 as a euro sign)
        "\u0085 \u00a0 \u0097 \u00e9 (x) \\",
        "\u0085 \u00a0 \u00e9 € 中 \U0001f600",
    ],
)
def test_the_private_copy_keeps_every_character(text: str) -> None:
    record = RectangleAnnotation(
        id="01HZ00000000000000000000R9",
        page_index=0,
        bbox=Rect(40, 40, 80, 60),
        stroke_color="#ff0000",
        custom_data={"label": text},
    )
    out = apply_instant_json(_blank(), InstantDocument(annotations=(record,)))
    with open_pdf(out) as doc:
        (back,) = dump_instant_json(doc).annotations
    assert back.custom_data == {"label": text}
    # an independent reader finds the same text string
    reader = pypdf.PdfReader(io.BytesIO(out))
    (annot,) = [a.get_object() for a in reader.pages[0]["/Annots"]]  # type: ignore[union-attr]
    assert json.loads(str(annot["/" + PRIVATE_KEY]))["record"]["customData"] == {"label": text}
