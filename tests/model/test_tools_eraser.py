"""The eraser tool: whole ink strokes dragged over, one result; other types left alone."""

from __future__ import annotations

from lamina.model.geometry import Point, Rect
from lamina.model.records import InkAnnotation, InkLines, RectangleAnnotation
from lamina.model.tools import PointerEvent, ToolSession, eraser, touches


def ink(rid: str, points: list[tuple[float, float]], page: int = 0) -> InkAnnotation:
    pts = tuple(Point(x, y) for x, y in points)
    return InkAnnotation(
        id=rid,
        page_index=page,
        bbox=Rect.bounding(pts, pad=1),
        lines=InkLines((pts,), None),
        line_width=2.0,
        stroke_color="#000000",
    )


def ev(kind: str, x: float, y: float, page: int = 0, **kw: object) -> PointerEvent:
    return PointerEvent(kind, page, Point(x, y), **kw)  # type: ignore[arg-type]


A = ink("a", [(10, 10), (100, 10)])  # horizontal at y=10
B = ink("b", [(10, 50), (100, 50)])  # horizontal at y=50
C = ink("c", [(10, 90), (100, 90)], page=1)  # same place, another page
BOX = RectangleAnnotation(id="r", page_index=0, bbox=Rect(40, 5, 20, 50))


def test_a_drag_across_two_strokes_erases_both_whole_and_nothing_else() -> None:
    session = ToolSession(eraser([A, B, C, BOX]))
    session.send(ev("press", 50, 0))
    session.send(ev("move", 50, 30))
    result = session.send(ev("release", 50, 60))
    assert result is not None and result.changed
    assert [a.id for a in result.deleted] == ["a", "b"]  # not the rectangle, not page 2


def test_touch_counts_the_stroke_width_and_misses_beside_it() -> None:
    assert touches(A, Point(55, 16))  # 6 pt radius + 1 pt half width: 7 pt
    assert not touches(A, Point(55, 18))
    assert not touches(A, Point(120, 10))


def test_escape_cancels_and_a_protected_stroke_is_passed_over() -> None:
    session = ToolSession(eraser([A, B]))
    session.send(ev("press", 50, 10))
    result = session.send(ev("key", 50, 10, key="Escape"))
    assert result is not None and not result.changed

    protected = ToolSession(eraser([A, B], can_delete=lambda a: a.id != "a"))
    protected.send(ev("press", 50, 10))
    done = protected.send(ev("release", 50, 50))
    assert done is not None and [a.id for a in done.deleted] == ["b"]
