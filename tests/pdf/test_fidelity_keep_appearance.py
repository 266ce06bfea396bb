"""Every kind of annotation another program drew keeps its PDF object and its /AP until its
content changes (DESIGN §6; issue 10, defect 6, beyond stamps).

For each annotation with an appearance in each ``annot-*`` corpus file: an update that changes
only what the appearance does not draw (author, custom data, subject, the note of a shape)
keeps the object number and the appearance bytes, as pypdf reads them; an update of its
colour (an image: its rotation) keeps the object number and gets a new appearance, drawn in
the new colour.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pypdf
import pytest
from lamina.model.instant_json import InstantDocument
from lamina.model.records import (
    Annotation,
    Comment,
    ImageAnnotation,
    InkAnnotation,
    LinkAnnotation,
    MarkupAnnotation,
    NoteAnnotation,
    ShapeAnnotation,
    StampAnnotation,
    TextAnnotation,
    UnknownAnnotation,
    WidgetAnnotation,
)
from lamina.pdf import apply_instant_json, open_pdf, read_records

from tests.support.corpus import CORPUS_PDFS

FILES = sorted(CORPUS_PDFS.glob("annot-*.pdf")) if CORPUS_PDFS.is_dir() else []


def _appearance(data: bytes, number: int) -> bytes | None:
    annot = pypdf.PdfReader(io.BytesIO(data)).get_object(number)
    if annot is None or "/AP" not in annot:  # type: ignore[operator]
        return None
    normal = annot["/AP"].get("/N")  # type: ignore[index]
    if normal is None or not hasattr(normal.get_object(), "get_data"):
        return None
    return bytes(normal.get_object().get_data())


def _cases() -> list[object]:
    cases = []
    for path in FILES:
        data = path.read_bytes()
        with open_pdf(data) as doc:
            records = read_records(doc)
        for record in records:
            if not isinstance(record, Annotation) or isinstance(
                record, WidgetAnnotation | LinkAnnotation
            ):
                continue
            if record.pdf_object_id is None or _appearance(data, record.pdf_object_id) is None:
                continue
            if record.bbox.width <= 0 or record.bbox.height <= 0:
                continue
            key = f"{path.name.split('__')[0]}-{record.pdf_object_id}-{record.type.split('/')[-1]}"
            cases.append(pytest.param(path, record.pdf_object_id, id=key))
    return cases


CASES = _cases()


def _original(path: Path, number: int) -> Annotation:
    with open_pdf(path.read_bytes()) as doc:
        (record,) = [r for r in read_records(doc) if r.pdf_object_id == number]
    assert isinstance(record, Annotation)
    return record


def _untouched_change(record: Annotation) -> Annotation:
    changed = dataclasses.replace(
        record,
        creator_name="Someone else",
        subject="Re-filed",
        custom_data={"ticket": 7},
        updated_at="2026-12-01T12:00:00Z",
    )
    if isinstance(record, ShapeAnnotation | MarkupAnnotation | InkAnnotation | StampAnnotation):
        changed = dataclasses.replace(changed, note="a new note")
    return changed


def _colour_change(record: Annotation) -> tuple[Annotation, bytes | None]:
    """Return ``record`` with a content change, and the colour operands its new drawing has
    (None: an image, turned instead)."""
    current = {getattr(record, k, None) for k in ("stroke_color", "color", "font_color")}
    current.add(record.extra.get("color"))
    new, operands = ("#ff0000", b"1 0 0") if "#0000ff" in current else ("#0000ff", b"0 0 1")
    if isinstance(record, ShapeAnnotation | InkAnnotation):
        return dataclasses.replace(record, stroke_color=new), operands
    if isinstance(record, MarkupAnnotation | NoteAnnotation | StampAnnotation):
        return dataclasses.replace(record, color=new), operands
    if isinstance(record, TextAnnotation):
        return dataclasses.replace(record, font_color=new), operands
    if isinstance(record, UnknownAnnotation):
        return dataclasses.replace(record, extra={**record.extra, "color": new}), operands
    if isinstance(record, ImageAnnotation):
        return dataclasses.replace(record, rotation=90), None
    raise AssertionError(f"no content to change on {record.type}")


def _apply(path: Path, record: Annotation) -> bytes:
    number = record.pdf_object_id
    assert number is not None
    diff = InstantDocument(annotations=(record,), skipped_pdf_object_ids=(number,))
    return apply_instant_json(path.read_bytes(), diff)


def test_the_corpus_has_every_kind_of_drawn_annotation() -> None:
    kinds = {str(c.id).rsplit("-", 1)[-1] for c in CASES}  # type: ignore[attr-defined]
    assert {
        "ink",
        "rectangle",
        "ellipse",
        "line",
        "polygon",
        "text",
        "note",
        "highlight",
        "underline",
        "strikeout",
        "stamp",
        "image",
        "unknown",
    } <= kinds, kinds


@pytest.mark.parametrize(("path", "number"), CASES)
def test_a_change_it_does_not_draw_keeps_its_object_and_appearance(path: Path, number: int) -> None:
    original = _original(path, number)
    out = _apply(path, _untouched_change(original))
    assert _appearance(out, number) == _appearance(path.read_bytes(), number)
    with open_pdf(out) as doc:
        back = {r.pdf_object_id: r for r in read_records(doc) if not isinstance(r, Comment)}
    assert back[number].type == original.type
    assert getattr(back[number], "creator_name", None) == "Someone else"
    assert getattr(back[number], "custom_data", None) == {"ticket": 7}


@pytest.mark.parametrize(("path", "number"), CASES)
def test_a_colour_change_keeps_its_object_and_draws_a_new_appearance(
    path: Path, number: int
) -> None:
    original = _original(path, number)
    changed, operands = _colour_change(original)
    out = _apply(path, changed)
    before, after = _appearance(path.read_bytes(), number), _appearance(out, number)
    assert after is not None and after != before
    with open_pdf(out) as doc:
        back = {r.pdf_object_id: r for r in read_records(doc) if not isinstance(r, Comment)}
    assert back[number].type == original.type
    if operands is not None:
        assert operands + b" RG" in after or operands + b" rg" in after, after[:300]
    else:
        assert getattr(back[number], "rotation", None) == 90
