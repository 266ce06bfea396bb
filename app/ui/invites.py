"""The Invites list of "Host review…": who was invited, to do what, and Revoke."""

from __future__ import annotations

from lamina.ui.hosting import PRESETS_BY_KEY, LocalReviewServer
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("Who", "May", "Layer", "Made", "State")


class InvitesList(QWidget):
    """List the invites made for one document; Revoke cuts the selected one off for good.

    Signals:
        revoked(str): an invite was revoked (its ``jti``).
    """

    revoked = Signal(str)

    def __init__(
        self, server: LocalReviewServer, document_id: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("invitesList")
        self.server = server
        self.document_id = document_id
        self.tree = QTreeWidget()
        self.tree.setObjectName("invitesTree")
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.tree.itemSelectionChanged.connect(self._update_button)
        self.revoke_button = QPushButton("Revoke")
        self.revoke_button.setObjectName("revokeInvite")
        self.revoke_button.setToolTip(
            "Cut off the selected invite: its holder's window stops syncing at once, and the "
            "link no longer works"
        )
        self.revoke_button.clicked.connect(self.revoke_selected)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.revoke_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        """List the invites again (after one was made or revoked)."""
        selected = self.selected_jti()
        self.tree.clear()
        for invite in self.server.invites(self.document_id):
            preset = PRESETS_BY_KEY.get(invite.preset)
            item = QTreeWidgetItem(
                [
                    invite.name or "anyone",
                    preset.label if preset else invite.preset,
                    invite.layer or "(shared)",
                    invite.created.replace("T", " ")[:16],
                    "revoked" if invite.revoked else "active",
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, invite.jti)
            item.setData(0, Qt.ItemDataRole.UserRole + 1, invite.revoked)
            self.tree.addTopLevelItem(item)
            if invite.jti == selected:
                item.setSelected(True)
        self._update_button()

    def selected_jti(self) -> str | None:
        items = self.tree.selectedItems()
        return str(items[0].data(0, Qt.ItemDataRole.UserRole)) if items else None

    def _update_button(self) -> None:
        items = self.tree.selectedItems()
        active = bool(items) and not items[0].data(0, Qt.ItemDataRole.UserRole + 1)
        self.revoke_button.setEnabled(active)

    def revoke_selected(self) -> None:
        """Revoke the selected invite."""
        jti = self.selected_jti()
        if jti is None:
            return
        self.server.revoke(jti)
        self.refresh()
        self.revoked.emit(jti)
