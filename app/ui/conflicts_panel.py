"""The Conflicts panel: the user's versions the server did not keep, to re-apply or dismiss."""

from __future__ import annotations

import json
from collections.abc import Sequence

from lamina.client.events import Conflict
from PySide6.QtCore import Signal, SignalInstance
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class ConflictsPanel(QWidget):
    """The user's versions the server did not keep: both versions, re-apply or dismiss.

    Signals:
        reapply(str): re-apply the conflict with this id.
        dismiss(str): forget it.
    """

    reapply = Signal(str)
    dismiss = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.empty = QLabel(
            "No conflicts.\n\nWhen someone else changed the same thing first, your version "
            "shows here, next to theirs, to re-apply or dismiss."
        )
        self.empty.setObjectName("conflictsEmpty")
        self.empty.setWordWrap(True)
        layout.addWidget(self.empty)
        self.list = QListWidget()
        self.list.setObjectName("conflictsList")
        self.list.currentRowChanged.connect(self._show)
        layout.addWidget(self.list)
        self.mine = QPlainTextEdit()
        self.mine.setReadOnly(True)
        self.theirs = QPlainTextEdit()
        self.theirs.setReadOnly(True)
        layout.addWidget(QLabel("My version (not kept):"))
        layout.addWidget(self.mine)
        layout.addWidget(QLabel("Version on the server:"))
        layout.addWidget(self.theirs)
        buttons = QHBoxLayout()
        self.reapply_button = QPushButton("Re-apply mine")
        self.reapply_button.setToolTip("Send my version again; it replaces the server's")
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setToolTip("Forget my version; keep the server's")
        buttons.addWidget(self.reapply_button)
        buttons.addWidget(self.dismiss_button)
        layout.addLayout(buttons)
        self.reapply_button.clicked.connect(lambda: self._emit(self.reapply))
        self.dismiss_button.clicked.connect(lambda: self._emit(self.dismiss))
        self._conflicts: list[Conflict] = []
        self.set_conflicts([])

    def set_conflicts(self, conflicts: Sequence[Conflict]) -> None:
        """Show these conflicts, oldest first; the first is picked."""
        self._conflicts = list(conflicts)
        self.list.clear()
        for c in self._conflicts:
            reason = (
                "deleted by someone else" if c.reason == "deleted" else "changed by someone else"
            )
            fields = ", ".join(sorted(c.lost)) if c.lost else "the record"
            self.list.addItem(f"{fields} — {reason}")
        if self._conflicts:
            self.list.setCurrentRow(0)
        else:
            self.mine.clear()
            self.theirs.clear()
        self.empty.setVisible(not self._conflicts)
        for button in (self.reapply_button, self.dismiss_button):
            button.setEnabled(bool(self._conflicts))

    def _show(self, row: int) -> None:
        if 0 <= row < len(self._conflicts):
            c = self._conflicts[row]
            self.mine.setPlainText(json.dumps(dict(c.mine or {}), indent=1, default=str))
            self.theirs.setPlainText(json.dumps(dict(c.theirs or {}), indent=1, default=str))

    def _emit(self, signal: SignalInstance) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self._conflicts):
            signal.emit(self._conflicts[row].conflict_id)
