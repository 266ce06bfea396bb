"""The render worker process, without Qt: it draws the pixels lamina.pdf draws into its slots
(or inline when a tile is too big for one), answers every request with a typed reply, and the
pool keeps one spare warm and ends it when stopped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lamina.pdf import open_pdf
from lamina.pdf.render_worker import (
    Opened,
    OpenFailed,
    OpenPdf,
    Quit,
    Ready,
    RenderTiles,
    RenderWorker,
    Reply,
    TileFailed,
    TileInSlot,
    TilePixels,
    TileRequest,
    WorkerPool,
    render_native,
)

from tests.conftest import corpus_pdf

LONG = "long-429p-broken-xref"


def _next(worker: RenderWorker, timeout: float = 30.0) -> Reply:
    deadline = time.monotonic() + timeout
    while (reply := worker.receive()) is None:
        assert time.monotonic() < deadline, "the render worker did not answer"
        time.sleep(0.005)
    return reply


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status or "\nState:\tX" in status


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return _gone(pid)


@pytest.fixture
def worker() -> Iterator[RenderWorker]:
    # Two slots of 256 x 256 pixels: a 400 x 300 tile does not fit and comes inline.
    worker = RenderWorker(slots=2, slot_bytes=256 * 256 * 4)
    assert isinstance(_next(worker), Ready) and worker.ready
    yield worker
    worker.stop()


def test_worker_draws_the_pixels_lamina_pdf_draws(worker: RenderWorker) -> None:
    path = corpus_pdf(LONG)
    assert worker.send(OpenPdf(path))
    with open_pdf(path) as doc:
        assert _next(worker) == Opened(doc.page_count)
        tiles = (
            TileRequest(7, 0, 1.5, (0, 0, 256, 256), 1),
            TileRequest(8, 3, 1.0, (100, 100, 500, 400), 0),
        )
        assert worker.send(RenderTiles(tiles))
        in_slot = _next(worker)
        inline = _next(worker)
        reference = [render_native(doc, t.page, t.zoom, t.clip) for t in tiles]
    assert isinstance(in_slot, TileInSlot)
    assert (in_slot.request_id, in_slot.slot) == (7, 1)
    assert (in_slot.width, in_slot.height, in_slot.format) == (256, 256, reference[0].format)
    view = worker.slot(in_slot.slot, in_slot.stride * in_slot.height)
    try:
        assert bytes(view) == bytes(reference[0].data)
    finally:
        view.release()
    assert isinstance(inline, TilePixels)
    assert (inline.request_id, inline.width, inline.height) == (8, 400, 300)
    assert inline.data == bytes(reference[1].data)
    assert any(b < 128 for b in inline.data[::4]), "page 4 of the long PDF has ink there"


def test_every_failure_is_answered_with_its_reason(worker: RenderWorker, tmp_path: Path) -> None:
    assert worker.send(RenderTiles((TileRequest(1, 0, 1.0, (0, 0, 10, 10), 0),)))
    assert _next(worker) == TileFailed(1, "no document is open in the render worker")
    not_pdf = tmp_path / "not.pdf"
    not_pdf.write_text("hello")
    assert worker.send(OpenPdf(not_pdf))
    failed = _next(worker)
    assert isinstance(failed, OpenFailed) and "not.pdf" in failed.message
    # A PDF given as bytes, with its password.
    encrypted = corpus_pdf("encrypted-aes256-user-pw").read_bytes()
    assert worker.send(OpenPdf(encrypted, "foo"))
    assert isinstance(_next(worker), Opened)
    assert worker.send(RenderTiles((TileRequest(2, 99, 1.0, (0, 0, 10, 10), 0),)))
    reply = _next(worker)
    assert isinstance(reply, TileFailed) and reply.request_id == 2
    assert reply.message.startswith("page 100 could not be drawn")
    pid = worker.pid
    assert pid is not None and worker.alive()
    assert worker.send(Quit())
    assert _wait_gone(pid)


def test_pool_hands_out_its_warm_spare_and_stops_it() -> None:
    pool = WorkerPool(enabled=True)
    assert pool.take(start=False) is None
    pool.prestart()
    spare = pool.spare_pid
    assert spare is not None
    pool.prestart()  # one spare at most
    assert pool.spare_pid == spare
    taken = pool.take()
    assert taken is not None and taken.pid == spare and pool.spare_pid is None
    taken.stop()
    assert _wait_gone(spare)
    pool.prestart()
    second = pool.spare_pid
    assert second is not None and second != spare
    pool.stop()
    assert pool.spare_pid is None and _wait_gone(second)


def test_a_disabled_pool_starts_nothing() -> None:
    pool = WorkerPool(enabled=False)
    pool.prestart()
    assert pool.spare_pid is None and pool.take() is None


def test_a_worker_stopped_while_still_starting_ends_at_once_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At app exit a spare still importing PyMuPDF was waited for, then killed with "render
    worker N did not quit; killing it"."""
    worker = RenderWorker()
    assert not worker.ready
    with caplog.at_level("WARNING", logger="lamina.pdf.render_worker"):
        worker.stop(timeout=0.05)
    assert not worker.alive()
    assert worker.exitcode is not None
    assert "did not quit" not in caplog.text
