"""What the app does besides drawing while the first pages of a long PDF scroll (DESIGN §7's
desktop budget): nothing of it holds the GUI process's GIL or runs between the frames.

- a big PDF's own annotations are read in a process of their own;
- until the render worker is open and warm, a thread draws the first tiles (a spare worker
  that is up still has to open the PDF), and only the tiles on screen;
- the first render worker is started before Qt is imported (``lamina open``) and becomes the
  app's spare;
- page sizes (and then the bookmarks) are read only once the view has stopped scrolling;
- so is a big PDF's client document opened (parsing thousands of records on a thread);
- the page view's scroll bars are painted flat, and the page fields follow at most ten times
  a second.
"""

from __future__ import annotations

import argparse
import itertools
import select
import threading

import pytest
from lamina.pdf import open_pdf, render_worker
from lamina.pdf.render_worker import WorkerPool
from lamina.ui import page_layout, render
from lamina.ui.main_window import MainWindow
from lamina.ui.page_view import PageView
from lamina.ui.render import TileRenderer
from lamina.ui.tiles import TileKey, zoom_key
from lamina.ui.worker_pool import application_workers
from PySide6.QtGui import QPalette

from tests.conftest import corpus_pdf
from tests.ui.conftest import open_file

LONG = corpus_pdf("long-429p-broken-xref")


def test_a_big_pdfs_annotations_are_read_outside_the_apps_process(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 2,199 links of the 429-page PDF were read on a thread of the app: it held the GIL
    for most of a second, and each frame of the first pages' scroll waited for it."""
    from lamina.pdf import annotations

    read_here: list[str] = []
    real = annotations._read_records_and_attachments

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        read_here.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(annotations, "_read_records_and_attachments", spy)
    open_file(qtbot, window, LONG)
    assert window.session is not None
    links = [a for a in window.session.annotations() if a.type == "pspdfkit/link"]
    assert len(links) == 2199
    assert read_here == [], f"annotations read in this process, on {read_here}"


def test_with_a_spare_worker_up_a_thread_draws_the_first_tiles(  # type: ignore[no-untyped-def]
    qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a spare worker up, no thread drew: the first page waited for the worker to open
    the PDF (repairing it) and to draw its warm-up tile, on top of the tile itself."""
    drawn_by: list[str] = []
    real = render.render_native

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        drawn_by.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(render, "render_native", spy)
    pool = WorkerPool(enabled=True)
    pool.prestart()
    doc = open_pdf(LONG)
    try:
        spare = pool._spare
        assert spare is not None
        assert select.select([spare.fileno()], [], [], 30)[0]  # it said Ready
        renderer = TileRenderer(LONG, workers=pool, opened=doc)
        first: list[tuple[TileKey, bool]] = []
        renderer.tile_ready.connect(lambda k: first.append((k, renderer.rendering_in_process)))
        try:
            assert renderer.worker_pid == spare.pid
            key = TileKey(0, zoom_key(1.0), 0, 0, 512, 512)
            renderer.request([key])
            qtbot.waitUntil(lambda: bool(first), timeout=30_000)
            assert first[0] == (key, False)
            assert drawn_by and drawn_by[0].startswith("lamina-render")
            qtbot.waitUntil(lambda: renderer.rendering_in_process, timeout=30_000)
        finally:
            renderer.stop()
    finally:
        doc.close()
        pool.stop()


def test_while_a_worker_starts_the_thread_draws_only_the_tiles_on_screen(  # type: ignore[no-untyped-def]
    qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread drew the prefetch and the thumbnails too, holding the GIL while MuPDF drew
    tiles nobody looked at yet, so the GUI thread waited to paint those they did."""
    drawn_by_thread: list[TileKey] = []
    real = render.render_native

    def spy(doc, page, zoom, clip, shown=None, rotation=0):  # type: ignore[no-untyped-def]
        drawn_by_thread.append(TileKey(page, zoom_key(zoom), clip[0], clip[1], 0, 0))
        return real(doc, page, zoom, clip, shown, rotation)

    monkeypatch.setattr(render, "render_native", spy)
    pool = WorkerPool(enabled=True)
    renderer = TileRenderer(LONG, workers=pool)  # its worker starts (no spare waits)
    try:
        renderer._wake_worker()
        assert renderer.worker_pid is not None
        ahead = [TileKey(p, zoom_key(1.0), 0, 0, 256, 256) for p in range(10, 14)]
        thumbnail = TileKey(20, zoom_key(0.2), 0, 0, 110, 141)
        renderer.request(ahead, "prefetch")
        renderer.request([thumbnail], "thumbnails")
        shown = TileKey(3, zoom_key(1.0), 0, 0, 256, 256)
        renderer.request([shown], "view")
        qtbot.waitUntil(lambda: renderer.cached(shown) is not None, timeout=30_000)
        assert not renderer.rendering_in_process  # (the worker was still starting)
        qtbot.waitUntil(
            lambda: all(renderer.cached(k) is not None for k in [*ahead, thumbnail]),
            timeout=60_000,
        )
        assert renderer.rendering_in_process
        assert [k.page for k in drawn_by_thread] == [3]
    finally:
        renderer.stop()
        pool.stop()


def test_a_worker_started_before_qt_becomes_the_apps_spare(qtbot, qapp) -> None:  # type: ignore[no-untyped-def]
    render_worker.start_spare_early()
    early = render_worker._early_spare
    assert early is not None
    pool = application_workers()
    assert render_worker._early_spare is None
    assert pool.spare_pid == early.pid
    renderer = TileRenderer(LONG)
    try:
        assert renderer.worker_pid == early.pid
        qtbot.waitUntil(lambda: renderer.rendering_in_process, timeout=30_000)
    finally:
        renderer.stop()


def test_lamina_open_starts_the_worker_before_the_app(  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lamina.commands import desktop
    from lamina.ui import app

    seen: list[int | None] = []

    def run_app(**_kwargs: object) -> int:
        worker = render_worker.take_early_spare()
        seen.append(worker.pid if worker is not None else None)
        if worker is not None:
            worker.stop()
        return 0

    monkeypatch.setattr(app, "run_app", run_app)
    assert desktop.run_open(argparse.Namespace(file=LONG, password=None)) == 0
    assert seen and seen[0] is not None


def test_page_sizes_are_read_only_once_the_view_stops_scrolling(  # type: ignore[no-untyped-def]
    qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rest of the 429 page sizes were read between the frames of a scroll, 8 pages per
    turn of the event loop, and then the bookmarks (70-120 ms in one frame)."""
    # Longer than any pause between two scroll steps below, even on a loaded machine.
    monkeypatch.setattr(page_layout, "QUIET_AFTER_SCROLL_MS", 2000)
    doc = open_pdf(LONG)
    renderer = TileRenderer(LONG, use_process=False, opened=doc)
    view = PageView()
    qtbot.addWidget(view)
    view.resize(700, 600)
    view.show()
    qtbot.waitExposed(view)
    measured: list[bool] = []
    view.pages_measured.connect(lambda: measured.append(True))
    try:
        view.set_document(doc, renderer)
        painted: list[bool] = []
        view.first_paint.connect(lambda: painted.append(True))
        qtbot.waitUntil(lambda: bool(painted), timeout=20_000)
        for _step in range(150):
            view.verticalScrollBar().setValue(view.verticalScrollBar().value() + 40)
            qtbot.wait(2)
        assert not measured
        assert not view._exact[-1]
        qtbot.waitUntil(lambda: bool(measured), timeout=20_000)  # still now
        assert all(view._exact)
    finally:
        renderer.stop()
        doc.close()


def test_a_big_pdfs_document_opens_once_the_view_stops_scrolling(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client document of the 429-page PDF was opened at once: its 2,199 records were
    parsed on a thread, holding the GIL, while the first pages scrolled."""
    monkeypatch.setattr(page_layout, "QUIET_AFTER_SCROLL_MS", 2000)
    opened: list[bool] = []
    real = window.documents.open_local

    async def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(window.view.settled())
        return await real(*args, **kwargs)

    monkeypatch.setattr(window.documents, "open_local", spy)
    painted: list[bool] = []
    window.view.first_paint.connect(lambda: painted.append(True))
    assert window.open_path(LONG)
    qtbot.waitUntil(lambda: bool(painted), timeout=20_000)
    bar = window.view.verticalScrollBar()
    for _step in range(60):
        bar.setValue(bar.value() + 40)
        qtbot.wait(5)
    assert opened == []
    qtbot.waitUntil(lambda: window.session is not None, timeout=30_000)
    assert opened == [True]


def test_the_page_number_keeps_its_width_while_pages_scroll(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    """The field widened from "Page 9 of 429" to "Page 10 of 429": the status bar and the
    window around it were laid out and painted again on such frames (a third of a cached
    frame's CPU)."""
    bar = window.status_bar
    widths = []
    for page in (0, 8, 9, 98, 99, 428):
        bar.show_page(page, 429)
        qtbot.wait(1)
        widths.append(bar.page_label.width())
    assert len(set(widths)) == 1
    assert bar.page_label.text() == "Page 429 of 429"


def test_the_visible_tiles_follow_every_change_of_the_view(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The tiles on screen are worked out once per state of the view (they were asked for
    several times a frame); each change of it gives those worked out afresh."""
    doc = open_pdf(LONG)
    renderer = TileRenderer(LONG, use_process=False, opened=doc)
    view = PageView()
    qtbot.addWidget(view)
    view.resize(700, 600)
    view.show()
    qtbot.waitExposed(view)
    try:
        view.set_document(doc, renderer)
        bar = view.verticalScrollBar()
        dpr = view.viewport().devicePixelRatioF()
        changes = [
            lambda: bar.setValue(bar.value() + 300),
            lambda: view.go_to_page(120),
            lambda: view.set_zoom(2.0),
            lambda: view.horizontalScrollBar().setValue(200),
            lambda: view.resize(700, 1500),
            lambda: view.rotate(90),
            lambda: view.set_zoom(0.5),
            lambda: view.set_columns(2),
        ]
        seen = [view.visible_tiles()]
        for change in changes:
            change()
            qtbot.wait(1)  # (a resize reaches the view as an event)
            seen.append(view.visible_tiles())
            assert seen[-1] == view._tiles_in_view(dpr)
        # (A small sideways scroll may keep the same tiles; the other changes do not.)
        same = [i for i, (a, b) in enumerate(itertools.pairwise(seen)) if a == b]
        assert len(same) <= 1, same
    finally:
        renderer.stop()
        doc.close()


def test_the_page_views_scroll_bars_are_painted_flat(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    """The style's scroll bar (Fusion: gradients) took 1.1 ms to paint, on every scrolled
    frame: most of one whose tiles were cached (bench/ui.py's scroll p50 was 1.7-2.4x the
    floor's). The groove is now one colour of the palette, the handle another."""
    open_file(qtbot, window, LONG)
    bar = window.view.verticalScrollBar()
    bar.setValue(bar.maximum() // 3)
    qtbot.waitUntil(lambda: bar.isVisible() and bar.height() > 200, timeout=10_000)
    image = bar.grab().toImage()
    column = image.width() // 2
    groove = {image.pixelColor(column, y).rgb() for y in range(40, 60)}  # above the handle
    assert len(groove) == 1, f"{len(groove)} colours in the groove"
    assert groove == {bar.palette().color(QPalette.ColorRole.Window).rgb()}
    shades = {image.pixelColor(column, y).rgb() for y in range(image.height())}
    assert bar.palette().color(QPalette.ColorRole.Mid).rgb() in shades  # the handle


def test_the_page_fields_follow_a_scroll_ten_times_a_second(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each page the view passed set the toolbar's page field and the status bar's "Page N
    of M": both bars and the window behind them were painted again on every scrolled frame.
    The first change shows at once; then at most one every PAGE_FIELDS_MS, ending on the
    last page."""
    open_file(qtbot, window, LONG)
    shown: list[int] = []
    real = window.status_bar.show_page
    monkeypatch.setattr(
        window.status_bar, "show_page", lambda page, count: (shown.append(page), real(page, count))
    )
    for page in range(1, 31):
        window.view.go_to_page(page)
    assert shown == [1]
    assert window.search.page_box.value() == 2
    qtbot.waitUntil(lambda: window.status_bar.page_label.text() == "Page 31 of 429", timeout=5_000)
    assert shown == [1, 30] and window.search.page_box.value() == 31
