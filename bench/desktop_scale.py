"""Desktop app with many annotations: opening, one edit, and a Comments panel refill.

Generates (with PyMuPDF, in a temporary directory) PDFs of 100 pages holding N = 1,000 and
10,000 annotations (squares, notes and free texts, spread over the pages), then for each N,
on the offscreen platform:

- **open**: time from ``open_path`` to every annotation listed in the Comments panel and
  known to the page view, and the longest gap between two ticks of a 1 ms ``QTimer`` on the
  GUI thread meanwhile (the longest the window was frozen; budget 50 ms);
- **edit**: drawing one rectangle with the mouse (press, move, release on the page view),
  median of 15, each until the event loop is idle again and the page repainted (budget
  16 ms at 10,000), then the GUI thread's CPU time for it (on a loaded machine the wall
  time is mostly waiting for a core); in brackets the part spent in the review model's
  bookkeeping and the Comments panel (the rest: the document and the page view; the local
  store's fsync runs on the store's own thread);
- **refill**: the Comments panel listing everything again (a layer shown or hidden), until
  the last slice is in.

As in ``bench/growth.py``, an edit's ratio is its value at the largest N over its value at
N = 1,000 (flat goal ≤ 1.5; O(N) would be 10 from 1,000 to 10,000). The line before last gives
that ratio for the whole edit; the last line, ``ratio=…``, for the model + Comments part.

Usage: ``python bench/desktop_scale.py [N ...]``. The machine's load moves every number.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import lamina.ui.documents  # noqa: F401  (imported at app start-up, not on open)
from lamina.client.review_model import ReviewModel
from lamina.ui.app import ensure_application
from lamina.ui.comments_panel import CommentRows
from lamina.ui.controller import AppController
from lamina.ui.documents import ensure_loop
from lamina.ui.page_view import page_rect_center
from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, Qt, QTimer
from PySide6.QtTest import QTest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.many_annotations import write_many_annotations

PAGES = 100
WAIT = QEventLoop.ProcessEventsFlag.WaitForMoreEvents
EDITS = 15


class GapMeter:
    """The longest gap between ticks of a 1 ms timer on the GUI thread."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(1)
        self.clock = QElapsedTimer()
        self.longest = 0.0
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.longest = 0.0
        self.clock.start()
        self.timer.start()

    def _tick(self) -> None:
        self.longest = max(self.longest, self.clock.restart() / 1000.0)

    def stop(self) -> float:
        self.timer.stop()
        self.longest = max(self.longest, self.clock.elapsed() / 1000.0)
        return self.longest


class Stopwatch:
    """Time spent inside some methods (wrapped on their classes), summed."""

    def __init__(self, targets: list[tuple[type, str]]) -> None:
        self.total = 0.0
        self._depth = 0
        for cls, name in targets:
            setattr(cls, name, self._wrap(getattr(cls, name)))

    def _wrap(self, method: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.total += time.perf_counter() - start

        return timed


# The review model's own bookkeeping and the Comments panel: what this bench's ratio is about.
OURS = Stopwatch(
    [
        (ReviewModel, "_on_records"),
        (ReviewModel, "_emit_threads"),
        (CommentRows, "_on_records"),
        (CommentRows, "_on_threads"),
        (CommentRows, "_on_layer_records"),
    ]
)


def idle(app: object, seconds: float = 0.02) -> None:
    """Spin the event loop until nothing happened for a little while."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()  # type: ignore[attr-defined]


def measure(app: object, controller: AppController, pdf: Path, count: int) -> dict[str, float]:
    window = controller.new_window()
    window.resize(1200, 900)
    window.show()
    idle(app, 0.3)
    meter = GapMeter()
    meter.start()
    t0 = time.perf_counter()
    window.open_path(pdf)
    while (
        window.session is None
        or window.comments.row_count() < count
        or len(window.view.annotations()) < count
    ):
        # Sleep until something happens (the meter's timer at least): a busy loop here would
        # take the GIL from the worker thread that reads the PDF.
        app.processEvents(WAIT)  # type: ignore[attr-defined]
    opened = time.perf_counter() - t0
    frozen = meter.stop()
    idle(app, 0.5)

    view = window.view
    view.set_zoom(1.0)
    view.go_to_page(0)
    idle(app, 0.3)
    vp = view.viewport()
    edits: list[float] = []
    cpus: list[float] = []
    ours: list[float] = []
    QTest.keyClick(view, Qt.Key.Key_R)
    for i in range(EDITS):
        x = 40 + (i % 5) * 100
        y = 600 + (i // 5) * 40
        before = len(window.session.annotations())  # type: ignore[union-attr]
        ours_before = OURS.total
        start, cpu = time.perf_counter(), time.thread_time()
        QTest.mousePress(vp, Qt.MouseButton.LeftButton, pos=page_rect_center(view, 0, (x, y)))
        QTest.mouseMove(vp, page_rect_center(view, 0, (x + 20, y + 15)))
        QTest.mouseRelease(
            vp, Qt.MouseButton.LeftButton, pos=page_rect_center(view, 0, (x + 40, y + 30))
        )
        app.processEvents()  # type: ignore[attr-defined]
        vp.repaint()
        edits.append(time.perf_counter() - start)
        cpus.append(time.thread_time() - cpu)
        ours.append(OURS.total - ours_before)
        assert len(window.session.annotations()) == before + 1  # type: ignore[union-attr]
        idle(app, 0.05)

    rows = window.bridge.findChild(CommentRows) if window.bridge is not None else None
    assert rows is not None
    start = time.perf_counter()
    rows.reset()
    while rows.filling:
        app.processEvents(WAIT)  # type: ignore[attr-defined]
    refill = time.perf_counter() - start
    window.close()
    idle(app, 0.5)
    return {
        "open": opened,
        "frozen": frozen,
        "edit": statistics.median(edits),
        "edit_cpu": statistics.median(cpus),
        "ours": statistics.median(ours),
        "refill": refill,
    }


def main() -> int:
    counts = [int(a) for a in sys.argv[1:]] or [1000, 10000]
    app = ensure_application()
    ensure_loop()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_DATA_HOME"] = str(Path(tmp) / "data")
        settings = QSettings(str(Path(tmp) / "lamina.ini"), QSettings.Format.IniFormat)
        controller = AppController(settings)
        results = {}
        for count in counts:
            pdf = Path(tmp) / f"many-{count}.pdf"
            write_many_annotations(pdf, count, pages=PAGES)
            results[count] = r = measure(app, controller, pdf, count)
            print(
                f"N={count:>6}: open {r['open'] * 1000:8.0f} ms (GUI frozen up to "
                f"{r['frozen'] * 1000:6.1f} ms), one edit p50 {r['edit'] * 1000:7.1f} ms "
                f"(GUI thread CPU {r['edit_cpu'] * 1000:5.1f} ms) "
                f"(model + Comments {r['ours'] * 1000:5.2f} ms), "
                f"Comments refill {r['refill'] * 1000:7.1f} ms",
                flush=True,
            )
    low, high = min(results), max(results)
    print(f"whole edit: ratio {results[high]['edit'] / results[low]['edit']:.2f}")
    print(f"ratio={results[high]['ours'] / results[low]['ours']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
