"""The page view with other layers marked: a dashed outline in the layer's colour.

Another layer's records are drawn by the page view like the user's own (they are in the list
it is given), read-only (its ``editable`` callback says no). This subclass only adds, after
the page view has painted, a dashed frame in the layer's colour around each of them, so the
user can tell them from their own at a glance. It uses the page view's public geometry
(:meth:`PageView.page_rect`, :meth:`PageView.geometry_of`), so it needs no hook inside it.
"""

from __future__ import annotations

from lamina.model.records import Annotation
from lamina.ui.annotation_painter import instant_transform
from lamina.ui.page_view import PageView
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen

LAYER_COLORS = (
    "#EF6C00",
    "#8E24AA",
    "#00897B",
    "#D81B60",
    "#6D4C41",
    "#7CB342",
    "#3949AB",
    "#00ACC1",
)
"""Swatch colours of other layers, in the order the layers are listed (orange first: the
tools draw in red, yellow and blue by default, so a frame stands out from what it frames)."""

_OUTLINE_MARGIN = 3.0
"""Points between a record's box and its layer's frame."""


class LayerPageView(PageView):
    """A :class:`PageView` that frames each record of another layer in that layer's colour."""

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self._layer_marks: dict[int, list[tuple[Annotation, QColor]]] = {}

    def set_layer_marks(self, marks: list[tuple[Annotation, str]]) -> None:
        """Frame these ``(record, layer colour)`` pairs (records of other layers)."""
        by_page: dict[int, list[tuple[Annotation, QColor]]] = {}
        for record, color in marks:
            by_page.setdefault(record.page_index, []).append((record, QColor(color)))
        self._layer_marks = by_page
        self.viewport().update()

    def layer_marks(self) -> list[Annotation]:
        """Return the records framed as another layer's, page by page."""
        return [r for page in sorted(self._layer_marks) for r, _c in self._layer_marks[page]]

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._layer_marks or self.page_count == 0:
            return
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for page in self.visible_pages():
            marks = self._layer_marks.get(page)
            if not marks:
                continue
            rect = self.page_rect(page)
            painter.setTransform(
                instant_transform(self.geometry_of(page), self.zoom, rect.left(), rect.top())
            )
            for record, color in marks:
                pen = QPen(color, 1.5)
                pen.setCosmetic(True)  # the same width in pixels at any zoom
                pen.setStyle(Qt.PenStyle.DashLine)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                box = record.bbox
                m = _OUTLINE_MARGIN
                painter.drawRect(
                    QRectF(box.left - m, box.top - m, box.width + 2 * m, box.height + 2 * m)
                )
        painter.end()
