"""The window's actions, menus and tool bars, and which of them are enabled.

:class:`WindowActions` only builds: every action has its text, shortcut, tooltip and
``objectName`` here, and the main window connects what each does. :meth:`WindowActions.update`
enables them from an :class:`ActionState`, a plain value the window fills in.
"""

from __future__ import annotations

from dataclasses import dataclass

from lamina.client.review_events import UndoChanged
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QSpinBox, QToolBar, QWidget

TOOLS: tuple[tuple[str, str, str], ...] = (
    ("select", "Select", "V"),
    ("text", "Select text", "T"),
    ("hand", "Hand (pan the page)", "H"),
    ("ink", "Pen", "P"),
    ("highlighter", "Highlighter pen", "M"),
    ("rectangle", "Rectangle", "R"),
    ("ellipse", "Ellipse", "E"),
    ("line", "Line", "L"),
    ("arrow", "Arrow", "A"),
    ("polyline", "Polyline", "Y"),
    ("polygon", "Polygon", "G"),
    ("free_text", "Free text", "X"),
    ("note", "Sticky note", "N"),
    ("stamp", "Stamp", "S"),
    ("eraser", "Eraser (whole ink strokes)", "Shift+E"),
)
"""(tool, label, shortcut) of every tool on the toolbar."""

TOOL_LABELS = {name: label for name, label, _key in TOOLS}

TOOL_KEYS = {name: key for name, _label, key in TOOLS}

MARKUPS: tuple[tuple[str, str, str], ...] = (
    ("highlight", "Highlight text", "Ctrl+Shift+H"),
    ("underline", "Underline text", "Ctrl+Shift+U"),
    ("strikeout", "Strike out text", "Ctrl+Shift+K"),
    ("squiggly", "Squiggly underline", "Ctrl+Shift+Q"),
)
"""(markup kind, label, shortcut) of the text markup commands."""

HOST_TIP = "Share the open PDF from this computer and create invite links for others"


@dataclass(frozen=True)
class ActionState:
    """What decides which actions are enabled.

    Attributes:
        has_document: a document's annotations are loaded.
        text_selected: the user selected text on a page.
        read_only_reason: why the document cannot be changed (None: it can).
        standalone: the document is a local PDF (it may be hosted).
        selected: an annotation is selected.
        delete_why_not: why the selection may not be deleted (None: it may).
    """

    has_document: bool = False
    text_selected: bool = False
    read_only_reason: str | None = None
    standalone: bool = False
    selected: bool = False
    delete_why_not: str | None = None


class WindowActions:
    """Build the window's actions, its menu bar and its two tool bars.

    Args:
        window: the main window; every action is added to it, so its shortcut works while
            the page view has the keyboard.
        page_box: the "Page N" field of the navigation bar.
        page_count_label: the " of N " next to it.
        search_box: the find field of the navigation bar.
        search_label: what the search found (" 3 of 12").
    """

    def __init__(
        self,
        window: QMainWindow,
        page_box: QSpinBox,
        page_count_label: QLabel,
        search_box: QWidget,
        search_label: QLabel,
    ) -> None:
        self._window = window
        a = self._action
        self.open_action = a("&Open PDF…", QKeySequence.StandardKey.Open, "openAction")
        self.save_action = a(
            "&Save annotations into PDF", QKeySequence.StandardKey.Save, "saveAction"
        )
        self.export_json_action = a("Export Instant &JSON…", None, "exportJsonAction")
        self.export_pdf_action = a("Export &PDF…", None, "exportPdfAction")
        self.export_flat_action = a("Export &flattened PDF…", None, "exportFlatAction")
        self.export_layers_action = a("&Merged PDF of chosen layers…", None, "exportLayersAction")
        self.export_layers_action.setToolTip(
            "Write one PDF with your annotations and those of the layers you view"
        )
        self.import_json_action = a("&Import Instant JSON…", None, "importJsonAction")
        self.import_xfdf_action = a("Import &XFDF…", None, "importXfdfAction")
        self.export_xfdf_action = a("Export XF&DF…", None, "exportXfdfAction")
        self._wire_xfdf(window)
        self.join_action = QAction("&Join review…", window)
        self.join_action.setObjectName("joinAction")
        self.join_action.setToolTip("Open a review from an invite link (lamina://join?…)")
        self.host_action = QAction("&Host review…", window)
        self.host_action.setObjectName("hostAction")
        self.host_action.setToolTip(HOST_TIP)
        # Ctrl+W everywhere (the platform's Close is Ctrl+F4 on some desktops).
        self.close_action = a("&Close window", "Ctrl+W", "closeAction")
        self.undo_action = a("&Undo", QKeySequence.StandardKey.Undo, "undoAction")
        self.redo_action = a("&Redo", "Ctrl+Shift+Z", "redoAction")
        self.copy_action = a("&Copy text", QKeySequence.StandardKey.Copy, "copyAction")
        self.delete_action = a(
            "&Delete annotation", QKeySequence.StandardKey.Delete, "deleteAction"
        )
        self.find_action = a("&Find…", QKeySequence.StandardKey.Find, "findAction")
        self.find_next_action = a("Find &next", "F3", "findNextAction")
        self.find_prev_action = a("Find &previous", "Shift+F3", "findPrevAction")
        self.goto_action = a("&Go to page…", "Ctrl+G", "gotoAction")
        self.zoom_in_action = a("Zoom &in", QKeySequence.StandardKey.ZoomIn, "zoomInAction")
        self.zoom_in_action.setShortcuts([QKeySequence("Ctrl+="), QKeySequence("Ctrl++")])
        self.zoom_out_action = a("Zoom &out", QKeySequence.StandardKey.ZoomOut, "zoomOutAction")
        self.zoom_out_action.setShortcuts([QKeySequence("Ctrl+-")])
        self.zoom_in_action.setToolTip("Zoom in (Ctrl+=)")
        self.zoom_out_action.setToolTip("Zoom out (Ctrl+-)")
        self.fit_width_action = a("Fit &width", "Ctrl+1", "fitWidthAction")
        self.fit_page_action = a("Fit &page", "Ctrl+2", "fitPageAction")
        self.preferences_action = a("Pre&ferences…", "Ctrl+,", "preferencesAction")
        self.shortcuts_action = a("&Keyboard shortcuts", "F1", "shortcutsAction")
        self.about_action = a("&About Lamina", None, "aboutAction")
        self.tool_group = QActionGroup(window)
        self.tool_actions: dict[str, QAction] = {}
        for name, label, key in TOOLS:
            act = a(label, key, f"tool_{name}")
            act.setCheckable(True)
            act.setToolTip(f"{label} ({key})")
            self.tool_group.addAction(act)
            self.tool_actions[name] = act
        self.tool_actions["select"].setChecked(True)
        self.markup_actions: dict[str, QAction] = {}
        for kind, label, key in MARKUPS:
            act = a(label, key, f"markup_{kind}")
            act.setToolTip(f"{label} of the selected text ({key})")
            self.markup_actions[kind] = act
        self._build_menus()
        self._build_tool_bars(page_box, page_count_label, search_box, search_label)

    def _action(
        self, text: str, shortcut: str | QKeySequence.StandardKey | None, name: str
    ) -> QAction:
        action = QAction(text, self._window)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            plain = text.replace("&", "").rstrip("…")
            action.setToolTip(f"{plain} ({keys})" if keys else plain)
        self._window.addAction(action)
        return action

    def _wire_xfdf(self, window: QMainWindow) -> None:
        # File → Import/Export XFDF run lamina.ui.files' functions on the main window.
        from lamina.ui import files

        self.import_xfdf_action.triggered.connect(lambda: files.import_xfdf(window))  # type: ignore[arg-type]
        self.export_xfdf_action.triggered.connect(lambda: files.export_xfdf(window))  # type: ignore[arg-type]

    def _build_menus(self) -> None:
        bar = self._window.menuBar()
        file_menu = bar.addMenu("&File")
        self.file_menu = file_menu
        for act in (self.open_action, self.save_action):
            file_menu.addAction(act)
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addSeparator()
        for act in (
            self.import_json_action,
            self.export_json_action,
            self.import_xfdf_action,
            self.export_xfdf_action,
            self.export_pdf_action,
            self.export_flat_action,
        ):
            file_menu.addAction(act)
        self.export_menu = file_menu.addMenu("E&xport")
        self.export_menu.setObjectName("exportMenu")
        self.export_menu.addAction(self.export_layers_action)
        file_menu.addSeparator()
        file_menu.addAction(self.join_action)
        file_menu.addAction(self.host_action)
        file_menu.addSeparator()
        file_menu.addAction(self.close_action)
        edit_menu = bar.addMenu("&Edit")
        for act in (
            self.undo_action,
            self.redo_action,
            self.copy_action,
            self.delete_action,
            self.find_action,
            self.find_next_action,
            self.find_prev_action,
        ):
            edit_menu.addAction(act)
        edit_menu.addSeparator()
        edit_menu.addAction(self.preferences_action)
        self.view_menu = bar.addMenu("&View")
        for act in (
            self.zoom_in_action,
            self.zoom_out_action,
            self.fit_width_action,
            self.fit_page_action,
            self.goto_action,
        ):
            self.view_menu.addAction(act)
        self.view_menu.addSeparator()
        tools_menu = bar.addMenu("&Tools")
        for act in self.tool_actions.values():
            tools_menu.addAction(act)
        tools_menu.addSeparator()
        for act in self.markup_actions.values():
            tools_menu.addAction(act)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.about_action)

    def _build_tool_bars(
        self, page_box: QSpinBox, page_count: QLabel, search_box: QWidget, search_label: QLabel
    ) -> None:
        tools_bar = QToolBar("Tools")
        tools_bar.setObjectName("toolsBar")
        tools_bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self._window.addToolBar(Qt.ToolBarArea.LeftToolBarArea, tools_bar)
        for act in self.tool_actions.values():
            tools_bar.addAction(act)
        tools_bar.addSeparator()
        for act in self.markup_actions.values():
            tools_bar.addAction(act)
        nav = QToolBar("Navigation")
        nav.setObjectName("navBar")
        self._window.addToolBar(Qt.ToolBarArea.TopToolBarArea, nav)
        nav.addAction(self.undo_action)
        nav.addAction(self.redo_action)
        nav.addSeparator()
        nav.addAction(self.zoom_out_action)
        nav.addAction(self.zoom_in_action)
        nav.addAction(self.fit_width_action)
        nav.addAction(self.fit_page_action)
        nav.addSeparator()
        nav.addWidget(QLabel(" Page "))
        nav.addWidget(page_box)
        nav.addWidget(page_count)
        nav.addSeparator()
        nav.addWidget(search_box)
        nav.addAction(self.find_prev_action)
        nav.addAction(self.find_next_action)
        nav.addWidget(search_label)

    def shortcut_rows(self) -> list[tuple[str, str, str]]:
        """Return ``(menu, command, keys)`` of every menu command that has a shortcut."""
        rows: list[tuple[str, str, str]] = []
        for top in self._window.menuBar().actions():
            menu = top.menu()
            if not isinstance(menu, QMenu):
                continue
            for act in menu.actions():
                keys = ", ".join(
                    k.toString(QKeySequence.SequenceFormat.NativeText) for k in act.shortcuts()
                )
                if keys and act.text():
                    rows.append((top.text().replace("&", ""), act.text().replace("&", ""), keys))
        return rows

    def show_undo(self, undo: UndoChanged | None) -> None:
        """Enable Undo and Redo, naming the step Undo would undo (None: no document)."""
        self.undo_action.setEnabled(undo is not None and undo.can_undo)
        self.redo_action.setEnabled(undo is not None and undo.can_redo)
        if undo is not None and undo.undo_label:
            self.undo_action.setText(f"&Undo {undo.undo_label}")

    def update(self, state: ActionState) -> None:
        """Enable the actions that may run now, with tooltips saying why the others may not."""
        has_doc = state.has_document
        read_only = state.read_only_reason is not None
        for act in self.markup_actions.values():
            act.setEnabled(has_doc and state.text_selected and not read_only)
        for act in (
            self.save_action,
            self.export_json_action,
            self.export_pdf_action,
            self.export_flat_action,
            self.export_layers_action,
            self.import_json_action,
            self.import_xfdf_action,
            self.export_xfdf_action,
            self.find_action,
            self.goto_action,
        ):
            act.setEnabled(has_doc)
        self.copy_action.setEnabled(state.text_selected)
        # A read-only document has nothing to save or import (a PDF that forbids annotating
        # would get a backup copy and an error; a viewer's changes would all be refused).
        for act, tip in (
            (self.save_action, "Save annotations into PDF (Ctrl+S)"),
            (self.import_json_action, "Import Instant JSON"),
            (self.import_xfdf_action, "Import XFDF (Acrobat's comment and form data file)"),
        ):
            if read_only and has_doc:
                act.setEnabled(False)
                act.setToolTip(f"Read-only: {state.read_only_reason}")
            else:
                act.setToolTip(tip)
        can_host = has_doc and state.standalone
        self.host_action.setEnabled(can_host)
        self.host_action.setToolTip(
            HOST_TIP if can_host else "Open a PDF from your computer to host its review"
        )
        self.delete_action.setEnabled(state.selected and state.delete_why_not is None)
        reason = f"Read-only: {state.read_only_reason}" if read_only else None
        for name, act in self.tool_actions.items():
            if name in ("select", "text", "hand"):
                continue
            act.setEnabled(reason is None)
            act.setToolTip(reason or f"{TOOL_LABELS[name]} ({TOOL_KEYS[name]})")
        for act in self.markup_actions.values():
            if reason is not None:
                act.setToolTip(reason)
        if state.selected and state.delete_why_not is not None:
            self.delete_action.setToolTip(state.delete_why_not)
        else:
            self.delete_action.setToolTip("Delete the selected annotation (Del)")
