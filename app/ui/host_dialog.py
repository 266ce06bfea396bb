"""The "Host review" dialog: make invite links for a document on the app's own server."""

from __future__ import annotations

from lamina.model.errors import LaminaError
from lamina.ui.hosting import PRESETS, LocalReviewServer
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

    Signals: none (``invite_link`` holds the last link made).
    """

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
        layout.addWidget(
            QLabel(
                f"<b>{title}</b> is hosted on this computer at {server.url}.<br>"
                "Send each person their own invite link. Others on your network need your "
                "computer's address instead of 127.0.0.1."
            )
        )
        form = QFormLayout()
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
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 360)

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
        self.copy_button.setEnabled(True)
        self.message.setText(f"Invite for {name or 'anyone'}: {preset.help}")
        return self.invite_link

    def copy_link(self) -> None:
        QGuiApplication.clipboard().setText(self.invite_link)
        self.message.setText("Invite link copied.")
