"""Translate single values between their PDF and Instant JSON spellings, both ways.

Line ending names (``/LE``) and ``lineCaps``, sticky-note icons (``/Name``), annotation flags
(``/F``), colours (0..1 components and ``#rrggbb``), stamp names and dates (``D:...`` and
ISO 8601). The reader (:mod:`lamina.pdf.annotations`) and the writer
(:mod:`lamina.pdf.writer`) both use these tables, so a value written reads back as itself.
No PyMuPDF here: these are plain values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lamina.model.records import STAMP_TYPES

# PDF line ending names <-> Instant lineCaps names.
LINE_ENDS_TO_CAPS = {
    "Square": "square",
    "Circle": "circle",
    "Diamond": "diamond",
    "OpenArrow": "openArrow",
    "ClosedArrow": "closedArrow",
    "Butt": "butt",
    "ROpenArrow": "reverseOpenArrow",
    "RClosedArrow": "reverseClosedArrow",
    "Slash": "slash",
}
CAPS_TO_LINE_ENDS = {v: k for k, v in LINE_ENDS_TO_CAPS.items()}

PDF_SUBTYPES: dict[str, str] = {
    "pspdfkit/ink": "Ink",
    "pspdfkit/shape/rectangle": "Square",
    "pspdfkit/shape/ellipse": "Circle",
    "pspdfkit/shape/line": "Line",
    "pspdfkit/shape/polyline": "PolyLine",
    "pspdfkit/shape/polygon": "Polygon",
    "pspdfkit/markup/highlight": "Highlight",
    "pspdfkit/markup/underline": "Underline",
    "pspdfkit/markup/strikeout": "StrikeOut",
    "pspdfkit/markup/squiggly": "Squiggly",
    "pspdfkit/text": "FreeText",
    "pspdfkit/note": "Text",
    "pspdfkit/comment-marker": "Text",
    "pspdfkit/comment": "Text",
    "pspdfkit/stamp": "Stamp",
    "pspdfkit/image": "Stamp",
    "pspdfkit/link": "Link",
    "pspdfkit/widget": "Widget",
    "pspdfkit/markup/redaction": "Redact",
}
"""The PDF ``/Subtype`` each Instant JSON type is written as."""

BORDER_STYLES_FROM_PDF = {
    "S": "solid",
    "D": "dashed",
    "B": "beveled",
    "I": "inset",
    "U": "underline",
}
"""``/BS /S`` -> Instant's ``borderStyle``."""
BORDER_STYLES_TO_PDF = {v: k for k, v in BORDER_STYLES_FROM_PDF.items()}

NOTE_ICONS_FROM_PDF = {
    "Comment": "comment",
    "Key": "key",
    "Note": "note",
    "Help": "help",
    "NewParagraph": "newParagraph",
    "Paragraph": "paragraph",
    "Insert": "insert",
    "Check": "check",
    "Circle": "circle",
    "Cross": "cross",
    "RightArrow": "rightArrow",
    "RightPointer": "rightPointer",
    "Star": "star",
}
NOTE_ICONS_TO_PDF = {v: k for k, v in NOTE_ICONS_FROM_PDF.items()}

_ANNOT_FLAGS = (
    (1, "invisible"),
    (2, "hidden"),
    (4, None),  # print is Instant's default; noPrint is its absence
    (8, "noZoom"),
    (16, "noRotate"),
    (32, "noView"),
    (64, "readOnly"),
    (128, "locked"),
    (256, "toggleNoView"),
    (512, "lockedContents"),
)


def flags_from_pdf(number: int) -> tuple[str, ...]:
    """Return the Instant ``flags`` for a PDF ``/F`` number (``noPrint`` unless bit 3 is set)."""
    out = [name for bit, name in _ANNOT_FLAGS if name and number & bit]
    if not number & 4:
        out.insert(0, "noPrint")
    return tuple(out)


def flags_to_pdf(flags: Sequence[str] | None) -> int:
    """Return the PDF ``/F`` number for Instant ``flags`` (print unless ``noPrint``)."""
    names = set(flags or ())
    number = 0 if "noPrint" in names else 4
    for bit, name in _ANNOT_FLAGS:
        if name and name in names:
            number |= bit
    return number


def rgb_to_hex(rgb: Sequence[float] | None) -> str | None:
    """Return ``#rrggbb`` for PDF colour components 0..1: gray, RGB or CMYK (None for none)."""
    if not rgb:
        return None
    if len(rgb) == 1:
        rgb = (rgb[0], rgb[0], rgb[0])
    elif len(rgb) == 4:  # CMYK
        c, m, y, k = rgb
        rgb = ((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k))
    r, g, b = (max(0, min(255, round(float(v) * 255))) for v in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def hex_to_rgb(color: str | None) -> tuple[float, float, float] | None:
    """Return PyMuPDF's 0..1 RGB for ``#rrggbb`` (None for no colour)."""
    if not color or not color.startswith("#") or len(color) != 7:
        return None
    return (int(color[1:3], 16) / 255, int(color[3:5], 16) / 255, int(color[5:7], 16) / 255)


def stamp_type_from_name(name: str | None) -> str:
    """Return the Instant ``stampType`` of a stamp's ``/Name`` (Acrobat's ``SB``/``SH``/``D``
    prefixes recognised); ``Custom`` for any other name."""
    if not name:
        return "Custom"
    bare = name.lstrip("#")
    for prefix in ("SB", "SH", "D"):
        if bare.startswith(prefix) and bare[len(prefix) :] in STAMP_TYPES:
            return bare[len(prefix) :]
    return bare if bare in STAMP_TYPES else "Custom"


_PDF_DATE = re.compile(
    r"^D?:?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(?:([Zz+\-])(?:(\d{2})'?(\d{2})?'?)?)?"
)


def pdf_date_to_iso(text: str | None) -> str | None:
    """Return ``D:YYYYMMDDHHmmSS+HH'mm'`` as ISO 8601 UTC (``...Z``); None if unreadable.

    PDF dates have whole seconds, and so has the result (no milliseconds).
    """
    if not text:
        return None
    match = _PDF_DATE.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, sign, tz_h, tz_m = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=UTC,
        )
        if sign in ("+", "-") and tz_h:
            offset = timedelta(hours=int(tz_h), minutes=int(tz_m or 0))
            if offset >= timedelta(hours=24):
                return None
            moment = moment - offset if sign == "+" else moment + offset
    except ValueError:
        return None
    if moment.year < 1900:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_to_pdf_date(text: str | None) -> str | None:
    """Return a PDF date string for an ISO 8601 timestamp (None if unreadable)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("D:%Y%m%d%H%M%SZ")


# -- /DA default appearance strings ------------------------------------------------------

_DA_SIZE = re.compile(r"([\d.]+)\s+Tf")
_DA_FONT = re.compile(r"/([^\s/]+)\s+[\d.]+\s+Tf")
_DA_RGB = re.compile(r"([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+rg")
_DA_GRAY = re.compile(r"([\d.]+)\s+g(?:\s|$)")
_DA_STROKE = re.compile(r"([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+RG")


@dataclass(frozen=True)
class DefaultAppearance:
    """What a ``/DA`` string says: font resource name and size, text and border colours."""

    font_size: float | None = None
    font_color: str | None = None
    border_color: str | None = None
    font_name: str | None = None


def parse_default_appearance(text: str | None) -> DefaultAppearance:
    """Read a ``/DA`` string such as ``0 0 1 rg /Helv 12 Tf`` (or ``0.5 g``; ``r g b RG``).

    A size of 0 (PDF's "auto") reads as None; parts that are missing read as None.
    """
    text = text or ""
    size = _DA_SIZE.search(text)
    font = _DA_FONT.search(text)
    rgb = _DA_RGB.search(text)
    gray = _DA_GRAY.search(text)
    stroke = _DA_STROKE.search(text)
    if rgb:
        color = rgb_to_hex([float(v) for v in rgb.groups()])
    else:
        color = rgb_to_hex([float(gray.group(1))]) if gray else None
    return DefaultAppearance(
        font_size=(float(size.group(1)) or None) if size else None,
        font_color=color,
        border_color=rgb_to_hex([float(v) for v in stroke.groups()]) if stroke else None,
        font_name=font.group(1) if font else None,
    )
