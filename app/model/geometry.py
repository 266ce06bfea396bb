"""Page geometry in Instant JSON space: PDF points, origin top-left, y down, unrotated page."""

from collections.abc import Iterable
from typing import NamedTuple


class Point(NamedTuple):
    """A point ``[x, y]`` in points."""

    x: float
    y: float


class Rect(NamedTuple):
    """A rectangle ``[left, top, width, height]`` in points (Instant JSON's ``bbox``)."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @classmethod
    def from_edges(cls, left: float, top: float, right: float, bottom: float) -> "Rect":
        """Build a rectangle from its edges, in any order."""
        x0, x1 = sorted((left, right))
        y0, y1 = sorted((top, bottom))
        return cls(x0, y0, x1 - x0, y1 - y0)

    @classmethod
    def bounding(cls, points: Iterable[tuple[float, float]], pad: float = 0.0) -> "Rect":
        """Return the smallest rectangle holding ``points``, grown by ``pad`` on every side.

        Raises:
            ValueError: ``points`` is empty.
        """
        xs: list[float] = []
        ys: list[float] = []
        for x, y in points:
            xs.append(x)
            ys.append(y)
        if not xs:
            raise ValueError("cannot bound an empty set of points")
        return cls.from_edges(min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)

    def union(self, other: "Rect") -> "Rect":
        """Return the smallest rectangle holding both."""
        return Rect.from_edges(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def intersects(self, other: "Rect") -> bool:
        """Tell whether the two rectangles overlap (touching edges do not count)."""
        return (
            self.left < other.right
            and other.left < self.right
            and self.top < other.bottom
            and other.top < self.bottom
        )

    def contains(self, point: tuple[float, float]) -> bool:
        """Tell whether ``point`` lies inside or on the edge."""
        x, y = point
        return self.left <= x <= self.right and self.top <= y <= self.bottom

    def translated(self, dx: float, dy: float) -> "Rect":
        return Rect(self.left + dx, self.top + dy, self.width, self.height)

    def inflated(self, pad: float) -> "Rect":
        return Rect(self.left - pad, self.top - pad, self.width + 2 * pad, self.height + 2 * pad)
