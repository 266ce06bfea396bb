"""Writing k annotations on one page costs O(k) of MuPDF's work (lamina.pdf.page_batches).

MuPDF's ``pdf_update_annot`` re-checks every annotation of every open page each time one
appearance is generated: written onto the full page, k annotations cost O(k^2) (a
100,000-record layer PDF took 316 s of CPU instead of about 135 s). The writer holds the
page with only a batch of the new annotations on MuPDF's list; the PDF it writes must be the
same, object for object and pixel for pixel, as writing onto the full page.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pymupdf
import pytest
from lamina.model.geometry import Rect
from lamina.model.ids import RecordId
from lamina.model.instant_json import InstantDocument, parse_instant_json
from lamina.model.records import Comment, RectangleAnnotation, Text
from lamina.pdf import apply_instant_json, open_pdf, read_records
from lamina.pdf import writer as writer_module
from lamina.pdf.page_batches import BATCH
from pymupdf import mupdf

from tests.pdf.engines.all_types import base_pdf, instant_json
from tests.pdf.engines.renderers import missing, render_pdfium, render_poppler
from tests.support.many_annotations import write_many_annotations


def _blank() -> bytes:
    doc = pymupdf.open()
    doc.new_page(width=595, height=842)
    return bytes(doc.tobytes())


def _rectangles(count: int) -> InstantDocument:
    return InstantDocument(
        annotations=tuple(
            RectangleAnnotation(
                id=RecordId(f"01HZ00000000000000000{i:05d}"),
                page_index=0,
                bbox=Rect(10 + i % 500, 10 + i % 700, 40, 30),
                stroke_color="#ff0000",
            )
            for i in range(count)
        )
    )


@dataclasses.dataclass
class _Visits:
    """What MuPDF's whole-document appearance pass saw, per pdf_update_annot call."""

    annotations: int = 0  # summed over the calls that ran the pass
    most_on_page: int = 0
    most_pages_open: int = 0


def _count_visits(monkeypatch: pytest.MonkeyPatch) -> _Visits:
    visits = _Visits()
    update = mupdf.pdf_update_annot

    def counting(annot: Any) -> Any:
        page = mupdf.pdf_annot_page(annot)
        pdf = page.doc()
        if pdf.m_internal.resynth_required:
            # The pass visits every annotation and widget of every live open page.
            on_page = 0
            item = mupdf.pdf_first_annot(page)
            while item.m_internal:
                on_page += 1
                item = mupdf.pdf_next_annot(item)
            item = mupdf.pdf_first_widget(page)
            while item.m_internal:
                on_page += 1
                item = mupdf.pdf_next_widget(item)
            pages_open, opened = 0, pdf.m_internal.super.open
            while opened:
                pages_open += opened.doc is not None  # dropped pages stay listed, dead
                opened = opened.next
            visits.annotations += on_page
            visits.most_on_page = max(visits.most_on_page, on_page)
            visits.most_pages_open = max(visits.most_pages_open, pages_open)
        return update(annot)

    monkeypatch.setattr(mupdf, "pdf_update_annot", counting)
    return visits


def test_the_appearance_work_per_annotation_does_not_grow_with_the_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    visits = _count_visits(monkeypatch)
    apply_instant_json(_blank(), _rectangles(100))
    at_100 = visits.annotations
    visits.annotations = 0
    written = apply_instant_json(_blank(), _rectangles(400))
    at_400 = visits.annotations
    # Linear: 4 times the annotations, about 4 times the work (onto the full page: 16 times).
    assert at_400 <= 5 * at_100, (at_100, at_400)
    assert visits.most_on_page <= BATCH + 1
    assert visits.most_pages_open == 1
    with open_pdf(written) as doc:
        assert [r.id for r in read_records(doc)] == [r.id for r in _rectangles(400).annotations]


def _normalized(pdf: bytes) -> list[str]:
    """Every object of ``pdf`` with its decoded stream, less what differs run to run."""
    doc = pymupdf.open(stream=pdf)
    objects = [re.sub(r"/ID \[[^\]]*\]", "", doc.xref_object(-1, compressed=False))]
    for xref in range(1, doc.xref_length()):
        text = doc.xref_object(xref, compressed=False)
        if doc.xref_is_stream(xref):
            text += repr(doc.xref_stream(xref))
        # PyMuPDF names a new widget at random (lamina.pdf._startup).
        objects.append(re.sub(r"fitz-(\w)-[0-9a-f]{32}", r"fitz-\1-", text))
    return objects


def _many_of_every_kind(source: bytes) -> InstantDocument:
    """Every annotation type of the engine check, four times over (three times on the first
    two pages: more than a batch a page; once on the turned, cropped ones), an update and a
    deletion of the source's own annotations, and replies."""
    data = instant_json()
    annotations = [
        dict(record, id=f"01J0BATCH{copy}{i:016d}", pageIndex=record["pageIndex"] + 2 * (copy == 3))
        for copy in range(4)
        for i, record in enumerate(data["annotations"])
    ]
    with open_pdf(source) as doc:
        originals = read_records(doc)
    square = next(r for r in originals if r.type == "pspdfkit/shape/rectangle")
    note = next(r for r in originals if r.type == "pspdfkit/note")
    diff = parse_instant_json(json.dumps(dict(data, annotations=annotations)).encode())
    updated = dataclasses.replace(square, stroke_color="#00aa00")
    diff = dataclasses.replace(
        diff,
        annotations=(*diff.annotations, updated),
        skipped_pdf_object_ids=(square.pdf_object_id, note.pdf_object_id),
    )
    replies = tuple(
        Comment(
            id=RecordId(f"01J0REPLY0{i:016d}"),
            root_id=RecordId(annotations[i * 7]["id"]),
            page_index=annotations[i * 7]["pageIndex"],
            text=Text(f"reply {i}"),
        )
        for i in range(5)
    )
    return dataclasses.replace(diff, comments=(*diff.comments, *replies))


@pytest.fixture
def source(tmp_path: Path) -> bytes:
    """The engine check's pages and form, with annotations of their own on both pages, and two
    more pages, turned and cropped."""
    doc = pymupdf.open(stream=base_pdf())
    for rotation in (90, 270):
        turned = doc.new_page(width=612, height=792)
        turned.set_cropbox(pymupdf.Rect(10, 20, 602, 772))
        turned.set_rotation(rotation)
    many = pymupdf.open(write_many_annotations(tmp_path / "many.pdf", 40, pages=2))
    for index in range(2):
        for annot in many[index].annots():
            kind = annot.type[0]
            if kind == pymupdf.PDF_ANNOT_SQUARE:
                made = doc[index].add_rect_annot(annot.rect)
            elif kind == pymupdf.PDF_ANNOT_TEXT:
                made = doc[index].add_text_annot(annot.rect.tl, annot.info["content"])
            else:
                made = doc[index].add_freetext_annot(annot.rect, annot.info["content"], fontsize=8)
            made.set_info(title=annot.info["title"])
            made.update()
    return bytes(doc.tobytes())


@pytest.mark.parametrize("flatten", [False, True], ids=["annotations", "flattened"])
def test_batched_writing_gives_the_pdf_of_writing_onto_the_full_page(
    monkeypatch: pytest.MonkeyPatch, source: bytes, flatten: bool
) -> None:
    diff = _many_of_every_kind(source)
    batched = apply_instant_json(source, diff, flatten=flatten)
    with monkeypatch.context() as unbatched:
        # The writer as it was: every annotation added to the page loaded in full.
        unbatched.setattr(writer_module._Writer, "adding_page", writer_module._Writer.page)
        full_page = apply_instant_json(source, diff, flatten=flatten)
    assert _normalized(batched) == _normalized(full_page)
    for render in (render_poppler, render_pdfium):
        engine = "poppler" if render is render_poppler else "pdfium"
        if missing(engine):
            continue
        assert [r.rgb for r in render(batched)] == [r.rgb for r in render(full_page)]
    # More than one batch on a page, the first one written after the page's own annotations.
    assert sum(1 for r in diff.annotations if r.page_index == 0) > 2 * BATCH


def test_a_shared_annots_array_is_left_alone_as_mupdf_leaves_it() -> None:
    # pdf_create_annot gives a page with an indirect /Annots (other pages may share it) a
    # direct copy; the batches must end the same way, the new annotations after the old.
    doc = pymupdf.open()
    page = doc.new_page()
    old = page.add_rect_annot(pymupdf.Rect(10, 10, 50, 50)).xref
    array = doc.get_new_xref()
    doc.update_object(array, f"[{old} 0 R]")
    doc.xref_set_key(page.xref, "Annots", f"{array} 0 R")
    diff = _rectangles(BATCH * 2 + 3)
    written = apply_instant_json(doc.tobytes(), diff)
    out = pymupdf.open(stream=written)
    assert out.xref_object(array, compressed=True) == f"[{old} 0 R]"
    kind, value = out.xref_get_key(out[0].xref, "Annots")
    refs = [int(n) for n in re.findall(r"(\d+) 0 R", value)]
    assert kind == "array" and refs[0] == old and len(refs) == 1 + len(diff.annotations)
    with open_pdf(written) as reread:
        ids = [r.id for r in read_records(reread) if r.pdf_object_id != old]
    assert ids == [r.id for r in diff.annotations]
    with pytest.MonkeyPatch.context() as unbatched:
        unbatched.setattr(writer_module._Writer, "adding_page", writer_module._Writer.page)
        assert _normalized(apply_instant_json(doc.tobytes(), diff)) == _normalized(written)


def test_a_page_nothing_is_written_on_gets_no_annots() -> None:
    empty = RectangleAnnotation(id=RecordId("01HZ0000000000000000000000"), bbox=Rect(0, 0, 0, 0))
    written = apply_instant_json(_blank(), InstantDocument(annotations=(empty,)))
    out = pymupdf.open(stream=written)
    assert out.xref_get_key(out[0].xref, "Annots") == ("null", "null")


def test_a_page_whose_annots_is_not_an_array_is_written_as_mupdf_writes_it() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    doc.xref_set_key(page.xref, "Annots", "42")  # damaged: MuPDF replaces it with an array
    source = doc.tobytes()
    diff = _rectangles(BATCH + 5)
    written = apply_instant_json(source, diff)
    with pytest.MonkeyPatch.context() as unbatched:
        unbatched.setattr(writer_module._Writer, "adding_page", writer_module._Writer.page)
        assert _normalized(apply_instant_json(source, diff)) == _normalized(written)
    with open_pdf(written) as reread:
        assert [r.id for r in read_records(reread)] == [r.id for r in diff.annotations]
