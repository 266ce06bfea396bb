"""Image annotations: written as image stamps, read back as ``pspdfkit/image`` with their bytes."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pymupdf
import pypdf
import pytest
from lamina.cli import main
from lamina.model.geometry import Rect
from lamina.model.ids import RecordId
from lamina.model.instant_json import Attachment, InstantDocument
from lamina.model.records import ImageAnnotation, StampAnnotation
from lamina.pdf import apply_instant_json, diff_documents, dump_instant_json, open_pdf, read_records

from tests.conftest import corpus_pdf

RED = (200, 30, 30)
BBOX = Rect(100, 100, 80, 40)


def _picture(fmt: str) -> bytes:
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 20, 10), False)
    pix.set_rect(pix.irect, RED)
    return pix.tobytes(fmt)


def _blank_pdf() -> bytes:
    doc = pymupdf.open()
    doc.new_page(width=595, height=842)
    return doc.tobytes()


def _image_diff(data: bytes, content_type: str, **extra: str) -> InstantDocument:
    digest = hashlib.sha256(data).hexdigest()
    image = ImageAnnotation(
        id=RecordId("01JIMG00000000000000000000"),
        page_index=0,
        bbox=BBOX,
        image_attachment_id=digest,
        content_type=content_type,
        **extra,  # type: ignore[arg-type]
    )
    return InstantDocument(
        annotations=(image,), attachments={digest: Attachment(data, content_type)}
    )


def _size(data: bytes) -> tuple[int, int]:
    pix = pymupdf.Pixmap(data)
    return pix.width, pix.height


def _only_image(document: InstantDocument) -> ImageAnnotation:
    (image,) = [a for a in document.annotations if isinstance(a, ImageAnnotation)]
    return image


@pytest.mark.parametrize(("fmt", "content_type"), [("png", "image/png"), ("jpeg", "image/jpeg")])
def test_image_annotation_round_trips_with_its_picture(fmt: str, content_type: str) -> None:
    data = _picture(fmt)
    out = apply_instant_json(_blank_pdf(), _image_diff(data, content_type))
    with open_pdf(out) as doc:
        dumped = dump_instant_json(doc)
    image = _only_image(dumped)
    assert image.type == "pspdfkit/image"
    assert list(image.bbox) == pytest.approx(list(BBOX), abs=0.5)
    assert image.content_type == content_type
    attachment = dumped.attachments[str(image.image_attachment_id)]
    assert hashlib.sha256(attachment.data).hexdigest() == image.image_attachment_id
    assert attachment.content_type == content_type
    assert _size(attachment.data) == (20, 10)


def test_lamina_apply_then_dump_keeps_the_image_attachment(tmp_path: Path) -> None:
    data = _picture("png")
    digest = hashlib.sha256(data).hexdigest()
    diff = {
        "format": "https://pspdfkit.com/instant-json/v1",
        "annotations": [
            {
                "v": 2,
                "type": "pspdfkit/image",
                "id": "01JIMG00000000000000000000",
                "pageIndex": 0,
                "bbox": list(BBOX),
                "imageAttachmentId": digest,
                "contentType": "image/png",
                "opacity": 1,
            }
        ],
        "attachments": {
            digest: {"binary": base64.b64encode(data).decode(), "contentType": "image/png"}
        },
    }
    (tmp_path / "img.json").write_text(json.dumps(diff))
    (tmp_path / "in.pdf").write_bytes(_blank_pdf())
    out, dump = tmp_path / "img.pdf", tmp_path / "dump.json"
    assert (
        main(["apply", str(tmp_path / "in.pdf"), str(tmp_path / "img.json"), "-o", str(out)]) == 0
    )
    assert main(["dump", str(out), "-o", str(dump)]) == 0
    dumped = json.loads(dump.read_text())
    (image,) = [a for a in dumped["annotations"] if a["type"] == "pspdfkit/image"]
    attachment = dumped["attachments"][image["imageAttachmentId"]]
    assert attachment["contentType"] == "image/png"
    assert _size(base64.b64decode(attachment["binary"])) == (20, 10)


def test_written_image_has_an_appearance_and_poppler_draws_it_red_inside_its_bbox(
    tmp_path: Path,
) -> None:
    out = apply_instant_json(_blank_pdf(), _image_diff(_picture("png"), "image/png"))
    reader = pypdf.PdfReader(io.BytesIO(out))
    annots: Any = reader.pages[0]["/Annots"]
    (annot,) = [a.get_object() for a in annots]
    assert annot["/Subtype"] == "/Stamp" and "/N" in annot["/AP"]
    assert annot["/Name"] == "/LaminaImage"
    pdf = tmp_path / "out.pdf"
    pdf.write_bytes(out)
    subprocess.run(["pdftoppm", "-r", "72", str(pdf), str(tmp_path / "page")], check=True)
    (ppm,) = tmp_path.glob("page*.ppm")
    parts = ppm.read_bytes().split(maxsplit=4)
    width, height = int(parts[1]), int(parts[2])
    pixels = parts[4][-width * height * 3 :]
    inside = outside = 0
    for y in range(height):
        for x in range(width):
            r, g, b = pixels[(y * width + x) * 3 : (y * width + x) * 3 + 3]
            if r > 150 and g < 90 and b < 90:
                if BBOX.left <= x < BBOX.right and BBOX.top <= y < BBOX.bottom:
                    inside += 1
                else:
                    outside += 1
    assert inside > 0.9 * BBOX.width * BBOX.height
    assert outside == 0


def test_file_name_description_and_note_come_back() -> None:
    diff = _image_diff(
        _picture("png"), "image/png", file_name="logo.png", description="the logo", note="hi"
    )
    with open_pdf(apply_instant_json(_blank_pdf(), diff)) as doc:
        image = _only_image(dump_instant_json(doc))
    assert (image.file_name, image.description, image.note) == ("logo.png", "the logo", "hi")


def test_other_viewers_image_stamps_read_as_images_and_named_stamps_stay_stamps() -> None:
    with open_pdf(corpus_pdf("annot-stamps-acrobat")) as doc:
        dumped = dump_instant_json(doc)
    stamps = [a for a in dumped.annotations if isinstance(a, StampAnnotation)]
    assert [s.stamp_type for s in stamps] == ["Approved", "Custom", "Accepted", "Completed"]
    image = _only_image(dumped)
    assert _size(dumped.attachments[str(image.image_attachment_id)].data) == (480, 400)
    with open_pdf(corpus_pdf("annot-preview-incremental-14p")) as doc:
        dumped = dump_instant_json(doc)
    (stamp,) = [a for a in dumped.annotations if isinstance(a, StampAnnotation)]
    assert stamp.stamp_type == "Custom" and stamp.note == "fdsfsdfsd"
    image = _only_image(dumped)
    assert image.note == "Image with a comment"
    assert _size(dumped.attachments[str(image.image_attachment_id)].data) == (164, 54)


def test_dump_applied_onto_the_bare_pdf_recreates_the_image() -> None:
    path = corpus_pdf("annot-stamps-acrobat")
    with open_pdf(path) as doc:
        dumped = dump_instant_json(doc)
        ids = [r.pdf_object_id for r in read_records(doc) if r.pdf_object_id is not None]
    bare = apply_instant_json(path, InstantDocument(skipped_pdf_object_ids=tuple(ids)))
    with open_pdf(bare) as doc:
        assert not any(isinstance(r, ImageAnnotation) for r in read_records(doc))
    old = _only_image(dumped)
    with open_pdf(apply_instant_json(bare, dumped)) as doc:
        again = dump_instant_json(doc)
    new = _only_image(again)
    assert list(new.bbox) == pytest.approx(list(old.bbox), abs=0.5)
    assert _size(again.attachments[str(new.image_attachment_id)].data) == (480, 400)


def test_diff_of_two_pdfs_carries_the_image_bytes() -> None:
    original = _blank_pdf()
    edited = apply_instant_json(original, _image_diff(_picture("jpeg"), "image/jpeg"))
    with open_pdf(original) as before, open_pdf(edited) as after:
        diff = diff_documents(before, after)
    image = _only_image(diff)
    assert image.pdf_object_id is None
    assert set(diff.attachments) == {image.image_attachment_id}
    with open_pdf(apply_instant_json(original, diff)) as doc:
        again = dump_instant_json(doc)
    assert _size(again.attachments[str(_only_image(again).image_attachment_id)].data) == (20, 10)


def test_moving_an_original_image_without_its_bytes_takes_them_from_the_pdf() -> None:
    # The server and the desktop keep records without attachments: an update names the image
    # by its SHA-256 only.
    path = corpus_pdf("annot-preview-incremental-14p")
    with open_pdf(path) as doc:
        (old,) = [r for r in read_records(doc) if isinstance(r, ImageAnnotation)]
    moved = dataclasses.replace(old, bbox=Rect(50, 60, old.bbox.width, old.bbox.height))
    diff = InstantDocument(annotations=(moved,), skipped_pdf_object_ids=(int(old.id),))
    with open_pdf(apply_instant_json(path, diff)) as doc:
        dumped = dump_instant_json(doc)
    new = _only_image(dumped)
    assert list(new.bbox) == pytest.approx([50, 60, old.bbox.width, old.bbox.height], abs=0.5)
    # A picture with transparency is stored anew, so its PNG bytes (and id) may differ.
    assert _size(dumped.attachments[str(new.image_attachment_id)].data) == (164, 54)
