"""The page view with the eraser tool: drag over ink strokes to delete them whole.

The gesture is :func:`lamina.model.tools.eraser`; this subclass starts it for the
``eraser`` tool and hands what it erased to the window (``records_erased``), which deletes
them as one undo step. Other tools behave as in :class:`~lamina.ui.layer_overlay.LayerPageView`.
"""

from __future__ import annotations

from lamina.model.tools import ToolResult, ToolSession, eraser
from lamina.ui.layer_overlay import LayerPageView
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QWidget


class EraserPageView(LayerPageView):
    """A :class:`LayerPageView` that also erases ink strokes.

    Signals:
        records_erased(object): the ids (a tuple) of the strokes one eraser gesture took.
    """

    records_erased = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

    def set_tool(self, name: str) -> None:
        super().set_tool(name)
        if name == "eraser":
            self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)

    def _start_session(self) -> ToolSession | None:
        if self.tool != "eraser":
            return super()._start_session()
        if self.read_only:
            return None
        return ToolSession(eraser(self.annotations(), self._editable))

    def _finish(self, result: ToolResult) -> None:
        if result.deleted:
            self.records_erased.emit(tuple(a.id for a in result.deleted))
            return
        super()._finish(result)
