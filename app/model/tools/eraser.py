"""The eraser: drag over ink strokes to delete them whole, as Xournal++ and Okular do.

Every ink annotation the pointer passes over (within :data:`ERASER_RADIUS` points of a
stroke, plus half its width) between press and release is erased; the gesture's result
lists them in ``deleted``, so the view deletes them as one undo step. Other annotation types
are left alone (the select tool and Delete remove those).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

from lamina.model.geometry import Point
from lamina.model.records import Annotation, InkAnnotation
from lamina.model.tools.gesture import ToolGenerator, ToolResult, is_cancel, wait_for_press

ERASER_RADIUS = 6.0
"""How near (points) the pointer must come to a stroke to erase it."""


def _segment_distance(p: Point, a: Point, b: Point) -> float:
    dx, dy = b.x - a.x, b.y - a.y
    length2 = dx * dx + dy * dy
    if length2 == 0:
        return math.dist(p, a)
    t = max(0.0, min(1.0, ((p.x - a.x) * dx + (p.y - a.y) * dy) / length2))
    return math.dist(p, Point(a.x + t * dx, a.y + t * dy))


def _along(a: Point, b: Point, step: float) -> list[Point]:
    """Return points from ``a`` to ``b`` at most ``step`` apart (both ends included)."""
    n = max(1, math.ceil(math.dist(a, b) / step))
    return [Point(a.x + (b.x - a.x) * i / n, a.y + (b.y - a.y) * i / n) for i in range(n + 1)]


def touches(ink: InkAnnotation, point: Point, radius: float = ERASER_RADIUS) -> bool:
    """Tell whether ``point`` is within ``radius`` of one of the ink's strokes (its width
    counted)."""
    reach = radius + (ink.line_width or 0.0) / 2
    if not ink.bbox.inflated(reach).contains(point):
        return False
    for line in ink.lines.points:
        if len(line) == 1 and math.dist(point, line[0]) <= reach:
            return True
        for a, b in itertools.pairwise(line):
            if _segment_distance(point, a, b) <= reach:
                return True
    return False


def eraser(
    annotations: Sequence[Annotation],
    can_delete: Callable[[Annotation], bool] = lambda _a: True,
    radius: float = ERASER_RADIUS,
) -> ToolGenerator:
    """Erase every ink stroke dragged over, whole; Escape cancels (nothing is erased).

    Args:
        annotations: what is on the pages.
        can_delete: whether the user may delete an annotation (another layer's, or one the
            token protects, is passed over).
        radius: how near the pointer must come to a stroke.
    """
    press = yield from wait_for_press()
    if press is None:
        return ToolResult()
    erased: dict[str, Annotation] = {}
    event = press
    last = press
    while True:
        # A fast drag jumps: what lies between two pointer events is passed over too.
        path = [event.point]
        if last.page_index == event.page_index:
            path = _along(last.point, event.point, radius / 2)
        for a in annotations:
            if (
                isinstance(a, InkAnnotation)
                and a.page_index == event.page_index
                and a.id not in erased
                and can_delete(a)
                and any(touches(a, p, radius) for p in path)
            ):
                erased[a.id] = a
        last = event
        if event.kind == "release":
            return ToolResult(deleted=tuple(erased.values()))
        event = yield None
        if is_cancel(event):
            return ToolResult()
