"""Reading the corpus annotations, writing them back, and what independent readers see."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pypdf
import pytest
from lamina.model.geometry import Rect
from lamina.model.instant_json import Attachment, InstantDocument, parse_instant_json
from lamina.model.records import (
    Annotation,
    Comment,
    EllipseAnnotation,
    FormFieldValue,
    HighlightAnnotation,
    ImageAnnotation,
    InkAnnotation,
    InkLines,
    LineAnnotation,
    MarkupAnnotation,
    NoteAnnotation,
    PolygonAnnotation,
    PolylineAnnotation,
    RectangleAnnotation,
    StampAnnotation,
    Text,
    TextAnnotation,
    UnknownAnnotation,
    WidgetAnnotation,
)
from lamina.pdf import (
    PdfWriteError,
    apply_instant_json,
    diff_documents,
    dump_instant_json,
    open_pdf,
    read_records,
)

from tests.conftest import CORPUS_PDFS, corpus_pdf

ANNOT_FILES = sorted(CORPUS_PDFS.glob("annot-*.pdf"))


def _strip(path: Path) -> bytes:
    """Return the PDF with every annotation but form widgets removed (through a diff)."""
    with open_pdf(path) as doc:
        ids = [r.pdf_object_id for r in read_records(doc) if r.pdf_object_id is not None]
    return apply_instant_json(path, InstantDocument(skipped_pdf_object_ids=tuple(ids)))


def _geometry(record: Annotation) -> list[float]:
    if isinstance(record, MarkupAnnotation):
        return [v for r in record.rects for v in r]
    if isinstance(record, LineAnnotation):
        return [*record.start_point, *record.end_point]
    if isinstance(record, PolygonAnnotation | PolylineAnnotation):
        return [v for p in record.points for v in p]
    if isinstance(record, InkAnnotation):
        return [v for line in record.lines.points for p in line for v in p]
    return list(record.bbox)


def _color(record: Annotation) -> str | None:
    for name in ("color", "stroke_color"):
        value = getattr(record, name, None)
        if value is not None:
            return str(value)
    return None


def _contents(record: Annotation) -> str | None:
    if isinstance(record, NoteAnnotation | TextAnnotation):
        return record.text.value
    return record.note


def _drawable(record: Annotation) -> bool:
    """Tell whether the record has something to draw (4 corpus inks have no points at all)."""
    if isinstance(record, InkAnnotation):
        return any(record.lines.points)
    if isinstance(record, UnknownAnnotation):  # written again as its own PDF subtype
        return record.bbox.width > 0 or record.bbox.height > 0
    return not isinstance(record, WidgetAnnotation)


@pytest.mark.parametrize("path", ANNOT_FILES, ids=lambda p: p.name.split("__")[0])
def test_dump_then_apply_onto_the_bare_pdf_gives_the_same_annotations(path: Path) -> None:
    with open_pdf(path) as doc:
        dumped = dump_instant_json(doc)
    expected = [a for a in dumped.annotations if _drawable(a)]
    out = apply_instant_json(_strip(path), dumped)
    with open_pdf(out) as doc:
        again = [r for r in read_records(doc) if isinstance(r, Annotation)]
    assert len(again) == len(expected)
    for old, new in zip(expected, again, strict=True):
        label = f"{old.type} {old.id}"
        assert new.type == old.type, label
        assert new.page_index == old.page_index, label
        assert new.pdf_object_id != old.pdf_object_id or new.pdf_object_id is not None
        assert _geometry(new) == pytest.approx(_geometry(old), abs=0.5), label
        if _color(old) is not None:  # without a colour, the writer picks a visible default
            assert _color(new) == _color(old), label
        assert new.opacity == pytest.approx(old.opacity, abs=0.01) if old.opacity else True
        assert (new.opacity or 1) == pytest.approx(old.opacity or 1, abs=0.01), label
        assert new.creator_name == old.creator_name, label
        assert (_contents(new) or None) == (_contents(old) or None), label
        assert new.created_at == old.created_at, label
        if isinstance(old, StampAnnotation):
            assert isinstance(new, StampAnnotation)
            assert new.stamp_type == old.stamp_type, label


def test_corpus_kinds_become_the_expected_records() -> None:
    with open_pdf(corpus_pdf("annot-all-markup-types")) as doc:
        records = read_records(doc)
    kinds = {r.type for r in records}
    assert {
        "pspdfkit/text",
        "pspdfkit/markup/highlight",
        "pspdfkit/markup/underline",
        "pspdfkit/markup/strikeout",
        "pspdfkit/shape/line",
        "pspdfkit/shape/ellipse",
        "pspdfkit/shape/rectangle",
        "pspdfkit/shape/polygon",
        "pspdfkit/ink",
        "pspdfkit/note",
        "pspdfkit/unknown",
    } <= kinds
    caret = next(r for r in records if isinstance(r, UnknownAnnotation))
    assert caret.custom_data == {"pdfSubtype": "Caret"}
    assert caret.note == "caret"
    assert caret.bbox.width > 0 and caret.bbox.height > 0  # its /Rect is upside down
    assert all(r.id == str(r.pdf_object_id) for r in records)
    assert not any(r.type == "pspdfkit/popup" for r in records)
    highlight = next(r for r in records if isinstance(r, HighlightAnnotation))
    assert highlight.creator_name == "const"
    assert highlight.created_at == "2022-01-10T07:55:30Z"  # 15:55:30+08'00'


def test_line_arrows_author_and_fill_are_read() -> None:
    with open_pdf(corpus_pdf("annot-irt-group")) as doc:
        records = read_records(doc)
    lines = [r for r in records if isinstance(r, LineAnnotation)]
    assert {"end": "closedArrow"} in [line.line_caps for line in lines]
    assert all(r.creator_name == "yinhow1" for r in records if isinstance(r, Annotation))
    ellipse = next(r for r in records if isinstance(r, EllipseAnnotation) and r.opacity)
    assert ellipse.fill_color == "#ffe066" and ellipse.opacity == pytest.approx(0.302, abs=0.01)


def test_utf8_contents_of_a_pdf_2_highlight() -> None:
    with open_pdf(corpus_pdf("annot-pdf20-utf8-highlight")) as doc:
        (highlight,) = read_records(doc)
    assert isinstance(highlight, HighlightAnnotation)
    assert highlight.note == "ไฮไลต์ข้อความ"


def test_stamps_keep_their_standard_names() -> None:
    with open_pdf(corpus_pdf("annot-stamps-acrobat")) as doc:
        stamps = [r for r in read_records(doc) if isinstance(r, StampAnnotation)]
    assert [s.stamp_type for s in stamps][:4] == ["Approved", "Custom", "Accepted", "Completed"]


def test_form_widgets_and_values_are_kept_apart_from_markup() -> None:
    with open_pdf(corpus_pdf("form-acroform-242-widgets")) as doc:
        records = read_records(doc)
    widgets = [r for r in records if isinstance(r, WidgetAnnotation)]
    values = [r for r in records if isinstance(r, FormFieldValue)]
    assert len(widgets) == 242
    assert all(w.form_field_name for w in widgets)
    assert {v.name for v in values} <= {w.form_field_name for w in widgets}
    assert any(v.value for v in values)  # the form is prefilled
    assert not [r for r in records if isinstance(r, Annotation) and r not in widgets]


def test_filled_form_value_is_written_into_the_field() -> None:
    path = corpus_pdf("form-acroform-242-widgets")
    with open_pdf(path) as doc:
        value = next(
            r
            for r in read_records(doc)
            if isinstance(r, FormFieldValue) and isinstance(r.value, str)
        )
    changed = FormFieldValue(name=value.name, value="Lamina was here")
    out = apply_instant_json(path, InstantDocument(form_field_values=(changed,)))
    with open_pdf(out) as doc:
        after = {r.name: r.value for r in read_records(doc) if isinstance(r, FormFieldValue)}
    assert after[value.name] == "Lamina was here"


# -- new annotations, checked by pypdf and poppler ------------------------------------------

PNG_1PX_RED = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)


def _new_records() -> tuple[Annotation, ...]:
    return (
        RectangleAnnotation(
            id="01HZ0000000000000000000001",
            page_index=0,
            bbox=Rect(60, 60, 120, 80),
            stroke_color="#ff0000",
            stroke_width=3,
            creator_name="Ada",
            created_at="2024-05-01T10:00:00Z",
            note="a box",
        ),
        InkAnnotation(
            id="01HZ0000000000000000000002",
            page_index=0,
            bbox=Rect(200, 60, 100, 80),
            lines=InkLines.from_strokes([[(205, 65), (250, 130), (295, 70)]]),
            line_width=4,
            stroke_color="#0000ff",
            opacity=0.8,
        ),
        TextAnnotation(
            id="01HZ0000000000000000000003",
            page_index=0,
            bbox=Rect(60, 200, 200, 40),
            text=Text("Hello Lamina"),
            font_size=18,
            font_color="#008000",
        ),
        NoteAnnotation(
            id="01HZ0000000000000000000004",
            page_index=0,
            bbox=Rect(320, 200, 24, 24),
            text=Text("a sticky note"),
            icon="help",
            color="#ffd83f",
        ),
        LineAnnotation(
            id="01HZ0000000000000000000005",
            page_index=0,
            bbox=Rect(60, 300, 200, 50),
            start_point=(65, 345),  # type: ignore[arg-type]
            end_point=(255, 305),  # type: ignore[arg-type]
            stroke_color="#000000",
            stroke_width=2,
            line_caps={"end": "closedArrow"},
        ),
        StampAnnotation(
            id="01HZ0000000000000000000006",
            page_index=0,
            bbox=Rect(320, 300, 150, 50),
            stamp_type="Approved",
            color="#008000",
        ),
        StampAnnotation(
            id="01HZ0000000000000000000007",
            page_index=0,
            bbox=Rect(60, 400, 150, 50),
            stamp_type="Accepted",
        ),
        HighlightAnnotation(
            id="01HZ0000000000000000000008",
            page_index=0,
            bbox=Rect(320, 400, 150, 14),
            rects=(Rect(320, 400, 150, 14),),
            color="#ffff00",
        ),
        ImageAnnotation(
            id="01HZ0000000000000000000009",
            page_index=0,
            bbox=Rect(60, 500, 100, 100),
            image_attachment_id="red",
            content_type="image/png",
        ),
    )


def _blank_pdf(pages: int = 1) -> bytes:
    # A corpus page whose lower part is empty would do too; a fresh blank page is the
    # clearest "blank before": every pixel inside each new annotation is white.
    import pymupdf

    doc = pymupdf.open()
    for _ in range(pages):
        doc.new_page(width=595, height=842)
    return doc.tobytes()


def test_new_annotations_have_appearance_streams_and_poppler_draws_them(tmp_path: Path) -> None:
    records = _new_records()
    diff = InstantDocument(
        annotations=records, attachments={"red": Attachment(PNG_1PX_RED, "image/png")}
    )
    out = apply_instant_json(_blank_pdf(), diff)
    reader = pypdf.PdfReader(io.BytesIO(out))
    annots = [a.get_object() for a in reader.pages[0]["/Annots"]]
    annots = [a for a in annots if a["/Subtype"] != "/Popup"]
    assert len(annots) == len(records)
    for annot in annots:
        assert "/AP" in annot and "/N" in annot["/AP"], annot["/Subtype"]
    box = next(a for a in annots if a["/Subtype"] == "/Square")
    assert box["/T"] == "Ada" and box["/Contents"] == "a box"
    assert str(box["/CreationDate"]).startswith("D:20240501100000")
    # Poppler renders the page at 72 dpi; each annotation's rectangle must contain ink.
    pdf = tmp_path / "out.pdf"
    pdf.write_bytes(out)
    subprocess.run(["pdftoppm", "-r", "72", "-gray", str(pdf), str(tmp_path / "page")], check=True)
    (image_path,) = tmp_path.glob("page*.pgm")
    width, _, pixels = _read_pgm(image_path.read_bytes())
    for record in records:
        left, top = int(record.bbox.left), int(record.bbox.top)
        right, bottom = int(record.bbox.right), int(record.bbox.bottom)
        inked = sum(
            1 for y in range(top, bottom) for x in range(left, right) if pixels[y * width + x] < 250
        )
        assert inked > 0, f"poppler shows nothing for {record.type}"


def _read_pgm(data: bytes) -> tuple[int, int, bytes]:
    parts = data.split(maxsplit=4)
    assert parts[0] == b"P5"
    width, height = int(parts[1]), int(parts[2])
    return width, height, parts[4][-width * height :]


def test_written_annotations_read_back_as_the_same_records() -> None:
    diff = InstantDocument(
        annotations=_new_records(), attachments={"red": Attachment(PNG_1PX_RED, "image/png")}
    )
    with open_pdf(apply_instant_json(_blank_pdf(), diff)) as doc:
        back = [r for r in read_records(doc) if isinstance(r, Annotation)]
    by_name = {r.name: r for r in back}
    box = by_name["01HZ0000000000000000000001"]
    assert isinstance(box, RectangleAnnotation)
    assert box.bbox == pytest.approx(Rect(60, 60, 120, 80), abs=0.5)
    assert box.stroke_width == 3 and box.stroke_color == "#ff0000"
    assert box.created_at == "2024-05-01T10:00:00Z"
    text = by_name["01HZ0000000000000000000003"]
    assert isinstance(text, TextAnnotation)
    assert text.font_size == 18 and text.font_color == "#008000"
    assert text.text.value == "Hello Lamina"
    note = by_name["01HZ0000000000000000000004"]
    assert isinstance(note, NoteAnnotation) and note.icon == "help"
    ink = by_name["01HZ0000000000000000000002"]
    assert isinstance(ink, InkAnnotation) and ink.opacity == pytest.approx(0.8, abs=0.01)
    stamp = by_name["01HZ0000000000000000000007"]
    assert isinstance(stamp, StampAnnotation) and stamp.stamp_type == "Accepted"


@pytest.mark.parametrize("index", range(8))
def test_annotation_lands_at_its_instant_rect_on_rotated_and_offset_pages(index: int) -> None:
    path = corpus_pdf("geometry-rotations")
    target = Rect(40, 70, 100, 50)
    record = RectangleAnnotation(page_index=index, bbox=target, stroke_color="#ff0000")
    out = apply_instant_json(path, InstantDocument(annotations=(record,)))
    reader = pypdf.PdfReader(io.BytesIO(out))
    page = reader.pages[index]
    written = page["/Annots"][-1].get_object()
    x0, y0, x1, y1 = (float(v) for v in written["/Rect"])
    crop_left, _, _, crop_top = (float(v) for v in page.cropbox)
    assert (x0 - crop_left, crop_top - y1) == pytest.approx((40, 70), abs=0.5)
    assert (x1 - x0, y1 - y0) == pytest.approx((100, 50), abs=0.5)
    with open_pdf(out) as doc:
        (back,) = [r for r in read_records(doc) if r.page_index == index]
    assert isinstance(back, RectangleAnnotation)
    assert back.bbox == pytest.approx(target, abs=0.5)


def test_skipped_ids_delete_update_and_keep_the_rest() -> None:
    path = corpus_pdf("annot-textmarkup-quadpoints")
    with open_pdf(path) as doc:
        originals = read_records(doc)
    underline, highlight, squiggly = originals[0], originals[1], originals[2]
    assert isinstance(highlight, HighlightAnnotation)
    updated = HighlightAnnotation(
        id=highlight.id,
        pdf_object_id=highlight.pdf_object_id,
        page_index=0,
        bbox=highlight.bbox,
        rects=highlight.rects,
        color="#00ff00",
        creator_name="Reviewer",
    )
    assert underline.pdf_object_id is not None and highlight.pdf_object_id is not None
    diff = InstantDocument(
        annotations=(updated,),
        skipped_pdf_object_ids=(underline.pdf_object_id, highlight.pdf_object_id),
    )
    out = apply_instant_json(path, diff)
    with open_pdf(out) as doc:
        after = read_records(doc)
    ids = {r.pdf_object_id for r in after}
    assert underline.pdf_object_id not in ids  # deleted
    assert highlight.pdf_object_id in ids  # updated: redrawn, but keeps its object number
    assert squiggly.pdf_object_id in ids  # untouched original keeps its number
    new = [r for r in after if isinstance(r, HighlightAnnotation)]
    assert [(h.color, h.creator_name) for h in new] == [("#00ff00", "Reviewer")]
    assert len(after) == len(originals) - 1


def test_comments_become_replies_and_come_back_as_comments() -> None:
    root = HighlightAnnotation(
        id="01HZ00000000000000000000AA",
        page_index=0,
        bbox=Rect(100, 100, 200, 20),
        rects=(Rect(100, 100, 200, 20),),
        color="#ffff00",
    )
    comment = Comment(
        id="01HZ00000000000000000000AB",
        root_id="01HZ00000000000000000000AA",  # type: ignore[arg-type]
        text=Text("I agree"),
        creator_name="Bo",
    )
    out = apply_instant_json(
        _blank_pdf(), InstantDocument(annotations=(root,), comments=(comment,))
    )
    with open_pdf(out) as doc:
        records = read_records(doc)
    (back_root,) = [r for r in records if isinstance(r, HighlightAnnotation)]
    (back_comment,) = [r for r in records if isinstance(r, Comment)]
    assert back_comment.root_id == back_root.id
    assert back_comment.text.value == "I agree" and back_comment.creator_name == "Bo"


def test_flatten_burns_annotations_into_the_page() -> None:
    diff = InstantDocument(annotations=_new_records()[:1])
    out = apply_instant_json(_blank_pdf(), diff, flatten=True)
    with open_pdf(out) as doc:
        assert [r for r in read_records(doc) if isinstance(r, Annotation)] == []
        drawings = doc.fitz_page(0).get_drawings()
    assert drawings  # the rectangle is now page content


def test_diff_of_edited_pdf_gives_skipped_updated_and_new() -> None:
    path = corpus_pdf("annot-textmarkup-quadpoints")
    with open_pdf(path) as doc:
        originals = read_records(doc)
    underline, highlight = originals[0], originals[1]
    assert isinstance(highlight, HighlightAnnotation)
    assert underline.pdf_object_id is not None and highlight.pdf_object_id is not None
    changed = HighlightAnnotation(
        id=highlight.id,
        pdf_object_id=highlight.pdf_object_id,
        page_index=0,
        bbox=highlight.bbox,
        rects=highlight.rects,
        color="#00ff00",
    )
    new = _new_records()[0]
    edited = apply_instant_json(
        path,
        InstantDocument(
            annotations=(changed, new),
            skipped_pdf_object_ids=(underline.pdf_object_id, highlight.pdf_object_id),
        ),
    )
    with open_pdf(path) as original, open_pdf(edited) as after:
        diff = diff_documents(original, after)
    assert set(diff.skipped_pdf_object_ids or ()) == {
        underline.pdf_object_id,
        highlight.pdf_object_id,
    }
    # The rewritten highlight keeps its object number: an update in the diff; the box is new.
    by_type = {a.type: a for a in diff.annotations}
    assert set(by_type) == {"pspdfkit/markup/highlight", new.type}
    assert by_type["pspdfkit/markup/highlight"].pdf_object_id == highlight.pdf_object_id
    assert by_type[new.type].pdf_object_id is None and len(by_type[new.type].id) == 26
    # Applying the diff to the original gives the edited annotations.
    replayed = apply_instant_json(path, diff)
    with open_pdf(replayed) as doc:
        kinds = sorted(r.type for r in read_records(doc))
    with open_pdf(edited) as doc:
        assert kinds == sorted(r.type for r in read_records(doc))


def test_pdf_forbidding_annotations_is_not_written() -> None:
    path = corpus_pdf("encrypted-aes256-owner-only-no-annotate")
    with pytest.raises(PdfWriteError, match="forbid"):
        apply_instant_json(path, InstantDocument(annotations=_new_records()[:1]))
    # With the owner password it may be annotated, and stays encrypted.
    out = apply_instant_json(
        path, InstantDocument(annotations=_new_records()[:1]), password="master"
    )
    assert pypdf.PdfReader(io.BytesIO(out)).is_encrypted


def test_corpus_instant_json_applies_to_a_pdf() -> None:
    from tests.conftest import CORPUS_INSTANT_JSON

    for path in sorted(CORPUS_INSTANT_JSON.glob("*.json")):
        diff = parse_instant_json(path.read_bytes())
        pages = 1 + max((a.page_index for a in diff.annotations), default=0)
        out = apply_instant_json(_blank_pdf(pages), diff)
        with open_pdf(out) as doc:
            written = [r for r in read_records(doc) if isinstance(r, Annotation)]
        drawable = [
            a
            for a in diff.annotations
            if not isinstance(a, WidgetAnnotation) and a.bbox.width > 0 and a.bbox.height > 0
        ]
        assert len(written) >= len(drawable), path.name


def test_popup_is_not_a_record_but_its_text_belongs_to_the_parent() -> None:
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    annot = page.add_rect_annot(pymupdf.Rect(50, 50, 150, 100))
    annot.set_popup(pymupdf.Rect(200, 50, 350, 150))
    annot.update()
    popup = annot.popup_xref
    doc.xref_set_key(annot.xref, "Contents", "null")
    doc.xref_set_key(popup, "Contents", pymupdf.get_pdf_str("said in the popup"))
    with open_pdf(doc.tobytes()) as pdf:
        records = read_records(pdf)
    assert len(records) == 1
    (rect,) = records
    assert isinstance(rect, RectangleAnnotation)
    assert rect.note == "said in the popup"


def test_checking_a_checkbox_through_its_form_value() -> None:
    path = corpus_pdf("form-acroform-242-widgets")
    with open_pdf(path) as doc:
        values = {r.name: r.value for r in read_records(doc) if isinstance(r, FormFieldValue)}
        page = doc.fitz_page(0)
        widget = next(
            w
            for w in page.widgets()
            if w.field_type_string == "CheckBox" and not values.get(w.field_name)
        )
        name, on_state = widget.field_name, str(widget.on_state())
    diff = InstantDocument(form_field_values=(FormFieldValue(name=name, value=[on_state]),))
    with open_pdf(apply_instant_json(path, diff)) as doc:
        after = {r.name: r.value for r in read_records(doc) if isinstance(r, FormFieldValue)}
    assert after[name] == [on_state]
