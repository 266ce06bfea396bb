"""What every annotation builder shares: the document port and :func:`finish`.

:func:`finish` sets what every annotation carries (author, dates, colours, border, opacity,
blend mode, flags, popup, ``/NM``) and generates the appearance once.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any, Protocol

import pymupdf
from lamina.model.geometry import Rect
from lamina.model.instant_json import Attachment
from lamina.model.records import NO_COLOR, Annotation
from lamina.pdf.geometry import PageGeometry
from lamina.pdf.values import flags_to_pdf, hex_to_rgb, iso_to_pdf_date
from pymupdf import mupdf

# PyMuPDF sets its constants at import time, which mypy cannot see.
_FITZ: Any = pymupdf

LINE_END_CODES = {
    "None": _FITZ.PDF_ANNOT_LE_NONE,
    "Square": _FITZ.PDF_ANNOT_LE_SQUARE,
    "Circle": _FITZ.PDF_ANNOT_LE_CIRCLE,
    "Diamond": _FITZ.PDF_ANNOT_LE_DIAMOND,
    "OpenArrow": _FITZ.PDF_ANNOT_LE_OPEN_ARROW,
    "ClosedArrow": _FITZ.PDF_ANNOT_LE_CLOSED_ARROW,
    "Butt": _FITZ.PDF_ANNOT_LE_BUTT,
    "ROpenArrow": _FITZ.PDF_ANNOT_LE_R_OPEN_ARROW,
    "RClosedArrow": _FITZ.PDF_ANNOT_LE_R_CLOSED_ARROW,
    "Slash": _FITZ.PDF_ANNOT_LE_SLASH,
}

_NAME_CONTENTS = mupdf.pdf_new_name("Contents")
_NAME_RECT = mupdf.pdf_new_name("Rect")
_NAME_NM = mupdf.pdf_new_name("NM")


_TAG = re.compile(r"<[^>]+>")


class Canvas(Protocol):
    """What a builder needs of the document being written."""

    @property
    def fitz(self) -> Any:
        """The PyMuPDF document."""

    @property
    def attachments(self) -> Mapping[str, Attachment]:
        """Image bytes by attachment id."""

    def geometry(self, index: int) -> PageGeometry:
        """Return the coordinate conversions of page ``index``."""

    @property
    def fonts(self) -> dict[str, int]:
        """Font objects written so far, by name, for builders to share (see
        :mod:`lamina.pdf.free_text_builder`)."""


def finish(
    canvas: Canvas,
    annot: Any,
    record: Annotation,
    *,
    contents: str | None,
    stroke: str | None = None,
    fill: str | None = None,
    width: float | None = None,
    dashes: Any = None,
    clouds: float = 0,
    keep_rect: bool = False,
) -> Any:
    """Set what every annotation carries, then generate its appearance once.

    ``clouds``: a cloudy border of that intensity (``/BE``, which MuPDF draws).
    ``keep_rect``: put the record's bbox back as ``/Rect`` after MuPDF drew the appearance.
    """
    info: dict[str, str] = {}
    if record.creator_name:
        info["title"] = record.creator_name
    if contents:
        info["content"] = contents
    if record.subject:
        info["subject"] = record.subject
    created = iso_to_pdf_date(record.created_at)
    updated = iso_to_pdf_date(record.updated_at) or created
    if created:
        info["creationDate"] = created
    if updated:
        info["modDate"] = updated
    if info:
        annot.set_info(**info)
    colors: dict[str, Any] = {}
    if stroke is not None:
        colors["stroke"] = hex_to_rgb(stroke) if stroke != NO_COLOR else []
    if fill is not None:
        colors["fill"] = hex_to_rgb(fill) if fill != NO_COLOR else []
    if colors:
        annot.set_colors(**colors)
    if dashes:
        # Written directly: PyMuPDF's set_border drops dash lengths that are not integers.
        numbers = " ".join(f"{float(d):g}" for d in dashes)
        canvas.fitz.xref_set_key(
            annot.xref,
            "BS",
            f"<</W {float(width if width is not None else 1):g}/S/D/D[{numbers}]>>",
        )
    elif width is not None:
        annot.set_border(width=width)
    if clouds:
        # PyMuPDF takes whole intensities only; PDF's /I is a number (0 to 2).
        annot.set_border(width=width if width is not None else 1, clouds=max(1, round(clouds)))
        canvas.fitz.xref_set_key(annot.xref, "BE", f"<</S/C/I {clouds:g}>>")
    if record.opacity is not None and record.opacity < 1:
        annot.set_opacity(record.opacity)
    if record.blend_mode:
        annot.set_blendmode(record.blend_mode[:1].upper() + record.blend_mode[1:])
    flags = flags_to_pdf(record.flags)
    if flags != 4:
        annot.set_flags(flags)
    _place_popup(annot, record)  # before drawing: moving a popup makes MuPDF redraw
    line_ends = getattr(annot, "line_ends", None)
    if line_ends and any(line_ends) and annot.type[0] != _FITZ.PDF_ANNOT_LINE:
        # PyMuPDF draws a polyline's or polygon's line ends a second time, misplaced, after
        # MuPDF drew them, and prints "cannot set rect" on the way (through its message
        # stream, silenced for this call only): keep MuPDF's drawing only.
        stream = _FITZ._g_out_message
        _FITZ._g_out_message = None
        try:
            annot.update()
        finally:
            _FITZ._g_out_message = stream
        _keep_first_block(canvas.fitz, annot.xref)
    else:
        annot.update()
    # Direct dictionary edits: PyMuPDF's xref_set_key parses a string for each call.
    obj = mupdf.pdf_annot_obj(annot.this)
    if not contents:
        # PyMuPDF fills in a default text for stamps ("Approved"); the record has none.
        mupdf.pdf_dict_del(obj, _NAME_CONTENTS)
    if keep_rect:
        # MuPDF resizes notes to their icon and stamps to their text when it draws them;
        # Instant's bbox wins. Viewers scale the appearance into /Rect.
        geometry = canvas.geometry(record.page_index)
        x0, y1 = geometry.instant_to_pdf_point((record.bbox.left, record.bbox.top))
        x1, y0 = geometry.instant_to_pdf_point((record.bbox.right, record.bbox.bottom))
        mupdf.pdf_dict_put_rect(obj, _NAME_RECT, mupdf.FzRect(x0, y0, x1, y1))
    mupdf.pdf_dict_put_text_string(obj, _NAME_NM, record.name or str(record.id))
    return annot


def _place_popup(annot: Any, record: Annotation) -> None:
    """Open a popup beside its annotation, inside the page (PyMuPDF puts every popup at one
    fixed spot near the top left corner)."""
    if annot.popup_xref == 0:
        return
    page = annot.parent.rect
    box = record.bbox
    width, height = min(200.0, page.width), min(100.0, page.height)
    x0 = box.right + 4 if box.right + 4 + width <= page.width else max(0.0, box.left - 4 - width)
    y0 = min(max(0.0, box.top), max(0.0, page.height - height))
    annot.set_popup(pymupdf.Rect(x0, y0, x0 + width, y0 + height))


def _keep_first_block(fitz_doc: Any, xref: int) -> None:
    kind, value = fitz_doc.xref_get_key(xref, "AP/N")
    if kind != "xref":
        return
    ap_xref = int(value.split()[0])
    stream = fitz_doc.xref_stream(ap_xref).decode("latin-1")
    head, found, _ = stream.partition("\nQ\n")
    if found:
        fitz_doc.update_stream(ap_xref, (head + found).encode("latin-1"))


def fitz_rect(rect: Rect) -> Any:
    """Return ``rect`` (Instant space) as a PyMuPDF rectangle."""
    return pymupdf.Rect(rect.left, rect.top, rect.right, rect.bottom)


def strip_tags(xhtml: str) -> str:
    """Return the words of rich (xhtml) text (tags dropped, entities decoded)."""
    return html.unescape(_TAG.sub("", xhtml))
