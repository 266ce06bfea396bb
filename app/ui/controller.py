"""The app controller: windows, preferences, joining and hosting reviews."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from PySide6.QtCore import QObject, QSettings
from PySide6.QtWidgets import QInputDialog, QLineEdit

from app.model.errors import LaminaError
from app.ui.main_window import MainWindow

log = logging.getLogger(__name__)


class AppController(QObject):
    """Owns the app's windows and what outlives one window (a hosted review server).

    Signals: none.
    """

    def __init__(self, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.windows: list[MainWindow] = []
        self.server: Any = None

    def new_window(self) -> MainWindow:
        window = MainWindow(self.settings)
        window.welcome.join_requested.connect(lambda: self.ask_join(window))
        window.welcome.sample_requested.connect(lambda: self.start_sample_review(window))
        window.destroyed.connect(
            lambda *_: self.windows.remove(window) if window in self.windows else None
        )
        self.windows.append(window)
        return window

    def ask_join(self, window: MainWindow) -> None:
        link, ok = QInputDialog.getText(
            window,
            "Join review",
            "Paste the invite link (lamina://join?…):",
            QLineEdit.EchoMode.Normal,
        )
        if ok and link.strip():
            self.join(window, link.strip())

    def join(self, window: MainWindow, link: str) -> None:
        """Open the review an invite link points to, in ``window``."""
        from app.auth.invite import parse_invite_link

        try:
            parse_invite_link(link)
        except LaminaError as exc:
            window.show_error("Cannot join this review", str(exc))
            return
        client = importlib.import_module("app.client")
        if getattr(client, "open_invite", None) is None:
            window.show_error("Cannot join this review", "this build cannot join reviews yet")
            return
        window.show_error("Cannot join this review", "joining is not wired up yet")

    def start_sample_review(self, window: MainWindow) -> None:
        window.show_error(
            "Sample review unavailable", "the bundled review server is not available in this build"
        )

    def shutdown(self) -> None:
        for window in list(self.windows):
            window.close_document()
