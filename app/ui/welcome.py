"""The welcome page shown when no document is open."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


class WelcomePage(QWidget):
    """Three ways in: open a PDF, try the sample review, join a review.

    Signals:
        open_requested(): "Open PDF…" was clicked.
        sample_requested(): "Try the sample review" was clicked.
        join_requested(): "Join review…" was clicked.
        recent_chosen(str): a recent file was clicked; its path.
    """

    open_requested = Signal()
    sample_requested = Signal()
    join_requested = Signal()
    recent_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePage")
        layout = QVBoxLayout(self)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("<h1>Welcome to Lamina</h1>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        intro = QLabel(
            "Annotate PDFs on your own, or review them together live —\n"
            "your work is saved as you go and syncs when you are back online."
        )
        intro.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(intro)
        layout.addSpacing(20)
        self.open_button = QPushButton("Open PDF…")
        self.open_button.setObjectName("welcomeOpen")
        self.sample_button = QPushButton("Try the sample review")
        self.sample_button.setObjectName("welcomeSample")
        self.sample_button.setToolTip(
            "Opens a sample PDF in two windows connected through a review server on this "
            "computer: draw in one, watch it appear in the other."
        )
        self.join_button = QPushButton("Join review…")
        self.join_button.setObjectName("welcomeJoin")
        for button, signal in (
            (self.open_button, self.open_requested),
            (self.sample_button, self.sample_requested),
            (self.join_button, self.join_requested),
        ):
            button.setMinimumSize(260, 44)
            button.clicked.connect(signal.emit)
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(24)
        self.recent_title = QLabel("<b>Recent files</b>")
        self.recent_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.recent_title)
        self._recent_box = QVBoxLayout()
        layout.addLayout(self._recent_box)
        self.recent_buttons: list[QPushButton] = []
        self.set_recent([])

    def set_recent(self, paths: list[str], limit: int = 5) -> None:
        """Offer the most recent files (full path in the tooltip); none: hide the list."""
        for button in self.recent_buttons:
            self._recent_box.removeWidget(button)
            button.deleteLater()
        self.recent_buttons = []
        for path in paths[:limit]:
            button = QPushButton(Path(path).name)
            button.setObjectName("welcomeRecent")
            button.setFlat(True)
            button.setToolTip(path)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, p=path: self.recent_chosen.emit(p))
            self._recent_box.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
            self.recent_buttons.append(button)
        self.recent_title.setVisible(bool(self.recent_buttons))
