"""Corpus round trips through another program: dump -> apply onto the PDF stripped by pypdf.

pypdf writes the stripped copy with its objects renumbered from 1, so the object numbers the
dumped records carry (``pdfObjectId``) name other objects there, and the annotations Lamina
writes get numbers that earlier records carry: nothing may be dropped for that (issue 10,
defect 1), and every annotation that has geometry comes back with an appearance stream.
"""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from lamina.model.records import (
    Annotation,
    InkAnnotation,
    LineAnnotation,
    MarkupAnnotation,
    PolygonAnnotation,
    PolylineAnnotation,
    WidgetAnnotation,
)
from lamina.pdf import apply_instant_json, dump_instant_json, open_pdf, read_records

from tests.conftest import CORPUS_PDFS

ANNOT_FILES = sorted(CORPUS_PDFS.glob("annot-*.pdf"))


def strip_with_pypdf(path: Path) -> bytes:
    """Return the PDF without any annotation, rewritten (and renumbered) by pypdf."""
    reader = pypdf.PdfReader(path)
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        if "/Annots" in page:
            del page["/Annots"]
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _has_geometry(record: Annotation) -> bool:
    if isinstance(record, WidgetAnnotation):
        return False
    if isinstance(record, InkAnnotation):
        return any(record.lines.points)
    return record.bbox.width > 0 or record.bbox.height > 0


def geometry_of(record: Annotation) -> list[float]:
    """Return the numbers that place the record: its rects, points or strokes, else bbox."""
    if isinstance(record, MarkupAnnotation) and record.rects:
        return [v for r in record.rects for v in r]
    if isinstance(record, LineAnnotation):
        return [*record.start_point, *record.end_point]
    if isinstance(record, PolygonAnnotation | PolylineAnnotation):
        return [v for p in record.points for v in p]
    if isinstance(record, InkAnnotation):
        return [v for line in record.lines.points for p in line for v in p]
    return list(record.bbox)


@pytest.mark.parametrize("path", ANNOT_FILES, ids=lambda p: p.name.split("__")[0])
def test_dump_apply_onto_a_renumbered_stripped_copy_keeps_every_annotation(path: Path) -> None:
    with open_pdf(path) as doc:
        dumped = dump_instant_json(doc)
    expected = [a for a in dumped.annotations if _has_geometry(a)]
    out = apply_instant_json(strip_with_pypdf(path), dumped)
    with open_pdf(out) as doc:
        again = [r for r in read_records(doc) if isinstance(r, Annotation) and _has_geometry(r)]
    assert [(a.type, a.page_index) for a in again] == [(a.type, a.page_index) for a in expected]
    for old, new in zip(expected, again, strict=True):
        label = f"{old.type} {old.id}"
        assert geometry_of(new) == pytest.approx(geometry_of(old), abs=0.5), label
    # Each one has its own appearance, as an independent reader sees it.
    reader = pypdf.PdfReader(io.BytesIO(out))
    drawn = 0
    for page in reader.pages:
        for ref in page.get("/Annots") or ():
            annot = ref.get_object()
            if annot["/Subtype"] in ("/Popup", "/Widget"):
                continue
            if annot["/Subtype"] == "/Link":
                drawn += 1  # links draw nothing by design
                continue
            assert "/N" in annot.get("/AP", {}), f"{annot['/Subtype']} has no appearance"
            drawn += 1
    assert drawn >= len(expected)
