"""The app controller: windows, joining reviews, hosting reviews and the sample review."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lamina.assets import resource_path
from lamina.client.backoff import Backoff
from lamina.model.errors import LaminaError
from lamina.pdf import PdfError
from lamina.server.errors import DocumentNotFoundError
from lamina.ui.documents import OpenDocuments
from lamina.ui.hosting import PRESETS_BY_KEY, LocalReviewServer
from lamina.ui.main_window import MAX_MIN_WIDTH, MainWindow
from PySide6.QtCore import QObject, QRect, QSettings, QTimer
from PySide6.QtWidgets import QInputDialog, QLineEdit


class AppController(QObject):
    """Owns the app's windows and what outlives one window (open documents, hosted server).

    Args:
        settings: the app's settings.
        backoff: reconnect delays of joined reviews (None: the client's default).

    Signals: none.
    """

    def __init__(
        self,
        settings: QSettings,
        parent: QObject | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.backoff = backoff
        self.documents = OpenDocuments()
        """The client documents the windows have open (and those still closing)."""
        self.windows: list[MainWindow] = []
        self.server: LocalReviewServer | None = None
        self.dialogs: list[QObject] = []
        self._all_closed: asyncio.Event | None = None

    def new_window(self) -> MainWindow:
        window = MainWindow(self.settings, self.documents)
        window.layer_host = self
        window.welcome.join_requested.connect(lambda: self.ask_join(window))
        window.welcome.sample_requested.connect(lambda: self.start_sample_review(window))
        window.join_action.triggered.connect(lambda: self.ask_join(window))
        window.host_action.triggered.connect(lambda: self.host_review(window))
        window.preferences_changed.connect(lambda: self.apply_preferences(window))
        window.closed.connect(self._check_closed)
        window.destroyed.connect(
            lambda *_: self.windows.remove(window) if window in self.windows else None
        )
        self.windows.append(window)
        return window

    def _check_closed(self) -> None:
        # A closing window is still visible while its closeEvent runs: look after it.
        QTimer.singleShot(0, self._check_closed_now)

    def _check_closed_now(self) -> None:
        if not any(w.isVisible() for w in self.windows) and self._all_closed is not None:
            self._all_closed.set()

    async def wait_closed(self) -> None:
        """Wait until every window of the app is closed (the app then ends)."""
        self._all_closed = asyncio.Event()
        self._check_closed_now()
        await self._all_closed.wait()

    def apply_preferences(self, source: MainWindow | None = None) -> None:
        """Apply the saved Preferences to every open window but ``source`` (which did)."""
        for window in self.windows:
            if window is not source:
                window.apply_preferences()

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
        window.open_review(link, backoff=self.backoff)

    # -- hosting ----------------------------------------------------------------------

    def hosts(self, document_id: str) -> bool:
        """Return whether this app hosts ``document_id`` (its windows may create layers)."""
        return self.server is not None and self.server.hosts(document_id)

    def create_layer(self, document_id: str, layer: str) -> None:
        """Create a layer of a document this app hosts (the Layers panel's "Add layer…").

        Raises:
            LaminaError: not hosted here, or not a valid layer name.
        """
        if self.server is None or not self.server.hosts(document_id):
            raise DocumentNotFoundError(f"this app does not host document {document_id!r}")
        self.server.create_layer(document_id, layer)

    async def ensure_server(self) -> LocalReviewServer:
        """Start the bundled server (or return the one this app started)."""
        if self.server is None:
            self.server = LocalReviewServer()
        await self.server.start()
        return self.server

    def host_review(self, window: MainWindow) -> None:
        """Host the window's PDF on the bundled server and show the invite dialog."""
        from lamina.ui.documents import ensure_loop

        path = window.pdf_path
        if window.session is None or not window.session.standalone or path is None:
            window.show_error(
                "Nothing to host", "open a PDF from your computer first, then host its review"
            )
            return
        ensure_loop().create_task(self._host(window, path), name="lamina-host")

    async def _host(self, window: MainWindow, path: Path) -> None:
        from lamina.ui.host_dialog import HostReviewDialog

        window.statusBar().showMessage("Starting the review server…")
        try:
            if window.session is not None and window.session.pending:
                # The review starts from the PDF as saved: the host's edits go in first.
                await window.session.document.save()
            server = await self.ensure_server()
            document_id = await server.add_document(path)
        except (LaminaError, PdfError, OSError) as exc:
            window.statusBar().clearMessage()
            window.show_error("Cannot host this review", str(exc))
            return
        window.statusBar().showMessage(f"Hosting {path.name} on {server.url}", 8000)
        # The host's window joins the review as its lead: it overlays every layer invited.
        own = server.invite(
            document_id, PRESETS_BY_KEY["lead"], name=window.display_name(), listed=False
        )
        window.auto_show_layers = [layer for layer in server.invited_layers(document_id) if layer]
        self.join(window, own)
        dialog = HostReviewDialog(server, document_id, path.name, window)
        dialog.invite_created.connect(lambda layer: self._show_invited_layer(window, layer))
        self.dialogs.append(dialog)
        dialog.finished.connect(lambda *_: self.dialogs.remove(dialog))
        dialog.open()

    def _show_invited_layer(self, window: MainWindow, layer: str) -> None:
        """Overlay a layer the host just invited someone to, in the host's window."""
        if not layer:
            return
        if window.layer_views is None:  # still joining: shown when it has joined
            window.auto_show_layers.append(layer)
            return
        window.layer_views.offer([layer])

    def start_sample_review(self, window: MainWindow) -> None:
        """Open the sample PDF in two windows joined to a review on the bundled server."""
        from lamina.ui.documents import ensure_loop

        ensure_loop().create_task(self._sample(window), name="lamina-sample")

    async def _sample(self, window: MainWindow) -> None:
        window.statusBar().showMessage("Starting the sample review…")
        try:
            server = await self.ensure_server()
            document_id = await server.add_document(resource_path("sample.pdf"))
        except (LaminaError, PdfError, OSError) as exc:
            window.statusBar().clearMessage()
            window.show_error("Sample review unavailable", str(exc))
            return
        window.statusBar().clearMessage()
        # The user leads on layer "me" and views Sam's layer "sam" read-only; Sam reviews on
        # "sam" alone: Sam's strokes appear in the user's window, framed in the layer colour.
        me = window.display_name()
        second = server.invite(
            document_id, PRESETS_BY_KEY["reviewer"], name="Sam (sample)", layer="sam"
        )
        first = server.invite(document_id, PRESETS_BY_KEY["lead"], name=me, layer="me")
        window.auto_show_layers = ["sam"]
        other = self.new_window()
        other.settings_override = {"display_name": "Sam (sample)", "color": "#C62828"}
        left, right = side_by_side(window.screen().availableGeometry(), MAX_MIN_WIDTH)
        window.setGeometry(left)
        other.setGeometry(right)
        other.show()
        self.join(window, first)
        self.join(other, second)

    # -- shutting down ------------------------------------------------------------------

    def shutdown(self) -> None:
        """Close every window's document (the closes finish on the event loop)."""
        for window in list(self.windows):
            window.close_document()

    async def aclose(self) -> None:
        """Close every document and stop the hosted server; wait for both."""
        self.shutdown()
        await self.documents.wait_closed()
        if self.server is not None:
            await self.server.stop()


FRAME_ALLOWANCE = 16
"""Pixels left for the window manager's frame around each window placed side by side."""


def side_by_side(available: QRect, min_width: int, height: int = 860) -> tuple[QRect, QRect]:
    """Return the geometries of two windows side by side on a screen's available area.

    Each gets half the width (at least ``min_width``; on a screen too narrow for two, the
    second overlaps the first but stays on screen) and up to ``height`` pixels.
    """
    half = available.width() // 2 - FRAME_ALLOWANCE
    width = min(max(min_width, min(half, 1280)), available.width())
    tall = min(height, available.height() - 2 * FRAME_ALLOWANCE)
    top = available.top() + FRAME_ALLOWANCE
    left = QRect(available.left(), top, width, tall)
    x = max(available.left(), min(available.center().x() + 1, available.right() + 1 - width))
    right = QRect(x, top, width, tall)
    return left, right
