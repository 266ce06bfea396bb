"""Write throw-away PDFs holding many annotations (for scale tests; never committed)."""

from __future__ import annotations

from pathlib import Path

import pymupdf


def write_many_annotations(path: Path, count: int, pages: int = 10) -> Path:
    """Write a PDF of ``pages`` Letter pages with ``count`` annotations spread evenly over
    them (squares, sticky notes and free texts in turn, each with an author); return ``path``.
    """
    doc = pymupdf.open()
    for _ in range(pages):
        doc.new_page(width=612, height=792)
    for i in range(count):
        page = doc[i % pages]
        n = i // pages
        x, y = 20 + (n % 10) * 55, 20 + (n // 10 * 70) % 740
        rect = pymupdf.Rect(x, y, x + 40, y + 30)
        if i % 3 == 0:
            annot = page.add_rect_annot(rect)
        elif i % 3 == 1:
            annot = page.add_text_annot(rect.tl, f"note {i}")
        else:
            annot = page.add_freetext_annot(rect, f"text {i}", fontsize=8)
        annot.set_info(title=f"author{i % 4}")
        annot.update()
    doc.save(path)
    doc.close()
    return path
