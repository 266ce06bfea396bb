"""The cycle collector kept off long-lived objects (lamina.ui.heap): what is paused, frozen."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from lamina.ui.heap import collection_paused, release_frozen


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()


class Node:
    """An object the collector tracks."""


def test_creating_the_application_freezes_what_start_up_made() -> None:
    # A fresh process: this one's QApplication exists already.
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gc, os\n"
            "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
            "from lamina.ui.app import ensure_application\n"
            "before = gc.get_freeze_count()\n"
            "ensure_application()\n"
            "print(before, gc.get_freeze_count(), len(gc.get_objects()))\n",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    before, after, left = (int(n) for n in out)
    assert before == 0
    assert after > 10_000  # the modules' objects: out of every full collection's walk
    assert left < 1_000


def test_a_paused_block_collects_nothing_and_freezes_what_it_built() -> None:
    assert gc.isenabled()
    collections: list[int] = []

    def heard(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(heard)
    try:
        with collection_paused():
            assert not gc.isenabled()
            built = [[Node() for _ in range(10)] for _ in range(20_000)]
    finally:
        gc.callbacks.remove(heard)
    assert collections == []
    assert gc.isenabled()
    tracked = {id(o) for o in gc.get_objects()}
    assert id(built) not in tracked and id(built[-1][-1]) not in tracked
    assert gc.get_freeze_count() >= 200_000
    release_frozen()
    assert gc.get_freeze_count() == 0


def test_overlapping_blocks_share_one_pause_and_an_error_ends_it() -> None:
    inside = threading.Event()
    leave = threading.Event()

    def other() -> None:
        with collection_paused():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(10)
    with pytest.raises(ValueError), collection_paused():
        raise ValueError("building failed")
    assert not gc.isenabled()  # the other block still runs
    gc.freeze()
    frozen = gc.get_freeze_count()
    release_frozen()  # ignored while a block runs: it would walk what is half built
    assert gc.get_freeze_count() == frozen
    leave.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_pause_keeps_collection_off_if_it_was_off() -> None:
    gc.disable()
    with collection_paused():
        pass
    assert not gc.isenabled()
