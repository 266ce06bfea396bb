"""What Lamina draws: stamps, note icons, polyline line ends, popups (issue 10, defect 9).

Checked with independent readers: pypdf for the appearance streams, poppler's ``pdftotext
-bbox`` for where a stamp's words land.
"""

from __future__ import annotations

import io
import re
import subprocess

import pymupdf
import pypdf
import pytest
from lamina.model.geometry import Point, Rect
from lamina.model.instant_json import InstantDocument
from lamina.model.records import (
    STAMP_TYPES,
    NoteAnnotation,
    PolylineAnnotation,
    StampAnnotation,
    Text,
)
from lamina.pdf import apply_instant_json


def _blank(width: float = 600, height: float = 842) -> bytes:
    doc = pymupdf.open()
    doc.new_page(width=width, height=height)
    return bytes(doc.tobytes())


def _id(i: int) -> str:
    return f"01HZ00000000000000000000{i:02d}"


def _appearances(data: bytes, subtype: str) -> list[bytes]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    annots = [a.get_object() for a in reader.pages[0]["/Annots"]]  # type: ignore[union-attr]
    return [
        bytes(a["/AP"]["/N"].get_object().get_data()) for a in annots if a["/Subtype"] == subtype
    ]


_WORDS = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">')


def test_every_standard_stamp_shows_its_own_words_inside_its_box(tmp_path) -> None:  # type: ignore[no-untyped-def]
    standard = [t for t in STAMP_TYPES if t != "Custom"]
    boxes = [Rect(10 + 195 * (i % 3), 10 + 55 * (i // 3), 185, 50) for i in range(len(standard))]
    records = tuple(
        StampAnnotation(id=_id(i), page_index=0, bbox=box, stamp_type=t)
        for i, (t, box) in enumerate(zip(standard, boxes, strict=True))
    )
    out = apply_instant_json(_blank(), InstantDocument(annotations=records))
    pdf = tmp_path / "stamps.pdf"
    pdf.write_bytes(out)
    html = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    words = [(float(a), float(b), float(c), float(d)) for a, b, c, d in _WORDS.findall(html)]
    text = re.findall(r">([^<]+)</word>", html)
    for stamp_type, box in zip(standard, boxes, strict=True):
        inside = [
            t
            for t, (x0, y0, x1, y1) in zip(text, words, strict=True)
            if x0 >= box.left - 1
            and x1 <= box.right + 1
            and y0 >= box.top - 1
            and y1 <= box.bottom + 1
        ]
        expected = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", stamp_type).upper().split()
        assert inside == expected, stamp_type


def test_the_five_icons_mupdf_cannot_draw_are_drawn_and_not_as_a_star() -> None:
    icons = ["rightPointer", "rightArrow", "check", "circle", "cross", "star"]
    records = tuple(
        NoteAnnotation(
            id=_id(i), page_index=0, bbox=Rect(20 + 40 * i, 20, 24, 24), text=Text("x"), icon=icon
        )
        for i, icon in enumerate(icons)
    )
    out = apply_instant_json(_blank(), InstantDocument(annotations=records))
    streams = _appearances(out, "/Text")
    assert len(streams) == len(icons)
    assert len(set(streams)) == len(icons)  # six different drawings


def test_polyline_line_ends_are_drawn_once_and_nothing_is_printed(
    capfd: pytest.CaptureFixture[str],
) -> None:
    record = PolylineAnnotation(
        id=_id(1),
        page_index=0,
        bbox=Rect(10, 10, 200, 100),
        points=(Point(20, 100), Point(100, 20), Point(180, 100)),
        stroke_color="#ff0000",
        stroke_width=2,
        line_caps={"start": "openArrow", "end": "closedArrow"},
    )
    out = apply_instant_json(_blank(), InstantDocument(annotations=(record,)))
    (stream,) = _appearances(out, "/PolyLine")
    # one path for the line and one for each end: three strokes
    assert stream.count(b"\nS\n") == 3, stream
    captured = capfd.readouterr()
    assert "cannot" not in captured.out + captured.err


def test_each_popup_opens_beside_its_own_note() -> None:
    boxes = [Rect(50, 400, 32, 32), Rect(450, 600, 32, 32)]
    records = tuple(
        NoteAnnotation(id=_id(i), page_index=0, bbox=box, text=Text("x"), icon="note")
        for i, box in enumerate(boxes)
    )
    out = apply_instant_json(_blank(595, 842), InstantDocument(annotations=records))
    reader = pypdf.PdfReader(io.BytesIO(out))
    popups = [
        [float(v) for v in a.get_object()["/Rect"]]
        for a in reader.pages[0]["/Annots"]  # type: ignore[union-attr]
        if a.get_object()["/Subtype"] == "/Popup"
    ]
    assert len(popups) == 2 and popups[0] != popups[1]
    for box, (x0, y0, x1, y1) in zip(boxes, popups, strict=True):
        top = 842 - box.top  # PDF space, y up
        assert x0 >= 0 and x1 <= 595 and y0 >= 0 and y1 <= 842
        assert abs(y1 - top) <= 110  # at the note's height, not at one fixed spot
        assert x1 <= box.left or x0 >= box.right  # beside it, not over it
