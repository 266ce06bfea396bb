"""Image stamps: the one image a stamp's appearance draws, and how Lamina names its own.

An image annotation is written as a stamp whose appearance draws the image
(``/Name /LaminaImage``, file name and description in a private ``/LaminaImage`` dictionary);
it is read back as ``pspdfkit/image`` when its appearance draws exactly one image and its
name is one of :data:`IMAGE_STAMP_NAMES`. The image comes back as PNG or JPEG bytes.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pymupdf
from lamina.model.instant_json import Attachment

log = logging.getLogger(__name__)

IMAGE_STAMP_NAME = "LaminaImage"
"""``/Name`` of the stamp Lamina writes for an image annotation (how it is recognised)."""
IMAGE_INFO_KEY = "LaminaImage"
"""Private annotation key whose dictionary keeps ``/FileName`` and ``/Description``."""
IMAGE_STAMP_NAMES = frozenset({IMAGE_STAMP_NAME, "ImageStamp", None})
"""Stamps with these names (or none) are read as images when their appearance draws one
image. PyMuPDF names its image stamps /ImageStamp (what Lamina wrote before it had its own
name); Acrobat's and Preview's image stamps have no name."""
_XOBJECT_REF = re.compile(r"/[^\s/<>\[\]()]+\s+(\d+)\s+0\s+R")


def stamp_image(fitz_doc: Any, xref: int) -> Attachment | None:
    """Return the one image the stamp's normal appearance draws (None: none or several).

    ``fitz_doc`` is the PyMuPDF document; the caller holds :data:`MUPDF_LOCK`.
    """
    kind, value = fitz_doc.xref_get_key(xref, "AP/N")
    if kind != "xref":
        return None
    images: set[int] = set()
    _collect_images(fitz_doc, int(value.split()[0]), images, depth=0)
    if len(images) != 1:
        return None
    return _image_attachment(fitz_doc, images.pop())


def _collect_images(fitz_doc: Any, form: int, images: set[int], depth: int) -> None:
    # Acrobat nests the image in a form or two inside the appearance; the depth bound stops
    # a form that (wrongly) draws itself.
    if depth > 4 or len(images) > 1:
        return
    kind, value = fitz_doc.xref_get_key(form, "Resources/XObject")
    if kind == "xref":
        value = fitz_doc.xref_object(int(value.split()[0]), compressed=True)
    elif kind != "dict":
        return
    for match in _XOBJECT_REF.finditer(value):
        child = int(match.group(1))
        _, subtype = fitz_doc.xref_get_key(child, "Subtype")
        if subtype == "/Image":
            images.add(child)
        elif subtype == "/Form" and child != form:
            _collect_images(fitz_doc, child, images, depth + 1)


def _image_attachment(fitz_doc: Any, xref: int) -> Attachment | None:
    """Return an image XObject as PNG or JPEG bytes (PNG when it has a soft mask)."""
    info = fitz_doc.extract_image(xref)
    if not info or not info.get("image"):
        return None
    data: bytes = info["image"]
    ext = str(info.get("ext", "")).lower()
    smask = int(info.get("smask") or 0)
    if smask or ext not in ("png", "jpeg", "jpg"):
        pixmap = pymupdf.Pixmap(fitz_doc, xref)
        if pixmap.colorspace is not None and pixmap.colorspace.n not in (1, 3):
            pixmap = pymupdf.Pixmap(pymupdf.csRGB, pixmap)
        if smask:
            mask = pymupdf.Pixmap(fitz_doc, smask)
            if (
                mask.alpha
                or mask.n != 1
                or (mask.width, mask.height)
                != (
                    pixmap.width,
                    pixmap.height,
                )
            ):
                log.info("image %d: soft mask %d not usable, alpha dropped", xref, smask)
            else:
                if pixmap.alpha:
                    pixmap = pymupdf.Pixmap(pixmap, 0)
                pixmap = pymupdf.Pixmap(pixmap, mask)
        data = pixmap.tobytes("png")
        ext = "png"
    return Attachment(data, "image/png" if ext == "png" else "image/jpeg")
