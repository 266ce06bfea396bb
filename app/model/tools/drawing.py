"""Tools that create a record: freehand pens, shapes, lines, polylines, text, notes, stamps."""

from __future__ import annotations

import dataclasses
import math

from lamina.model.geometry import Point, Rect
from lamina.model.records import (
    STAMP_TYPES,
    Annotation,
    EllipseAnnotation,
    InkAnnotation,
    InkLines,
    LineAnnotation,
    NoteAnnotation,
    PolygonAnnotation,
    PolylineAnnotation,
    RectangleAnnotation,
    StampAnnotation,
    Text,
    TextAnnotation,
)
from lamina.model.tools.gesture import (
    MIN_DRAG,
    ToolGenerator,
    ToolResult,
    ToolStyle,
    common_fields,
    constrain_45,
    is_cancel,
    wait_for_press,
)

# --- freehand pens ------------------------------------------------------------------------


def _ink(
    style: ToolStyle,
    page: int,
    points: list[tuple[Point, float]],
    width: float,
    blend_mode: str | None,
) -> InkAnnotation:
    pts = [p for p, _ in points]
    fields = common_fields(style, page, Rect.bounding(pts, pad=width / 2))
    return InkAnnotation(
        lines=InkLines((tuple(pts),), (tuple(round(i, 3) for _, i in points),)),
        line_width=width,
        stroke_color=style.color,
        blend_mode=blend_mode,
        is_drawn_naturally=True,
        **fields,  # type: ignore[arg-type]
    )


def _pen(style: ToolStyle, width: float, blend_mode: str | None) -> ToolGenerator:
    press = yield from wait_for_press()
    if press is None:
        return ToolResult()
    page = press.page_index
    points: list[tuple[Point, float]] = [(press.point, press.pressure)]
    event = press
    while True:
        event = yield _ink(style, page, points, width, blend_mode)
        if is_cancel(event):
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
    press = yield from wait_for_press()
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
        return cls(**common_fields(style, press.page_index, bbox), **_shape_fields(style))  # type: ignore[arg-type]

    preview: Annotation | None = None
    while True:
        event = yield preview
        if is_cancel(event):
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
    press = yield from wait_for_press()
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
            **common_fields(style, press.page_index, bbox),  # type: ignore[arg-type]
            **_shape_fields(style),  # type: ignore[arg-type]
        )

    preview: LineAnnotation | None = None
    while True:
        event = yield preview
        if is_cancel(event):
            return ToolResult()
        end = constrain_45(start, event.point) if event.shift else event.point
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
    press = yield from wait_for_press()
    if press is None:
        return ToolResult()
    page = press.page_index
    points: list[Point] = [press.point]

    def make(extra: Point | None) -> Annotation:
        pts = tuple(points + ([extra] if extra is not None else []))
        bbox = Rect.bounding(pts, pad=style.width)
        cls = PolygonAnnotation if closed else PolylineAnnotation
        return cls(points=pts, **common_fields(style, page, bbox), **_shape_fields(style))  # type: ignore[arg-type]

    def finish() -> ToolResult:
        needed = 3 if closed else 2
        if len(points) < needed:
            return ToolResult()
        return ToolResult(created=make(None))

    while True:
        event = yield make(None)
        while event.kind == "move":
            event = yield make(event.point)
        if is_cancel(event):
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
    press = yield from wait_for_press()
    if press is None:
        return ToolResult()
    start = press.point
    while True:
        event = yield None
        if is_cancel(event):
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
            **common_fields(style, press.page_index, bbox),  # type: ignore[arg-type]
        )
    )


def sticky_note(style: ToolStyle, text: str = "") -> ToolGenerator:
    """Click to place a sticky note icon; the view asks for the note's text."""
    press = yield from wait_for_press()
    if press is None:
        return ToolResult()
    while True:
        event = yield None
        if is_cancel(event):
            return ToolResult()
        if event.kind == "release":
            break
    bbox = Rect(press.point.x - NOTE_SIZE / 2, press.point.y - NOTE_SIZE / 2, NOTE_SIZE, NOTE_SIZE)
    return ToolResult(
        created=NoteAnnotation(
            text=Text(text),
            icon="comment",
            color=style.color,
            **common_fields(style, press.page_index, bbox),  # type: ignore[arg-type]
        )
    )


def stamp(style: ToolStyle) -> ToolGenerator:
    """Click to place a standard stamp (``style.stamp_type``, one of ``STAMP_TYPES``)."""
    if style.stamp_type not in STAMP_TYPES:
        raise ValueError(f"unknown stamp type {style.stamp_type!r}")
    press = yield from wait_for_press()
    if press is None:
        return ToolResult()
    while True:
        event = yield None
        if is_cancel(event):
            return ToolResult()
        if event.kind == "release":
            break
    w, h = STAMP_SIZE
    bbox = Rect(press.point.x - w / 2, press.point.y - h / 2, w, h)
    return ToolResult(
        created=StampAnnotation(
            stamp_type=style.stamp_type,
            color=style.color,
            **common_fields(style, press.page_index, bbox),  # type: ignore[arg-type]
        )
    )
