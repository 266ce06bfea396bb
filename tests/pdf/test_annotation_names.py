"""New annotations are named without reading every /NM of their page (lamina.pdf._startup).

PyMuPDF's ``Page.add_*_annot`` named each new annotation by scanning the /NM of all the
page's annotations: writing k annotations on one page cost O(k^2), and a 100,000-record layer
PDF took more than 15 minutes. Lamina names each annotation itself right after.
"""

from __future__ import annotations

import pymupdf
import pytest
from lamina.model.geometry import Rect
from lamina.model.instant_json import InstantDocument
from lamina.model.records import RectangleAnnotation
from lamina.pdf import apply_instant_json, open_pdf, read_records


def _blank() -> bytes:
    doc = pymupdf.open()
    doc.new_page(width=595, height=842)
    return bytes(doc.tobytes())


def test_writing_annotations_never_scans_the_names_on_their_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scans = 0
    scan = pymupdf.JM_get_annot_id_list

    def counting(page: object) -> list[str]:
        nonlocal scans
        scans += 1
        return scan(page)

    monkeypatch.setattr(pymupdf, "JM_get_annot_id_list", counting)
    records = tuple(
        RectangleAnnotation(
            id=f"01HZ000000000000000000{i:04d}",
            page_index=0,
            bbox=Rect(10 + i, 10 + i, 40, 30),
            stroke_color="#ff0000",
        )
        for i in range(60)
    )
    written = apply_instant_json(_blank(), InstantDocument(annotations=records))
    assert scans == 0
    with open_pdf(written) as doc:
        names = [r.name for r in read_records(doc)]
    # Lamina's own names (the record ids), one per annotation.
    assert names == [str(r.id) for r in records]


def test_annotations_pymupdf_adds_still_get_names_of_their_own() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    names = {page.add_rect_annot(pymupdf.Rect(10, 10, 50, 50 + i)).info["id"] for i in range(5)}
    assert len(names) == 5 and all(name.startswith("fitz-A") for name in names)
