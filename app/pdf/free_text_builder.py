"""Write free text: font, colours, alignment, rotation, callout and text any script has.

MuPDF draws the appearance (text laid out in the box, top-aligned, the callout line with its
end cap); Lamina then:

- moves the text down for ``verticalAlign`` ``center`` and ``bottom`` (MuPDF only tops);
- draws the callout line in the border colour (else the text colour), ``borderWidth`` wide
  (MuPDF draws it hairline black), and makes ``/Rect`` and the appearance's box the record's
  bbox (which holds the line), with ``/RD`` its ``innerRectInset``;
- embeds the font when the text has characters outside Latin-1: MuPDF writes Greek or
  Cyrillic as a base-14 font with a ``/Differences`` encoding, which PDFium draws blank; the
  font MuPDF itself draws with (its own Nimbus fonts, which have those glyphs) is embedded
  once per document and named in each such appearance.
"""

from __future__ import annotations

import re
from typing import Any

import pymupdf
from lamina.model.geometry import Rect
from lamina.model.records import TextAnnotation
from lamina.pdf.annotation_finish import LINE_END_CODES, Canvas, finish, fitz_rect, strip_tags
from lamina.pdf.values import CAPS_TO_LINE_ENDS, hex_to_rgb
from pymupdf import mupdf

# The base-14 families a free text can name (PyMuPDF's short names).
_FREE_TEXT_FONTS = {"Helvetica": "helv", "Courier": "cour", "Times": "tiro", "Arial": "helv"}
_LINE_HEIGHT = 1.2
"""MuPDF's line height, in font sizes."""
_NAME_CL = mupdf.pdf_new_name("CL")
_TD = re.compile(r"(-?[\d.]+)\s+(-?[\d.]+)\s+Td")


def write_text(canvas: Canvas, page: Any, record: TextAnnotation) -> Any:
    """Add ``record`` to ``page`` as a /FreeText annotation with its appearance."""
    font_color = hex_to_rgb(record.font_color) or (0, 0, 0)
    fill = hex_to_rgb(record.background_color) if record.background_color else None
    align = {"left": 0, "center": 1, "right": 2}.get(record.horizontal_align or "left", 0)
    text = record.text.value if record.text.format == "plain" else strip_tags(record.text.value)
    rotation = (record.rotation or 0) % 360 if (record.rotation or 0) % 90 == 0 else 0
    callout = _callout_points(record)
    box = record.bbox
    if callout:
        inset = _inset(record)
        box = Rect(
            box.left + inset[0],
            box.top + inset[1],
            max(1.0, box.width - inset[0] - inset[2]),
            max(1.0, box.height - inset[1] - inset[3]),
        )
    extra: dict[str, Any] = {}
    if callout:
        caps = record.callout if isinstance(record.callout, dict) else {}
        end = CAPS_TO_LINE_ENDS.get(str(caps.get("cap", "")), "None")
        extra = {"callout": callout, "line_end": LINE_END_CODES[end]}
    # PyMuPDF draws a border colour for rich text only; a plain one is drawn in the text
    # colour (the record keeps its borderColor in the private copy).
    annot = page.add_freetext_annot(
        fitz_rect(box),
        text,
        fontsize=record.font_size or 12,
        text_color=font_color,
        fill_color=fill,
        border_color=None,
        border_width=record.border_width or 0,
        align=align,
        fontname=_FREE_TEXT_FONTS.get((record.font or "Helvetica").split("-")[0], "helv"),
        rotate=rotation,
        **extra,
    )
    annot = finish(
        canvas,
        annot,
        record,
        # Rich text keeps its words in /Contents too: viewers without /RC show those.
        contents=text,
        keep_rect=not callout,
    )
    fitz_doc = canvas.fitz
    if not callout:
        # MuPDF leaves a callout line (/CL) on a free text that has none (deleted in place:
        # xref_set_key(..., "null") prints and parses the whole dictionary again).
        mupdf.pdf_dict_del(mupdf.pdf_annot_obj(annot.this), _NAME_CL)
    ap = _appearance_xref(fitz_doc, annot.xref)
    if ap is None:
        return annot
    drawn = fitz_doc.xref_stream(ap).decode("latin-1")
    size = float(record.font_size or 12)
    height = box.width if rotation in (90, 270) else box.height
    stream = _aligned_vertically(drawn, record.vertical_align, height, size)
    if callout:
        stream = _styled_callout(stream, record)
        _box_the_callout(canvas, annot.xref, ap, record)
    if stream != drawn:
        fitz_doc.update_stream(ap, stream.encode("latin-1"))
    if not _latin_1(text):
        embed_fonts(canvas, ap)
    return annot


def _callout_points(record: TextAnnotation) -> list[tuple[float, float]] | None:
    data = record.callout if isinstance(record.callout, dict) else None
    if not data:
        return None
    points = []
    for key in ("start", "knee", "end"):
        point = data.get(key)
        if isinstance(point, list | tuple) and len(point) == 2:
            points.append((float(point[0]), float(point[1])))
    return points if len(points) >= 2 else None


def _inset(record: TextAnnotation) -> tuple[float, float, float, float]:
    data = record.callout if isinstance(record.callout, dict) else {}
    inset = data.get("innerRectInset")
    if isinstance(inset, list | tuple) and len(inset) == 4:
        return tuple(float(v) for v in inset)  # type: ignore[return-value]
    return (0.0, 0.0, 0.0, 0.0)


def _appearance_xref(fitz_doc: Any, xref: int) -> int | None:
    kind, value = fitz_doc.xref_get_key(xref, "AP/N")
    return int(value.split()[0]) if kind == "xref" else None


def _aligned_vertically(stream: str, align: str | None, height: float, size: float) -> str:
    """Move MuPDF's top-aligned lines to the middle or the bottom of a box ``height`` high."""
    if align not in ("center", "bottom"):
        return stream
    head, found, rest = stream.partition("BT\n")
    if not found:
        return stream
    body = rest.partition("ET")[0]
    lines = sum(1 for _, y in _TD.findall(body) if float(y) < 0)
    used = lines * _LINE_HEIGHT * size
    room = max(0.0, height - used)
    shift = room / 2 if align == "center" else room
    if shift <= 0:
        return stream
    return f"{head}BT\n0 {-shift:.3f} Td\n{rest}"


def _styled_callout(stream: str, record: TextAnnotation) -> str:
    """Draw MuPDF's callout line (the path before the box) and the box's border in the
    record's border colour (else its text colour) and width."""
    color = hex_to_rgb(record.border_color) or hex_to_rgb(record.font_color) or (0, 0, 0)
    width = float(record.border_width or 1)
    line, found, box = stream.partition(" re\n")
    if not found:
        return stream
    # The line and its cap come first, then the box ("x y w h re"): restyle the first part.
    cut = line.rfind("\n") + 1
    line, last = line[:cut], line[cut:]
    rgb = " ".join(f"{c:g}" for c in color)
    line = re.sub(r"(?m)^[\d. ]+ (?:RG|G)$", rgb + " RG", line, count=1)
    line = re.sub(r"(?m)^[\d.]+ w$", f"{width:g} w", line, count=1)
    return line + last + found + box


def _box_the_callout(canvas: Canvas, xref: int, ap: int, record: TextAnnotation) -> None:
    """Make ``/Rect`` and the appearance's ``/BBox`` the record's bbox (grown to hold the
    line), and ``/RD`` its inset, so no viewer scales the drawing."""
    fitz_doc = canvas.fitz
    geometry = canvas.geometry(record.page_index)
    box = record.bbox
    xs = [box.left, box.right]
    ys = [box.top, box.bottom]
    for x, y in _callout_points(record) or ():
        xs.append(x)
        ys.append(y)
    x0, y1 = geometry.instant_to_pdf_point((min(xs), min(ys)))
    x1, y0 = geometry.instant_to_pdf_point((max(xs), max(ys)))
    rect = f"[{min(x0, x1):g} {min(y0, y1):g} {max(x0, x1):g} {max(y0, y1):g}]"
    fitz_doc.xref_set_key(xref, "Rect", rect)
    fitz_doc.xref_set_key(ap, "BBox", rect)
    left, top, right, bottom = _inset(record)
    # /RD is left, top, right, bottom too (PDF 32000 §12.5.6.6, in PDF units).
    fitz_doc.xref_set_key(xref, "RD", f"[{left:g} {top:g} {right:g} {bottom:g}]")


def _latin_1(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


_EMBEDDABLE = frozenset(
    name for name in pymupdf.Base14_fontdict.values() if name not in ("Symbol", "ZapfDingbats")
)
_FLAGS = {"Courier": 32 | 1, "Times": 32 | 2}
"""Font descriptor flags: nonsymbolic, plus fixed pitch (Courier) or serif (Times)."""


def embed_fonts(canvas: Canvas, ap: int) -> None:
    """Embed the base-14 fonts appearance ``ap`` names, as MuPDF draws them (once each per
    document: ``canvas.fonts`` keeps the font descriptors written)."""
    fitz_doc = canvas.fitz
    kind, fonts = fitz_doc.xref_get_key(ap, "Resources/Font")
    if kind != "dict":
        return
    for font_xref in (int(n) for n in re.findall(r"(\d+) 0 R", fonts)):
        if fitz_doc.xref_get_key(font_xref, "Subtype") != ("name", "/Type1"):
            continue
        if fitz_doc.xref_get_key(font_xref, "FontDescriptor")[0] != "null":
            continue
        kind, base = fitz_doc.xref_get_key(font_xref, "BaseFont")
        name = base.lstrip("/") if kind == "name" else ""
        if name not in _EMBEDDABLE:
            continue
        descriptor = canvas.fonts.get(name)
        if descriptor is None:
            descriptor = _font_descriptor(fitz_doc, name)
            canvas.fonts[name] = descriptor
        fitz_doc.xref_set_key(font_xref, "FontDescriptor", f"{descriptor} 0 R")


def _font_descriptor(fitz_doc: Any, name: str) -> int:
    font = pymupdf.Font(fontname=name)
    data = font.buffer  # MuPDF's built-in fonts are CFF (Type1C) programs
    program = fitz_doc.get_new_xref()
    fitz_doc.update_object(program, "<</Subtype/Type1C>>")
    fitz_doc.update_stream(program, data, compress=True)
    box = font.bbox
    flags = _FLAGS.get(name.split("-")[0], 32)
    if "Oblique" in name or "Italic" in name:
        flags |= 64
    descriptor = fitz_doc.get_new_xref()
    fitz_doc.update_object(
        descriptor,
        f"<</Type/FontDescriptor/FontName/{name}/Flags {flags}"
        f"/FontBBox[{box.x0 * 1000:.0f} {box.y0 * 1000:.0f} {box.x1 * 1000:.0f} "
        f"{box.y1 * 1000:.0f}]/ItalicAngle {-12 if flags & 64 else 0}"
        f"/Ascent {font.ascender * 1000:.0f}/Descent {font.descender * 1000:.0f}"
        f"/CapHeight 700/StemV 80/FontFile3 {program} 0 R>>",
    )
    return descriptor
