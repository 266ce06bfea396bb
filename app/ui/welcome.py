"""The welcome page shown when no document is open."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


class WelcomePage(QWidget):
    """Three ways in: open a PDF, try the sample review, join a review.

    Signals:
        open_requested(): "Open PDF…" was clicked.
        sample_requested(): "Try the sample review" was clicked.
        join_requested(): "Join review…" was clicked.
    """

    open_requested = Signal()
    sample_requested = Signal()
    join_requested = Signal()

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
