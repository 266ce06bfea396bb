"""The Help menu's windows: every keyboard shortcut, and About Lamina."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def open_shortcuts_dialog(parent: QWidget, rows: Sequence[tuple[str, str, str]]) -> QDialog:
    """Show ``(menu, command, keys)`` rows in a table (Help → Keyboard shortcuts, F1).

    The dialog deletes itself when closed.
    """
    dialog = QDialog(parent)
    dialog.setObjectName("shortcutsDialog")
    dialog.setWindowTitle("Keyboard shortcuts")
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    table = QTableWidget(len(rows), 3, dialog)
    table.setObjectName("shortcutsTable")
    table.setHorizontalHeaderLabels(["Menu", "Command", "Keys"])
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            table.setItem(i, j, QTableWidgetItem(value))
    table.resizeColumnsToContents()
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    dialog.resize(520, 560)
    dialog.open()
    return dialog


def open_about_box(parent: QWidget) -> QMessageBox:
    """Show the version and what Lamina is for (window-modal, does not block the loop)."""
    from lamina import __version__

    box = QMessageBox(
        QMessageBox.Icon.Information,
        "About Lamina",
        f"Lamina {__version__}\n\nAnnotate PDFs on your own or review them together "
        "live; your work is kept as you go and syncs when you are back online.",
        QMessageBox.StandardButton.Ok,
        parent,
    )
    box.setObjectName("aboutDialog")
    box.open()
    return box
