"""The page view: the page canvas plus the active tool, the selection and pointer input.

Navigation is as in other viewers: Home, End, Space and Shift+Space, the arrow keys,
PageUp/PageDown; panning with the hand tool (``"hand"``), a middle-button drag, or a drag with
Space held.

The view converts each ``QMouseEvent`` once into a :class:`~lamina.model.tools.PointerEvent` in
Instant coordinates (:meth:`PageGeometry.display_to_instant`) and feeds the active tool's
generator; everything else about drawing is in :mod:`lamina.model.tools`, the layout of the
pages in :mod:`lamina.ui.page_layout` and their painting in :mod:`lamina.ui.page_canvas`.
"""

from __future__ import annotations

import unicodedata

from lamina.model.geometry import Point
from lamina.model.tools import (
    DRAWING_TOOLS,
    HANDLE_SIZE,
    PageWord,
    PointerEvent,
    ToolResult,
    ToolSession,
    ToolStyle,
    select_move_resize,
    text_select,
)
from lamina.ui.annotation_painter import paint_annotation, paint_selection
from lamina.ui.page_canvas import MARGIN, PAGE_GAP, PageCanvas, SearchHit
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QNativeGestureEvent,
    QPainter,
    QTabletEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractSlider, QWidget

__all__ = ["MARGIN", "PAGE_GAP", "PageView", "SearchHit", "page_rect_center"]

_SELECTION_FILL = QColor(30, 110, 230, 70)


class PageView(PageCanvas):
    """The pages of a PDF with the tools: draw, select, move and resize, select text.

    Signals:
        record_created(Annotation): a drawing gesture finished with a new record.
        record_changed(Annotation, Annotation): the select tool moved or resized a record
            (before, after).
        selection_changed(object): the selected record id (str) or None.
        text_selection_changed(): the selected words changed.
        link_activated(Destination): the user clicked a link of the PDF (select or hand
            tool, no annotation under the pointer, no drag).
        zoom_changed(float): the zoom (1.0 = 100 %) changed.
        current_page_changed(int): the page at the top of the view changed (0-based).
        first_paint(): the first page tile was painted (used to measure start-up).
    """

    record_created = Signal(object)
    record_changed = Signal(object, object)
    link_activated = Signal(object)
    selection_changed = Signal(object)
    text_selection_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pageView")
        self.viewport().setMouseTracking(True)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.grabGesture(Qt.GestureType.PinchGesture)
        self._tool = "select"
        self._style = ToolStyle()
        self._styles: dict[str, ToolStyle] = {}
        self._session: ToolSession | None = None
        self._text_session: object | None = None
        self._text_page: int | None = None
        self._text_selected: list[int] = []
        self._selected_id: str | None = None
        self._last_point: tuple[int, Point] | None = None
        # Pen pressure (0..1) of the tablet event being handled, None for a mouse.
        self._pen_pressure: float | None = None
        self.read_only = False
        # Panning: the last pointer position of a pan under way (None: no pan), and Space
        # held (a drag then pans; a Space press without a drag pages down).
        self._pan_from: QPointF | None = None
        # A press on a link: where it was, and the link (followed on release without a drag).
        self._link_press: tuple[QPointF, object] | None = None
        self._space_held = False
        self._space_dragged = False

    # -- tools and selection ----------------------------------------------------------------

    @property
    def tool(self) -> str:
        return self._tool

    def set_tool(self, name: str) -> None:
        """Make ``name`` (see :data:`lamina.model.tools.TOOL_NAMES`) the active tool."""
        if self._session is not None:
            self._session.cancel()
            self._session = None
        self._tool = name
        cursor = self._tool_cursor()
        self.viewport().setCursor(cursor)
        self.viewport().update()

    def set_style(self, tool: str, style: ToolStyle) -> None:
        """Set how new annotations of ``tool`` look."""
        self._styles[tool] = style

    def style_for(self, tool: str) -> ToolStyle:
        return self._styles.get(tool, self._style)

    @property
    def selected_id(self) -> str | None:
        return self._selected_id

    def set_selected(self, record_id: str | None) -> None:
        if record_id != self._selected_id:
            self._selected_id = record_id
            self.selection_changed.emit(record_id)
            self.viewport().update()

    def selected_words(self) -> tuple[int | None, list[PageWord]]:
        """Return the page and the words of the text selection."""
        if self._text_page is None:
            return None, []
        words = self.words_of(self._text_page)
        return self._text_page, [words[i] for i in self._text_selected]

    def selected_text(self) -> str:
        """Return the selected words as text: spaced, except between CJK characters."""
        _page, words = self.selected_words()
        parts: list[str] = []
        for word in words:
            if parts and word.text and not (_wide(parts[-1][-1]) and _wide(word.text[0])):
                parts.append(" ")
            parts.append(word.text)
        return "".join(parts)

    def clear_text_selection(self) -> None:
        self._text_page = None
        self._text_selected = []
        self.text_selection_changed.emit()
        self.viewport().update()

    def _drawn_changed(self) -> None:
        if self._selected_id is not None and self.page_of(self._selected_id) is None:
            self.set_selected(None)

    def _excluded_id(self) -> str | None:
        # The record being moved or resized is drawn as its preview, not where it was.
        preview = self._session.preview if self._session is not None else None
        return preview.id if preview is not None else None

    def _paint_page(self, painter: QPainter, page: int) -> None:
        # The record being drawn or moved shows as its preview; then the text selection
        # and the selected record's handles.
        preview = self._session.preview if self._session is not None else None
        self._paint_records(painter, page)
        if preview is not None and preview.page_index == page:
            paint_annotation(painter, preview)
        if self._text_page == page and self._text_selected:
            words = self.words_of(page)
            for i in self._text_selected:
                r = words[i].rect
                painter.fillRect(QRectF(r.left, r.top, r.width, r.height), _SELECTION_FILL)
        if self._selected_id is not None:
            shown = preview if preview is not None and preview.id == self._selected_id else None
            if shown is None:
                shown = next(
                    (a for a in self._annotations.get(page, ()) if a.id == self._selected_id), None
                )
            if shown is not None and shown.page_index == page:
                paint_selection(painter, shown.bbox, HANDLE_SIZE * 1.2)

    # -- input --------------------------------------------------------------------------

    def _pointer(self, kind: str, event: QMouseEvent) -> PointerEvent | None:
        pos = event.position()
        page_hint = self._session_page()
        located = self._locate(pos, clamp_page=page_hint)
        if located is None:
            return None
        page, point = located
        self._last_point = (page, point)
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        pressure = 0.5 if self._pen_pressure is None else self._pen_pressure
        return PointerEvent(kind, page, point, pressure=pressure, shift=shift)  # type: ignore[arg-type]

    def _session_page(self) -> int | None:
        # While a gesture is under way, points outside its page still belong to it (clamped),
        # so a stroke that leaves the page ends at its edge instead of jumping pages.
        if self._session is not None and self._last_point is not None and self._session.preview:
            return self._session.preview.page_index
        if self._text_session is not None and self._text_page is not None:
            return self._text_page
        return None

    # -- panning ------------------------------------------------------------------------

    def _pans(self, event: QMouseEvent) -> bool:
        """Return whether a press starts a pan (middle button, hand tool, Space held)."""
        if event.button() == Qt.MouseButton.MiddleButton:
            return True
        left = event.button() == Qt.MouseButton.LeftButton
        return left and (self._tool == "hand" or self._space_held) and self._session is None

    def _pan_to(self, pos: QPointF) -> None:
        assert self._pan_from is not None
        delta = pos - self._pan_from
        self._pan_from = pos
        self._asked = None  # panning moves on from the page a jump asked for
        self._at_start = False
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() - round(delta.x()))
        v.setValue(v.value() - round(delta.y()))

    def _end_pan(self) -> None:
        self._pan_from = None
        held = self._tool == "hand" or self._space_held
        self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if held else self._tool_cursor())

    def _tool_cursor(self) -> Qt.CursorShape:
        return {
            "select": Qt.CursorShape.ArrowCursor,
            "text": Qt.CursorShape.IBeamCursor,
            "hand": Qt.CursorShape.OpenHandCursor,
        }.get(self._tool, Qt.CursorShape.CrossCursor)

    # -- keys -------------------------------------------------------------------------

    def _navigate(self, event: QKeyEvent) -> bool:
        """Scroll for a navigation key; return whether ``event`` was one."""
        key = event.key()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        v, h = self.verticalScrollBar(), self.horizontalScrollBar()
        self._asked = None  # a key moves on from the page a jump asked for
        action = QAbstractSlider.SliderAction
        if key == Qt.Key.Key_Home:
            self._at_start = False
            v.setValue(v.minimum())
        elif key == Qt.Key.Key_End:
            self._at_start = False
            v.setValue(v.maximum())
        elif key in (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
            self._at_start = False
            down = key == Qt.Key.Key_PageDown
            v.triggerAction(action.SliderPageStepAdd if down else action.SliderPageStepSub)
        elif key == Qt.Key.Key_Down:
            v.triggerAction(action.SliderSingleStepAdd)
        elif key == Qt.Key.Key_Up:
            v.triggerAction(action.SliderSingleStepSub)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            forward = key == Qt.Key.Key_Right
            if h.maximum() > h.minimum():
                h.triggerAction(
                    action.SliderSingleStepAdd if forward else action.SliderSingleStepSub
                )
            else:
                # Nothing to scroll sideways: left and right turn the page, as in Okular.
                self.go_to_page(self.current_page + (1 if forward else -1))
        elif key == Qt.Key.Key_Space and shift:
            v.triggerAction(action.SliderPageStepSub)
        else:
            return False
        self._update_current_page()
        return True

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat() and self._space_held:
            self._space_held = False
            if self._pan_from is None:
                self.viewport().setCursor(self._tool_cursor())
            if not self._space_dragged:
                self.verticalScrollBar().triggerAction(
                    QAbstractSlider.SliderAction.SliderPageStepAdd
                )
                self._update_current_page()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def _link_under(self, event: QMouseEvent) -> object | None:
        """Return the link a left press in select/hand mode should follow, if any."""
        if event.button() != Qt.MouseButton.LeftButton or self._tool not in ("select", "hand"):
            return None
        if self._space_held:
            return None
        link = self.link_at(event.position())
        if link is None:
            return None
        located = self._locate(event.position())
        if located is not None and self._tool == "select":
            page, point = located
            for a in self._annotations.get(page, ()):
                b = a.bbox
                inside = b.left <= point.x <= b.right and b.top <= point.y <= b.bottom
                if inside and a.type != "pspdfkit/link":
                    return None  # the annotation is picked, not the link under it
        return link

    def mousePressEvent(self, event: QMouseEvent) -> None:
        link = self._link_under(event)
        if link is not None:
            self.setFocus()
            self._link_press = (event.position(), link)
            event.accept()
            return
        if self._pans(event):
            self.setFocus()
            self._pan_from = event.position()
            self._space_dragged = True
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self.setFocus()
        pointer = self._pointer("press", event)
        if pointer is None:
            self.set_selected(None)
            return
        if self._tool == "text":
            words = self.words_of(pointer.page_index)
            gen = text_select(words)
            next(gen)
            self._text_session = gen
            self._text_page = pointer.page_index
            self._text_selected = gen.send(pointer)
            self.viewport().update()
            return
        if self._session is None:
            self._session = self._start_session()
        if self._session is not None:
            self._feed(pointer)

    def _start_session(self) -> ToolSession | None:
        if self._tool == "select":
            return ToolSession(
                select_move_resize(self.annotations(), self._selected_id, self._editable)
            )
        factory = DRAWING_TOOLS.get(self._tool)
        if factory is None or self.read_only:
            return None
        return ToolSession(factory(self.style_for(self._tool)))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._link_press is not None:
            return
        if not event.buttons() and self._session is None and self._tool in ("select", "hand"):
            over = self.link_at(event.position()) is not None
            self.viewport().setCursor(
                Qt.CursorShape.PointingHandCursor if over else self._tool_cursor()
            )
        if self._pan_from is not None:
            self._pan_to(event.position())
            return
        if self._text_session is not None:
            pointer = self._pointer("move", event)
            if pointer is not None:
                self._text_selected = self._text_session.send(pointer)  # type: ignore[attr-defined]
                self.viewport().update()
            return
        if self._session is not None:
            pointer = self._pointer("move", event)
            if pointer is not None:
                self._feed(pointer)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._link_press is not None and event.button() == Qt.MouseButton.LeftButton:
            start, link = self._link_press
            self._link_press = None
            moved = event.position() - start
            if abs(moved.x()) + abs(moved.y()) < 6:
                self.link_activated.emit(link.target)  # type: ignore[attr-defined]
            return
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.LeftButton,
            Qt.MouseButton.MiddleButton,
        ):
            self._pan_to(event.position())
            self._end_pan()
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mouseReleaseEvent(event)
        if self._text_session is not None:
            pointer = self._pointer("release", event)
            gen, self._text_session = self._text_session, None
            if pointer is not None:
                try:
                    gen.send(pointer)  # type: ignore[attr-defined]
                except StopIteration as stop:
                    self._text_selected = list(stop.value)
            self.text_selection_changed.emit()
            self.viewport().update()
            return
        if self._session is not None:
            pointer = self._pointer("release", event)
            if pointer is not None:
                self._feed(pointer)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._session is not None and event.button() == Qt.MouseButton.LeftButton:
            pointer = self._pointer("double_click", event)
            if pointer is not None:
                self._feed(pointer)
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        names = {
            Qt.Key.Key_Escape: "Escape",
            Qt.Key.Key_Return: "Enter",
            Qt.Key.Key_Enter: "Enter",
            Qt.Key.Key_Backspace: "Backspace",
        }
        key = names.get(Qt.Key(event.key()))
        if key is not None and self._session is not None and self._last_point is not None:
            page, point = self._last_point
            self._feed(PointerEvent("key", page, point, key=key))
            return
        if key == "Escape":
            self.clear_text_selection()
            self.set_selected(None)
            return
        if self._session is None and self._text_session is None:
            plain_space = event.key() == Qt.Key.Key_Space and not (
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            )
            if plain_space:
                if not event.isAutoRepeat():
                    self._space_held = True
                    self._space_dragged = False
                    self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
                event.accept()
                return  # a drag now pans; released without one, Space pages down
            if self._navigate(event):
                event.accept()
                return
        super().keyPressEvent(event)

    def _feed(self, pointer: PointerEvent) -> None:
        assert self._session is not None
        result = self._session.send(pointer)
        self.viewport().update()
        if result is not None:
            self._session = None
            self._finish(result)

    def _finish(self, result: ToolResult) -> None:
        if self._tool == "select":
            self.set_selected(result.selected)
        if result.created is not None:
            self.record_created.emit(result.created)
        elif result.updated is not None and result.before is not None:
            self.record_changed.emit(result.before, result.updated)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.set_zoom(self._zoom * (1.15**steps), event.position())
            event.accept()
            return
        super().wheelEvent(event)

    def viewportEvent(self, event: object) -> bool:
        if (
            isinstance(event, QNativeGestureEvent)
            and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture
        ):
            self.set_zoom(self._zoom * (1 + event.value()), event.position())
            return True
        if isinstance(event, QTabletEvent) and event.type() in _TABLET_TO_MOUSE:
            self._tablet_event(event)
            return True
        return super().viewportEvent(event)  # type: ignore[arg-type]

    def _tablet_event(self, event: QTabletEvent) -> None:
        """Handle a pen like the mouse, but with its pressure (ink intensities).

        Accepting the tablet event stops Qt from also sending the mouse events it would
        synthesize from it, so each pen point is handled once.
        """
        mouse_type = _TABLET_TO_MOUSE[event.type()]
        button = event.button()
        if mouse_type == QEvent.Type.MouseMove:
            button = Qt.MouseButton.NoButton
            if not event.buttons():
                event.accept()  # the pen hovers: nothing to draw
                return
        mouse = QMouseEvent(
            mouse_type,
            event.position(),
            event.globalPosition(),
            button,
            event.buttons(),
            event.modifiers(),
        )
        self._pen_pressure = max(0.0, min(1.0, event.pressure()))
        try:
            if mouse_type == QEvent.Type.MouseButtonPress:
                self.mousePressEvent(mouse)
            elif mouse_type == QEvent.Type.MouseMove:
                self.mouseMoveEvent(mouse)
            else:
                self.mouseReleaseEvent(mouse)
        finally:
            self._pen_pressure = None
        event.accept()


def _wide(char: str) -> bool:
    """Return whether ``char`` is a CJK (wide) character: such text has no spaces."""
    return unicodedata.east_asian_width(char) in ("W", "F")


_TABLET_TO_MOUSE = {
    QEvent.Type.TabletPress: QEvent.Type.MouseButtonPress,
    QEvent.Type.TabletMove: QEvent.Type.MouseMove,
    QEvent.Type.TabletRelease: QEvent.Type.MouseButtonRelease,
}


def page_rect_center(view: PageView, page: int, point: tuple[float, float]) -> QPoint:
    """Return the viewport pixel (rounded) of an Instant point: what tests click on."""
    p = view.instant_to_viewport(page, point)
    return QPoint(round(p.x()), round(p.y()))
