"""User preferences: a typed value, its QSettings storage, and the Preferences dialog.

Other code reads preferences with :func:`load_preferences` and writes them with
:func:`save_preferences`. The keys are the ones the main window already reads
(``display_name``, ``color``), so the dialog and the window agree without a migration.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field, replace
from typing import Literal

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

AutosaveName = Literal["immediate", "intelligent", "disabled"]

AUTOSAVE_MODES: tuple[tuple[AutosaveName, str], ...] = (
    ("immediate", "Immediately after every change"),
    ("intelligent", "When an edit gesture ends"),
    ("disabled", "Only when I save"),
)
"""Autosave modes (the names of ``lamina.client.document.AutosaveMode`` values) and labels."""

TOOL_KINDS: tuple[tuple[str, str], ...] = (
    ("ink", "Pen"),
    ("highlighter", "Highlighter"),
    ("shape", "Shapes"),
    ("text", "Free text"),
)
"""Tool families that have a default colour, and their labels."""

DEFAULT_TOOL_COLORS: dict[str, str] = {
    "ink": "#D32F2F",
    "highlighter": "#FFEB3B",
    "shape": "#1565C0",
    "text": "#212121",
}

DEFAULT_PRESENCE_COLOR = "#1565C0"

_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")


def account_name() -> str:
    """Return the name of the user's account: the full name (``pwd`` GECOS), else the login.

    The name new annotations carry until the user sets one (never a placeholder such as
    "Me", which would be written into saved PDFs and shown to others).
    """
    try:
        import pwd

        entry = pwd.getpwuid(os.getuid())
    except (ImportError, KeyError):  # no pwd module (Windows), or no passwd entry
        entry = None
    if entry is not None:
        full = entry.pw_gecos.split(",", 1)[0].strip()
        if full or entry.pw_name:
            return full or entry.pw_name
    try:
        return getpass.getuser() or "Lamina user"
    except (KeyError, OSError):
        return "Lamina user"


# QSettings keys; display_name and color are the keys MainWindow already reads.
_KEY_NAME = "display_name"
_KEY_COLOR = "color"
_KEY_AUTOSAVE = "autosave"
_KEY_TOOL = "tool_colors/{}"


@dataclass(frozen=True)
class Preferences:
    """What the user chose in the Preferences dialog.

    Attributes:
        display_name: the name shown to collaborators and written as ``creatorName`` ("" =
            not set; the window then uses :func:`account_name`).
        presence_color: ``#RRGGBB`` colour of the user's cursor and layer for others.
        autosave: ``immediate``, ``intelligent`` or ``disabled``.
        tool_colors: default ``#RRGGBB`` colour per tool family (see :data:`TOOL_KINDS`).
    """

    display_name: str = ""
    presence_color: str = DEFAULT_PRESENCE_COLOR
    autosave: AutosaveName = "immediate"
    tool_colors: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TOOL_COLORS))

    def tool_color(self, kind: str) -> str:
        """Return the default colour of a tool family (``ink``, ``highlighter``, ...)."""
        return self.tool_colors.get(kind, DEFAULT_TOOL_COLORS.get(kind, "#000000"))


def _color(value: object, default: str) -> str:
    text = str(value) if value is not None else ""
    return text.upper() if _HEX.match(text) else default


def load_preferences(settings: QSettings | None = None) -> Preferences:
    """Read the preferences from ``settings`` (the app's QSettings by default).

    Missing or malformed values fall back to the defaults, so a hand-edited settings file
    never stops the app.
    """
    s = settings if settings is not None else QSettings()
    name = s.value(_KEY_NAME, "")
    autosave = str(s.value(_KEY_AUTOSAVE, "immediate"))
    modes = [m for m, _label in AUTOSAVE_MODES]
    return Preferences(
        display_name=str(name).strip() if name is not None else "",
        presence_color=_color(s.value(_KEY_COLOR), DEFAULT_PRESENCE_COLOR),
        autosave=autosave if autosave in modes else "immediate",
        tool_colors={
            kind: _color(s.value(_KEY_TOOL.format(kind)), DEFAULT_TOOL_COLORS[kind])
            for kind, _label in TOOL_KINDS
        },
    )


def save_preferences(prefs: Preferences, settings: QSettings | None = None) -> None:
    """Write ``prefs`` to ``settings`` (the app's QSettings by default) and flush them."""
    s = settings if settings is not None else QSettings()
    s.setValue(_KEY_NAME, prefs.display_name.strip())
    s.setValue(_KEY_COLOR, prefs.presence_color)
    s.setValue(_KEY_AUTOSAVE, prefs.autosave)
    for kind, _label in TOOL_KINDS:
        s.setValue(_KEY_TOOL.format(kind), prefs.tool_color(kind))
    s.sync()


class ColorButton(QPushButton):
    """A button showing a colour; clicking it opens a QColorDialog to change it."""

    def __init__(self, color: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self._color = color
        self.clicked.connect(self.choose)
        self._refresh()

    @property
    def color(self) -> str:
        return self._color

    def set_color(self, color: str) -> None:
        """Show ``color`` (``#RRGGBB``); anything else is ignored."""
        if _HEX.match(color):
            self._color = color.upper()
            self._refresh()

    def choose(self) -> None:
        """Ask for a colour with the standard colour dialog."""
        chosen = QColorDialog.getColor(QColor(self._color), self, self._title)
        if chosen.isValid():
            self.set_color(chosen.name())

    def _refresh(self) -> None:
        self.setText(self._color)
        text = "#000000" if QColor(self._color).lightnessF() > 0.55 else "#FFFFFF"
        self.setStyleSheet(f"background-color: {self._color}; color: {text};")


class PreferencesDialog(QDialog):
    """Edit the :class:`Preferences`; OK saves them to the settings it was given."""

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self._settings = settings if settings is not None else QSettings()
        prefs = load_preferences(self._settings)

        self.name_edit = QLineEdit(prefs.display_name)
        self.name_edit.setObjectName("displayNameEdit")
        self.name_edit.setPlaceholderText(account_name())
        self.presence_button = ColorButton(prefs.presence_color, "Presence colour")
        self.presence_button.setObjectName("presenceColorButton")
        self.autosave_box = QComboBox()
        self.autosave_box.setObjectName("autosaveBox")
        for mode, label in AUTOSAVE_MODES:
            self.autosave_box.addItem(label, mode)
        self.autosave_box.setCurrentIndex(self.autosave_box.findData(prefs.autosave))
        self.tool_buttons: dict[str, ColorButton] = {}

        form = QFormLayout()
        form.addRow("Display name:", self.name_edit)
        form.addRow("Presence colour:", self.presence_button)
        self.autosave_box.setToolTip(
            "When your changes to a review are sent to the server. They are always kept on "
            "this computer at once; a local PDF changes only when you save it (Ctrl+S)."
        )
        form.addRow("Autosave reviews:", self.autosave_box)
        for kind, label in TOOL_KINDS:
            button = ColorButton(prefs.tool_color(kind), f"Default {label.lower()} colour")
            button.setObjectName(f"toolColor_{kind}")
            self.tool_buttons[kind] = button
            form.addRow(f"{label} colour:", button)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self._buttons = buttons
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._base = prefs

    def ok_button(self) -> QPushButton:
        """Return the OK button (it saves and closes)."""
        button = self._buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert button is not None
        return button

    def preferences(self) -> Preferences:
        """Return the preferences as the widgets show them now."""
        return replace(
            self._base,
            display_name=self.name_edit.text().strip(),
            presence_color=self.presence_button.color,
            autosave=self.autosave_box.currentData(),
            tool_colors={kind: b.color for kind, b in self.tool_buttons.items()},
        )

    def accept(self) -> None:
        save_preferences(self.preferences(), self._settings)
        super().accept()


def open_preferences(parent: QWidget, settings: QSettings) -> PreferencesDialog:
    """Open the Preferences dialog window-modal over ``parent`` without blocking the loop."""
    dialog = PreferencesDialog(settings, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    dialog.open()
    return dialog
