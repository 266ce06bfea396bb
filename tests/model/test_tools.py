"""Drawing tools driven headless by pointer events in Instant coordinates."""

from __future__ import annotations

import pytest
from lamina.model.geometry import Point, Rect
from lamina.model.records import (
    EllipseAnnotation,
    HighlightAnnotation,
    InkAnnotation,
    LineAnnotation,
    NoteAnnotation,
    PolygonAnnotation,
    PolylineAnnotation,
    RectangleAnnotation,
    SquigglyAnnotation,
    StampAnnotation,
    TextAnnotation,
    record_from_json,
    record_to_json,
)
from lamina.model.tools import (
    PageWord,
    PointerEvent,
    ToolSession,
    ToolStyle,
    arrow,
    ellipse,
    free_text,
    highlighter_pen,
    ink_pen,
    line,
    line_rects,
    polygon,
    polyline,
    rectangle,
    select_move_resize,
    select_words,
    stamp,
    sticky_note,
    text_markup,
    text_select,
)

STYLE = ToolStyle(color="#112233", width=3.0, creator_name="Ann")


def ev(kind: str, x: float, y: float, page: int = 0, **kw: object) -> PointerEvent:
    return PointerEvent(kind, page, Point(x, y), **kw)  # type: ignore[arg-type]


def drag(session: ToolSession, points: list[tuple[float, float]], page: int = 0):
    session.send(ev("press", *points[0], page=page))
    for p in points[1:-1]:
        session.send(ev("move", *p, page=page))
    return session.send(ev("release", *points[-1], page=page))


def test_ink_stroke_keeps_every_dragged_point_and_round_trips() -> None:
    session = ToolSession(ink_pen(STYLE))
    result = drag(session, [(10, 10), (20, 15), (30, 30), (40, 30)], page=2)
    assert result is not None and isinstance(result.created, InkAnnotation)
    ink = result.created
    assert ink.page_index == 2
    assert ink.lines.points == ((Point(10, 10), Point(20, 15), Point(30, 30), Point(40, 30)),)
    assert ink.stroke_color == "#112233" and ink.line_width == 3.0
    assert ink.creator_name == "Ann"
    assert ink.bbox.contains((10, 10)) and ink.bbox.contains((40, 30))
    assert record_from_json(record_to_json(ink)) == ink


def test_ink_preview_grows_while_dragging_and_escape_cancels() -> None:
    session = ToolSession(ink_pen(STYLE))
    session.send(ev("press", 0, 0))
    session.send(ev("move", 5, 5))
    assert isinstance(session.preview, InkAnnotation)
    assert len(session.preview.lines.points[0]) == 2
    result = session.send(PointerEvent("key", 0, Point(5, 5), key="Escape"))
    assert result is not None and not result.changed


def test_highlighter_is_wide_translucent_multiply() -> None:
    result = drag(ToolSession(highlighter_pen(STYLE)), [(0, 0), (50, 0)])
    assert result is not None and isinstance(result.created, InkAnnotation)
    assert result.created.blend_mode == "multiply"
    assert result.created.line_width >= 12
    assert result.created.effective_opacity < 1


@pytest.mark.parametrize(
    ("tool", "cls"), [(rectangle, RectangleAnnotation), (ellipse, EllipseAnnotation)]
)
def test_box_shapes_span_the_drag_in_any_direction(tool, cls) -> None:
    result = drag(ToolSession(tool(STYLE)), [(100, 80), (60, 70), (40, 20)])
    assert result is not None and isinstance(result.created, cls)
    assert result.created.bbox == Rect(40, 20, 60, 60)
    assert result.created.stroke_color == "#112233"


def test_shift_makes_a_square() -> None:
    session = ToolSession(rectangle(STYLE))
    session.send(ev("press", 0, 0))
    result = session.send(ev("release", 30, 10, shift=True))
    assert result is not None and result.created is not None
    assert result.created.bbox == Rect(0, 0, 30, 30)


def test_a_click_with_a_shape_tool_creates_nothing() -> None:
    result = drag(ToolSession(rectangle(STYLE)), [(5, 5), (5.5, 5)])
    assert result is not None and not result.changed


def test_line_and_arrow() -> None:
    result = drag(ToolSession(line(STYLE)), [(0, 0), (100, 50)])
    assert result is not None and isinstance(result.created, LineAnnotation)
    assert result.created.line_caps is None
    assert (result.created.start_point, result.created.end_point) == (Point(0, 0), Point(100, 50))
    result = drag(ToolSession(arrow(STYLE, "closedArrow")), [(0, 0), (100, 50)])
    assert result is not None and isinstance(result.created, LineAnnotation)
    assert result.created.line_caps == {"end": "closedArrow"}


def test_polyline_ends_on_double_click_and_polygon_on_enter() -> None:
    session = ToolSession(polyline(STYLE))
    for x, y in [(0, 0), (10, 0), (10, 10)]:
        session.send(ev("press", x, y))
        session.send(ev("release", x, y))
    session.send(ev("move", 20, 20))
    assert isinstance(session.preview, PolylineAnnotation)
    assert session.preview.points[-1] == Point(20, 20)
    result = session.send(ev("double_click", 10, 10))
    assert result is not None and isinstance(result.created, PolylineAnnotation)
    assert result.created.points == (Point(0, 0), Point(10, 0), Point(10, 10))

    session = ToolSession(polygon(STYLE))
    for x, y in [(0, 0), (10, 0), (10, 10), (0, 10)]:
        session.send(ev("press", x, y))
        session.send(ev("release", x, y))
    session.send(PointerEvent("key", 0, Point(0, 10), key="Backspace"))
    result = session.send(PointerEvent("key", 0, Point(0, 10), key="Enter"))
    assert result is not None and isinstance(result.created, PolygonAnnotation)
    assert len(result.created.points) == 3


def test_polygon_with_two_points_is_not_a_polygon() -> None:
    session = ToolSession(polygon(STYLE))
    session.send(ev("press", 0, 0))
    session.send(ev("press", 10, 0))
    result = session.send(ev("double_click", 10, 0))
    assert result is not None and not result.changed


def test_click_to_place_tools() -> None:
    result = drag(ToolSession(free_text(STYLE, "hello")), [(50, 60), (50, 60)])
    assert result is not None and isinstance(result.created, TextAnnotation)
    assert result.created.bbox.left == 50 and result.created.text.value == "hello"
    result = drag(ToolSession(sticky_note(STYLE)), [(50, 60), (50, 60)])
    assert result is not None and isinstance(result.created, NoteAnnotation)
    assert result.created.bbox.contains((50, 60))
    result = drag(ToolSession(stamp(ToolStyle(stamp_type="Draft"))), [(200, 100), (200, 100)])
    assert result is not None and isinstance(result.created, StampAnnotation)
    assert result.created.stamp_type == "Draft"
    with pytest.raises(ValueError, match="unknown stamp type"):
        ToolSession(stamp(ToolStyle(stamp_type="Nope")))


WORDS = [
    PageWord("Hello", Rect(10, 10, 30, 10)),
    PageWord("brave", Rect(45, 10, 30, 10)),
    PageWord("new", Rect(80, 10, 20, 10)),
    PageWord("world", Rect(10, 25, 30, 10)),
    PageWord("again", Rect(45, 25, 30, 10)),
]


def test_text_selection_runs_in_reading_order_across_lines() -> None:
    assert select_words(WORDS, Point(50, 15), Point(20, 30)) == [1, 2, 3]
    gen = text_select(WORDS)
    next(gen)
    gen.send(ev("press", 50, 15))
    assert gen.send(ev("move", 85, 15)) == [1, 2]
    with pytest.raises(StopIteration) as stop:
        gen.send(ev("release", 85, 15))
    assert stop.value.value == [1, 2]


def test_markup_gets_one_rect_per_line() -> None:
    selected = [WORDS[i] for i in (1, 2, 3)]
    assert line_rects(w.rect for w in selected) == (Rect(45, 10, 55, 10), Rect(10, 25, 30, 10))
    mark = text_markup("highlight", 3, selected, STYLE)
    assert isinstance(mark, HighlightAnnotation)
    assert mark.page_index == 3 and mark.rects == (Rect(45, 10, 55, 10), Rect(10, 25, 30, 10))
    assert mark.bbox == Rect(10, 10, 90, 25)
    assert isinstance(text_markup("squiggly", 0, selected, STYLE), SquigglyAnnotation)
    with pytest.raises(ValueError, match="select some text"):
        text_markup("underline", 0, [], STYLE)


def _rect_at(x: float, y: float) -> RectangleAnnotation:
    return RectangleAnnotation(id="r1", page_index=0, bbox=Rect(x, y, 20, 10))  # type: ignore[arg-type]


def test_select_then_move_then_resize() -> None:
    shapes = [_rect_at(100, 100)]
    result = drag(ToolSession(select_move_resize(shapes)), [(105, 105), (105, 105)])
    assert result is not None and result.selected == "r1" and not result.changed

    result = drag(ToolSession(select_move_resize(shapes, "r1")), [(110, 105), (130, 135)])
    assert result is not None and result.updated is not None
    assert result.updated.bbox == Rect(120, 130, 20, 10)
    assert result.before == shapes[0]

    result = drag(ToolSession(select_move_resize(shapes, "r1")), [(120, 110), (140, 120)])
    assert result is not None and result.updated is not None
    assert result.updated.bbox == Rect(100, 100, 40, 20)


def test_select_moves_the_points_of_an_ink_stroke_and_respects_can_edit() -> None:
    ink = drag(ToolSession(ink_pen(STYLE)), [(10, 10), (30, 30)])
    assert ink is not None and ink.created is not None
    result = drag(ToolSession(select_move_resize([ink.created])), [(20, 20), (30, 25)])
    assert result is not None and isinstance(result.updated, InkAnnotation)
    assert result.updated.lines.points[0] == (Point(20, 15), Point(40, 35))

    locked = drag(
        ToolSession(select_move_resize([ink.created], can_edit=lambda a: False)),
        [(20, 20), (30, 25)],
    )
    assert locked is not None and not locked.changed and locked.selected == ink.created.id


def test_a_click_on_nothing_clears_the_selection() -> None:
    result = drag(ToolSession(select_move_resize([_rect_at(0, 0)], "r1")), [(300, 300), (300, 300)])
    assert result is not None and result.selected is None
