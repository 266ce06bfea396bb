"""Keep CPython's cycle collector off the app's long-lived objects (no GUI stall).

A full collection walks every object the collector tracks, holding the GIL the whole time,
whichever thread it runs on: with the app's modules alone (Qt, PyMuPDF, aiohttp: ~90,000
objects) it takes 35-100 ms, with a 10,000-annotation document open 150-300 ms, and the
window is frozen meanwhile. Building a document's records triggers several of them.

So the app moves what lives as long as the process or the document out of the collector's
reach (:func:`gc.freeze`): once at start-up, and once a document's records are built, with
automatic collection paused while they are (:func:`collection_paused`). Objects frozen are
still freed by their reference counts; only a reference cycle among them that becomes
garbage is not collected until :func:`tidy` (after a document closed) collects it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_paused = 0
"""How many :func:`collection_paused` blocks are running now (in any thread)."""
_was_enabled = False
"""Whether automatic collection was on when the first of them started."""


def freeze_long_lived() -> None:
    """Move every object alive now out of the cycle collector's reach (start-up's, say)."""
    gc.freeze()


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause automatic cycle collection while a document's records are built, then freeze.

    Nested and overlapping blocks (two windows opening) share one pause: collection comes
    back, with everything alive then frozen, when the last one ends. Freezing is O(1), where
    collecting what was built would walk all of it. Every thread's collection is paused
    (the collector is process-wide), so keep the block to the building.
    """
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0:
                gc.freeze()
                if _was_enabled:
                    gc.enable()


def release_frozen() -> None:
    """Give the frozen objects back to the collector (not while a block is paused).

    The next full collection walks them all once; :func:`freeze_long_lived` then makes the
    survivors permanent again (:func:`tidy` does all three).
    """
    with _lock:
        if _paused == 0:
            gc.unfreeze()


def tidy() -> bool:
    """Collect every garbage cycle, frozen ones too, then freeze the survivors again.

    Call it once a document has closed, when the app is idle: the reference cycles of the
    closed document's objects were frozen with them and would never be freed. This is the
    one full collection, with its stall (~170 ms after a 10,000-record document). Returns
    False, doing nothing, while a document is being built (the building's freeze would
    catch the garbage anyway; the next tidy frees it).
    """
    with _lock:
        if _paused:
            return False
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        return True
