"""Write stamps and image stamps, with the appearance their record shows.

Standard stamps get MuPDF's appearance, relabelled where MuPDF's words are not the stamp's
(10 of the 24 standard types, custom titles and subtitles); image stamps draw their image.
"""

from __future__ import annotations

import math
from typing import Any

import pymupdf
from lamina.model.geometry import Rect
from lamina.model.records import ImageAnnotation, StampAnnotation
from lamina.pdf.annotation_finish import Canvas, finish, fitz_rect
from lamina.pdf.stamp_images import IMAGE_INFO_KEY, IMAGE_STAMP_NAME

_PYMUPDF_STAMPS = {
    "Approved": 0,
    "AsIs": 1,
    "Confidential": 2,
    "Departmental": 3,
    "Experimental": 4,
    "Expired": 5,
    "Final": 6,
    "ForComment": 7,
    "ForPublicRelease": 8,
    "NotApproved": 9,
    "NotForPublicRelease": 10,
    "Sold": 11,
    "TopSecret": 12,
    "Draft": 13,
}


def write_stamp(canvas: Canvas, page: Any, record: StampAnnotation) -> Any:
    """Add ``record`` to ``page`` as a /Stamp with its words, colour and rotation."""
    code = _PYMUPDF_STAMPS.get(record.stamp_type)
    annot = page.add_stamp_annot(
        fitz_rect(unrotated_box(record.bbox, record.rotation)),
        stamp=code if code is not None else 0,
    )
    annot = finish(
        canvas,
        annot,
        record,
        contents=record.note,
        stroke=record.color,
        keep_rect=True,
    )
    if code is None or record.subtitle:
        label = record.title or _STAMP_WORDS.get(record.stamp_type, record.stamp_type)
        _relabel_stamp(canvas.fitz, annot, label, record.subtitle)
        canvas.fitz.xref_set_key(annot.xref, "Name", _pdf_name(record.stamp_type, label))
    rotate_appearance(canvas.fitz, annot.xref, record.rotation)
    return annot


def unrotated_box(bbox: Rect, rotation: int | None) -> Rect:
    """Return the box, centred in ``bbox``, of what turned by ``rotation`` degrees has the
    bounding box ``bbox`` (Instant's bbox of a rotated stamp or image is the turned one)."""
    angle = math.radians((rotation or 0) % 360)
    c, s = abs(math.cos(angle)), abs(math.sin(angle))
    det = c * c - s * s
    if abs(det) < 1e-6:  # 45 degrees: any box fits; keep the proportions of a square
        side = min(bbox.width, bbox.height) / max(c + s, 1e-6)
        width = height = side
    else:
        width = (bbox.width * c - bbox.height * s) / det
        height = (bbox.height * c - bbox.width * s) / det
        if width <= 0 or height <= 0:
            width, height = bbox.width, bbox.height
    cx, cy = bbox.left + bbox.width / 2, bbox.top + bbox.height / 2
    return Rect(cx - width / 2, cy - height / 2, width, height)


def rotate_appearance(fitz_doc: Any, xref: int, rotation: int | None) -> None:
    """Turn annotation ``xref``'s appearance counter-clockwise by ``rotation`` degrees.

    The appearance's ``/Matrix`` turns it; viewers then fit the turned box into ``/Rect``
    (PDF 32000 §12.5.5), which is already the record's bbox, so nothing is stretched.
    """
    degrees = (rotation or 0) % 360
    if degrees == 0:
        return
    kind, value = fitz_doc.xref_get_key(xref, "AP/N")
    if kind != "xref":
        return
    angle = math.radians(degrees)
    c, s = math.cos(angle), math.sin(angle)
    numbers = " ".join(f"{round(v, 6):g}" for v in (c, s, -s, c, 0, 0))
    fitz_doc.xref_set_key(int(value.split()[0]), "Matrix", f"[{numbers}]")


# The words standard stamps show (their names run the words together).
_STAMP_WORDS = {
    "Accepted": "Accepted",
    "AsIs": "As Is",
    "Completed": "Completed",
    "ForComment": "For Comment",
    "ForPublicRelease": "For Public Release",
    "InformationOnly": "Information Only",
    "InitialHere": "Initial Here",
    "NotApproved": "Not Approved",
    "NotForPublicRelease": "Not For Public Release",
    "PreliminaryResults": "Preliminary Results",
    "Rejected": "Rejected",
    "Revised": "Revised",
    "SignHere": "Sign Here",
    "TopSecret": "Top Secret",
    "Void": "Void",
    "Witness": "Witness",
}


def write_image(canvas: Canvas, page: Any, record: ImageAnnotation) -> Any:
    attachment = canvas.attachments.get(record.image_attachment_id or "")
    if attachment is None:
        raise ValueError(f"attachment {record.image_attachment_id!r} is not in the document")
    box = unrotated_box(record.bbox, record.rotation)
    annot = page.add_stamp_annot(fitz_rect(box), stamp=attachment.data)
    annot = finish(
        canvas, annot, record, contents=record.note or record.description, keep_rect=True
    )
    rotate_appearance(canvas.fitz, annot.xref, record.rotation)
    # The name marks the stamp as Lamina's image (read back as pspdfkit/image); what /Contents
    # cannot hold beside the note goes in a private dictionary viewers ignore.
    canvas.fitz.xref_set_key(annot.xref, "Name", f"/{IMAGE_STAMP_NAME}")
    info = {"FileName": record.file_name, "Description": record.description}
    entries = " ".join(f"/{k} {pymupdf.get_pdf_str(v)}" for k, v in info.items() if v)
    if entries:
        canvas.fitz.xref_set_key(annot.xref, IMAGE_INFO_KEY, f"<<{entries}>>")
    return annot


def _pdf_name(stamp_type: str, label: str) -> str:
    text = stamp_type if stamp_type != "Custom" else label
    safe = "".join(ch for ch in text if ch.isalnum())
    return f"/{safe or 'Custom'}"


def _relabel_stamp(fitz_doc: Any, annot: Any, label: str, subtitle: str | None = None) -> None:
    """Put ``label`` (and ``subtitle`` below it) in place of MuPDF's default stamp text,
    fitted to the stamp's box in both directions."""
    kind, value = fitz_doc.xref_get_key(annot.xref, "AP/N")
    if kind != "xref":
        return
    ap_xref = int(value.split()[0])
    text = label.upper() if label.replace(" ", "").isalpha() else label
    stream = fitz_doc.xref_stream(ap_xref).decode("latin-1")
    bbox_kind, bbox = fitz_doc.xref_get_key(ap_xref, "BBox")
    width, height = 190.0, 50.0
    if bbox_kind == "array":
        numbers = [float(v) for v in bbox.strip("[]").split()]
        width, height = numbers[2] - numbers[0], numbers[3] - numbers[1]
    unit = pymupdf.get_text_length(text, fontname="tibo", fontsize=1) or 1
    room = height - 12 if not subtitle else (height - 12) * 0.62
    size = max(4.0, min(30.0, (width - 12) / unit, room / 0.75))
    x = max(2.0, (width - unit * size) / 2)
    head, _, rest = stream.partition("BT")
    _, _, tail = rest.partition("ET")
    body = "BT\n"
    if subtitle:
        sub_unit = pymupdf.get_text_length(subtitle, fontname="tibo", fontsize=1) or 1
        sub_size = max(4.0, min(size * 0.5, (width - 12) / sub_unit))
        y = 6 + sub_size * 1.2
        body += f"/Times {size:.2f} Tf\n{x:.2f} {y:.2f} Td\n({_pdf_text(text)}) Tj\nET\nBT\n"
        sub_x = max(2.0, (width - sub_unit * sub_size) / 2)
        body += f"/Times {sub_size:.2f} Tf\n{sub_x:.2f} 6 Td\n({_pdf_text(subtitle)}) Tj\n"
    else:
        y = max(2.0, (height - size * 0.7) / 2)
        body += f"/Times {size:.2f} Tf\n{x:.2f} {y:.2f} Td\n({_pdf_text(text)}) Tj\n"
    fitz_doc.update_stream(ap_xref, (head + body + "ET" + tail).encode("latin-1", "replace"))


def _pdf_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
