"""Write free text: font, colours, alignment, rotation, callout and text any script has."""

from __future__ import annotations

from typing import Any

from lamina.model.records import TextAnnotation
from lamina.pdf.annotation_finish import Canvas, finish, fitz_rect, strip_tags
from lamina.pdf.values import hex_to_rgb

# The base-14 families a free text can name (PyMuPDF's short names).
_FREE_TEXT_FONTS = {"Helvetica": "helv", "Courier": "cour", "Times": "tiro", "Arial": "helv"}


def write_text(canvas: Canvas, page: Any, record: TextAnnotation) -> Any:
    font_color = hex_to_rgb(record.font_color) or (0, 0, 0)
    fill = hex_to_rgb(record.background_color) if record.background_color else None
    # PyMuPDF draws a border colour for rich text only; a plain one is drawn in the text
    # colour (the record keeps its borderColor in the private copy).
    border = None
    align = {"left": 0, "center": 1, "right": 2}.get(record.horizontal_align or "left", 0)
    annot = page.add_freetext_annot(
        fitz_rect(record.bbox),
        record.text.value if record.text.format == "plain" else strip_tags(record.text.value),
        fontsize=record.font_size or 12,
        text_color=font_color,
        fill_color=fill,
        border_color=border,
        border_width=record.border_width or 0,
        align=align,
        fontname=_FREE_TEXT_FONTS.get((record.font or "Helvetica").split("-")[0], "helv"),
        rotate=(record.rotation or 0) % 360 if (record.rotation or 0) % 90 == 0 else 0,
    )
    return finish(
        canvas,
        annot,
        record,
        # Rich text keeps its words in /Contents too: viewers without /RC show those.
        contents=record.text.value
        if record.text.format == "plain"
        else strip_tags(record.text.value),
        keep_rect=True,
    )
