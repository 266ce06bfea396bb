"""The Conflicts panel: the user's versions the server did not keep, to re-apply or dismiss."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence

from lamina.client.events import Conflict
from lamina.client.review_events import ConflictsChanged
from lamina.client.review_model import ReviewModel
from lamina.ui.bridge import ReviewBridge
from PySide6.QtCore import QObject, Signal, SignalInstance
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
        self._conflicts = []
        self.list.clear()
        self.add_conflicts(conflicts)
        self._after_change()

    def add_conflicts(self, conflicts: Sequence[Conflict]) -> None:
        """Add these conflicts at the end of the list (the first is picked if none was)."""
        for c in conflicts:
            reason = (
                "deleted by someone else" if c.reason == "deleted" else "changed by someone else"
            )
            fields = ", ".join(sorted(c.lost)) if c.lost else "the record"
            self.list.addItem(f"{fields} — {reason}")
            self._conflicts.append(c)
        self._after_change()

    def remove_conflicts(self, conflict_ids: Iterable[str]) -> None:
        """Take the conflicts with these ids out of the list."""
        gone = set(conflict_ids)
        for row in reversed(range(len(self._conflicts))):
            if self._conflicts[row].conflict_id in gone:
                del self._conflicts[row]
                self.list.takeItem(row)
        self._after_change()

    def _after_change(self) -> None:
        if self._conflicts:
            if self.list.currentRow() < 0:
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


class ConflictList(QObject):
    """Keep the Conflicts panel listing a review model's conflicts as entries come and go.

    Args:
        panel: the Conflicts panel.
        model: the open document's review model.
        bridge: the model's Qt bridge; this object is its child and goes with it.
        on_added: called when conflicts joined the list (the window shows the panel).

    Signals: none.
    """

    def __init__(
        self,
        panel: ConflictsPanel,
        model: ReviewModel,
        bridge: ReviewBridge,
        on_added: Callable[[], None],
    ) -> None:
        super().__init__(bridge)
        self.panel = panel
        self.model = model
        self._on_added = on_added
        bridge.conflicts_changed.connect(self._on_conflicts)
        panel.set_conflicts(model.conflicts())
        if model.conflicts():
            on_added()

    def _on_conflicts(self, event: ConflictsChanged) -> None:
        self.panel.remove_conflicts(event.removed)
        if event.added:
            added = set(event.added)
            self.panel.add_conflicts([c for c in self.model.conflicts() if c.conflict_id in added])
            self._on_added()
