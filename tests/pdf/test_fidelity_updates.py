"""An annotation keeps its PDF object and its /AP until its content changes (issue 10, 6 and 8).

Checked with pypdf (an independent reader): the object number of an updated original, and
the bytes of its appearance stream when only what it does not draw changed (moved, note
edited); and ``diff`` of a PDF another program edited (pypdf, and PyMuPDF directly: add,
change, delete, then a full renumbering) applied to the original reproduces the edit.
"""

from __future__ import annotations

import dataclasses
import io

import pymupdf
import pypdf
import pytest
from lamina.model.geometry import Rect
from lamina.model.instant_json import InstantDocument
from lamina.model.records import Annotation, ImageAnnotation, Record, StampAnnotation
from lamina.pdf import apply_instant_json, diff_documents, open_pdf, read_records
from pypdf.annotations import Rectangle
from pypdf.generic import ArrayObject, FloatObject, NameObject, TextStringObject

from tests.conftest import corpus_pdf

STAMPS = corpus_pdf("annot-stamps-acrobat")


def _records(data: bytes | object) -> list[Record]:
    with open_pdf(data) as doc:  # type: ignore[arg-type]
        return read_records(doc)


def _appearance(data: bytes, number: int) -> bytes:
    reader = pypdf.PdfReader(io.BytesIO(data))
    annot = reader.get_object(number)
    assert annot is not None
    return bytes(annot["/AP"]["/N"].get_object().get_data())  # type: ignore[index]


def _moved(record: Annotation, dx: float) -> Annotation:
    box = record.bbox
    return dataclasses.replace(record, bbox=Rect(box.left + dx, box.top, box.width, box.height))


@pytest.mark.parametrize("kind", ["image", "custom stamp"])
def test_moving_or_annotating_another_programs_stamp_keeps_its_appearance(kind: str) -> None:
    source = STAMPS.read_bytes()
    records = _records(source)
    if kind == "image":
        (original,) = [r for r in records if isinstance(r, ImageAnnotation)]
        edited: Annotation = _moved(original, 30)
    else:
        (original,) = [
            r for r in records if isinstance(r, StampAnnotation) and r.stamp_type == "Custom"
        ]
        edited = dataclasses.replace(_moved(original, -10), note="vu")
    number = original.pdf_object_id
    assert number is not None
    diff = InstantDocument(annotations=(edited,), skipped_pdf_object_ids=(number,))
    out = apply_instant_json(source, diff)
    assert _appearance(out, number) == _appearance(source, number)
    back = {r.pdf_object_id: r for r in _records(out)}[number]
    assert back.type == original.type
    assert back.bbox == pytest.approx(edited.bbox, abs=0.01)
    assert (back.note or None) == (edited.note or None)


def test_a_redrawn_original_keeps_its_object_number_and_a_later_diff_sees_an_update() -> None:
    source = STAMPS.read_bytes()
    (stamp,) = [r for r in _records(source) if getattr(r, "stamp_type", "") == "Approved"]
    assert isinstance(stamp, StampAnnotation) and stamp.pdf_object_id is not None
    recoloured = dataclasses.replace(stamp, color="#0000ff")
    out = apply_instant_json(
        source,
        InstantDocument(annotations=(recoloured,), skipped_pdf_object_ids=(stamp.pdf_object_id,)),
    )
    assert _appearance(out, stamp.pdf_object_id) != _appearance(source, stamp.pdf_object_id)
    back = {r.pdf_object_id: r for r in _records(out)}
    assert getattr(back[stamp.pdf_object_id], "color", None) == "#0000ff"
    with open_pdf(source) as before, open_pdf(out) as after:
        diff = diff_documents(before, after)
    assert diff.skipped_pdf_object_ids == (stamp.pdf_object_id,)
    assert [a.pdf_object_id for a in diff.annotations] == [stamp.pdf_object_id]


def _edit_with_pypdf(source: bytes) -> tuple[bytes, dict[str, object]]:
    """Change one stamp's colour, delete another, add a square; pypdf renumbers everything."""
    reader = pypdf.PdfReader(io.BytesIO(source))
    writer = pypdf.PdfWriter(clone_from=reader)
    page = writer.pages[0]
    annots = page["/Annots"]
    by_name = {}
    for ref in list(annots):  # type: ignore[union-attr]
        annot = ref.get_object()
        by_name[str(annot.get("/NM"))] = ref
    changed = by_name["c06b2ca7-9c60-4918-9cb7-7d7512daf21d"].get_object()  # Accepted
    changed[NameObject("/C")] = ArrayObject([FloatObject(0), FloatObject(0), FloatObject(1)])
    changed[NameObject("/Contents")] = TextStringObject("changed by pypdf")
    annots.remove(by_name["dcedc9d7-3a9b-41f0-84fa-34335f35eff2"])  # type: ignore[union-attr]
    writer.add_annotation(
        0,
        Rectangle(rect=(50, 50, 150, 120)),
    )
    out = io.BytesIO()
    writer.write(out)
    # A full renumbering: pypdf writes a copy with objects numbered in a new order.
    again = pypdf.PdfWriter()
    for p in pypdf.PdfReader(io.BytesIO(out.getvalue())).pages:
        again.add_page(p)
    final = io.BytesIO()
    again.write(final)
    return final.getvalue(), {}


def test_diff_of_a_pdf_edited_and_renumbered_by_pypdf_reproduces_the_edit() -> None:
    source = STAMPS.read_bytes()
    edited, _ = _edit_with_pypdf(source)
    with open_pdf(source) as before, open_pdf(edited) as after:
        diff = diff_documents(before, after)
    replayed = apply_instant_json(source, diff)

    def summary(data: bytes) -> list[tuple[object, ...]]:
        return sorted(
            (r.type, getattr(r, "color", None), r.note or "", *map(round, r.bbox))
            for r in _records(data)
            if isinstance(r, Annotation)
        )

    assert summary(replayed) == summary(edited)
    # matched by /NM, not by object number: two updates kept, one delete, one new square
    originals = {r.pdf_object_id for r in _records(source)}
    assert set(diff.skipped_pdf_object_ids or ()) <= originals
    kept = [r for r in _records(replayed) if r.pdf_object_id in originals]
    assert len(kept) == len(originals) - 1


def _edit_with_pymupdf(source: bytes) -> bytes:
    """Recolour the Accepted stamp, delete another, add a circle; then save with garbage
    collection, which renumbers every object (PyMuPDF directly, not through Lamina)."""
    doc = pymupdf.open(stream=source)
    page = doc[0]
    for annot in list(page.annots()):
        name = doc.xref_get_key(annot.xref, "NM")[1]
        if name == "c06b2ca7-9c60-4918-9cb7-7d7512daf21d":  # Accepted
            annot.set_colors(stroke=(0, 0, 1))
            annot.set_info(content="changed by PyMuPDF")
            annot.update()
        elif name == "dcedc9d7-3a9b-41f0-84fa-34335f35eff2":
            page.delete_annot(annot)
    page.add_circle_annot(pymupdf.Rect(50, 600, 150, 700)).update()
    return bytes(doc.tobytes(garbage=4))


def test_diff_of_a_pdf_edited_and_renumbered_by_pymupdf_reproduces_the_edit() -> None:
    source = STAMPS.read_bytes()
    edited = _edit_with_pymupdf(source)
    before_numbers = {r.pdf_object_id for r in _records(source)}
    assert {r.pdf_object_id for r in _records(edited)} != before_numbers  # renumbered
    with open_pdf(source) as before, open_pdf(edited) as after:
        diff = diff_documents(before, after)
    replayed = apply_instant_json(source, diff)

    def summary(data: bytes) -> list[tuple[object, ...]]:
        return sorted(
            (r.type, getattr(r, "color", None), r.note or "", *map(round, r.bbox))
            for r in _records(data)
            if isinstance(r, Annotation)
        )

    assert summary(replayed) == summary(edited)
    # paired by /NM across the renumbering: one update, one delete, one new circle
    assert len(diff.skipped_pdf_object_ids or ()) == 2
    assert set(diff.skipped_pdf_object_ids or ()) <= before_numbers
    updated = [a for a in diff.annotations if a.pdf_object_id is not None]
    new = [a for a in diff.annotations if a.pdf_object_id is None]
    assert [getattr(a, "color", None) for a in updated] == ["#0000ff"]
    assert [a.type for a in new] == ["pspdfkit/shape/ellipse"]
