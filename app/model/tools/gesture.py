"""The gesture machinery every tool shares: pointer events, styles, results, the session.

A view turns each mouse or tablet event into one :class:`PointerEvent` in Instant
coordinates and sends it into the active tool's generator through a :class:`ToolSession`;
the helpers at the end are the building blocks the tools in this package use.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal, TypeAlias

from lamina.model.geometry import Point, Rect
from lamina.model.ids import new_record_id
from lamina.model.records import Annotation

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

    At most one of ``created`` / ``updated`` / ``deleted`` is set for a gesture that changed
    something; none is when it was cancelled or too small to mean anything. ``selected`` is the id
    the select tool picked (it may select without moving). ``before`` is the record as it was
    before an update, for undo.
    """

    created: Annotation | None = None
    updated: Annotation | None = None
    before: Annotation | None = None
    selected: str | None = None
    deleted: tuple[Annotation, ...] = ()
    """What the eraser took away (one undo step for the whole gesture)."""

    @property
    def changed(self) -> bool:
        """Tell whether the gesture created, changed or deleted a record."""
        return self.created is not None or self.updated is not None or bool(self.deleted)


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


def is_cancel(event: PointerEvent) -> bool:
    return event.kind == "key" and event.key == "Escape"


def common_fields(style: ToolStyle, page_index: int, bbox: Rect) -> dict[str, object]:
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


def wait_for_press() -> Generator[None, PointerEvent, PointerEvent | None]:
    """Yield until a press arrives; return it (None when cancelled)."""
    while True:
        event = yield None
        if is_cancel(event):
            return None
        if event.kind == "press":
            return event


def constrain_45(start: Point, end: Point) -> Point:
    """Snap ``end`` so the segment from ``start`` is a multiple of 45 degrees (Shift)."""
    dx, dy = end.x - start.x, end.y - start.y
    length = math.hypot(dx, dy)
    angle = round(math.atan2(dy, dx) / (math.pi / 4)) * (math.pi / 4)
    return Point(start.x + length * math.cos(angle), start.y + length * math.sin(angle))
