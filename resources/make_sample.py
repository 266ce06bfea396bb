"""Make resources/sample.pdf: a small PDF to try Lamina on (run from the repository root).

Three pages: a letter page of text with a highlight, a sticky note and a rectangle already
in it (so ``lamina dump`` has something to show), a landscape page, and a page rotated by 90
degrees. The output is deterministic (fixed dates and ids), so rerunning it changes nothing.

Usage: python resources/make_sample.py [OUT.pdf]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pymupdf

TEXT = (
    "Lamina sample document\n\n"
    "This page carries three annotations written by another viewer: a highlight on this "
    "paragraph, a sticky note in the margin and a red rectangle. Open it with `lamina`, add "
    "your own, or try the command line:\n\n"
    "    lamina dump sample.pdf\n"
    "    lamina apply sample.pdf changes.json -o out.pdf\n"
    "    lamina diff sample.pdf out.pdf\n"
)
DATE = "D:20240101120000Z"


def make(out: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_textbox(pymupdf.Rect(72, 72, 540, 400), TEXT, fontsize=12, fontname="helv")
    quads = page.search_for("a highlight on this", quads=True)
    annots = []
    if quads:
        annots.append(page.add_highlight_annot(quads=quads))
    note = page.add_text_annot((560, 90), "Please check the figures.", icon="Comment")
    annots.append(note)
    box = page.add_rect_annot(pymupdf.Rect(72, 420, 300, 500))
    box.set_colors(stroke=(0.9, 0.1, 0.1))
    box.set_border(width=2)
    annots.append(box)
    for i, annot in enumerate(annots):
        annot.set_info(title="Sample Author", creationDate=DATE, modDate=DATE)
        annot.update()
        doc.xref_set_key(annot.xref, "NM", pymupdf.get_pdf_str(f"sample-{i}"))
    wide = doc.new_page(width=792, height=612)
    wide.insert_text((72, 72), "A landscape page.", fontsize=18)
    turned = doc.new_page(width=612, height=792)
    turned.insert_text((72, 72), "A page shown rotated by 90 degrees.", fontsize=18)
    turned.set_rotation(90)
    doc.set_metadata(
        {"title": "Lamina sample review", "author": "Lamina", "creationDate": DATE, "modDate": DATE}
    )
    out.write_bytes(doc.tobytes(garbage=3, deflate=True, no_new_id=True))


if __name__ == "__main__":
    make(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("sample.pdf"))
