"""Text selection by dragging over a page's words, and the text markup made from it."""

from __future__ import annotations

import math
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from lamina.model.geometry import Point, Rect
from lamina.model.records import (
    HighlightAnnotation,
    MarkupAnnotation,
    SquigglyAnnotation,
    StrikeOutAnnotation,
    UnderlineAnnotation,
)
from lamina.model.tools.gesture import MIN_DRAG, PointerEvent, ToolStyle, common_fields, is_cancel


@dataclass(frozen=True)
class PageWord:
    """A word on a page, in reading order, with its rectangle in Instant coordinates."""

    text: str
    rect: Rect


def _nearest_word(words: Sequence[PageWord], point: Point) -> int:
    columns = _in_columns(words)

    def distance(i: int) -> float:
        r = words[i].rect
        dx = max(r.left - point.x, 0.0, point.x - r.right)
        dy = max(r.top - point.y, 0.0, point.y - r.bottom)
        # Being on the word's line matters more than being near it along the line; in
        # vertical writing the line is a column, so across it is horizontal.
        return 4 * dx + dy if columns[i] else dx + 4 * dy

    return min(range(len(words)), key=distance)


def _in_columns(words: Sequence[PageWord]) -> list[bool]:
    """Return, per word, whether it is written in a column (vertical CJK text): a narrow
    word stacked on its neighbour in reading order, in the same column."""
    out = []
    for i, word in enumerate(words):
        r = word.rect
        narrow = r.width <= 1.5 * r.height
        out.append(
            narrow
            and any(_stacked(r, words[j].rect) for j in (i - 1, i + 1) if 0 <= j < len(words))
        )
    return out


def _stacked(a: Rect, b: Rect) -> bool:
    across = min(a.right, b.right) - max(a.left, b.left)
    along = min(a.bottom, b.bottom) - max(a.top, b.top)
    gap = -along  # the space between them, top to bottom
    return (
        across > 0.5 * min(a.width, b.width)
        and along < 0.5 * min(a.height, b.height)
        and gap < 0.5 * min(a.height, b.height)
    )


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
        if is_cancel(event):
            return []
        if event.kind == "press":
            press = event
    while True:
        event = yield selected
        if is_cancel(event):
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
    fields = common_fields(style, page_index, bbox)
    if kind == "highlight":
        fields["blend_mode"] = "multiply"
    return cls(
        rects=rects,
        color=color or MARKUP_DEFAULT_COLORS[kind],
        **fields,  # type: ignore[arg-type]
    )
