"""Read the keys of one annotation dictionary as Instant JSON values.

Small readers shared by :mod:`lamina.pdf.annotations`: strings and names, ``/Contents`` (or
its popup's), the border width and dashes, line ends, ``/DA`` (through
:func:`lamina.pdf.values.parse_default_appearance`, the one ``/DA`` reader), a free text's
callout line and the blend mode an annotation or its appearance sets.
"""

from __future__ import annotations

import re
from typing import Any

from lamina.pdf.geometry import PageGeometry
from lamina.pdf.values import LINE_ENDS_TO_CAPS, parse_default_appearance
from pymupdf import mupdf

_FONTS = {"Helv": "Helvetica", "Cour": "Courier", "TiRo": "Times", "Times": "Times"}


def get_key(fitz_doc: Any, xref: int, key: str) -> tuple[str, str]:
    """Return ``(kind, value)`` of ``key`` (a path such as ``AP/N`` too) of object ``xref``,
    exactly as PyMuPDF's ``Document.xref_get_key`` does, without its wrapper objects (this
    runs a dozen times for every annotation read or written).

    Raises:
        ValueError: ``xref`` is not an object number of the document.
    """
    pdf = mupdf.pdf_document_from_fz_document(fitz_doc.this)
    if not 1 <= xref < mupdf.pdf_xref_len(pdf):
        raise ValueError("bad xref")
    obj = mupdf.pdf_load_object(pdf, xref)
    if not obj.m_internal:
        return "null", "null"
    return value_text(mupdf.ll_pdf_dict_getp(obj.m_internal, key))


def value_text(item: Any) -> tuple[str, str]:
    """Return ``(kind, value)`` of a dictionary value (a low-level pointer, None when the key
    is absent) as ``Document.xref_get_key`` does."""
    if item is None:
        return "null", "null"
    if mupdf.ll_pdf_is_indirect(item):
        return "xref", f"{mupdf.ll_pdf_to_num(item):d} 0 R"
    if mupdf.ll_pdf_is_array(item):
        return "array", _printed(item)
    if mupdf.ll_pdf_is_dict(item):
        return "dict", _printed(item)
    if mupdf.ll_pdf_is_int(item):
        return "int", f"{mupdf.ll_pdf_to_int(item):d}"
    if mupdf.ll_pdf_is_real(item):
        return "float", _printed(item)
    if mupdf.ll_pdf_is_null(item):
        return "null", "null"
    if mupdf.ll_pdf_is_bool(item):
        return "bool", "true" if mupdf.ll_pdf_to_bool(item) else "false"
    if mupdf.ll_pdf_is_name(item):
        return "name", f"/{mupdf.ll_pdf_to_name(item)}"
    if mupdf.ll_pdf_is_string(item):
        return "string", mupdf.ll_pdf_to_text_string(item)
    return "unknown", _printed(item)


def _printed(item: Any) -> str:
    buffer = mupdf.fz_new_buffer(256)
    out = mupdf.FzOutput(buffer)
    mupdf.ll_pdf_print_obj(out.m_internal, item, 1, 0)
    out.fz_close_output()
    text = mupdf.fz_buffer_extract_copy(buffer).decode(errors="replace")
    return text.partition("\0")[0]


def da_font(fitz_doc: Any, xref: int) -> str | None:
    """Return the font family ``/DA`` names (``Helv`` -> ``Helvetica``), or None."""
    name = parse_default_appearance(string_key(fitz_doc, xref, "DA")).font_name
    return None if name is None else _FONTS.get(name, name)


def callout(fitz_doc: Any, geometry: PageGeometry, xref: int) -> dict[str, Any] | None:
    kind, value = fitz_doc.xref_get_key(xref, "CL")
    if kind != "array":
        return None
    numbers = [float(v) for v in value.strip("[]").split()]
    if len(numbers) not in (4, 6):
        return None
    points = [
        list(geometry.pdf_to_instant_point(numbers[i], numbers[i + 1]))
        for i in range(0, len(numbers), 2)
    ]
    out: dict[str, Any] = {"start": points[0], "end": points[-1], "innerRectInset": [0, 0, 0, 0]}
    if len(points) == 3:
        out["knee"] = points[1]
    kind, value = fitz_doc.xref_get_key(xref, "LE")
    cap = LINE_ENDS_TO_CAPS.get(value.lstrip("/")) if kind == "name" else None
    if cap:
        out["cap"] = cap
    return out


def blend_mode(fitz_doc: Any, xref: int) -> str | None:
    """Return the annotation's blend mode: its /BM, else the one its appearance sets."""
    kind, value = get_key(fitz_doc, xref, "BM")
    if kind != "name":
        kind, ap = get_key(fitz_doc, xref, "AP/N")
        if kind != "xref":
            return None
        ap_xref = int(ap.split()[0])
        kind, states = fitz_doc.xref_get_key(ap_xref, "Resources/ExtGState")
        match = re.search(r"/BM\s*/(\w+)", states) if kind == "dict" else None
        if match is None and kind == "xref":
            match = re.search(r"/BM\s*/(\w+)", fitz_doc.xref_object(int(states.split()[0])))
        if match is None:
            for ref in re.findall(r"(\d+) 0 R", states if kind == "dict" else ""):
                match = re.search(r"/BM\s*/(\w+)", fitz_doc.xref_object(int(ref)))
                if match:
                    break
        if match is None:
            return None
        value = match.group(1)
    name = str(value).lstrip("/")
    mode = name[:1].lower() + name[1:]
    return None if mode == "normal" else mode


def string_key(fitz_doc: Any, xref: int, key: str) -> str | None:
    kind, value = get_key(fitz_doc, xref, key)
    if kind != "string":
        return None
    return str(value)


def contents(fitz_doc: Any, xref: int) -> str | None:
    """Return ``/Contents``, or its popup's when the annotation itself has none."""
    text = string_key(fitz_doc, xref, "Contents")
    if text:
        return text
    kind, value = get_key(fitz_doc, xref, "Popup")
    if kind == "xref":
        return string_key(fitz_doc, int(value.split()[0]), "Contents") or text
    return text


def name_key(fitz_doc: Any, xref: int, key: str) -> str | None:
    kind, value = get_key(fitz_doc, xref, key)
    if kind == "name":
        return str(value).lstrip("/")
    if kind == "string":
        return str(value)
    return None


def border_width(annot: Any) -> float | None:
    border = annot.border or {}
    width = border.get("width")
    if width is None or width < 0:
        return None
    return float(width)


def dashes(annot: Any) -> tuple[float, ...] | None:
    dashes = (annot.border or {}).get("dashes")
    return tuple(float(d) for d in dashes) if dashes else None


def line_caps(fitz_doc: Any, xref: int) -> dict[str, str] | None:
    kind, value = fitz_doc.xref_get_key(xref, "LE")
    if kind != "array":
        return None
    names = [n for n in value.strip("[]").replace("/", " ").split() if n]
    caps = {}
    for key, name in zip(("start", "end"), names, strict=False):
        cap = LINE_ENDS_TO_CAPS.get(name)
        if cap:
            caps[key] = cap
    return caps or None


def default_appearance(fitz_doc: Any, xref: int) -> tuple[float | None, str | None]:
    """Return the font size and text colour ``/DA`` sets (None for what it does not)."""
    da = parse_default_appearance(string_key(fitz_doc, xref, "DA"))
    return da.font_size, da.font_color


def link_border_width(fitz_doc: Any, xref: int) -> float | None:
    """Return a link's border width: ``/BS /W``, else the third number of ``/Border``
    (PDF's default border is 1 pt wide; None when there is no border)."""
    kind, value = fitz_doc.xref_get_key(xref, "BS/W")
    if kind in ("int", "float"):
        return float(value) or None
    kind, value = fitz_doc.xref_get_key(xref, "Border")
    numbers = value.strip("[]").split() if kind == "array" else []
    if len(numbers) >= 3:
        try:
            return float(numbers[2]) or None
        except ValueError:
            return None
    return None
