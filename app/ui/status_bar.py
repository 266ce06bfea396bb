"""The window's status bar: the connection, what is saved, who else is here, page and zoom."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lamina.client.events import Peer
from lamina.client.review_model import ReviewModel
from lamina.ui.bridge import ReviewBridge
from lamina.ui.presence_label import PresenceLabel
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

CONNECTION_TEXTS = {
    "online": '<span style="color:#2E7D32">&#9679;</span> Online',
    "connecting": "Connecting\u2026",
    "reconnecting": '<span style="color:#EF6C00">&#9679;</span> Offline \u2014 reconnecting\u2026',
    "offline": "Offline",
    "stopped": "Disconnected",
}
"""What the connection field says for each connection state."""


@dataclass(frozen=True)
class SyncStatus:
    """What the status bar shows of an open document.

    Attributes:
        standalone: a local PDF (no server: the connection field says so).
        connection: the connection state's name (``online``, ``reconnecting``, ...).
        reason: why the connection is in that state (the field's tooltip).
        pending: how many changes are not saved yet.
        peers: who else is connected.
    """

    standalone: bool
    connection: str
    reason: str
    pending: int
    peers: Sequence[Peer] = ()


class DocumentStatusBar(QStatusBar):
    """The status bar of a main window.

    The connection and what is saved always show in full (the window keeps wide enough for
    them); the names of who else is here give way first (:class:`PresenceLabel`).

    Signals: none (a plain status bar).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connection_label = QLabel("")
        self.connection_label.setObjectName("connectionLabel")
        self.connection_label.setTextFormat(Qt.TextFormat.RichText)
        self.sync_label = QLabel("")
        self.sync_label.setObjectName("syncLabel")
        self.presence_label = PresenceLabel()
        self.presence_label.setObjectName("presenceLabel")
        self.zoom_label = QLabel("")
        self.page_label = QLabel("")
        for w in (self.connection_label, self.sync_label):
            w.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        for w in (self.connection_label, self.sync_label, self.presence_label):
            w.setContentsMargins(6, 0, 14, 0)
            self.addWidget(w, 1 if w is self.presence_label else 0)
        self.addPermanentWidget(self.page_label)
        self.addPermanentWidget(self.zoom_label)

    def show_sync(self, status: SyncStatus | None) -> None:
        """Show the connection, what is saved, and who else is here (None: no document)."""
        if status is None:
            for w in (self.connection_label, self.sync_label):
                w.setText("")
            self.presence_label.set_people([])
            return
        self.show_connection(status)
        self.show_pending(status.standalone, status.pending)
        self.show_peers(status.peers)

    def show_connection(self, status: SyncStatus) -> None:
        """Show the connection's state (its reason in the tooltip)."""
        text, tip = connection_text(status)
        self.connection_label.setText(text)
        self.connection_label.setToolTip(tip)
        self._keep_readable()

    def show_pending(self, standalone: bool, pending: int) -> None:
        """Show how many changes are not saved yet (into the PDF, or on the server)."""
        plural = "s" if pending != 1 else ""
        if standalone:
            self.sync_label.setText(
                "All changes saved into the PDF"
                if pending == 0
                else f"{pending} change{plural} kept, not yet in the PDF (Ctrl+S)"
            )
            self.sync_label.setToolTip(
                "Your changes are kept safely as you work; Ctrl+S writes them into the PDF file."
            )
        else:
            self.sync_label.setText(
                "All changes saved" if pending == 0 else f"{pending} change{plural} pending"
            )
            self.sync_label.setToolTip(
                "Changes are kept on this computer and sent to the server as soon as it is "
                "reachable."
            )
        self._keep_readable()

    def show_peers(self, peers: Sequence[Peer]) -> None:
        """Name who else is connected, each in their colour."""
        self.presence_label.set_people([(p.name or "someone", p.color or "#888") for p in peers])
        self._keep_readable()

    def show_page(self, page: int, page_count: int) -> None:
        """Show "Page N of M" (``page`` is 0-based).

        The field is as wide as its widest text for this page count, so scrolling from page
        9 to 10 does not lay the status bar (and the window around it) out again.
        """
        widest = f"Page {page_count} of {page_count}"
        if self.page_label.property("widest") != widest:
            self.page_label.setProperty("widest", widest)
            self.page_label.setMinimumWidth(self.page_label.fontMetrics().horizontalAdvance(widest))
        self.page_label.setText(f"Page {page + 1} of {page_count}")

    def show_zoom(self, zoom: float) -> None:
        """Show the zoom factor as a percentage."""
        self.zoom_label.setText(f"{zoom * 100:.0f} %")

    def _keep_readable(self) -> None:
        # The status bar squeezes every field once the window is narrower than all of them
        # together; only the names of who else is here may shrink (down to "N here"), so the
        # bar (and with it the window) stays at least as wide as the others and that.
        fields = (self.connection_label, self.sync_label, self.page_label, self.zoom_label)
        layout = self.layout()
        spacing = max(0, layout.spacing()) if layout is not None else 0
        needed = sum(w.sizeHint().width() + spacing + 4 for w in fields if not w.isHidden())
        needed += self.presence_label.shortest_width() + spacing
        self.setMinimumWidth(needed + 24)  # the size grip


def connection_text(status: SyncStatus) -> tuple[str, str]:
    """Return the connection field's text and tooltip."""
    if status.standalone:
        return "Local file", "This PDF is not shared: no server involved."
    text = CONNECTION_TEXTS.get(status.connection, status.connection)
    return text, status.reason or status.connection


def follow_review(bar: DocumentStatusBar, model: ReviewModel, bridge: ReviewBridge) -> None:
    """Show a review model's sync state in ``bar`` now and whenever the bridge reports it."""
    standalone = model.standalone

    def status() -> SyncStatus:
        return SyncStatus(
            standalone, model.connection.value, model.connection_reason, model.pending, model.peers
        )

    bar.show_sync(status())
    bridge.connection_changed.connect(
        lambda event: bar.show_connection(
            SyncStatus(standalone, event.state.value, event.reason, model.pending)
        )
    )
    bridge.pending_changed.connect(lambda event: bar.show_pending(standalone, event.count))
    bridge.peers_changed.connect(lambda event: bar.show_peers(event.peers))
