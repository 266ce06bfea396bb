"""A long annotation read lets other threads' MuPDF calls in (the window waits on the lock)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from lamina.pdf import MUPDF_LOCK, annotations, document, open_pdf
from lamina.pdf.annotations import read_records

from tests.support.many_annotations import write_many_annotations


def test_another_thread_reads_a_page_while_a_big_pdf_s_annotations_are_read(
    tmp_path: Path,
) -> None:
    big = write_many_annotations(tmp_path / "big.pdf", 900, pages=9)
    other = write_many_annotations(tmp_path / "other.pdf", 1, pages=1)
    opened, done = threading.Event(), threading.Event()
    read: list[int] = []

    def reader() -> None:
        with open_pdf(big) as doc:
            opened.set()
            read.append(len(read_records(doc)))
            done.set()

    with open_pdf(other) as doc:
        thread = threading.Thread(target=reader)
        thread.start()
        opened.wait()
        # Wait until the reader holds the lock (so the call below has to get in between).
        while MUPDF_LOCK.acquire(blocking=False):
            MUPDF_LOCK.release()
            assert not done.is_set(), "the read ended before it was seen holding the lock"
        doc.page_geometry(0)  # waits for the lock
        got_in_while_reading = not done.is_set()
        thread.join()
    assert read == [900]
    assert got_in_while_reading


def test_a_long_read_nobody_waits_for_never_hands_the_lock_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handover sleeps (several ms on a busy machine): a read no thread waits for skips it
    (it once added ~1 s to reading 1,000 annotations headlessly)."""
    big = write_many_annotations(tmp_path / "big.pdf", 900, pages=9)
    sleeps: list[float] = []
    real_sleep = document.time.sleep

    def counted(seconds: float) -> None:
        sleeps.append(seconds)
        real_sleep(seconds)

    class EveryCall(document.LockSlices):
        """Slices of zero length: a handover at every breath if one were due."""

        def __init__(self, seconds: float = 0.0) -> None:
            super().__init__(0.0)

    monkeypatch.setattr(annotations, "LockSlices", EveryCall)
    monkeypatch.setattr(document.time, "sleep", counted)
    with open_pdf(big) as doc:
        assert len(read_records(doc)) == 900
    assert sleeps == []
