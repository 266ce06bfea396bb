"""Write links: the action, the border (``/C``, ``/Border``, ``/BS``) and its appearance.

A link's border is drawn by the viewers that draw a link's ``/AP`` (poppler, PDFium, pdf.js).
MuPDF never draws a link annotation (it keeps links apart from annotations), so it shows
the border only once it is burnt into the page: :func:`burn_link_borders`, which
``apply_instant_json(flatten=True)`` calls before MuPDF flattens the rest.
"""

from __future__ import annotations

from typing import Any, Protocol

import pymupdf
from lamina.model.records import NO_COLOR, LinkAnnotation
from lamina.pdf.geometry import PageGeometry
from lamina.pdf.values import BORDER_STYLES_TO_PDF, hex_to_rgb

# PyMuPDF sets its constants at import time, which mypy cannot see.
_FITZ: Any = pymupdf


class LinkCanvas(Protocol):
    """What writing a link needs of the document being written."""

    @property
    def fitz(self) -> Any:
        """The PyMuPDF document."""

    def geometry(self, index: int) -> PageGeometry:
        """Return the coordinate conversions of page ``index``."""


def write_link(canvas: LinkCanvas, page: Any, record: LinkAnnotation) -> Any:
    action = record.action if isinstance(record.action, dict) else {}
    box = record.bbox
    link: dict[str, Any] = {"from": pymupdf.Rect(box.left, box.top, box.right, box.bottom)}
    if action.get("type") == "uri":
        link.update(kind=_FITZ.LINK_URI, uri=str(action.get("uri", "")))
    elif action.get("type") == "goTo":
        link.update(kind=_FITZ.LINK_GOTO, page=int(action.get("pageIndex", 0)))
    elif action.get("type") == "named" and action.get("action"):
        link.update(kind=_FITZ.LINK_NAMED, name=str(action["action"]))
    elif action.get("type") == "launch" and action.get("filePath"):
        link.update(kind=_FITZ.LINK_LAUNCH, file=str(action["filePath"]))
    elif action.get("type") == "goToRemote" and action.get("relativePath"):
        link.update(kind=_FITZ.LINK_GOTOR, file=str(action["relativePath"]), page=0)
    else:
        raise ValueError(f"a link action {action.get('type')!r} cannot be written")
    before = {x for x, _, _ in page.annot_xrefs()}
    page.insert_link(link)
    after = [x for x, _, _ in page.annot_xrefs() if x not in before]
    if not after:
        raise ValueError("PyMuPDF made no link")
    # PyMuPDF names a new link "fitz-L0": the record's name, or its id, as for the others.
    canvas.fitz.xref_set_key(after[0], "NM", pymupdf.get_pdf_str(record.name or str(record.id)))
    _link_border(canvas, after[0], record)
    return _Xref(after[0])


def _link_border(canvas: LinkCanvas, xref: int, record: LinkAnnotation) -> None:
    """Write a link's border (/C, /Border, /BS) and an appearance that draws it.

    Viewers draw a link's border from /Border and /C by themselves only sometimes (pdf.js
    and PDFium never on the page), so the border is also drawn as the link's /AP.
    """
    fitz_doc = canvas.fitz
    width = float(record.border_width or 0)
    rgb = hex_to_rgb(record.border_color) if record.border_color != NO_COLOR else None
    if width <= 0 or rgb is None:
        fitz_doc.xref_set_key(xref, "Border", "[0 0 0]")
        return
    style = BORDER_STYLES_TO_PDF.get(record.border_style or "solid", "S")
    dash = "[3]" if style == "D" else "[]"
    fitz_doc.xref_set_key(xref, "C", "[" + " ".join(f"{c:g}" for c in rgb) + "]")
    fitz_doc.xref_set_key(xref, "Border", f"[0 0 {width:g}]")
    fitz_doc.xref_set_key(xref, "BS", f"<</Type/Border/W {width:g}/S/{style}>>")
    geometry = canvas.geometry(record.page_index)
    x0, y1 = geometry.instant_to_pdf_point((record.bbox.left, record.bbox.top))
    x1, y0 = geometry.instant_to_pdf_point((record.bbox.right, record.bbox.bottom))
    w, h = abs(x1 - x0), abs(y1 - y0)
    color = " ".join(f"{c:g}" for c in rgb)
    if style == "U":
        path = f"0 {width / 2:g} m {w:g} {width / 2:g} l S"
    else:
        half = width / 2
        path = f"{half:g} {half:g} {max(0.0, w - width):g} {max(0.0, h - width):g} re S"
    stream = f"q {color} RG {width:g} w {dash} 0 d {path} Q\n".encode()
    ap = fitz_doc.get_new_xref()
    fitz_doc.update_object(ap, f"<</Type/XObject/Subtype/Form/BBox[0 0 {w:g} {h:g}]>>")
    fitz_doc.update_stream(ap, stream)
    fitz_doc.xref_set_key(xref, "AP", f"<</N {ap} 0 R>>")


class _Xref:
    def __init__(self, xref: int) -> None:
        self.xref = xref


def burn_link_borders(fitz_doc: Any) -> None:
    """Draw the appearance of every link that has one into its page's content.

    Flattening through MuPDF leaves links out (they stay links, without their border).
    """
    for page in fitz_doc:
        for xref, kind, _ in page.annot_xrefs():
            if kind != _FITZ.PDF_ANNOT_LINK:
                continue
            ap_kind, ap = fitz_doc.xref_get_key(xref, "AP/N")
            rect_kind, rect = fitz_doc.xref_get_key(xref, "Rect")
            if ap_kind != "xref" or rect_kind != "array":
                continue
            x0, y0, x1, y1 = (float(v) for v in rect.strip("[]").split())
            form = fitz_doc.xref_stream(int(ap.split()[0])) or b""
            # The appearance's origin is the rectangle's lower left corner (PDF space).
            page.wrap_contents()
            contents = page.get_contents()
            placed = f"q 1 0 0 1 {min(x0, x1):g} {min(y0, y1):g} cm\n".encode() + form + b"\nQ\n"
            new = fitz_doc.get_new_xref()
            fitz_doc.update_object(new, "<<>>")
            fitz_doc.update_stream(new, placed)
            refs = " ".join(f"{c} 0 R" for c in [*contents, new])
            fitz_doc.xref_set_key(page.xref, "Contents", f"[{refs}]")
