"""Count the work a piece of code does, as Python lines run in lamina's own modules.

A growth test (DESIGN §7: a local edit is O(1) in the number of records) must not time
anything, so it counts instead: :func:`lines_run` runs a callable under ``sys.settrace`` and
returns how many line events fired in ``lamina`` modules (a loop body counts once per
iteration). Compare the count of the same operation at N and at 10 N: flat work gives about
the same count, a scan of the N records gives ~10 times more. Work done in C (``dict(d)``,
SQLite) is not counted; a test that cares about it counts calls some other way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import lamina

T = TypeVar("T")

_LAMINA = str(Path(lamina.__file__).resolve().parent)


def lines_run(action: Callable[[], T]) -> tuple[int, T]:
    """Run ``action()`` and return (lamina lines it ran, its result), on this thread only."""
    count = 0
    ours: dict[str, bool] = {}

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        filename = frame.f_code.co_filename
        mine = ours.get(filename)
        if mine is None:
            mine = ours[filename] = str(Path(filename).resolve()).startswith(_LAMINA)
        return local if mine else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        result = action()
    finally:
        sys.settrace(previous)
    return count, result


def growth(at_n: int, at_10n: int) -> float:
    """Return how much the work grew from N to 10 N (1.0: flat, 10.0: linear)."""
    return at_10n / max(at_n, 1)
