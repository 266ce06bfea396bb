"""Drawing tools as plain generators: pointer events in, a record (or an update) out.

A view turns each mouse or tablet event into one :class:`PointerEvent` in Instant
coordinates (PDF points on the unrotated page, origin top-left, y down) and sends it into
the active tool's generator. The generator yields a *preview* (the record as it would be if
the gesture ended now, or None) after every event, and returns a :class:`ToolResult` when the
gesture is over. Nothing here knows about Qt, so every tool is tested without a widget::

    gen = ink_pen(ToolStyle(color="#ff0000"))
    session = ToolSession(gen)
    session.send(PointerEvent("press", 0, Point(10, 10)))
    session.send(PointerEvent("move", 0, Point(20, 15)))
    result = session.send(PointerEvent("release", 0, Point(30, 20)))

Single-gesture tools (pens, shapes, notes) finish on release. Click-by-click tools
(polyline, polygon) finish on a double click or an ``Enter`` key event, and an ``Escape`` key
event cancels any tool. One finished gesture is one undo step (see :mod:`lamina.model.undo`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from lamina.model.geometry import Point, Rect
from lamina.model.ids import new_record_id
from lamina.model.records import (
    STAMP_TYPES,
    Annotation,
    EllipseAnnotation,
    HighlightAnnotation,
    InkAnnotation,
    InkLines,
    LineAnnotation,
    MarkupAnnotation,
    NoteAnnotation,
    PolygonAnnotation,
    PolylineAnnotation,
    RectangleAnnotation,
    SquigglyAnnotation,
    StampAnnotation,
    StrikeOutAnnotation,
    Text,
    TextAnnotation,
    UnderlineAnnotation,
)

EventKind: TypeAlias = Literal["press", "move", "release", "double_click", "key"]


@dataclass(frozen=True)
class PointerEvent:
    """One pointer event, already in Instant coordinates of ``page_index``.

    ``key`` is set for ``kind == "key"`` events (``"Enter"``, ``"Escape"``, ``"Backspace"``);
    ``point`` is then the last known pointer position.
    """

    kind: EventKind
    page_index: int
    point: Point
    pressure: float = 0.5
    shift: bool = False
    key: str | None = None


@dataclass(frozen=True)
class ToolStyle:
    """How new annotations look: the properties panel edits one of these per tool."""

    color: str = "#D32F2F"
    width: float = 2.0
    opacity: float = 1.0
    font_size: float = 14.0
    fill_color: str | None = None
    creator_name: str | None = None
    stamp_type: str = "Approved"


@dataclass(frozen=True)
class ToolResult:
    """What a finished gesture produced.

    Exactly one of ``created`` / ``updated`` is set for a gesture that changed something;
    both are None when it was cancelled or too small to mean anything. ``selected`` is the id
    the select tool picked (it may select without moving). ``before`` is the record as it was
    before an update, for undo.
    """

    created: Annotation | None = None
    updated: Annotation | None = None
    before: Annotation | None = None
    selected: str | None = None

    @property
    def changed(self) -> bool:
        """Tell whether the gesture created or changed a record."""
        return self.created is not None or self.updated is not None


ToolGenerator: TypeAlias = Generator[Annotation | None, PointerEvent, ToolResult]
"""A tool: receives pointer events by ``send``, yields previews, returns the result."""


class ToolSession:
    """Drive one tool generator: prime it, feed it events, catch its result.

    Attributes:
        preview: the record the last event previewed (None when there is nothing to draw).
        result: the :class:`ToolResult` once the gesture is over, else None.
    """

    def __init__(self, generator: ToolGenerator) -> None:
        self._gen = generator
        self.preview: Annotation | None = next(generator)
        self.result: ToolResult | None = None

    @property
    def finished(self) -> bool:
        """Tell whether the gesture is over."""
        return self.result is not None

    def send(self, event: PointerEvent) -> ToolResult | None:
        """Feed one event; return the result when this event ended the gesture."""
        if self.result is not None:
            return self.result
        try:
            self.preview = self._gen.send(event)
        except StopIteration as stop:
            self.preview = None
            self.result = stop.value if stop.value is not None else ToolResult()
            return self.result
        return None

    def cancel(self) -> ToolResult:
        """End the gesture without a result (the view lost the pointer, the tool changed)."""
        self._gen.close()
        self.preview = None
        self.result = ToolResult()
        return self.result


# --- shared helpers -----------------------------------------------------------------------

MIN_DRAG = 2.0
"""A press and release closer than this (points) is a click, not a drag."""


def _is_cancel(event: PointerEvent) -> bool:
    return event.kind == "key" and event.key == "Escape"


def _common(style: ToolStyle, page_index: int, bbox: Rect) -> dict[str, object]:
    fields: dict[str, object] = {
        "id": new_record_id(),
        "page_index": page_index,
        "bbox": bbox,
    }
    if style.opacity < 1.0:
        fields["opacity"] = round(style.opacity, 3)
    if style.creator_name:
        fields["creator_name"] = style.creator_name
    return fields


def _wait_for_press() -> Generator[None, PointerEvent, PointerEvent | None]:
    """Yield until a press arrives; return it (None when cancelled)."""
    while True:
        event = yield None
        if _is_cancel(event):
            return None
        if event.kind == "press":
            return event


def _constrain_45(start: Point, end: Point) -> Point:
    """Snap ``end`` so the segment from ``start`` is a multiple of 45 degrees (Shift)."""
    dx, dy = end.x - start.x, end.y - start.y
    length = math.hypot(dx, dy)
    angle = round(math.atan2(dy, dx) / (math.pi / 4)) * (math.pi / 4)
    return Point(start.x + length * math.cos(angle), start.y + length * math.sin(angle))


# --- freehand pens ------------------------------------------------------------------------


def _ink(
    style: ToolStyle,
    page: int,
    points: list[tuple[Point, float]],
    width: float,
    blend_mode: str | None,
) -> InkAnnotation:
    pts = [p for p, _ in points]
    fields = _common(style, page, Rect.bounding(pts, pad=width / 2))
    return InkAnnotation(
        lines=InkLines((tuple(pts),), (tuple(round(i, 3) for _, i in points),)),
        line_width=width,
        stroke_color=style.color,
        blend_mode=blend_mode,
        is_drawn_naturally=True,
        **fields,  # type: ignore[arg-type]
    )


def _pen(style: ToolStyle, width: float, blend_mode: str | None) -> ToolGenerator:
    press = yield from _wait_for_press()
    if press is None:
        return ToolResult()
    page = press.page_index
    points: list[tuple[Point, float]] = [(press.point, press.pressure)]
    event = press
    while True:
        event = yield _ink(style, page, points, width, blend_mode)
        if _is_cancel(event):
            return ToolResult()
        if event.kind in ("move", "release") and event.point != points[-1][0]:
            points.append((event.point, event.pressure))
        if event.kind == "release":
            break
    if len(points) == 1:
        # A click with a pen leaves a dot, as on paper: two points at the same place.
        points.append(points[0])
    return ToolResult(created=_ink(style, page, points, width, blend_mode))


def ink_pen(style: ToolStyle) -> ToolGenerator:
    """Draw one freehand stroke (``pspdfkit/ink``) from press to release."""
    return _pen(style, style.width, None)


HIGHLIGHTER_MIN_WIDTH = 12.0
HIGHLIGHTER_OPACITY = 0.4


def highlighter_pen(style: ToolStyle) -> ToolGenerator:
    """Draw a wide, translucent freehand stroke blended with ``multiply``."""
    wide = dataclasses.replace(style, opacity=min(style.opacity, HIGHLIGHTER_OPACITY))
    return _pen(wide, max(style.width, HIGHLIGHTER_MIN_WIDTH), "multiply")


# --- shapes -------------------------------------------------------------------------------


def _shape_fields(style: ToolStyle) -> dict[str, object]:
    fields: dict[str, object] = {"stroke_width": style.width, "stroke_color": style.color}
    if style.fill_color is not None:
        fields["fill_color"] = style.fill_color
    return fields


def _box_tool(
    style: ToolStyle, cls: type[RectangleAnnotation] | type[EllipseAnnotation]
) -> ToolGenerator:
    press = yield from _wait_for_press()
    if press is None:
        return ToolResult()
    start = press.point

    def make(end: Point, square: bool) -> Annotation:
        if square:
            side = max(abs(end.x - start.x), abs(end.y - start.y))
            end = Point(
                start.x + math.copysign(side, end.x - start.x),
                start.y + math.copysign(side, end.y - start.y),
            )
        bbox = Rect.from_edges(start.x, start.y, end.x, end.y)
        return cls(**_common(style, press.page_index, bbox), **_shape_fields(style))  # type: ignore[arg-type]

    preview: Annotation | None = None
    while True:
        event = yield preview
        if _is_cancel(event):
            return ToolResult()
        preview = make(event.point, event.shift)
        if event.kind == "release":
            if max(preview.bbox.width, preview.bbox.height) < MIN_DRAG:
                return ToolResult()
            return ToolResult(created=preview)


def rectangle(style: ToolStyle) -> ToolGenerator:
    """Drag a rectangle (Shift: a square)."""
    return _box_tool(style, RectangleAnnotation)


def ellipse(style: ToolStyle) -> ToolGenerator:
    """Drag an ellipse (Shift: a circle)."""
    return _box_tool(style, EllipseAnnotation)


def _line_tool(style: ToolStyle, end_cap: str | None) -> ToolGenerator:
    press = yield from _wait_for_press()
    if press is None:
        return ToolResult()
    start = press.point

    def make(end: Point) -> LineAnnotation:
        bbox = Rect.bounding(
            (start, end), pad=max(style.width * 2, 4.0) if end_cap else style.width
        )
        caps = {"end": end_cap} if end_cap else None
        return LineAnnotation(
            start_point=start,
            end_point=end,
            line_caps=caps,
            **_common(style, press.page_index, bbox),  # type: ignore[arg-type]
            **_shape_fields(style),  # type: ignore[arg-type]
        )

    preview: LineAnnotation | None = None
    while True:
        event = yield preview
        if _is_cancel(event):
            return ToolResult()
        end = _constrain_45(start, event.point) if event.shift else event.point
        preview = make(end)
        if event.kind == "release":
            if math.dist(start, end) < MIN_DRAG:
                return ToolResult()
            return ToolResult(created=preview)


def line(style: ToolStyle) -> ToolGenerator:
    """Drag a straight line (Shift: multiples of 45 degrees)."""
    return _line_tool(style, None)


def arrow(style: ToolStyle, cap: str = "openArrow") -> ToolGenerator:
    """Drag a line with an arrowhead at its end (``openArrow`` or ``closedArrow``)."""
    return _line_tool(style, cap)


def _points_tool(style: ToolStyle, closed: bool) -> ToolGenerator:
    press = yield from _wait_for_press()
    if press is None:
        return ToolResult()
    page = press.page_index
    points: list[Point] = [press.point]

    def make(extra: Point | None) -> Annotation:
        pts = tuple(points + ([extra] if extra is not None else []))
        bbox = Rect.bounding(pts, pad=style.width)
        cls = PolygonAnnotation if closed else PolylineAnnotation
        return cls(points=pts, **_common(style, page, bbox), **_shape_fields(style))  # type: ignore[arg-type]

    def finish() -> ToolResult:
        needed = 3 if closed else 2
        if len(points) < needed:
            return ToolResult()
        return ToolResult(created=make(None))

    while True:
        event = yield make(None)
        while event.kind == "move":
            event = yield make(event.point)
        if _is_cancel(event):
            return ToolResult()
        if event.kind == "key" and event.key == "Backspace" and len(points) > 1:
            points.pop()
        elif event.kind == "double_click" or (
            event.kind == "key" and event.key in ("Enter", "Return")
        ):
            return finish()
        elif (
            event.kind == "press"
            and event.page_index == page
            and math.dist(event.point, points[-1]) >= MIN_DRAG
        ):
            points.append(event.point)


def polyline(style: ToolStyle) -> ToolGenerator:
    """Click points of an open line; a double click or Enter ends it."""
    return _points_tool(style, closed=False)


def polygon(style: ToolStyle) -> ToolGenerator:
    """Click corners of a closed shape; a double click or Enter ends it."""
    return _points_tool(style, closed=True)


# --- click-to-place tools -----------------------------------------------------------------

FREE_TEXT_DEFAULT_SIZE = (160.0, 32.0)
NOTE_SIZE = 24.0
STAMP_SIZE = (150.0, 50.0)


def free_text(style: ToolStyle, text: str = "") -> ToolGenerator:
    """Click (default box) or drag (that box) to place free text; the view asks for the text."""
    press = yield from _wait_for_press()
    if press is None:
        return ToolResult()
    start = press.point
    while True:
        event = yield None
        if _is_cancel(event):
            return ToolResult()
        if event.kind == "release":
            break
    if math.dist(start, event.point) < MIN_DRAG * 4:
        bbox = Rect(start.x, start.y, *FREE_TEXT_DEFAULT_SIZE)
    else:
        bbox = Rect.from_edges(start.x, start.y, event.point.x, event.point.y)
    return ToolResult(
        created=TextAnnotation(
            text=Text(text),
            font_size=style.font_size,
            font_color=style.color,
            font="Helvetica",
            **_common(style, press.page_index, bbox),  # type: ignore[arg-type]
        )
    )


def sticky_note(style: ToolStyle, text: str = "") -> ToolGenerator:
    """Click to place a sticky note icon; the view asks for the note's text."""
    press = yield from _wait_for_press()
    if press is None:
        return ToolResult()
    while True:
        event = yield None
        if _is_cancel(event):
            return ToolResult()
        if event.kind == "release":
            break
    bbox = Rect(press.point.x - NOTE_SIZE / 2, press.point.y - NOTE_SIZE / 2, NOTE_SIZE, NOTE_SIZE)
    return ToolResult(
        created=NoteAnnotation(
            text=Text(text),
            icon="comment",
            color=style.color,
            **_common(style, press.page_index, bbox),  # type: ignore[arg-type]
        )
    )


def stamp(style: ToolStyle) -> ToolGenerator:
    """Click to place a standard stamp (``style.stamp_type``, one of ``STAMP_TYPES``)."""
    if style.stamp_type not in STAMP_TYPES:
        raise ValueError(f"unknown stamp type {style.stamp_type!r}")
    press = yield from _wait_for_press()
    if press is None:
        return ToolResult()
    while True:
        event = yield None
        if _is_cancel(event):
            return ToolResult()
        if event.kind == "release":
            break
    w, h = STAMP_SIZE
    bbox = Rect(press.point.x - w / 2, press.point.y - h / 2, w, h)
    return ToolResult(
        created=StampAnnotation(
            stamp_type=style.stamp_type,
            color=style.color,
            **_common(style, press.page_index, bbox),  # type: ignore[arg-type]
        )
    )


# --- text selection and markup ------------------------------------------------------------


@dataclass(frozen=True)
class PageWord:
    """A word on a page, in reading order, with its rectangle in Instant coordinates."""

    text: str
    rect: Rect


def _nearest_word(words: Sequence[PageWord], point: Point) -> int:
    def distance(word: PageWord) -> float:
        r = word.rect
        dx = max(r.left - point.x, 0.0, point.x - r.right)
        dy = max(r.top - point.y, 0.0, point.y - r.bottom)
        # Being on the word's line matters more than being near it horizontally.
        return dx + 4 * dy

    return min(range(len(words)), key=lambda i: distance(words[i]))


def select_words(words: Sequence[PageWord], start: Point, end: Point) -> list[int]:
    """Return indexes of the words between the ones nearest ``start`` and ``end``, in order."""
    if not words:
        return []
    a, b = _nearest_word(words, start), _nearest_word(words, end)
    lo, hi = min(a, b), max(a, b)
    return list(range(lo, hi + 1))


def text_select(words: Sequence[PageWord]) -> Generator[list[int], PointerEvent, list[int]]:
    """Drag across text; yield and finally return the selected word indexes."""
    selected: list[int] = []
    press: PointerEvent | None = None
    while press is None:
        event = yield selected
        if _is_cancel(event):
            return []
        if event.kind == "press":
            press = event
    while True:
        event = yield selected
        if _is_cancel(event):
            return []
        if event.page_index == press.page_index:
            if math.dist(press.point, event.point) >= MIN_DRAG:
                selected = select_words(words, press.point, event.point)
            else:
                selected = []
        if event.kind == "release":
            return selected


def line_rects(rects: Iterable[Rect]) -> tuple[Rect, ...]:
    """Merge word rectangles into one rectangle per line of text.

    Two words share a line when their vertical extents overlap by more than half of the
    smaller height; rotated text (tall, narrow words) merges by horizontal overlap instead.
    """
    merged: list[Rect] = []
    for rect in rects:
        for i, line_rect in enumerate(merged):
            if _same_line(line_rect, rect):
                merged[i] = line_rect.union(rect)
                break
        else:
            merged.append(rect)
    return tuple(merged)


def _same_line(a: Rect, b: Rect) -> bool:
    vertical = a.width >= a.height * 0.5 or b.width >= b.height * 0.5
    if vertical:
        overlap = min(a.bottom, b.bottom) - max(a.top, b.top)
        return overlap > 0.5 * min(a.height, b.height)
    overlap = min(a.right, b.right) - max(a.left, b.left)
    return overlap > 0.5 * min(a.width, b.width)


MarkupKind: TypeAlias = Literal["highlight", "underline", "strikeout", "squiggly"]

MARKUP_CLASSES: dict[str, type[MarkupAnnotation]] = {
    "highlight": HighlightAnnotation,
    "underline": UnderlineAnnotation,
    "strikeout": StrikeOutAnnotation,
    "squiggly": SquigglyAnnotation,
}

MARKUP_DEFAULT_COLORS = {
    "highlight": "#FFEB3B",
    "underline": "#1E88E5",
    "strikeout": "#E53935",
    "squiggly": "#43A047",
}


def text_markup(
    kind: MarkupKind,
    page_index: int,
    words: Sequence[PageWord],
    style: ToolStyle,
    color: str | None = None,
) -> MarkupAnnotation:
    """Return a text markup annotation over ``words`` (one rect per line).

    Raises:
        ValueError: no words are selected.
    """
    if not words:
        raise ValueError("select some text first")
    rects = line_rects(w.rect for w in words)
    bbox = rects[0]
    for r in rects[1:]:
        bbox = bbox.union(r)
    cls = MARKUP_CLASSES[kind]
    fields = _common(style, page_index, bbox)
    if kind == "highlight":
        fields["blend_mode"] = "multiply"
    return cls(
        rects=rects,
        color=color or MARKUP_DEFAULT_COLORS[kind],
        **fields,  # type: ignore[arg-type]
    )


# --- select, move, resize -----------------------------------------------------------------

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
    press = yield from _wait_for_press()
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
            if event.kind == "release" or _is_cancel(event):
                return ToolResult(selected=None)
    editable = can_edit(target)
    preview: Annotation = target
    while True:
        event = yield preview if preview is not target else None
        if _is_cancel(event):
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


TOOL_NAMES = (
    "select",
    "text",
    "ink",
    "highlighter",
    "rectangle",
    "ellipse",
    "line",
    "arrow",
    "polyline",
    "polygon",
    "free_text",
    "note",
    "stamp",
)
"""Every tool the toolbar offers; ``text`` is text selection (markup comes from it)."""

DRAWING_TOOLS: dict[str, Callable[[ToolStyle], ToolGenerator]] = {
    "ink": ink_pen,
    "highlighter": highlighter_pen,
    "rectangle": rectangle,
    "ellipse": ellipse,
    "line": line,
    "arrow": arrow,
    "polyline": polyline,
    "polygon": polygon,
    "free_text": free_text,
    "note": sticky_note,
    "stamp": stamp,
}
"""Tools that create a record, by name."""
