"""Clips with no path are taken out of the drawing copy's appearances, and nothing else."""

from __future__ import annotations

import pymupdf
import pytest
from lamina.pdf import open_pdf
from lamina.pdf.appearance_repair import repair_page, without_empty_clips
from lamina.pdf.render_worker import render_native

from tests.support.corpus import corpus_pdf


@pytest.mark.parametrize(
    ("stream", "fixed"),
    [
        (b"q\nW n\n1 0 0 rg 0 0 5 5 re f\nQ", b"q\n\n1 0 0 rg 0 0 5 5 re f\nQ"),
        (b"/X gs q W* n 0 g Q", b"/X gs q  0 g Q"),
        (b"0 0 5 5 re W n 0 g", None),  # a clip with its path stays
        (b"BT (W n) Tj ET", None),  # words in a string are not operators
        (b"q BI /W 1 /H 1 ID \x00 EI W n Q", None),  # inline images are left alone
    ],
)
def test_without_empty_clips(stream: bytes, fixed: bytes | None) -> None:
    assert without_empty_clips(stream) == fixed


def test_the_corpus_note_draws_in_mupdf_once_mended_and_the_file_is_not_touched() -> None:
    path = corpus_pdf("annot-all-markup-types")
    before = path.read_bytes()
    doc = open_pdf(path)
    clip = (130, 560, 165, 600)  # the sticky note's box at zoom 1

    def yellow() -> int:
        image = render_native(doc, 0, 1.0, clip)  # mends the page first
        return sum(
            1
            for y in range(image.height)
            for x in range(image.width)
            if (p := image.pixel(x, y))[2] > 200 and p[1] > 180 and p[0] < 100  # BGRA
        )

    assert yellow() > 300
    plain = pymupdf.open(path)[0].get_pixmap(clip=pymupdf.Rect(*clip))
    rgb = plain.samples
    assert not any(
        rgb[i] > 200 and rgb[i + 1] > 180 and rgb[i + 2] < 100 for i in range(0, len(rgb), 3)
    )  # MuPDF alone draws none of it
    repair_page(doc, 0)  # once per page: a second call changes nothing
    assert yellow() > 300
    assert path.read_bytes() == before
