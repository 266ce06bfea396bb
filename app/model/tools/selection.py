"""The select tool: pick the annotation under the pointer, drag it to move, a corner to resize."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Literal, TypeAlias

from lamina.model.geometry import Point, Rect
from lamina.model.records import (
    Annotation,
    InkAnnotation,
    InkLines,
    LineAnnotation,
    MarkupAnnotation,
    PolygonAnnotation,
    PolylineAnnotation,
)
from lamina.model.tools.gesture import (
    MIN_DRAG,
    ToolGenerator,
    ToolResult,
    is_cancel,
    wait_for_press,
)

HANDLE_SIZE = 6.0
"""Half the side of a resize handle, in points."""

Handle: TypeAlias = Literal["nw", "ne", "sw", "se"]


def handle_at(bbox: Rect, point: Point, tolerance: float = HANDLE_SIZE) -> Handle | None:
    """Return the corner handle of ``bbox`` under ``point``, if any."""
    corners: dict[Handle, tuple[float, float]] = {
        "nw": (bbox.left, bbox.top),
        "ne": (bbox.right, bbox.top),
        "sw": (bbox.left, bbox.bottom),
        "se": (bbox.right, bbox.bottom),
    }
    for name, (cx, cy) in corners.items():
        if abs(point.x - cx) <= tolerance and abs(point.y - cy) <= tolerance:
            return name
    return None


def hit_test(annotations: Sequence[Annotation], page_index: int, point: Point) -> Annotation | None:
    """Return the topmost annotation on ``page_index`` whose box holds ``point``."""
    for annotation in reversed(annotations):
        if annotation.page_index == page_index and annotation.bbox.inflated(2.0).contains(point):
            return annotation
    return None


def _map_points(
    annotation: Annotation, fn: Callable[[Point], Point], bbox: Rect
) -> dict[str, object]:
    changes: dict[str, object] = {"bbox": bbox}
    if isinstance(annotation, InkAnnotation):
        lines = annotation.lines
        changes["lines"] = InkLines(
            tuple(tuple(fn(p) for p in seg) for seg in lines.points), lines.intensities
        )
    elif isinstance(annotation, LineAnnotation):
        changes["start_point"] = fn(annotation.start_point)
        changes["end_point"] = fn(annotation.end_point)
    elif isinstance(annotation, PolylineAnnotation | PolygonAnnotation):
        changes["points"] = tuple(fn(p) for p in annotation.points)
    elif isinstance(annotation, MarkupAnnotation):
        changes["rects"] = tuple(
            Rect.from_edges(*fn(Point(r.left, r.top)), *fn(Point(r.right, r.bottom)))
            for r in annotation.rects
        )
    return changes


def moved(annotation: Annotation, dx: float, dy: float) -> Annotation:
    """Return ``annotation`` translated by ``(dx, dy)`` points, every point with it."""

    def shift(p: Point) -> Point:
        return Point(p.x + dx, p.y + dy)

    changes = _map_points(annotation, shift, annotation.bbox.translated(dx, dy))
    return dataclasses.replace(annotation, **changes)  # type: ignore[arg-type]


def resized(annotation: Annotation, bbox: Rect) -> Annotation:
    """Return ``annotation`` scaled so that its box becomes ``bbox``."""
    old = annotation.bbox
    sx = bbox.width / old.width if old.width else 1.0
    sy = bbox.height / old.height if old.height else 1.0

    def scale(p: Point) -> Point:
        return Point(bbox.left + (p.x - old.left) * sx, bbox.top + (p.y - old.top) * sy)

    changes = _map_points(annotation, scale, bbox)
    return dataclasses.replace(annotation, **changes)  # type: ignore[arg-type]


MIN_SIZE = 4.0


def _resize_box(old: Rect, handle: Handle, point: Point) -> Rect:
    left, top, right, bottom = old.left, old.top, old.right, old.bottom
    if "w" in handle:
        left = min(point.x, right - MIN_SIZE)
    else:
        right = max(point.x, left + MIN_SIZE)
    if "n" in handle:
        top = min(point.y, bottom - MIN_SIZE)
    else:
        bottom = max(point.y, top + MIN_SIZE)
    return Rect.from_edges(left, top, right, bottom)


def select_move_resize(
    annotations: Sequence[Annotation],
    selected_id: str | None = None,
    can_edit: Callable[[Annotation], bool] = lambda _a: True,
) -> ToolGenerator:
    """Select the annotation under the press; drag it to move, drag a corner to resize.

    Args:
        annotations: what is on the pages, bottom to top.
        selected_id: the current selection; its corner handles take priority.
        can_edit: whether the user may change an annotation (others' records, the base
            layer under a restricted token); such an annotation is selected but not moved.
    """
    press = yield from wait_for_press()
    if press is None:
        return ToolResult()
    page, start = press.page_index, press.point
    target: Annotation | None = None
    handle: Handle | None = None
    current = next((a for a in annotations if a.id == selected_id), None)
    if current is not None and current.page_index == page:
        handle = handle_at(current.bbox, start)
        if handle is not None:
            target = current
    if target is None:
        target = hit_test(annotations, page, start)
    if target is None:
        while True:
            event = yield None
            if event.kind == "release" or is_cancel(event):
                return ToolResult(selected=None)
    editable = can_edit(target)
    preview: Annotation = target
    while True:
        event = yield preview if preview is not target else None
        if is_cancel(event):
            return ToolResult(selected=target.id)
        if editable and event.page_index == page:
            if handle is not None:
                preview = resized(target, _resize_box(target.bbox, handle, event.point))
            elif math.dist(start, event.point) >= MIN_DRAG:
                preview = moved(target, event.point.x - start.x, event.point.y - start.y)
            else:
                preview = target
        if event.kind == "release":
            if preview is target:
                return ToolResult(selected=target.id)
            return ToolResult(updated=preview, before=target, selected=target.id)
