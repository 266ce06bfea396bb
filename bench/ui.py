"""Desktop app start-up and scrolling, against raw PyMuPDF rendering the same pages.

Measures, on the offscreen platform:

- time from opening the 429-page corpus PDF in the main window to the first page tile
  painted, against raw PyMuPDF opening the file and rendering page 1 at the same zoom;
- frame times while scrolling through 100 pages (each frame waits until the visible tiles
  are painted), against raw PyMuPDF rendering those pages' visible area at the same zoom.

The last line is ``ratio=<ours / floor>`` over both parts together.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pymupdf
from PySide6.QtCore import QSettings

from app.ui.app import ensure_application
from app.ui.controller import AppController

REPO = Path(__file__).resolve().parent.parent
PDF = REPO.parent / "shared" / "corpus" / "pdfs" / "long-429p-broken-xref__govdocs1-027613.pdf"
PAGES = 100


def main() -> int:
    app = ensure_application()
    settings = QSettings(
        str(Path(os.environ.get("TMPDIR", "/tmp")) / "lamina-bench.ini"), QSettings.Format.IniFormat
    )
    controller = AppController(settings)
    window = controller.new_window()
    window.resize(1200, 900)
    window.show()
    app.processEvents()
    view = window.view
    painted: list[float] = []
    view.first_paint.connect(lambda: painted.append(time.perf_counter()))

    t0 = time.perf_counter()
    window.open_path(PDF)
    while not painted:
        app.processEvents()
    ours_open = painted[0] - t0
    zoom = view.zoom * view.viewport().devicePixelRatioF()
    height = view.viewport().height()

    frames = []
    assert window.renderer is not None
    renderer = window.renderer
    for page in range(1, PAGES + 1):
        start = time.perf_counter()
        view.go_to_page(page)
        view.viewport().repaint()
        # A frame is done when every tile the view asked for is in the cache.
        while True:
            app.processEvents()
            with renderer._cond:
                busy = bool(renderer._wanted.get("view")) or bool(renderer._in_flight)
            if not busy:
                break
            time.sleep(0.0005)
        frames.append(time.perf_counter() - start)

    t0 = time.perf_counter()
    doc = pymupdf.open(PDF)
    doc[0].get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), annots=False)
    floor_open = time.perf_counter() - t0
    floor_frames = []
    for page in range(1, PAGES + 1):
        start = time.perf_counter()
        p = doc[page]
        clip = pymupdf.Rect(0, 0, p.rect.width, min(p.rect.height, height / zoom))
        p.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=clip, annots=False)
        floor_frames.append(time.perf_counter() - start)

    window.close_document()
    ours = ours_open + sum(frames)
    floor = floor_open + sum(floor_frames)
    print(
        f"open to first paint: ours {ours_open * 1000:.1f} ms, pymupdf {floor_open * 1000:.1f} ms"
    )
    print(
        f"scroll {PAGES} pages: frame p50 {statistics.median(frames) * 1000:.1f} ms, "
        f"max {max(frames) * 1000:.1f} ms; "
        f"pymupdf p50 {statistics.median(floor_frames) * 1000:.1f} ms"
    )
    print(f"ratio={ours / floor:.2f}", flush=True)
    # Skip interpreter teardown: PySide6 objects destroyed during finalization can abort.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
