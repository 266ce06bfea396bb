"""Rectangles in Instant JSON space."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lamina.model.geometry import Point, Rect

_n = st.floats(-1e4, 1e4, allow_nan=False)


def test_edges_in_any_order_give_the_same_rect() -> None:
    assert Rect.from_edges(10, 20, 0, 5) == Rect(0, 5, 10, 15)
    assert Rect(0, 5, 10, 15).right == 10 and Rect(0, 5, 10, 15).bottom == 20


def test_bounding_box_of_a_stroke_with_padding() -> None:
    assert Rect.bounding([(1, 2), (5, -1), (3, 4)], pad=1) == Rect(0, -2, 6, 7)
    with pytest.raises(ValueError, match="empty"):
        Rect.bounding([])


@given(_n, _n, _n, _n, _n, _n, _n, _n)
def test_union_holds_both(
    a: float, b: float, c: float, d: float, e: float, f: float, g: float, h: float
) -> None:
    r1, r2 = Rect.from_edges(a, b, c, d), Rect.from_edges(e, f, g, h)
    u = r1.union(r2)
    for r in (r1, r2):
        assert u.left <= r.left and u.top <= r.top
        assert u.right >= r.right - 1e-6 and u.bottom >= r.bottom - 1e-6


def test_intersection_and_containment() -> None:
    r = Rect(0, 0, 10, 10)
    assert r.intersects(Rect(5, 5, 10, 10))
    assert not r.intersects(Rect(10, 0, 5, 5))  # touching is not overlapping
    assert r.contains(Point(10, 10)) and not r.contains((10.1, 5))
    assert r.inflated(2) == Rect(-2, -2, 14, 14)
    assert r.translated(1, -1) == Rect(1, -1, 10, 10)
