"""Page rendering in the page view: ink shows where the PDF has ink, scrolling far asks only for
what is visible, and the tile cache stays within its byte bound. Tiles are drawn by a worker
process: it draws the same pixels as lamina.pdf, a killed worker is restarted and the tiles drawn
again, and no worker outlives its window or the app."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lamina.pdf import PdfDocument, open_pdf, render_page, render_tile
from lamina.pdf.render_worker import OpenPdf, RenderTiles, RenderWorker, WorkerPool
from lamina.ui.page_view import PageView
from lamina.ui.render import WARM_UP, TileRenderer
from lamina.ui.tiles import TileKey, native_image, zoom_key
from PySide6.QtGui import QImage

from tests.conftest import corpus_pdf

LONG = "long-429p-broken-xref"


def _wait_painted(qtbot, view: PageView) -> None:  # type: ignore[no-untyped-def]
    renderer = view._renderer
    assert renderer is not None

    def done() -> None:
        view.viewport().repaint()
        tiles = view.visible_tiles()
        assert tiles and all(renderer.cached(k) is not None for k in tiles)

    qtbot.waitUntil(done, timeout=20_000)
    view.viewport().repaint()


@pytest.fixture
def long_view(qtbot) -> Iterator[tuple[PageView, TileRenderer, PdfDocument]]:  # type: ignore[no-untyped-def]
    path = corpus_pdf(LONG)
    doc = open_pdf(path)
    renderer = TileRenderer(path, cache_bytes=4 * 1024 * 1024)
    view = PageView()
    qtbot.addWidget(view)
    view.resize(700, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_document(doc, renderer)
    yield view, renderer, doc
    renderer.stop()
    doc.close()


def test_page_shows_ink_where_the_pdf_has_ink(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    path = corpus_pdf(LONG)
    assert window.open_path(path)
    view = window.view
    _wait_painted(qtbot, view)
    shot = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    dpr = view.viewport().devicePixelRatioF()
    rect = view.page_rect(0)
    reference = render_page(window.pdf, 0, view.zoom * dpr, annots=False)
    ink = 0
    matched = 0
    step = 2
    for y in range(0, min(reference.height, int(shot.height() - rect.top() * dpr) - 2), step):
        for x in range(0, reference.width - 2, step):
            r, g, b, _a = reference.pixel(x, y)
            if r + g + b > 200:
                continue
            ink += 1
            sx = round(rect.left() * dpr + x)
            sy = round(rect.top() * dpr + y)
            # Allow a pixel of offset: the page may start at a fractional position.
            darkest = min(
                QImage.pixelColor(shot, sx + dx, sy + dy).lightness()
                for dx in (-1, 0, 1)
                for dy in (-1, 0, 1)
                if 0 <= sx + dx < shot.width() and 0 <= sy + dy < shot.height()
            )
            matched += darkest < 160
    assert ink > 10, "the first page of the corpus PDF has text"
    assert matched / ink > 0.9
    # Where the PDF is blank paper, the view shows white paper, not the grey background.
    corner = shot.pixelColor(round(rect.left() * dpr) + 3, round(rect.top() * dpr) + 3)
    assert corner.lightness() > 240
    # Tiles are drawn at zoom × device pixel ratio, so they stay sharp on HiDPI screens.
    assert {k.zoom_milli for k in view.visible_tiles()} == {zoom_key(view.zoom * dpr)}


def test_scrolling_far_requests_only_visible_tiles(qtbot, long_view) -> None:  # type: ignore[no-untyped-def]
    view, renderer, _doc = long_view
    _wait_painted(qtbot, view)
    qtbot.waitUntil(lambda: not renderer.pending("view") and not renderer.pending("prefetch"))
    before = set(renderer.cached_keys())
    view.go_to_page(300)
    view.viewport().repaint()
    visible = set(view.visible_pages())
    assert 300 in visible
    queued = renderer.pending("view")
    assert queued and {k.page for k in queued} <= visible
    _wait_painted(qtbot, view)
    drawn = set(renderer.cached_keys()) - before
    # Only the visible pages and the one after them (prefetch) were drawn: none of the
    # 290-odd pages scrolled past.
    assert {k.page for k in drawn} <= visible | {max(visible) + 1}
    assert {k.page for k in drawn} >= {k.page for k in view.visible_tiles()}


def test_tile_cache_stays_within_its_byte_bound(qtbot, long_view) -> None:  # type: ignore[no-untyped-def]
    view, renderer, _doc = long_view
    limit = 4 * 1024 * 1024
    for page in range(0, 24, 3):
        view.go_to_page(page)
        _wait_painted(qtbot, view)
        assert renderer.cache_bytes <= limit
        assert sum(renderer.cached(k).sizeInBytes() for k in renderer.cached_keys()) == (  # type: ignore[union-attr]
            renderer.cache_bytes
        )
    # What is on screen now is still cached (eviction drops the least recently used).
    assert all(renderer.cached(k) is not None for k in view.visible_tiles())


# -- the render worker process ------------------------------------------------------------------


def _process_renderer(qtbot, path, password=None, cache_bytes=64 * 1024 * 1024):  # type: ignore[no-untyped-def]
    renderer = TileRenderer(path, password, cache_bytes=cache_bytes, use_process=True)
    qtbot.waitUntil(lambda: renderer.rendering_in_process, timeout=30_000)
    return renderer


def _gone(pid: int) -> bool:
    """Return whether process ``pid`` has ended (reaped, or a zombie of another parent)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status or "\nState:\tX" in status


def _reference(doc: PdfDocument, key: TileKey) -> QImage:
    return native_image(render_tile(doc, key.page, key.zoom, key.clip, annots=False))


@pytest.mark.parametrize(
    ("prefix", "password"),
    [(LONG, None), ("encrypted-aes256-user-pw", "foo"), ("geometry-rotations", None)],
)
def test_worker_process_draws_the_pixels_app_pdf_draws(qtbot, prefix, password) -> None:  # type: ignore[no-untyped-def]
    path = corpus_pdf(prefix)
    renderer = _process_renderer(qtbot, path, password)
    try:
        with open_pdf(path, password) as doc:
            keys = [
                TileKey(0, zoom_key(1.5), 0, 0, 512, 512),
                TileKey(0, zoom_key(1.5), 512, 512, 300, 200),
                TileKey(doc.page_count - 1, zoom_key(0.2), 0, 0, 120, 160),
            ]
            renderer.request(keys)
            qtbot.waitUntil(lambda: all(renderer.cached(k) is not None for k in keys))
            # It was the worker process that drew them, not a thread of this process.
            assert renderer.rendering_in_process and renderer.worker_pid != os.getpid()
            for key in keys:
                image = renderer.cached(key)
                assert image is not None
                assert image.format() == QImage.Format.Format_RGB32
                assert (image.width(), image.height()) == (key.width, key.height)
                assert image == _reference(doc, key)
            ink = renderer.cached(keys[0])
            assert ink is not None
            assert (
                any(
                    ink.pixelColor(x, y).lightness() < 128
                    for x in range(0, 512, 4)
                    for y in (100, 200)
                )
                or prefix != LONG
            ), "the top of page 1 of the long PDF has text"
    finally:
        renderer.stop()


def test_a_warm_spare_opens_the_pdf_once(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sent: list[object] = []
    send = RenderWorker.send

    def spy(worker: RenderWorker, request: object) -> bool:
        sent.append(request)
        return send(worker, request)  # type: ignore[arg-type]

    monkeypatch.setattr(RenderWorker, "send", spy)
    pool = WorkerPool(enabled=True)
    pool.prestart()
    try:
        spare = pool._spare
        assert spare is not None
        # Wait until the spare has said Ready, as a spare started a while ago has.
        assert select.select([spare.fileno()], [], [], 30)[0]
        renderer = TileRenderer(corpus_pdf(LONG), workers=pool)
        try:
            assert renderer.worker_pid == spare.pid
            qtbot.waitUntil(lambda: renderer.rendering_in_process, timeout=30_000)
            assert [type(r) for r in sent] == [OpenPdf, RenderTiles]  # and the warm-up
        finally:
            renderer.stop()
    finally:
        pool.stop()


def test_the_thread_draws_until_the_worker_has_answered_a_warm_up(  # type: ignore[no-untyped-def]
    qtbot, monkeypatch
) -> None:
    """A worker was given tiles as soon as it had opened the PDF: its first render pays MuPDF's
    one-off set-up, and the frame waiting for it stalled (2 s in bench/ui.py on a loaded
    machine). It now draws a warm-up tile first; until that answer is back the thread draws."""
    log: list[tuple[str, object, bool]] = []
    renderer: TileRenderer | None = None
    send, receive = RenderWorker.send, RenderWorker.receive

    def spy_send(worker: RenderWorker, request: object) -> bool:
        in_process = renderer is not None and renderer.rendering_in_process
        log.append(("send", request, in_process))
        return send(worker, request)  # type: ignore[arg-type]

    def spy_receive(worker: RenderWorker) -> object:
        reply = receive(worker)
        if reply is not None:
            log.append(("receive", reply, False))
        return reply

    monkeypatch.setattr(RenderWorker, "send", spy_send)
    monkeypatch.setattr(RenderWorker, "receive", spy_receive)
    pool = WorkerPool(enabled=True)
    pool.prestart()
    try:
        renderer = TileRenderer(corpus_pdf(LONG), workers=pool)
        try:
            page = 3
            while not renderer.rendering_in_process:
                # Keep wanting tiles while the worker opens and warms up.
                key = TileKey(page, zoom_key(1.0), 0, 0, 256, 256)
                renderer.request([key])
                qtbot.waitUntil(lambda k=key: renderer.cached(k) is not None, timeout=30_000)
                page += 1
            key = TileKey(page, zoom_key(1.0), 0, 0, 256, 256)
            renderer.request([key])
            qtbot.waitUntil(lambda: renderer.cached(key) is not None, timeout=30_000)
        finally:
            renderer.stop()
    finally:
        pool.stop()
    batches = [(r, busy) for what, r, busy in log if what == "send" and isinstance(r, RenderTiles)]
    assert batches, "the worker drew tiles"
    warm_up, in_process = batches[0]
    assert len(warm_up.tiles) == 1 and not in_process
    tile = warm_up.tiles[0]
    assert (tile.page, tile.zoom, tile.clip) == WARM_UP
    assert len(batches) >= 2, "the worker drew the last tile"
    answered = [
        i
        for i, (what, r, _) in enumerate(log)
        if what == "receive" and getattr(r, "request_id", None) == tile.request_id
    ]
    second = next(i for i, (_, r, _) in enumerate(log) if r is batches[1][0])
    assert answered and answered[0] < second, "tiles were sent before the warm-up was answered"


def test_killing_the_worker_restarts_it_and_redraws(qtbot, long_view) -> None:  # type: ignore[no-untyped-def]
    view, renderer, doc = long_view
    qtbot.waitUntil(lambda: renderer.rendering_in_process, timeout=30_000)
    _wait_painted(qtbot, view)
    first = renderer.worker_pid
    assert first is not None
    # Kill it while the tiles of a far page are on their way.
    view.go_to_page(200)
    view.viewport().repaint()
    assert renderer.pending("view")
    os.kill(first, signal.SIGKILL)
    _wait_painted(qtbot, view)
    qtbot.waitUntil(lambda: renderer.rendering_in_process, timeout=30_000)
    assert renderer.worker_pid not in (None, first)
    assert _gone(first)
    for key in view.visible_tiles():
        assert renderer.cached(key) == _reference(doc, key)
    # The new worker keeps drawing.
    view.go_to_page(250)
    _wait_painted(qtbot, view)
    assert renderer.worker_pid not in (None, first)


def test_closing_the_window_ends_the_worker(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    assert window.open_path(corpus_pdf(LONG))
    renderer = window.renderer
    qtbot.waitUntil(lambda: renderer.rendering_in_process, timeout=30_000)
    _wait_painted(qtbot, window.view)
    pid = renderer.worker_pid
    assert pid is not None and not _gone(pid)
    window.close()
    qtbot.waitUntil(lambda: _gone(pid), timeout=10_000)
    assert window.renderer is None


_APP_SCRIPT = """
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from pathlib import Path
from PySide6.QtCore import QSettings
from lamina.ui.app import ensure_application
from lamina.ui.controller import AppController
from lamina.ui.worker_pool import application_workers
app = ensure_application()
controller = AppController(QSettings(sys.argv[2], QSettings.Format.IniFormat))
window = controller.new_window()
window.show()
window.open_path(Path(sys.argv[1]))
other = controller.new_window()  # its page view starts a spare worker
deadline = time.monotonic() + 60
while not (window.renderer.rendering_in_process and application_workers().spare_pid):
    app.processEvents()
    time.sleep(0.01)
    if time.monotonic() > deadline:
        sys.exit("the worker did not start")
print(window.renderer.worker_pid, application_workers().spare_pid, flush=True)
if sys.argv[3] == "quit":
    sys.exit(0)
time.sleep(60)
"""


@pytest.mark.parametrize("how", ["quit", "killed"])
def test_no_worker_outlives_the_app(tmp_path: Path, how: str) -> None:
    script = tmp_path / "lamina_window.py"
    script.write_text(_APP_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(corpus_pdf(LONG)), str(tmp_path / "s.ini"), how],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip(), proc.stderr.read() if proc.stderr else ""
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2 and os.getpid() not in pids
        if how == "killed":
            # The app crashed hard: no atexit, no close; the workers see their pipe close.
            proc.kill()
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while not all(_gone(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_gone(p) for p in pids)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_prefetch_draws_the_next_screenful_in_the_direction_of_the_scroll(  # type: ignore[no-untyped-def]
    qtbot,
) -> None:
    path = corpus_pdf(LONG)
    doc = open_pdf(path)
    renderer = TileRenderer(path)  # the app's cache: a few screenfuls fit
    view = PageView()
    qtbot.addWidget(view)
    view.resize(700, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_document(doc, renderer)
    try:
        _scroll_and_prefetch(qtbot, view, renderer)
    finally:
        renderer.stop()
        doc.close()


def _scroll_and_prefetch(qtbot, view: PageView, renderer: TileRenderer) -> None:  # type: ignore[no-untyped-def]
    _wait_painted(qtbot, view)
    bar = view.verticalScrollBar()

    def prefetched_after(scroll: int) -> set[int]:
        qtbot.waitUntil(lambda: not renderer.pending("view") and not renderer.pending("prefetch"))
        before = set(renderer.cached_keys())
        bar.setValue(bar.value() + scroll)
        view.viewport().repaint()
        visible = set(view.visible_pages())
        _wait_painted(qtbot, view)
        qtbot.waitUntil(lambda: not renderer.pending("prefetch"))
        return {k.page for k in set(renderer.cached_keys()) - before} - visible

    view.go_to_page(200)
    _wait_painted(qtbot, view)
    height = view.viewport().height()
    down = prefetched_after(height)
    assert down and min(down) > max(view.visible_pages())
    # The pages of the screenful below are there before the view gets to them.
    bar.setValue(bar.value() + height)
    assert all(renderer.cached(k) is not None for k in view.visible_tiles())
    up = prefetched_after(-3 * height)
    assert up and max(up) < min(view.visible_pages())


def test_the_first_tiles_are_drawn_from_the_windows_copy_of_the_pdf(  # type: ignore[no-untyped-def]
    qtbot, window, monkeypatch
) -> None:
    """The fallback thread opened a second copy of the PDF before drawing the first tile (a
    damaged PDF is repaired on every open: twice the time to the first page). It draws from
    the window's copy while every annotation is shown, and opens its own afterwards."""
    from lamina.ui import render

    opened: list[str] = []
    real = render.open_pdf
    monkeypatch.setattr(
        render, "open_pdf", lambda *a, **k: (opened.append("thread"), real(*a, **k))[1]
    )
    at_first_paint: list[int] = []
    window.view.first_paint.connect(lambda: at_first_paint.append(len(opened)))
    assert window.open_path(corpus_pdf(LONG))
    qtbot.waitUntil(lambda: bool(at_first_paint), timeout=20_000)
    assert at_first_paint == [0]
    assert window.renderer is not None and window.renderer.cached_keys()


def test_thumbnails_wait_for_the_views_first_tiles(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The sidebar asks for its thumbnails before the page view has painted: the thread drew
    five of them first (MuPDF holding the GIL, so the GUI thread could not even ask for the
    page), which delayed the first page on screen. They now wait for the view's wish list."""
    renderer = TileRenderer(corpus_pdf(LONG), use_process=False)
    order: list[TileKey] = []
    renderer.tile_ready.connect(order.append)
    try:
        thumbnails = [TileKey(p, zoom_key(0.2), 0, 0, 110, 141) for p in range(5)]
        page = TileKey(0, zoom_key(1.0), 0, 0, 512, 512)
        renderer.request(thumbnails, "thumbnails")
        # No events are handled meanwhile: the thread alone decides what it draws.
        time.sleep(0.5)
        renderer.request([page], "view")
        qtbot.waitUntil(lambda: len(order) == 6, timeout=30_000)
    finally:
        renderer.stop()
    assert order[0] == page


def test_thumbnails_alone_are_drawn_all_the_same(qtbot) -> None:  # type: ignore[no-untyped-def]
    renderer = TileRenderer(corpus_pdf(LONG), use_process=False)
    try:
        key = TileKey(3, zoom_key(0.2), 0, 0, 110, 141)
        renderer.request([key], "thumbnails")
        qtbot.waitUntil(lambda: renderer.cached(key) is not None, timeout=30_000)
    finally:
        renderer.stop()


def test_the_thread_draws_its_next_tile_only_after_the_gui_thread_took_the_last(  # type: ignore[no-untyped-def]
    qtbot, monkeypatch
) -> None:
    """MuPDF holds the GIL while it draws: the thread went on to the next tile at once, so the
    GUI thread could store and paint the first one only when the second was drawn too (the
    first paint waited for two tiles)."""
    from lamina.ui import render

    events: list[tuple[str, int]] = []
    real = render.render_native

    def drawing(doc, page, zoom, clip, *rest):  # type: ignore[no-untyped-def]
        events.append(("draw", int(clip[0]) // 512))
        return real(doc, page, zoom, clip, *rest)

    monkeypatch.setattr(render, "render_native", drawing)
    renderer = TileRenderer(corpus_pdf(LONG), use_process=False)
    renderer.tile_ready.connect(lambda key: events.append(("ready", key.x // 512)))
    # The thread gives the GIL up only where it blocks, as it does inside MuPDF.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    try:
        tiles = [TileKey(0, zoom_key(2.0), 512 * i, 0, 512, 512) for i in range(3)]
        renderer.request(tiles, "view")
        qtbot.waitUntil(lambda: all(renderer.cached(k) is not None for k in tiles), timeout=30_000)
    finally:
        sys.setswitchinterval(switch)
        renderer.stop()
    assert events == [
        ("draw", 0),
        ("ready", 0),
        ("draw", 1),
        ("ready", 1),
        ("draw", 2),
        ("ready", 2),
    ]
