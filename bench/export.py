"""Export: 10,000 annotations on a 100-page PDF, as PDF and as Instant JSON, against PyMuPDF.

PDF export: both sides start from the same PDF bytes and end with the new PDF bytes. Ours is
``apply_instant_json`` (Instant JSON records: deletion rules, per-type writers, author,
dates, colour, opacity, appearance streams). The floor calls PyMuPDF's ``add_*_annot``
with the same geometry and properties and ``update()`` once per annotation, as a hand-written
script would.

Instant JSON export: both sides start from the original and the annotated PDF's bytes and
end with the JSON text. Ours is ``diff_documents`` (the diff against the original PDF, the
rule of ``lamina.model.diff``) and ``dumps_instant_json``; the floor reads each annotation's
type, rect, colours, border, opacity, info and points through PyMuPDF and dumps them with
``json``, as a hand-written script would.

Best of a few rounds each, in CPU time of this process (``time.process_time``; both sides
run on one thread, and on a shared machine the wall clock also counts other programs' turns),
wall-clock shown beside it. ``json_ratio=<ours/floor>`` is the Instant JSON export's; the
last line is ``ratio=<ours/floor>``, the PDF export's (budget for each: <= 1.5).

Usage: python bench/export.py [COUNT]
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import pymupdf
from lamina.model.geometry import Point, Rect
from lamina.model.instant_json import InstantDocument, dumps_instant_json
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
from lamina.pdf import apply_instant_json, open_pdf
from lamina.pdf.diff import diff_documents

PAGES = 100
ROUNDS = 3
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


def _json_floor(original: bytes, edited: bytes) -> str:
    pymupdf.open(stream=original, filetype="pdf").close()  # ours opens both too
    doc = pymupdf.open(stream=edited, filetype="pdf")
    out = []
    for page in doc:
        for annot in page.annots() or ():
            info = annot.info
            item: dict[str, Any] = {
                "type": annot.type[1],
                "pageIndex": page.number,
                "pdfObjectId": annot.xref,
                "bbox": list(annot.rect),
                "colors": annot.colors,
                "border": annot.border,
                "opacity": annot.opacity,
                "creatorName": info["title"],
                "note": info["content"],
                "createdAt": info["creationDate"],
                "updatedAt": info["modDate"],
                "name": info["name"] or info["id"],
            }
            if annot.vertices:
                item["points"] = annot.vertices
            out.append(item)
    return json.dumps({"annotations": out}, indent=2)


def _json_ours(original: bytes, edited: bytes) -> str:
    with open_pdf(original) as before, open_pdf(edited) as after:
        return dumps_instant_json(diff_documents(before, after))


def _best(run: Callable[[], Any]) -> tuple[float, float, int]:
    """Return the best wall-clock and CPU seconds of ``ROUNDS`` runs, and the output size."""
    wall = cpu = float("inf")
    size = 0
    for _ in range(ROUNDS):
        start, start_cpu = time.perf_counter(), time.process_time()
        size = len(run())
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu, size


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    data = _pdf()
    records = _records(count)
    diff = InstantDocument(annotations=tuple(records))
    edited = apply_instant_json(data, diff)
    results = {
        "json_floor": _best(lambda: _json_floor(data, edited)),
        "json_ours": _best(lambda: _json_ours(data, edited)),
        "floor": _best(lambda: _floor(data, records)),
        "ours": _best(lambda: apply_instant_json(data, diff)),
    }
    print(f"annotations={count} pages={PAGES} (ratios of CPU time; wall-clock in brackets)")
    for name, (wall, cpu, size) in results.items():
        print(f"{name}={cpu:.2f}s cpu ({wall:.2f}s wall, {size} bytes)")
    for prefix in ("json_", ""):
        ours, floor = results[prefix + "ours"], results[prefix + "floor"]
        print(f"{prefix}ratio={ours[1] / floor[1]:.3f} (wall {ours[0] / floor[0]:.3f})")


if __name__ == "__main__":
    main()
