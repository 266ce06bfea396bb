"""Small colour swatches: the icons of layers, annotations and colour buttons."""

from __future__ import annotations

from PySide6.QtGui import QColor, QIcon, QPixmap


def color_icon(color: str, size: int = 14) -> QIcon:
    """Return a square icon filled with ``color`` (``#RRGGBB``)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)
