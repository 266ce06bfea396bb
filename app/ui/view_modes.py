"""The viewer's part of the main window: outline, links, print, page modes, dark mode, zoom box,
full screen and the reading position.

:class:`ViewerFeatures` adds its actions to the window's menus (File → Print, View → …), an
Outline dock beside the page thumbnails and a zoom box to a tool bar, and follows the page
view: a link click goes to its target (an external one opens in the browser after the user
says yes), and the page and zoom of each PDF are remembered in the settings and restored when
it is opened again.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from lamina.pdf.outline import Destination
from lamina.ui.outline_panel import OutlinePanel
from lamina.ui.printing import PrintError, print_with_dialog
from PySide6.QtCore import QObject, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLineEdit,
    QMessageBox,
    QToolBar,
    QWidget,
)

if TYPE_CHECKING:
    from lamina.ui.main_window import MainWindow

log = logging.getLogger(__name__)

POSITION_KEY = "reading"
"""Settings group holding each PDF's last page and zoom (keyed by a hash of its path)."""

_SAVE_DELAY_MS = 400


def confirm_external_link(parent: QWidget, uri: str) -> bool:
    """Ask whether to open ``uri`` outside the app (tests replace this)."""
    answer = QMessageBox.question(
        parent,
        "Open link",
        f"This link leaves the document:\n\n{uri}\n\nOpen it in your browser?",
        QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Open


def open_external(uri: str) -> bool:
    """Open ``uri`` with the desktop's handler (the browser); tests replace this."""
    return QDesktopServices.openUrl(QUrl(uri))


def system_is_dark() -> bool:
    """Return whether the desktop asks for a dark colour scheme."""
    hints = QGuiApplication.styleHints()
    return bool(hints.colorScheme() == Qt.ColorScheme.Dark)


def parse_zoom(text: str) -> float | None:
    """Return the zoom a typed percentage names (``"150"``, ``"150 %"``, ``"1.5x"``), or None."""
    cleaned = text.strip().lower().replace("%", "").replace(",", ".").strip()
    factor = 1.0
    if cleaned.endswith("x"):
        cleaned, factor = cleaned[:-1].strip(), 100.0
    try:
        value = float(cleaned) * factor
    except ValueError:
        return None
    if not 1 <= value <= 6400:
        return None
    return value / 100.0


class ViewerFeatures(QObject):
    """Install the viewer's commands and panels in ``window`` (it becomes their parent).

    Attributes:
        outline: the Outline panel (also ``window.docks["outline"]``'s widget).
        zoom_box: the typed zoom percentage.
        actions: the viewer's actions by name (``print``, ``rotate_right``, ``rotate_left``,
            ``two_pages``, ``dark``, ``invert``, ``full_screen``, ``presentation``).
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        view = window.view
        self.outline = OutlinePanel()
        dock = QDockWidget("Outline", window)
        dock.setObjectName("outlineDock")
        dock.setWidget(self.outline)
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        window.tabifyDockWidget(window.docks["thumbnails"], dock)
        window.docks["thumbnails"].raise_()
        dock.hide()
        window.docks["outline"] = dock
        menu = window.window_actions.view_menu
        menu.addAction(dock.toggleViewAction())
        self.actions: dict[str, QAction] = {}
        self._add("print", "&Print…", QKeySequence.StandardKey.Print, self.print_document)
        window.window_actions.file_menu.insertAction(
            window.window_actions.close_action, self.actions["print"]
        )
        menu.addSeparator()
        for turn_name, turn_text, turn_keys, degrees in (
            ("rotate_right", "Rotate &right", "Ctrl+R", 90),
            ("rotate_left", "Rotate &left", "Ctrl+Shift+R", -90),
        ):
            menu.addAction(
                self._add(
                    turn_name, turn_text, turn_keys, lambda d=degrees: self.window.view.rotate(d)
                )
            )
        for name, text, keys, slot in (
            ("two_pages", "&Two pages side by side", "Ctrl+4", self._on_two_pages),
            ("dark", "&Dark theme", None, self.set_dark),
            ("invert", "&Invert page colours", "Ctrl+I", view.set_inverted),
            ("full_screen", "&Full screen", "F11", self._on_full_screen),
            ("presentation", "P&resentation", "F5", self._on_presentation),
        ):
            action = self._add(name, text, keys, slot, checkable=True)
            menu.addAction(action)
        self.zoom_box = QLineEdit()
        self.zoom_box.setObjectName("zoomBox")
        self.zoom_box.setMaximumWidth(70)
        self.zoom_box.setPlaceholderText("Zoom")
        self.zoom_box.setToolTip("Type a zoom percentage (for example 150) and press Enter")
        self.zoom_box.returnPressed.connect(self._on_zoom_typed)
        # In the tool bar with the page box (a tool bar of its own would widen the narrowest
        # window: tool bars of one row do not give way to each other).
        bar = window.search.page_box.parentWidget()
        if isinstance(bar, QToolBar):
            bar.addWidget(self.zoom_box)
        else:
            bar = QToolBar("View", window)
            bar.setObjectName("viewToolBar")
            bar.addWidget(self.zoom_box)
            window.addToolBar(bar)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(_SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_position)
        self._restoring = False
        self._hidden_for_presentation: list[QWidget] = []
        view.link_activated.connect(self.follow)
        view.document_shown.connect(self._on_document_shown)
        view.pages_measured.connect(self.outline.fill)
        view.zoom_changed.connect(self._on_zoom_changed)
        view.current_page_changed.connect(lambda _page: self._position_changed())
        self.outline.destination_chosen.connect(self.follow)
        self.actions["dark"].setChecked(system_is_dark())
        if system_is_dark():
            self.set_dark(True)

    def _add(self, name, text, keys, slot, *, checkable=False) -> QAction:  # type: ignore[no-untyped-def]
        action = QAction(text, self.window)
        action.setObjectName(f"{name}Action")
        if keys is not None:
            action.setShortcut(QKeySequence(keys))
        action.setCheckable(checkable)
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _=False: slot())
        self.window.addAction(action)
        self.actions[name] = action
        return action

    # -- links and the outline ------------------------------------------------------------

    def follow(self, target: Destination) -> None:
        """Go to a link's or bookmark's target; an external one asks first, then opens."""
        if target.uri is not None:
            if confirm_external_link(self.window, target.uri) and not open_external(target.uri):
                self.window.statusBar().showMessage(f"Could not open {target.uri}", 8000)
            return
        self.window.view.go_to_destination(target)

    def _on_document_shown(self) -> None:
        view = self.window.view
        if self.outline.set_document(view.document):
            self.window.docks["outline"].show()
            self.window.docks["thumbnails"].raise_()
        self._restore_position()

    # -- printing -------------------------------------------------------------------------

    def print_document(self) -> None:
        """Print with Qt's print dialog: the pages chosen, with their annotations."""
        window, view = self.window, self.window.view
        pdf = window.pdf
        if pdf is None:
            return
        try:
            printed = print_with_dialog(
                window,
                pdf.source,
                pdf.password,
                pdf.page_count,
                view.current_page,
                view.native_xrefs(),
                view.painted_annotations,
            )
        except PrintError as exc:
            QMessageBox.warning(window, "Print", str(exc))
            return
        if printed:
            window.statusBar().showMessage(f"Printed {printed} page(s).", 5000)

    # -- page modes, dark mode, full screen ----------------------------------------------

    def _on_two_pages(self, on: bool) -> None:
        self.window.view.set_columns(2 if on else 1)

    def set_dark(self, dark: bool) -> None:
        """Use a dark palette for the whole app (or the style's own light one)."""
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        if dark:
            app.setPalette(_dark_palette())
        else:
            app.setPalette(app.style().standardPalette())
        if self.actions["dark"].isChecked() != dark:
            self.actions["dark"].setChecked(dark)

    def _on_full_screen(self, on: bool) -> None:
        if on:
            self.window.showFullScreen()
        else:
            self.window.showNormal()

    def _on_presentation(self, on: bool) -> None:
        window, view = self.window, self.window.view
        if on:
            self._hidden_for_presentation = [
                w for w in [*window.docks.values(), *window.findChildren(QToolBar)] if w.isVisible()
            ]
            for w in self._hidden_for_presentation:
                w.hide()
            window.menuBar().hide()
            window.statusBar().hide()
            view.set_columns(1)
            view.fit_page()
            window.showFullScreen()
        else:
            for w in self._hidden_for_presentation:
                w.show()
            self._hidden_for_presentation = []
            window.menuBar().show()
            window.statusBar().show()
            window.showNormal()
            self.actions["two_pages"].setChecked(False)
            view.fit_width()

    # -- zoom box and reading position ----------------------------------------------------

    def _on_zoom_typed(self) -> None:
        zoom = parse_zoom(self.zoom_box.text())
        if zoom is None:
            self.window.statusBar().showMessage(
                f"{self.zoom_box.text()!r} is not a zoom: type a percentage such as 150", 6000
            )
            self._on_zoom_changed(self.window.view.zoom)
            return
        self.window.view.set_zoom(zoom)
        self.window.view.setFocus()
        self.zoom_box.setText(f"{self.window.view.zoom * 100:.0f} %")

    def _on_zoom_changed(self, zoom: float) -> None:
        if not self.zoom_box.hasFocus():
            self.zoom_box.setText(f"{zoom * 100:.0f} %")
        self._position_changed()

    def _position_key(self) -> str | None:
        pdf = self.window.pdf
        if pdf is None:
            return None
        source = pdf.source
        name = str(source.resolve()) if not isinstance(source, bytes) else None
        if name is None:
            return None
        return f"{POSITION_KEY}/{hashlib.sha256(name.encode()).hexdigest()[:24]}"

    def _position_changed(self) -> None:
        if not self._restoring:
            self._save_timer.start()

    def save_position(self) -> None:
        """Remember the page and zoom of the PDF shown (done shortly after each change)."""
        key = self._position_key()
        view = self.window.view
        if key is None or view.page_count == 0:
            return
        self.window.settings.setValue(f"{key}/page", view.current_page)
        self.window.settings.setValue(f"{key}/zoom", round(view.zoom, 4))

    def _restore_position(self) -> None:
        key = self._position_key()
        if key is None:
            return
        settings = self.window.settings
        page = settings.value(f"{key}/page")
        zoom = settings.value(f"{key}/zoom")
        if page is None or zoom is None:
            return
        try:
            page_no, zoom_value = int(str(page)), float(str(zoom))
        except (TypeError, ValueError):
            log.debug("ignoring a damaged reading position %r %r", page, zoom)
            return
        view = self.window.view
        self._restoring = True
        try:
            view.set_zoom(zoom_value)
            view.go_to_page(page_no)
        finally:
            self._restoring = False


def _dark_palette() -> QPalette:
    palette = QPalette()
    roles = QPalette.ColorRole
    for role, color in (
        (roles.Window, "#2b2b2b"),
        (roles.WindowText, "#e8e8e8"),
        (roles.Base, "#1e1e1e"),
        (roles.AlternateBase, "#2b2b2b"),
        (roles.ToolTipBase, "#3c3c3c"),
        (roles.ToolTipText, "#e8e8e8"),
        (roles.Text, "#e8e8e8"),
        (roles.Button, "#353535"),
        (roles.ButtonText, "#e8e8e8"),
        (roles.BrightText, "#ff6e6e"),
        (roles.Highlight, "#3d7bd9"),
        (roles.HighlightedText, "#ffffff"),
        (roles.PlaceholderText, "#9a9a9a"),
    ):
        palette.setColor(role, color)
    return palette
