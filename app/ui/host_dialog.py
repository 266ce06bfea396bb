"""The "Host review" dialog: make invite links for a document on the app's own server.

It says where the server listens (this computer only, or the local network: a choice that
is kept), makes invites with a permission preset, and lists them with Revoke.
"""

from __future__ import annotations

from lamina.model.errors import LaminaError
from lamina.ui.hosting import ALL_INTERFACES, LOOPBACK, PRESETS, LocalReviewServer
from lamina.ui.invites import InvitesList
from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class HostReviewDialog(QDialog):
    """Create invites with a permission preset and copy them.

    Signals:
        invite_created(str): an invite was made, for this layer (``""``: the shared one).
    """

    invite_created = Signal(str)

    def __init__(
        self,
        server: LocalReviewServer,
        document_id: str,
        title: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("hostDialog")
        self.setWindowTitle("Host review")
        self.server = server
        self.document_id = document_id
        self.invite_link = ""
        layout = QVBoxLayout(self)
        self.title = title
        self.where = QLabel()
        self.where.setObjectName("hostWhere")
        self.where.setWordWrap(True)
        layout.addWidget(self.where)
        form = QFormLayout()
        self.bind_box = QComboBox()
        self.bind_box.setObjectName("hostBind")
        self.bind_box.addItem("This computer only", LOOPBACK)
        self.bind_box.addItem("The local network", ALL_INTERFACES)
        self.bind_box.setCurrentIndex(1 if server.on_network else 0)
        self.bind_box.activated.connect(self._rebind)
        form.addRow("Reachable from:", self.bind_box)
        self.name_box = QLineEdit()
        self.name_box.setObjectName("inviteName")
        self.name_box.setPlaceholderText("e.g. Dana")
        form.addRow("Who:", self.name_box)
        self.preset_box = QComboBox()
        self.preset_box.setObjectName("invitePreset")
        for preset in PRESETS:
            self.preset_box.addItem(preset.label, preset.key)
            self.preset_box.setItemData(self.preset_box.count() - 1, preset.help, 3)
        form.addRow("May:", self.preset_box)
        layout.addLayout(form)
        self.create_button = QPushButton("Create invite")
        self.create_button.setObjectName("createInvite")
        self.create_button.clicked.connect(self.create_invite)
        layout.addWidget(self.create_button)
        self.link_box = QPlainTextEdit()
        self.link_box.setObjectName("inviteLink")
        self.link_box.setReadOnly(True)
        self.link_box.setMaximumHeight(90)
        layout.addWidget(self.link_box)
        self.copy_button = QPushButton("Copy invite link")
        self.copy_button.setObjectName("copyInvite")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_link)
        layout.addWidget(self.copy_button)
        self.message = QLabel("")
        layout.addWidget(self.message)
        layout.addWidget(QLabel("<b>Invites</b>"))
        self.invites = InvitesList(server, document_id)
        self.invites.revoked.connect(lambda _jti: self.message.setText("Invite revoked."))
        layout.addWidget(self.invites, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(620, 560)
        self._show_where()

    def _show_where(self) -> None:
        server = self.server
        if server.on_network:
            reach = (
                f"others on your network reach it at <b>{server.url}</b>; the links carry "
                "that address"
            )
        else:
            reach = (
                "only windows on this computer can join; choose the local network to invite others"
            )
        moved = (
            f"<br>Port {server.moved_from} was taken, so invites made before no longer work."
            if server.moved_from
            else ""
        )
        self.where.setText(
            f"<b>{self.title}</b> is hosted on this computer (port {server.port}, kept when "
            f"the app restarts): {reach}.{moved}"
        )

    def _rebind(self, index: int) -> None:
        from lamina.ui.documents import ensure_loop

        bind = str(self.bind_box.itemData(index))

        async def run() -> None:
            try:
                await self.server.rebind(bind)
            except OSError as exc:
                self.message.setText(f"Cannot listen there: {exc}")
                return
            self._show_where()
            self.message.setText("Invites made from now on carry the new address.")

        self.rebinding = ensure_loop().create_task(run(), name="lamina-rebind")

    def create_invite(self) -> str:
        """Make an invite link with the chosen preset; return it."""
        preset = PRESETS[self.preset_box.currentIndex()]
        name = self.name_box.text().strip()
        try:
            self.invite_link = self.server.invite(self.document_id, preset, name=name)
        except LaminaError as exc:
            self.message.setText(f"Cannot create the invite: {exc}")
            return ""
        self.link_box.setPlainText(self.invite_link)
        self.invites.refresh()
        self.invite_created.emit(self._layer_of_last())
        self.copy_button.setEnabled(True)
        self.message.setText(f"Invite for {name or 'anyone'}: {preset.help}")
        return self.invite_link

    def _layer_of_last(self) -> str:
        invites = self.server.invites(self.document_id)
        return invites[-1].layer if invites else ""

    def copy_link(self) -> None:
        QGuiApplication.clipboard().setText(self.invite_link)
        self.message.setText("Invite link copied.")
