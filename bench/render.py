"""Rendering: our page and tile path against raw PyMuPDF ``get_pixmap`` for the same pixels.

Renders a sample of pages of the 352-page corpus book at zoom 1 and 2, as whole pages and
as 512 px tiles, both ways, several rounds, and keeps each side's best round. Ours produces
4-byte RGBA (what the UI wraps as a QImage without conversion); the floor produces PyMuPDF's
default 3-byte RGB. The last line is ``ratio=<ours/raw>`` (budget: <= 1.15).

Usage: python bench/render.py [PDF]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pymupdf
from lamina.pdf import open_pdf, render_page, render_tile, tile_grid

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "pdfs"
DEFAULT = CORPUS / "long-352p-cropbox-links__freeculture.pdf"
ROUNDS = 3
TILE = 512


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    doc = open_pdf(path)
    raw_doc = pymupdf.open(path)
    pages = list(range(0, doc.page_count, max(1, doc.page_count // 24)))
    totals = {"ours": 0.0, "raw": 0.0}
    for zoom in (1.0, 2.0):
        for kind in ("page", "tile"):
            best = {"ours": float("inf"), "raw": float("inf")}
            for _ in range(ROUNDS):
                for side in ("raw", "ours"):
                    start = time.perf_counter()
                    pixels = 0
                    for index in pages:
                        if side == "ours":
                            pixels += _ours(doc, index, zoom, kind)
                        else:
                            pixels += _raw(raw_doc, index, zoom, kind)
                    best[side] = min(best[side], time.perf_counter() - start)
            totals["ours"] += best["ours"]
            totals["raw"] += best["raw"]
            print(
                f"zoom={zoom:g} {kind:4s} pages={len(pages)} pixels={pixels} "
                f"ours={best['ours'] * 1000:.1f}ms raw={best['raw'] * 1000:.1f}ms "
                f"ratio={best['ours'] / best['raw']:.3f}"
            )
    print(f"ratio={totals['ours'] / totals['raw']:.3f}")


def _ours(doc: object, index: int, zoom: float, kind: str) -> int:
    if kind == "page":
        image = render_page(doc, index, zoom)  # type: ignore[arg-type]
        return image.width * image.height
    width, height = doc.page_geometry(index).display_size(zoom)  # type: ignore[attr-defined]
    pixels = 0
    for clip in tile_grid(width, height, TILE):
        image = render_tile(doc, index, zoom, clip)  # type: ignore[arg-type]
        pixels += image.width * image.height
    return pixels


def _raw(raw_doc: object, index: int, zoom: float, kind: str) -> int:
    page = raw_doc.load_page(index)  # type: ignore[attr-defined]
    matrix = pymupdf.Matrix(zoom, zoom)
    if kind == "page":
        pix = page.get_pixmap(matrix=matrix)
        return int(pix.width * pix.height)
    width, height = page.rect.width * zoom, page.rect.height * zoom
    pixels = 0
    for x0, y0, x1, y1 in tile_grid(width, height, TILE):
        clip = pymupdf.Rect(x0 / zoom, y0 / zoom, x1 / zoom, y1 / zoom)
        pix = page.get_pixmap(matrix=matrix, clip=clip)
        pixels += pix.width * pix.height
    return pixels


if __name__ == "__main__":
    main()
