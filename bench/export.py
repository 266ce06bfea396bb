"""Export: applying 10,000 annotations to a 100-page PDF, against PyMuPDF doing it directly.

Both sides start from the same PDF bytes and end with the new PDF bytes. Ours is
``apply_instant_json`` (Instant JSON records: deletion rules, per-type writers, author,
dates, colour, opacity, appearance streams). The floor calls PyMuPDF's ``add_*_annot``
with the same geometry and properties and ``update()`` once per annotation, as a hand-written
script would. Best of a few rounds each. The last line is ``ratio=<ours/floor>`` (budget:
<= 1.5).

Usage: python bench/export.py [COUNT]
"""

from __future__ import annotations

import sys
import time
from typing import Any

import pymupdf
from lamina.model.geometry import Point, Rect
from lamina.model.instant_json import InstantDocument
from lamina.model.records import (
    Annotation,
    EllipseAnnotation,
    HighlightAnnotation,
    InkAnnotation,
    InkLines,
    LineAnnotation,
    NoteAnnotation,
    RectangleAnnotation,
    Text,
    TextAnnotation,
)
from lamina.pdf import apply_instant_json

PAGES = 100
ROUNDS = 2
CREATED = "2024-05-01T10:00:00Z"
PDF_DATE = "D:20240501100000Z"


def _pdf() -> bytes:
    doc = pymupdf.open()
    for _ in range(PAGES):
        doc.new_page(width=595, height=842)
    return doc.tobytes()


def _records(count: int) -> list[Annotation]:
    out: list[Annotation] = []
    for i in range(count):
        page = i % PAGES
        x = 40 + (i // PAGES) % 10 * 50
        y = 40 + (i // (PAGES * 10)) % 10 * 75
        common: dict[str, Any] = {
            "id": f"01HZ{i:022d}",
            "page_index": page,
            "creator_name": "bench",
            "created_at": CREATED,
            "opacity": 0.8,
        }
        kind = i % 7
        if kind == 0:
            out.append(
                RectangleAnnotation(
                    **common, bbox=Rect(x, y, 40, 30), stroke_color="#ff0000", stroke_width=2
                )
            )
        elif kind == 1:
            out.append(
                EllipseAnnotation(
                    **common, bbox=Rect(x, y, 40, 30), stroke_color="#0000ff", stroke_width=2
                )
            )
        elif kind == 2:
            strokes = [[(x, y), (x + 20, y + 30), (x + 40, y + 5)]]
            out.append(
                InkAnnotation(
                    **common,
                    bbox=Rect(x - 2, y - 2, 44, 34),
                    lines=InkLines.from_strokes(strokes),
                    line_width=2,
                    stroke_color="#008000",
                )
            )
        elif kind == 3:
            out.append(
                HighlightAnnotation(
                    **common, bbox=Rect(x, y, 40, 12), rects=(Rect(x, y, 40, 12),), color="#ffff00"
                )
            )
        elif kind == 4:
            out.append(
                LineAnnotation(
                    **common,
                    bbox=Rect(x, y, 40, 30),
                    start_point=Point(x, y),
                    end_point=Point(x + 40, y + 30),
                    stroke_color="#000000",
                    stroke_width=1,
                    line_caps={"end": "openArrow"},
                )
            )
        elif kind == 5:
            out.append(
                NoteAnnotation(
                    **common,
                    bbox=Rect(x, y, 20, 20),
                    text=Text("note"),
                    icon="comment",
                    color="#ffd83f",
                )
            )
        else:
            out.append(
                TextAnnotation(
                    **common,
                    bbox=Rect(x, y, 45, 20),
                    text=Text("text"),
                    font_size=10,
                    font_color="#000000",
                )
            )
    return out


def _rgb(color: str) -> tuple[float, float, float]:
    return (int(color[1:3], 16) / 255, int(color[3:5], 16) / 255, int(color[5:7], 16) / 255)


def _floor(data: bytes, records: list[Annotation]) -> bytes:
    doc = pymupdf.open(stream=data, filetype="pdf")
    page = None
    # Page by page, one page loaded at a time: the fastest way to drive PyMuPDF (MuPDF's
    # work per update grows with the number of pages held open).
    for r in sorted(records, key=lambda r: r.page_index):
        if page is None or page.number != r.page_index:
            page = None
            page = doc.load_page(r.page_index)
        b = r.bbox
        rect = pymupdf.Rect(b.left, b.top, b.right, b.bottom)
        content = ""
        if isinstance(r, RectangleAnnotation | EllipseAnnotation):
            add = (
                page.add_rect_annot if isinstance(r, RectangleAnnotation) else page.add_circle_annot
            )
            annot = add(rect)
            annot.set_colors(stroke=_rgb(r.stroke_color or "#000000"))
            annot.set_border(width=r.stroke_width)
        elif isinstance(r, InkAnnotation):
            annot = page.add_ink_annot([[tuple(p) for p in s] for s in r.lines.points])
            annot.set_colors(stroke=_rgb(r.stroke_color or "#000000"))
            annot.set_border(width=r.line_width)
        elif isinstance(r, HighlightAnnotation):
            annot = page.add_highlight_annot(quads=[rect.quad])
            annot.set_colors(stroke=_rgb(r.color or "#ffff00"))
        elif isinstance(r, LineAnnotation):
            annot = page.add_line_annot(tuple(r.start_point), tuple(r.end_point))
            annot.set_line_ends(0, pymupdf.PDF_ANNOT_LE_OPEN_ARROW)
            annot.set_colors(stroke=_rgb(r.stroke_color or "#000000"))
            annot.set_border(width=r.stroke_width)
        elif isinstance(r, NoteAnnotation):
            content = r.text.value
            annot = page.add_text_annot((b.left, b.top), content, icon="Comment")
            annot.set_colors(stroke=_rgb(r.color or "#ffd83f"))
        else:
            assert isinstance(r, TextAnnotation)
            content = r.text.value
            annot = page.add_freetext_annot(
                rect, content, fontsize=r.font_size or 10, text_color=(0, 0, 0)
            )
        annot.set_info(
            title=r.creator_name, content=content, creationDate=PDF_DATE, modDate=PDF_DATE
        )
        annot.set_opacity(r.opacity)
        annot.update()
    return bytes(doc.tobytes(garbage=0, deflate=True))


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    data = _pdf()
    records = _records(count)
    diff = InstantDocument(annotations=tuple(records))
    best = {"ours": float("inf"), "floor": float("inf")}
    sizes = {}
    for _ in range(ROUNDS):
        start = time.perf_counter()
        sizes["floor"] = len(_floor(data, records))
        best["floor"] = min(best["floor"], time.perf_counter() - start)
        start = time.perf_counter()
        sizes["ours"] = len(apply_instant_json(data, diff))
        best["ours"] = min(best["ours"], time.perf_counter() - start)
    print(f"annotations={count} pages={PAGES}")
    print(f"floor={best['floor']:.2f}s ({sizes['floor']} bytes)")
    print(f"ours={best['ours']:.2f}s ({sizes['ours']} bytes)")
    print(f"ratio={best['ours'] / best['floor']:.3f}")


if __name__ == "__main__":
    main()
