"""Single XFDF values and their Instant JSON spellings, both ways (reader and writer share them).

Every ``parse_*`` takes the attribute text and raises ``ValueError`` when it cannot read it
(the caller then keeps the text verbatim); every ``render_*`` returns the attribute text, or
None for "write no attribute". Where PDF and XFDF spell a value alike (line ending names,
note icons, stamp names, dates, flag bits) the rule is the PDF bridge's own, from
:mod:`lamina.pdf.values`, so a value reads the same from a PDF and from an XFDF file.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lamina.model.geometry import Point, Rect
from lamina.pdf.geometry import PageGeometry
from lamina.pdf.values import (
    CAPS_TO_LINE_ENDS,
    LINE_ENDS_TO_CAPS,
    NOTE_ICONS_FROM_PDF,
    NOTE_ICONS_TO_PDF,
    DefaultAppearance,
    flags_from_pdf,
    flags_to_pdf,
    hex_to_rgb,
    iso_to_pdf_date,
    pdf_date_to_iso,
    stamp_type_from_name,
)
from lamina.pdf.values import parse_default_appearance as parse_default_appearance
from lamina.pdf.xfdf.markup import local_name

EXTRA_KEY = "xfdf"
"""Key of a record's ``extra`` that keeps what XFDF has and the record type has not."""

COMMENT_MARKER_INTENT = "LaminaCommentMarker"
"""``IT`` of the ``<text>`` a ``pspdfkit/comment-marker`` is written as (Acrobat ignores it)."""

PageSize = PageGeometry | tuple[float, float]
"""A page as the codec needs it: its geometry, or ``(width, height)`` of a plain page."""

_COORDINATE_PLACES = 6  # Acrobat writes 6 decimals; reading back gives the same numbers


def page_geometries(pages: Sequence[PageSize]) -> list[PageGeometry]:
    """Return the geometry of each page; ``(w, h)`` is a page with its origin at 0, 0."""
    out = []
    for page in pages:
        if isinstance(page, PageGeometry):
            out.append(page)
        else:
            width, height = (float(v) for v in page)
            out.append(PageGeometry(width, height, 0, 0.0, height))
    return out


# -- numbers and geometry ------------------------------------------------------------------


def render_number(value: float) -> str:
    """Write a number as briefly as it reads back to 6 decimals (``100``, ``0.46725``)."""
    text = f"{value:.{_COORDINATE_PLACES}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def render_numbers(values: Sequence[float]) -> str:
    return ",".join(render_number(v) for v in values)


def parse_numbers(text: str, count: int | None = None) -> list[float]:
    """Read numbers separated by commas, semicolons or spaces (``x,y;x,y`` included)."""
    parts = [p for p in re.split(r"[,;\s]+", text.strip()) if p]
    values = [float(p) for p in parts]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"not a finite number in {text!r}")
    if count is not None and len(values) != count:
        raise ValueError(f"expected {count} numbers, got {len(values)}")
    return values


def parse_number(text: str) -> float:
    return parse_numbers(text, 1)[0]


def parse_integer(text: str) -> int:
    number = parse_number(text)
    if not number.is_integer():
        raise ValueError(f"not a whole number: {text!r}")
    return int(number)


def _round(value: float) -> float:
    return round(value, _COORDINATE_PLACES) + 0.0  # + 0.0 turns -0.0 into 0.0


def instant_point(geometry: PageGeometry, x: float, y: float) -> Point:
    """Return the Instant point of an XFDF (PDF user space) point."""
    p = geometry.pdf_to_instant_point(x, y)
    return Point(_round(p.x), _round(p.y))


def instant_rect(geometry: PageGeometry, numbers: Sequence[float]) -> Rect:
    """Return the Instant ``bbox`` of an XFDF ``rect`` (``x1,y1,x2,y2``, y up)."""
    r = geometry.pdf_to_instant_rect(*numbers)
    return Rect(_round(r.left), _round(r.top), _round(r.width), _round(r.height))


def pdf_point(geometry: PageGeometry, point: Sequence[float]) -> tuple[float, float]:
    x, y = geometry.instant_to_pdf_point((point[0], point[1]))
    return (_round(x), _round(y))


def render_rect(geometry: PageGeometry, rect: Rect) -> str:
    """Return the XFDF ``rect`` of an Instant ``bbox``."""
    x0, y1 = pdf_point(geometry, (rect.left, rect.top))
    x1, y0 = pdf_point(geometry, (rect.right, rect.bottom))
    return render_numbers((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))


def render_points(geometry: PageGeometry, points: Sequence[Sequence[float]]) -> str:
    """Return ``x,y;x,y`` (``<vertices>``, ``<gesture>``) for Instant points."""
    return ";".join(render_numbers(pdf_point(geometry, p)) for p in points)


def parse_points(geometry: PageGeometry, text: str) -> tuple[Point, ...]:
    values = parse_numbers(text)
    if len(values) % 2:
        raise ValueError("an odd count of coordinates")
    return tuple(instant_point(geometry, *values[i : i + 2]) for i in range(0, len(values), 2))


def parse_quads(geometry: PageGeometry, text: str) -> tuple[Rect, ...]:
    """Read ``coords`` (8 numbers per quad) as one Instant rect per quad."""
    values = parse_numbers(text)
    if not values or len(values) % 8:
        raise ValueError("coords are not groups of 8 numbers")
    rects = []
    for i in range(0, len(values), 8):
        quad = [instant_point(geometry, *values[j : j + 2]) for j in range(i, i + 8, 2)]
        rects.append(Rect.bounding(quad))
    return tuple(Rect(*(_round(v) for v in r)) for r in rects)


def render_quads(geometry: PageGeometry, rects: Sequence[Rect]) -> str:
    """Write rects as ``coords``: upper left, upper right, lower left, lower right (Acrobat)."""
    corners: list[float] = []
    for r in rects:
        for point in ((r.left, r.top), (r.right, r.top), (r.left, r.bottom), (r.right, r.bottom)):
            corners.extend(pdf_point(geometry, point))
    return render_numbers(corners)


# -- names ---------------------------------------------------------------------------------

# ISO 19444-1 spells the /F bits as words; the bits are the PDF's, read by the PDF rule.
_FLAG_BITS = {
    "invisible": 1,
    "hidden": 2,
    "print": 4,
    "nozoom": 8,
    "norotate": 16,
    "noview": 32,
    "readonly": 64,
    "locked": 128,
    "togglenoview": 256,
    "lockedcontents": 512,
}


def parse_flags(text: str) -> tuple[str, ...] | None:
    """Return Instant ``flags`` of ``flags="print,nozoom"`` (None: only ``print``)."""
    bits = 0
    for word in text.split(","):
        word = word.strip().lower()
        if word:
            if word not in _FLAG_BITS:
                raise ValueError(f"unknown flag {word!r}")
            bits |= _FLAG_BITS[word]
    return flags_from_pdf(bits) or None


NO_FLAGS = flags_from_pdf(0)
"""The flags of an annotation without a ``flags`` attribute (``/F 0``: not printed)."""


def render_flags(flags: Sequence[str] | None) -> str | None:
    bits = flags_to_pdf(flags)
    return ",".join(word for word, bit in _FLAG_BITS.items() if bits & bit) or None


def parse_color(text: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", text):
        raise ValueError(f"not a #RRGGBB colour: {text!r}")
    return text


def render_color(color: str | None) -> str | None:
    # Instant's null colour ("transparent") is written as no attribute, as no colour reads.
    return color if color and hex_to_rgb(color) is not None else None


def parse_cap(text: str) -> str | None:
    if text == "None":
        return None
    if text not in LINE_ENDS_TO_CAPS:
        raise ValueError(f"unknown line ending {text!r}")
    return LINE_ENDS_TO_CAPS[text]


def render_cap(cap: str | None) -> str | None:
    return CAPS_TO_LINE_ENDS.get(cap) if cap else None


def parse_note_icon(text: str) -> str:
    return NOTE_ICONS_FROM_PDF.get(text, "note")


def render_note_icon(icon: str | None) -> str | None:
    return NOTE_ICONS_TO_PDF.get(icon) if icon else None


def parse_stamp_icon(text: str) -> tuple[str, str | None]:
    """Return ``(stampType, title)``: a name that is no standard stamp is a titled Custom."""
    stamp_type = stamp_type_from_name(text)
    return stamp_type, (text if stamp_type == "Custom" and text != "Custom" else None)


def render_stamp_icon(value: tuple[str, str | None]) -> str | None:
    stamp_type, title = value
    return stamp_type if stamp_type != "Custom" else (title or "Custom")


def parse_date(text: str) -> str:
    iso = pdf_date_to_iso(text)
    if iso is None:
        raise ValueError(f"not a pdf date: {text!r}")
    return iso


def render_date(iso: str | None) -> str | None:
    return iso_to_pdf_date(iso)


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "yes"):
        return True
    if lowered in ("false", "no"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def render_bool(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


_JUSTIFICATION = {"left": "left", "centered": "center", "center": "center", "right": "right"}
_JUSTIFICATION_NUMBERS = {"0": "left", "1": "center", "2": "right"}


def parse_justification(text: str) -> str:
    value = _JUSTIFICATION.get(text.lower()) or _JUSTIFICATION_NUMBERS.get(text)
    if value is None:
        raise ValueError(f"unknown justification {text!r}")
    return value


def render_justification(align: str | None) -> str | None:
    return {"left": "left", "center": "centered", "right": "right"}.get(align or "")


# XFDF's border style words (ISO 19444-1 ``style``) <-> Instant ``borderStyle``.
_BORDER_STYLES = {
    "solid": "solid",
    "dash": "dashed",
    "bevelled": "beveled",
    "inset": "inset",
    "underline": "underline",
}


def parse_border_style(text: str) -> str:
    if text not in _BORDER_STYLES:
        raise ValueError(f"not an instant border style: {text!r}")
    return _BORDER_STYLES[text]


def render_border_style(style: str | None) -> str | None:
    return {v: k for k, v in _BORDER_STYLES.items()}.get(style or "")


# -- free text default appearance and style ------------------------------------------------


def render_default_appearance(value: DefaultAppearance) -> str | None:
    if value == DefaultAppearance():
        return None
    parts = []
    if value.border_color:
        parts.append(f"{_rgb_operands(value.border_color)} RG")
    if value.font_color:
        parts.append(f"{_rgb_operands(value.font_color)} rg")
    # A /DA must name a font; 12 pt stands in for a size the record does not give.
    parts.append(f"/Helv {render_number(value.font_size or 12)} Tf")
    return " ".join(parts)


def _rgb_operands(color: str) -> str:
    rgb = hex_to_rgb(color) or (0.0, 0.0, 0.0)
    return " ".join(render_number(round(c, 4)) for c in rgb)


@dataclass(frozen=True)
class DefaultStyle:
    """What Lamina reads of a ``/DS`` style string (CSS): font, size, colour, alignment."""

    font: str | None = None
    font_size: float | None = None
    font_color: str | None = None
    horizontal_align: str | None = None
    font_style: tuple[str, ...] | None = None


def parse_default_style(text: str) -> DefaultStyle:
    """Read ``font: Helvetica,sans-serif 12.0pt; text-align:left; color:#E52237``."""
    font = size = color = align = None
    styles: list[str] = []
    for declaration in text.split(";"):
        key, _, value = (part.strip() for part in declaration.partition(":"))
        key = key.lower()
        if key == "font":
            family: list[str] = []
            for token in value.split():
                if re.fullmatch(r"[\d.]+pt", token):
                    size = float(token[:-2])
                elif token.lower() in ("bold", "italic"):
                    styles.append(token.lower())
                else:
                    family.append(token)
            font = " ".join(family).split(",")[0].strip("'\"") or font
        elif key == "font-family":
            font = value.split(",")[0].strip().strip("'\"") or None
        elif key == "font-size" and re.fullmatch(r"[\d.]+pt", value):
            size = float(value[:-2])
        elif key == "font-weight" and value.lower() == "bold":
            styles.append("bold")
        elif key == "font-style" and value.lower() == "italic":
            styles.append("italic")
        elif key == "color" and re.fullmatch(r"#[0-9a-fA-F]{6}", value):
            color = value
        elif key == "text-align" and value.lower() in ("left", "center", "right"):
            align = value.lower()
    ordered = tuple(s for s in ("bold", "italic") if s in styles)
    return DefaultStyle(font, size or None, color, align, ordered or None)


def render_default_style(value: DefaultStyle) -> str | None:
    if value == DefaultStyle():
        return None
    parts = []
    if value.font and value.font_size:
        parts.append(f"font: {value.font} {render_number(value.font_size)}pt")
    elif value.font:
        parts.append(f"font-family:{value.font}")
    elif value.font_size:
        parts.append(f"font-size:{render_number(value.font_size)}pt")
    if value.horizontal_align:
        parts.append(f"text-align:{value.horizontal_align}")
    if value.font_color:
        parts.append(f"color:{value.font_color}")
    if value.font_style and "bold" in value.font_style:
        parts.append("font-weight:bold")
    if value.font_style and "italic" in value.font_style:
        parts.append("font-style:italic")
    return "; ".join(parts)


# -- link actions --------------------------------------------------------------------------


def parse_link_action(activation: ET.Element) -> dict[str, Any] | None:
    """Return the Instant action of a link's ``<OnActivation>`` (URI, or GoTo a page)."""
    for node in activation.iter():
        name = local_name(node)
        if name == "URI" and node.get("Name") is not None:
            return {"type": "uri", "uri": node.get("Name")}
        if name == "GoTo":
            for dest in node.iter():
                page = dest.get("Page")
                if page is not None and page.isdigit():
                    return {"type": "goTo", "pageIndex": int(page)}
    return None


def render_link_action(action: Any) -> ET.Element | None:
    """Return the ``<OnActivation>`` of a URI or GoTo-page action (None for any other)."""
    action = action if isinstance(action, dict) else {}
    activation = ET.Element("OnActivation")
    holder = ET.SubElement(activation, "Action")
    if action.get("type") == "uri" and isinstance(action.get("uri"), str):
        ET.SubElement(holder, "URI", {"Name": action["uri"]})
    elif action.get("type") == "goTo" and isinstance(action.get("pageIndex"), int):
        dest = ET.SubElement(ET.SubElement(holder, "GoTo"), "Dest")
        ET.SubElement(dest, "Fit", {"Page": str(action["pageIndex"])})
    else:
        return None
    return activation
