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

The package splits by job: :mod:`~lamina.model.tools.gesture` (events, style, result, the
session), :mod:`~lamina.model.tools.drawing` (tools that create a record),
:mod:`~lamina.model.tools.text` (text selection and markup),
:mod:`~lamina.model.tools.selection` (select, move, resize), :mod:`~lamina.model.tools.eraser`
(whole ink strokes). Every public name stays importable from ``lamina.model.tools``.
"""

from __future__ import annotations

from collections.abc import Callable

from lamina.model.tools.drawing import (
    FREE_TEXT_DEFAULT_SIZE,
    HIGHLIGHTER_MIN_WIDTH,
    HIGHLIGHTER_OPACITY,
    NOTE_SIZE,
    STAMP_SIZE,
    arrow,
    ellipse,
    free_text,
    highlighter_pen,
    ink_pen,
    line,
    polygon,
    polyline,
    rectangle,
    stamp,
    sticky_note,
)
from lamina.model.tools.eraser import ERASER_RADIUS, eraser, touches
from lamina.model.tools.gesture import (
    MIN_DRAG,
    EventKind,
    PointerEvent,
    ToolGenerator,
    ToolResult,
    ToolSession,
    ToolStyle,
)
from lamina.model.tools.selection import (
    HANDLE_SIZE,
    MIN_SIZE,
    Handle,
    handle_at,
    hit_test,
    moved,
    resized,
    select_move_resize,
)
from lamina.model.tools.text import (
    MARKUP_CLASSES,
    MARKUP_DEFAULT_COLORS,
    MarkupKind,
    PageWord,
    line_rects,
    select_words,
    text_markup,
    text_select,
)

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
    "eraser",
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

__all__ = [
    "DRAWING_TOOLS",
    "ERASER_RADIUS",
    "FREE_TEXT_DEFAULT_SIZE",
    "HANDLE_SIZE",
    "HIGHLIGHTER_MIN_WIDTH",
    "HIGHLIGHTER_OPACITY",
    "MARKUP_CLASSES",
    "MARKUP_DEFAULT_COLORS",
    "MIN_DRAG",
    "MIN_SIZE",
    "NOTE_SIZE",
    "STAMP_SIZE",
    "TOOL_NAMES",
    "EventKind",
    "Handle",
    "MarkupKind",
    "PageWord",
    "PointerEvent",
    "ToolGenerator",
    "ToolResult",
    "ToolSession",
    "ToolStyle",
    "arrow",
    "ellipse",
    "eraser",
    "free_text",
    "handle_at",
    "highlighter_pen",
    "hit_test",
    "ink_pen",
    "line",
    "line_rects",
    "moved",
    "polygon",
    "polyline",
    "rectangle",
    "resized",
    "select_move_resize",
    "select_words",
    "stamp",
    "sticky_note",
    "text_markup",
    "text_select",
    "touches",
]
