"""Flat scroll bars for the page view: the bar moves on every scrolled frame.

Fusion (Qt's style where the desktop names none, and the offscreen platform's) paints a
scroll bar with gradients: about 1.1 ms a paint for the page view's 800-pixel bar, most of a
scrolled frame when the page itself is painted from cached tiles in 0.2 ms (``bench/ui.py``).
:class:`FlatScrollBarStyle` paints the groove, the handle and the arrows flat, in the widget's
palette (so dark mode follows), and leaves every size, hit test and behaviour to the
application's style.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QProxyStyle,
    QScrollBar,
    QStyle,
    QStyleOption,
    QStyleOptionComplex,
    QStyleOptionSlider,
    QWidget,
)

_ARROWS = {  # the arrow of each end button: on a vertical bar, on a horizontal one
    QStyle.SubControl.SC_ScrollBarSubLine: (
        QStyle.PrimitiveElement.PE_IndicatorArrowUp,
        QStyle.PrimitiveElement.PE_IndicatorArrowLeft,
    ),
    QStyle.SubControl.SC_ScrollBarAddLine: (
        QStyle.PrimitiveElement.PE_IndicatorArrowDown,
        QStyle.PrimitiveElement.PE_IndicatorArrowRight,
    ),
}


class FlatScrollBarStyle(QProxyStyle):
    """The application's style, with scroll bars painted flat (see the module docstring)."""

    def drawComplexControl(
        self,
        control: QStyle.ComplexControl,
        option: QStyleOptionComplex,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        if control != QStyle.ComplexControl.CC_ScrollBar or not isinstance(
            option, QStyleOptionSlider
        ):
            super().drawComplexControl(control, option, painter, widget)
            return
        palette = option.palette
        painter.fillRect(option.rect, palette.color(QPalette.ColorRole.Window))
        handle = self.subControlRect(control, option, QStyle.SubControl.SC_ScrollBarSlider, widget)  # type: ignore[arg-type]
        if option.maximum > option.minimum and handle.isValid():
            pressed = option.activeSubControls & QStyle.SubControl.SC_ScrollBarSlider and (
                option.state & QStyle.StateFlag.State_Sunken
            )
            role = QPalette.ColorRole.Dark if pressed else QPalette.ColorRole.Mid
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(role))
            painter.drawRoundedRect(handle.adjusted(2, 2, -2, -2), 3, 3)
            painter.restore()
        vertical = option.orientation == Qt.Orientation.Vertical
        for sub, (if_vertical, if_horizontal) in _ARROWS.items():
            if not option.subControls & sub:
                continue
            rect = self.subControlRect(control, option, sub, widget)  # type: ignore[arg-type]
            if rect.isValid():
                self._arrow(if_vertical if vertical else if_horizontal, option, rect, painter)

    def _arrow(
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOptionSlider,
        rect: QRect,
        painter: QPainter,
    ) -> None:
        arrow = QStyleOption(option)
        arrow.rect = rect.adjusted(3, 3, -3, -3)
        self.drawPrimitive(element, arrow, painter)


def flatten(*bars: QScrollBar) -> FlatScrollBarStyle:
    """Paint ``bars`` flat; return the style, which the caller must keep while they live."""
    style = FlatScrollBarStyle()
    for bar in bars:
        bar.setStyle(style)
    return style
