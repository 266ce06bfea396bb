"""The status bar field that names who else is here, shortened to the room it is given."""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

_DOT = "\u25cf"


class PresenceLabel(QLabel):
    """Show "Here: ● Ann, ● Bob" with each person's colour, in whatever width is left.

    It is the least important field of the status bar, so it gives way first: its width is
    what the other fields leave over, and when the names do not fit it shows as many as fit
    and "+N more" (or only "N here"). The tooltip always lists everyone.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        # Ignored: the layout gives this field only the room the others do not need.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._people: list[tuple[str, str]] = []

    def set_people(self, people: Sequence[tuple[str, str]]) -> None:
        """Show ``people`` as (name, colour) pairs, in order."""
        self._people = list(people)
        self.setToolTip("\n".join(f"{name} ({color})" for name, color in self._people))
        self._fit()

    def shortest_width(self) -> int:
        """Return the width of the shortest form ("N here"; 0 when nobody else is here)."""
        if not self._people:
            return 0
        margins = self.contentsMargins()
        text = f"{len(self._people)} here"
        return self.fontMetrics().horizontalAdvance(text) + margins.left() + margins.right() + 2

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        people = self._people
        if not people:
            self.setText("")
            return
        room = self.contentsRect().width()
        metrics = self.fontMetrics()
        for shown in range(len(people), 0, -1):
            rest = len(people) - shown
            plain = "Here: " + ", ".join(f"{_DOT} {name}" for name, _c in people[:shown])
            more = f" +{rest} more" if rest else ""
            if metrics.horizontalAdvance(plain + more) <= room:
                rich = "Here: " + ", ".join(
                    f'<span style="color:{html.escape(color)}">{_DOT}</span> {html.escape(name)}'
                    for name, color in people[:shown]
                )
                self.setText(rich + html.escape(more))
                return
        count = f"{len(people)} here"
        self.setText(count if metrics.horizontalAdvance(count) <= room else "")
