"""The main window: page view, tools, panels, status bar, menus and file handling."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from lamina.auth.permissions import PermissionEvaluator, RecordMeta
from lamina.auth.tokens import TokenClaims, claims_from_payload
from lamina.client.backoff import Backoff
from lamina.client.document import AutosaveMode
from lamina.model.errors import LaminaError
from lamina.model.ids import RecordId, new_record_id
from lamina.model.records import (
    Annotation,
    Comment,
    LinkAnnotation,
    NoteAnnotation,
    Record,
    Text,
    TextAnnotation,
    WidgetAnnotation,
)
from lamina.model.tools import MARKUP_DEFAULT_COLORS, ToolStyle, text_markup
from lamina.pdf import (
    PasswordRequiredError,
    PdfDocument,
    PdfError,
    WrongPasswordError,
    open_pdf,
    search_page,
)
from lamina.ui.inline_editor import InlineTextEditor
from lamina.ui.layer_overlay import LAYER_COLORS, LayerPageView
from lamina.ui.page_view import SearchHit
from lamina.ui.panels import (
    CommentsPanel,
    ConflictsPanel,
    LayerRow,
    LayersPanel,
    PropertiesPanel,
)
from lamina.ui.preferences import Preferences, load_preferences
from lamina.ui.presence_label import PresenceLabel
from lamina.ui.render import TileRenderer
from lamina.ui.session import DocumentSession
from lamina.ui.welcome import WelcomePage
from PySide6.QtCore import QPoint, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QToolBar,
    QWidget,
)

log = logging.getLogger(__name__)

TOOLS: tuple[tuple[str, str, str], ...] = (
    ("select", "Select", "V"),
    ("text", "Select text", "T"),
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
)
"""(tool, label, shortcut) of every tool on the toolbar."""

TOOL_LABELS = {name: label for name, label, _key in TOOLS}

TOOL_COLOR_KINDS: dict[str, str] = {
    "ink": "ink",
    "highlighter": "highlighter",
    "rectangle": "shape",
    "ellipse": "shape",
    "line": "shape",
    "arrow": "shape",
    "polyline": "shape",
    "polygon": "shape",
    "free_text": "text",
}
"""Which Preferences tool colour (``lamina.ui.preferences.TOOL_KINDS``) each tool starts with."""

MARKUPS: tuple[tuple[str, str, str], ...] = (
    ("highlight", "Highlight text", "Ctrl+Shift+H"),
    ("underline", "Underline text", "Ctrl+Shift+U"),
    ("strikeout", "Strike out text", "Ctrl+Shift+K"),
    ("squiggly", "Squiggly underline", "Ctrl+Shift+Q"),
)


class MainWindow(QMainWindow):
    """One document window (or the welcome page when no document is open).

    Signals:
        document_opened(str): a document is shown; the argument is its title.
        exported(str): an export finished writing this file.
        preferences_changed(): the user saved new Preferences (every window applies them).
        closed(): the window was closed.
    """

    document_opened = Signal(str)
    exported = Signal(str)
    preferences_changed = Signal()
    closed = Signal()

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("Lamina")
        self.resize(1280, 860)
        self.setAcceptDrops(True)
        self.settings = settings or QSettings()
        self.session: DocumentSession | None = None
        self.pdf: PdfDocument | None = None
        self.renderer: TileRenderer | None = None
        self.hidden_layers: set[str] = set()
        """Layers the user hid (their own layer's name; other layers are simply not viewed)."""
        self.other_layer_names: list[str] = []
        """Other layers offered in the Layers panel (viewed or not), in the order listed."""
        self.loading_layers: set[str] = set()
        """Other layers asked for whose records have not arrived yet."""
        self.layer_source: Callable[[str], list[str]] | None = None
        """Layer names the app knows for a document id (the layers it made invites for)."""
        self.auto_show_layers: list[str] = []
        """Other layers to show as soon as the next review opens (the sample review)."""
        self._search_hits: list[SearchHit] = []
        self._search_index = -1
        self._search_pending: list[int] = []
        self._search_query = ""
        self._open_dialogs: list[QWidget] = []
        self.claims: TokenClaims | None = None
        self.permissions: PermissionEvaluator | None = None
        self.read_only_reason: str | None = None
        self._opening: object = None
        self.inline_editor: InlineTextEditor | None = None
        """The in-place editor of a new free text or note while the user types."""
        self.settings_override: dict[str, str] = {}
        """Name and colour of this window only (the sample review's second person)."""

        self.stack = QStackedWidget()
        self.welcome = WelcomePage()
        self.view = LayerPageView()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.view)
        self.setCentralWidget(self.stack)

        self._build_actions()
        self._build_docks()
        self._build_status()
        self.view.record_created.connect(self._on_record_created)
        self.view.record_changed.connect(self._on_record_changed)
        self.view.selection_changed.connect(self._on_selection_changed)
        self.view.text_selection_changed.connect(self._update_actions)
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        self.view.current_page_changed.connect(self._on_page_changed)
        self.welcome.open_requested.connect(self.choose_and_open)
        self.welcome.recent_chosen.connect(lambda path: self.open_path(Path(path)))
        self.welcome.set_recent(self.recent_files())
        self.preferences_changed.connect(self.apply_preferences)
        self.apply_preferences()
        self._update_actions()

    # -- construction -------------------------------------------------------------------

    def _action(
        self, text: str, shortcut: str | QKeySequence.StandardKey | None, slot: object, name: str
    ) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            plain = text.replace("&", "").rstrip("…")
            action.setToolTip(f"{plain} ({keys})" if keys else plain)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.open_action = a(
            "&Open PDF…", QKeySequence.StandardKey.Open, self.choose_and_open, "openAction"
        )
        self.save_action = a(
            "&Save annotations into PDF", QKeySequence.StandardKey.Save, self.save, "saveAction"
        )
        self.export_json_action = a(
            "Export Instant &JSON…", None, self.export_instant_json, "exportJsonAction"
        )
        self.export_pdf_action = a(
            "Export &PDF…", None, lambda: self.export_pdf(False), "exportPdfAction"
        )
        self.export_flat_action = a(
            "Export &flattened PDF…", None, lambda: self.export_pdf(True), "exportFlatAction"
        )
        self.export_layers_action = a(
            "&Merged PDF of chosen layers…", None, self.export_layers, "exportLayersAction"
        )
        self.export_layers_action.setToolTip(
            "Write one PDF with your annotations and those of the layers you view"
        )
        self.import_json_action = a(
            "&Import Instant JSON…", None, self.import_instant_json, "importJsonAction"
        )
        self.join_action = QAction("&Join review…", self)
        self.join_action.setObjectName("joinAction")
        self.join_action.setToolTip("Open a review from an invite link (lamina://join?…)")
        self.host_action = QAction("&Host review…", self)
        self.host_action.setObjectName("hostAction")
        self.host_action.setToolTip(
            "Share the open PDF from this computer and create invite links for others"
        )
        # Ctrl+W everywhere (the platform's Close is Ctrl+F4 on some desktops).
        self.close_action = a("&Close window", "Ctrl+W", self.close, "closeAction")
        self.undo_action = a("&Undo", QKeySequence.StandardKey.Undo, self.undo, "undoAction")
        self.redo_action = a("&Redo", "Ctrl+Shift+Z", self.redo, "redoAction")
        self.copy_action = a(
            "&Copy text", QKeySequence.StandardKey.Copy, self.copy_text, "copyAction"
        )
        self.delete_action = a(
            "&Delete annotation",
            QKeySequence.StandardKey.Delete,
            self.delete_selected,
            "deleteAction",
        )
        self.find_action = a(
            "&Find…", QKeySequence.StandardKey.Find, self.start_search, "findAction"
        )
        self.find_next_action = a("Find &next", "F3", lambda: self.step_search(1), "findNextAction")
        self.find_prev_action = a(
            "Find &previous", "Shift+F3", lambda: self.step_search(-1), "findPrevAction"
        )
        self.goto_action = a("&Go to page…", "Ctrl+G", self.start_goto, "gotoAction")
        self.zoom_in_action = a(
            "Zoom &in", QKeySequence.StandardKey.ZoomIn, self.view.zoom_in, "zoomInAction"
        )
        self.zoom_in_action.setShortcuts([QKeySequence("Ctrl+="), QKeySequence("Ctrl++")])
        self.zoom_out_action = a(
            "Zoom &out", QKeySequence.StandardKey.ZoomOut, self.view.zoom_out, "zoomOutAction"
        )
        self.zoom_out_action.setShortcuts([QKeySequence("Ctrl+-")])
        self.zoom_in_action.setToolTip("Zoom in (Ctrl+=)")
        self.zoom_out_action.setToolTip("Zoom out (Ctrl+-)")
        self.fit_width_action = a("Fit &width", "Ctrl+1", self.view.fit_width, "fitWidthAction")
        self.fit_page_action = a("Fit &page", "Ctrl+2", self.view.fit_page, "fitPageAction")

        file_menu = self.menuBar().addMenu("&File")
        for act in (self.open_action, self.save_action):
            file_menu.addAction(act)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        for act in (
            self.import_json_action,
            self.export_json_action,
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
        edit_menu = self.menuBar().addMenu("&Edit")
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
        self.preferences_action = a(
            "Pre&ferences…", "Ctrl+,", self.open_preferences, "preferencesAction"
        )
        edit_menu.addAction(self.preferences_action)
        self.view_menu = self.menuBar().addMenu("&View")
        for act in (
            self.zoom_in_action,
            self.zoom_out_action,
            self.fit_width_action,
            self.fit_page_action,
            self.goto_action,
        ):
            self.view_menu.addAction(act)
        self.view_menu.addSeparator()

        tools_bar = QToolBar("Tools")
        tools_bar.setObjectName("toolsBar")
        tools_bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(Qt.ToolBarArea.LeftToolBarArea, tools_bar)
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        tools_menu = self.menuBar().addMenu("&Tools")
        for name, label, key in TOOLS:
            act = a(label, key, lambda _=False, n=name: self.set_tool(n), f"tool_{name}")
            act.setCheckable(True)
            act.setToolTip(f"{label} ({key})")
            self.tool_group.addAction(act)
            tools_bar.addAction(act)
            tools_menu.addAction(act)
            self.tool_actions[name] = act
        self.tool_actions["select"].setChecked(True)
        tools_bar.addSeparator()
        tools_menu.addSeparator()
        self.markup_actions: dict[str, QAction] = {}
        for kind, label, key in MARKUPS:
            act = a(label, key, lambda _=False, k=kind: self.markup_selection(k), f"markup_{kind}")
            act.setToolTip(f"{label} of the selected text ({key})")
            tools_bar.addAction(act)
            tools_menu.addAction(act)
            self.markup_actions[kind] = act

        help_menu = self.menuBar().addMenu("&Help")
        self.shortcuts_action = a(
            "&Keyboard shortcuts", "F1", self.show_shortcuts, "shortcutsAction"
        )
        help_menu.addAction(self.shortcuts_action)
        self.about_action = a("&About Lamina", None, self.show_about, "aboutAction")
        help_menu.addAction(self.about_action)

        nav = QToolBar("Navigation")
        nav.setObjectName("navBar")
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, nav)
        nav.addAction(self.undo_action)
        nav.addAction(self.redo_action)
        nav.addSeparator()
        nav.addAction(self.zoom_out_action)
        nav.addAction(self.zoom_in_action)
        nav.addAction(self.fit_width_action)
        nav.addAction(self.fit_page_action)
        nav.addSeparator()
        nav.addWidget(QLabel(" Page "))
        self.page_box = QSpinBox()
        self.page_box.setObjectName("pageBox")
        self.page_box.setMinimum(1)
        self.page_box.setKeyboardTracking(False)
        self.page_box.valueChanged.connect(lambda v: self.view.go_to_page(v - 1))
        nav.addWidget(self.page_box)
        self.page_count_label = QLabel(" of 0 ")
        nav.addWidget(self.page_count_label)
        nav.addSeparator()
        self.search_box = QLineEdit()
        self.search_box.setObjectName("searchBox")
        self.search_box.setPlaceholderText("Find in document (Ctrl+F)")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setMaximumWidth(260)
        self.search_box.returnPressed.connect(self._on_search_enter)
        nav.addWidget(self.search_box)
        nav.addAction(self.find_prev_action)
        nav.addAction(self.find_next_action)
        self.search_label = QLabel("")
        nav.addWidget(self.search_label)

    def _build_docks(self) -> None:
        self.properties = PropertiesPanel()
        self.comments = CommentsPanel()
        self.layers = LayersPanel()
        self.conflicts = ConflictsPanel()
        from lamina.ui.thumbnails import ThumbnailPanel

        self.thumbnails = ThumbnailPanel()
        self.thumbnails.page_chosen.connect(self.view.go_to_page)
        self.docks: dict[str, QDockWidget] = {}
        for name, title, widget, area in (
            ("thumbnails", "Pages", self.thumbnails, Qt.DockWidgetArea.LeftDockWidgetArea),
            ("comments", "Comments", self.comments, Qt.DockWidgetArea.RightDockWidgetArea),
            ("layers", "Layers", self.layers, Qt.DockWidgetArea.RightDockWidgetArea),
            ("properties", "Properties", self.properties, Qt.DockWidgetArea.RightDockWidgetArea),
            ("conflicts", "Conflicts", self.conflicts, Qt.DockWidgetArea.RightDockWidgetArea),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"{name}Dock")
            dock.setWidget(widget)
            if name == "thumbnails":
                dock.setMaximumWidth(190)
            self.addDockWidget(area, dock)
            self.view_menu.addAction(dock.toggleViewAction())
            self.docks[name] = dock
        self.tabifyDockWidget(self.docks["properties"], self.docks["conflicts"])
        self.docks["properties"].raise_()
        self.properties.style_changed.connect(self._on_style_changed)
        self.comments.activated.connect(self._go_to_record)
        self.comments.reply.connect(self._reply)
        self.comments.edit.connect(self._edit_text)
        self.comments.delete.connect(lambda rid: self._delete_id(rid))
        self.comments.current_changed.connect(lambda *_: self._update_comment_buttons())
        self.layers.visibility_changed.connect(self._on_layer_visibility)
        self.layers.export_requested.connect(self.export_layers)
        self.layers.add_requested.connect(self.add_layer)
        self.conflicts.reapply.connect(self._reapply_conflict)
        self.conflicts.dismiss.connect(self._dismiss_conflict)
        for dock in self.docks.values():
            dock.hide()

    def _build_status(self) -> None:
        bar = self.statusBar()
        self.connection_label = QLabel("")
        self.connection_label.setObjectName("connectionLabel")
        self.connection_label.setTextFormat(Qt.TextFormat.RichText)
        self.sync_label = QLabel("")
        self.sync_label.setObjectName("syncLabel")
        self.presence_label = PresenceLabel()
        self.presence_label.setObjectName("presenceLabel")
        self.zoom_label = QLabel("")
        self.page_label = QLabel("")
        # The connection and what is saved always show in full (Fixed: never squeezed); the
        # names of who else is here give way first (PresenceLabel).
        for w in (self.connection_label, self.sync_label):
            w.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        for w in (self.connection_label, self.sync_label, self.presence_label):
            w.setContentsMargins(6, 0, 14, 0)
            bar.addWidget(w, 1 if w is self.presence_label else 0)
        bar.addPermanentWidget(self.page_label)
        bar.addPermanentWidget(self.zoom_label)

    # -- opening ------------------------------------------------------------------------

    def choose_and_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open PDF", str(Path.home()), "PDF files (*.pdf);;All files (*)"
        )
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path, password: str | None = None) -> bool:
        """Open a local PDF; errors become a clear dialog. Return whether it opened.

        The pages show at once; the annotations (the PDF's own plus the user's edits kept in
        the local store) arrive when the client document has opened, off the GUI thread.
        """
        try:
            pdf = open_pdf(path, password)
        except WrongPasswordError:  # first: it is a kind of PasswordRequiredError
            return self._ask_password(path, "That password does not open the file. Try again.")
        except PasswordRequiredError:
            return self._ask_password(path, f"{path.name} is protected by a password.")
        except (PdfError, OSError) as exc:
            self.show_error("Cannot open this file", str(exc))
            return False
        from lamina.ui.documents import ensure_loop, open_local

        self.show_pdf(pdf, path.name)
        self._add_recent(path)

        async def attach() -> None:
            try:
                client_doc = await open_local(path, password)
            except (LaminaError, OSError) as exc:
                if self.pdf is pdf:
                    self.close_document()
                    self.stack.setCurrentWidget(self.welcome)
                    self.show_error("Cannot open this file", str(exc))
                return
            if self.pdf is not pdf:  # another file was opened meanwhile
                from lamina.ui.documents import close_later

                close_later(client_doc)
                return
            self.attach_session(DocumentSession(client_doc, path, path.name, password))

        self._opening = ensure_loop().create_task(attach(), name="lamina-open")
        return True

    def open_review(self, link: str, backoff: Backoff | None = None) -> None:
        """Join the review an invite link points to; errors become a clear dialog."""
        from lamina.auth.invite import parse_invite_link
        from lamina.client.document import decode_token_claims
        from lamina.ui.documents import close_later, ensure_loop, open_review

        try:
            invite = parse_invite_link(link)
            payload = decode_token_claims(invite.token)
            claims = claims_from_payload(payload)
        except LaminaError as exc:
            self.show_error("Cannot join this review", str(exc))
            return
        self.close_document()
        self.statusBar().showMessage(f"Joining the review on {invite.server_url}…")
        presence = {"name": self.display_name(), "color": self.my_color()}
        autosave = AutosaveMode(self.preferences().autosave)

        async def attach() -> None:
            try:
                client_doc, pdf_path = await open_review(
                    invite, presence=presence, backoff=backoff, autosave=autosave
                )
            except (LaminaError, OSError) as exc:
                self.statusBar().clearMessage()
                self.show_error("Cannot join this review", str(exc))
                return
            try:
                pdf = open_pdf(pdf_path)
            except (PdfError, OSError) as exc:
                close_later(client_doc)
                self.show_error("Cannot open the review's PDF", str(exc))
                return
            self.statusBar().clearMessage()
            host = invite.server_url.split("://", 1)[-1].rstrip("/")
            layer = claims.layer
            title = f"Review on {host}" + (f" \u2014 layer {layer}" if layer else "")
            self.show_pdf(pdf, title)
            self.attach_session(DocumentSession(client_doc, pdf_path, title), claims)

        self._opening = ensure_loop().create_task(attach(), name="lamina-join")

    def _ask_password(self, path: Path, prompt: str) -> bool:
        text, ok = QInputDialog.getText(self, "Password", prompt, QLineEdit.EchoMode.Password)
        if not ok:
            return False
        return self.open_path(path, text)

    def show_pdf(self, pdf: PdfDocument, title: str) -> None:
        """Show a PDF's pages in this window (annotations follow with :meth:`attach_session`)."""
        self.close_document()
        self.pdf = pdf
        self.renderer = TileRenderer(pdf.source, pdf.password, parent=self)
        self.read_only_reason = pdf.read_only_reason
        self.view.read_only = pdf.read_only_reason is not None
        self.view.set_document(pdf, self.renderer)
        self.thumbnails.set_document(pdf, self.renderer)
        self.stack.setCurrentWidget(self.view)
        self.page_box.setMaximum(pdf.page_count)
        self.page_count_label.setText(f" of {pdf.page_count} ")
        self.setWindowTitle(f"{title} — Lamina")
        for name in ("thumbnails", "comments", "layers", "properties"):
            self.docks[name].show()
        self.docks["properties"].raise_()
        self._update_actions()
        self.view.setFocus()
        if pdf.repaired:
            self.statusBar().showMessage(
                f"{pdf.name} was damaged and has been repaired for viewing.", 10000
            )
        if pdf.read_only_reason:
            self.statusBar().showMessage(f"Read-only: {pdf.read_only_reason}", 10000)

    def show_session(
        self, session: DocumentSession, pdf: PdfDocument, claims: TokenClaims | None = None
    ) -> None:
        """Show an opened document in this window."""
        self.show_pdf(pdf, session.title)
        self.attach_session(session, claims)

    def attach_session(self, session: DocumentSession, claims: TokenClaims | None = None) -> None:
        """Show the records of an opened client document over the PDF on screen."""
        self.session = session
        self.claims = claims
        session.set_autosave(self.preferences().autosave)
        self.permissions = PermissionEvaluator(claims) if claims is not None else None
        if claims is not None and not claims.has("write"):
            self.read_only_reason = "this invite lets you view, not edit (no write permission)"
            self.view.read_only = True
        session.records_changed.connect(self._on_records_changed)
        session.connection_changed.connect(lambda *_: self._update_status())
        session.sync_changed.connect(lambda *_: self._update_status())
        session.presence_changed.connect(lambda *_: self._update_status())
        session.conflicts_changed.connect(self._refresh_conflicts)
        session.change_rejected.connect(
            lambda reason: self.statusBar().showMessage(f"Change refused: {reason}", 8000)
        )
        session.server_behind.connect(self._on_server_behind)
        session.layer_changed.connect(self._on_layer_changed)
        self._offer_layers()
        self._on_records_changed("remote")
        self._refresh_conflicts()
        self._update_status()
        self._update_actions()
        self.document_opened.emit(session.title)

    def _on_server_behind(self, message: str) -> None:
        from lamina.ui.server_behind import ask_server_behind

        box = ask_server_behind(self, message)
        if box is not None:
            self._open_dialogs.append(box)
            box.finished.connect(
                lambda *_: self._open_dialogs.remove(box) if box in self._open_dialogs else None
            )

    def close_document(self) -> None:
        """Close what this window shows; the client document closes in the background."""
        self.finish_inline_edit()
        if self.session is not None:
            self.session.close()
            self.session = None
        self.claims = None
        self.permissions = None
        self.read_only_reason = None
        self.other_layer_names = []
        self.loading_layers = set()
        self.hidden_layers = set()
        self.view.set_layer_marks([])
        if self.renderer is not None:
            self.renderer.stop()
            self.renderer = None
        if self.pdf is not None:
            self.pdf.close()
            self.pdf = None
        self.conflicts.set_conflicts([])
        self._update_status()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.close_document()
        super().closeEvent(event)
        self.closed.emit()

    def show_error(self, title: str, message: str) -> None:
        """Show a window-modal message that does not block the event loop."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            title,
            message[:1].upper() + message[1:],
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("errorDialog")
        box.open()
        self._open_dialogs.append(box)
        box.finished.connect(
            lambda *_: self._open_dialogs.remove(box) if box in self._open_dialogs else None
        )

    # -- drag and drop ------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(u.toLocalFile().lower().endswith(".pdf") for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.toLocalFile().lower().endswith(".pdf"):
                self.open_path(Path(url.toLocalFile()))
                event.acceptProposedAction()
                return

    # -- recent files ---------------------------------------------------------------------

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            return [value]
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return []

    def _add_recent(self, path: Path) -> None:
        recent = [str(path.resolve())] + [
            p for p in self.recent_files() if p != str(path.resolve())
        ]
        self.settings.setValue("recent", recent[:10])
        self.welcome.set_recent(recent)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent_files():
            action = self.recent_menu.addAction(p)
            action.triggered.connect(lambda _=False, p=p: self.open_path(Path(p)))
        if not self.recent_files():
            self.recent_menu.addAction("(none)").setEnabled(False)

    # -- tools and editing ----------------------------------------------------------------

    def set_tool(self, name: str) -> None:
        self.view.set_tool(name)
        self.tool_actions[name].setChecked(True)
        self.properties.show_style(self.view.style_for(name), _style_target(name))

    def _on_style_changed(self, style: ToolStyle) -> None:
        selected = self._selected_record()
        if selected is not None and self.session is not None and self._can_edit(selected):
            after = _restyle(selected, style)
            if after != selected:
                self.session.update(selected, after, "change style")
            return
        self.view.set_style(self.view.tool, style)

    def _selected_record(self) -> Annotation | None:
        if self.session is None or self.view.selected_id is None:
            return None
        record = self.find_record(self.view.selected_id)
        return record if isinstance(record, Annotation) else None

    def find_record(self, record_id: str) -> Record | None:
        """Return a record shown: the user's own, or one of another layer being viewed."""
        if self.session is None:
            return None
        record = self.session.get(RecordId(record_id))
        if record is None:
            found = self.session.layer_record(record_id)
            record = found[1] if found is not None else None
        return record

    def _on_record_created(self, record: Annotation) -> None:
        if self.session is None:
            return
        record = dataclasses.replace(record, creator_name=self.creator_name())
        if isinstance(record, TextAnnotation | NoteAnnotation) and not record.text.value:
            self._type_text_of(record)
            return
        self.session.create(record)

    def _type_text_of(self, record: TextAnnotation | NoteAnnotation) -> None:
        """Ask for the text of a new free text or note in place, over the page."""
        from lamina.ui.inline_editor import InlineTextEditor

        self.finish_inline_edit()
        note = isinstance(record, NoteAnnotation)
        editor = InlineTextEditor(
            self.view.viewport(), "Type the note…" if note else "Type the text…"
        )
        self.inline_editor = editor

        def place() -> None:
            if editor.finished or self.pdf is None:
                return
            box = record.bbox
            corners = [
                self.view.instant_to_viewport(record.page_index, p)
                for p in ((box.left, box.top), (box.right, box.bottom))
            ]
            left = min(c.x() for c in corners)
            top = min(c.y() for c in corners)
            width = max(c.x() for c in corners) - left
            height = max(c.y() for c in corners) - top
            if note:  # beside the icon, as a note's pop-up
                editor.show_at(QPoint(round(left + width + 4), round(top)), QSize(240, 110))
            else:
                editor.show_at(
                    QPoint(round(left), round(top)),
                    QSize(max(round(width), 200), max(round(height), 60)),
                )

        def done(text: str) -> None:
            for signal in (bars[0].valueChanged, bars[1].valueChanged, self.view.zoom_changed):
                signal.disconnect(place)
            editor.hide()
            editor.deleteLater()
            if self.inline_editor is editor:
                self.inline_editor = None
            self.view.setFocus()
            if self.session is None:
                return
            if not text:
                what = "note" if note else "free text"
                self.statusBar().showMessage(f"Empty {what} not added.", 4000)
                return
            self.session.create(dataclasses.replace(record, text=Text(text)))

        bars = (self.view.verticalScrollBar(), self.view.horizontalScrollBar())
        for signal in (bars[0].valueChanged, bars[1].valueChanged, self.view.zoom_changed):
            signal.connect(place)
        editor.committed.connect(done)
        editor.cancelled.connect(lambda: done(""))
        place()

    def finish_inline_edit(self) -> None:
        """Keep the text being typed in place, if any (before opening or closing things)."""
        if self.inline_editor is not None:
            self.inline_editor.commit()

    def _on_record_changed(self, before: Annotation, after: Annotation) -> None:
        if self.session is not None:
            self.session.update(before, after, "move")

    def _on_selection_changed(self, record_id: object) -> None:
        self.comments.select(record_id if isinstance(record_id, str) else None)
        selected = self._selected_record()
        layer = self.session.layer_of_id(selected.id) if selected and self.session else None
        if layer is not None:
            self.statusBar().showMessage(f"Read-only: {layer} layer", 5000)
        if selected is not None:
            editable, _delete, why = self.record_flags(selected)
            self.properties.show_style(
                _style_of(selected, self.properties.tool_style),
                "Selected annotation" if editable else f"Selected annotation ({why.lower()})",
            )
        else:
            tool = self.view.tool
            self.properties.show_style(self.view.style_for(tool), _style_target(tool))
        self._update_actions()

    def markup_selection(self, kind: str) -> None:
        """Turn the selected text into a highlight/underline/strikeout/squiggly annotation."""
        page, words = self.view.selected_words()
        if self.session is None or page is None or not words:
            self.statusBar().showMessage("Select some text first (Select text tool, T).", 5000)
            return
        style = dataclasses.replace(self.view.style_for(kind), creator_name=self.creator_name())
        record = text_markup(kind, page, words, style, color=MARKUP_DEFAULT_COLORS[kind])  # type: ignore[arg-type]
        self.session.create(record, f"{kind} text")
        self.view.clear_text_selection()

    def copy_text(self) -> None:
        text = self.view.selected_text()
        if text:
            QGuiApplication.clipboard().setText(text)
            self.statusBar().showMessage(f"Copied {len(text)} characters.", 3000)

    def delete_selected(self) -> None:
        record = self._selected_record()
        if record is not None:
            self._delete_id(record.id)

    def _delete_id(self, record_id: str) -> None:
        if self.session is None:
            return
        record = self.session.get(RecordId(record_id))
        if record is not None and self._can_delete(record):
            self.session.delete(record)

    def undo(self) -> None:
        if self.session is not None and not self.session.undo():
            self.statusBar().showMessage("Nothing to undo.", 3000)

    def redo(self) -> None:
        if self.session is not None and not self.session.redo():
            self.statusBar().showMessage("Nothing to redo.", 3000)

    def _reply(self, root_id: str, text: str) -> None:
        if self.session is None:
            return
        root = self.session.get(RecordId(root_id))
        if isinstance(root, Comment):
            root_id = root.root_id
            root = self.session.get(RecordId(root_id))
        if not isinstance(root, Annotation):
            return
        allowed, why = self.may_reply(root)
        if not allowed:
            self.statusBar().showMessage(why, 6000)
            return
        if not root.is_comment_thread_root and self._can_edit(root):
            self.session.update(
                root, dataclasses.replace(root, is_comment_thread_root=True), "start thread"
            )
        comment = Comment(
            id=new_record_id(),
            root_id=RecordId(root_id),
            page_index=root.page_index,
            text=Text(text),
            creator_name=self.creator_name(),
        )
        self.session.create(comment, "reply")

    def _edit_text(self, record_id: str, text: str) -> None:
        if self.session is None:
            return
        record = self.session.get(RecordId(record_id))
        if record is None or not self._can_edit(record):
            return
        if hasattr(record, "text"):
            after = dataclasses.replace(record, text=Text(text))  # type: ignore[call-arg]
        elif isinstance(record, Annotation):
            after = dataclasses.replace(record, note=text)
        else:
            return
        self.session.update(record, after, "edit text")

    def _go_to_record(self, record_id: str) -> None:
        if self.session is None:
            return
        record = self.find_record(record_id)
        if isinstance(record, Comment):
            record = self.find_record(record.root_id)
        if isinstance(record, Annotation):
            self.view.scroll_to_rect(record.page_index, record.bbox)
            self.set_tool("select")
            self.view.set_selected(record.id)

    # -- permissions ----------------------------------------------------------------------

    def record_meta(self, record: Annotation | Comment) -> RecordMeta:
        """Return what the permission rules need to know about a record.

        The creator id (the token ``user_id`` the server stamped) and group come from the
        client's ``record_meta(record_id)`` when it has one; until then, a record the user
        created in this window is known to be theirs, and other records have no creator id.
        """
        kind = "comment" if isinstance(record, Comment) else "annotation"
        creator_id: str | None = None
        group: str | None = getattr(record, "group", None)
        client = self.session.client if self.session is not None else None
        getter = getattr(client, "record_meta", None)
        info: object = None
        if callable(getter):
            try:
                info = getter(record.id)
            except (LaminaError, KeyError):
                info = None
        if isinstance(info, RecordMeta):
            return info
        if info is not None:
            creator_id = _meta_field(info, "creator_id")
            group = _meta_field(info, "group") or group
        elif self.session and self.claims and record.id in self.session.created_here:
            creator_id = self.claims.user_id
        return RecordMeta(
            kind=kind,
            record_type=record.type,
            creator_id=creator_id,
            creator_name=record.creator_name,
            group=group,
        )

    def record_flags(self, record: object) -> tuple[bool, bool, str]:
        """Return (may edit, may delete, why not) for a record, per the token's permissions."""
        layer = self._other_layer_of(record)
        if layer is not None:
            return False, False, f"Read-only: {layer} layer"
        if self.view.read_only:
            return False, False, f"Read-only: {self.read_only_reason or 'this document'}"
        if self.permissions is None or not isinstance(record, Annotation | Comment):
            return True, True, ""
        flags = self.permissions.record_flags(self.record_meta(record))
        return flags.edit, flags.delete, "" if flags.edit and flags.delete else _why_not(record)

    def may_reply(self, record: object) -> tuple[bool, str]:
        """Return whether the user may reply to the thread of ``record``, and why not."""
        layer = self._other_layer_of(record)
        if layer is not None:
            return False, f"Read-only: {layer} layer"
        if self.view.read_only:
            return False, f"Read-only: {self.read_only_reason or 'this document'}"
        if self.session is not None and isinstance(record, Comment):
            record = self.session.get(record.root_id)
        if not isinstance(record, Annotation):
            return False, "Select an annotation to reply to"
        if self.permissions is None:
            return True, ""
        if self.permissions.record_flags(self.record_meta(record)).reply:
            return True, ""
        return False, "Your invite does not allow replying to this thread"

    def _other_layer_of(self, record: object) -> str | None:
        record_id = getattr(record, "id", None)
        if self.session is None or not isinstance(record_id, str):
            return None
        return self.session.layer_of_id(record_id)

    def _can_edit(self, record: object) -> bool:
        return self.record_flags(record)[0]

    def _can_delete(self, record: object) -> bool:
        return self.record_flags(record)[1]

    # -- preferences ----------------------------------------------------------------------

    def preferences(self) -> Preferences:
        """Return the user's Preferences, with this window's own name and colour if it has them."""
        prefs = load_preferences(self.settings)
        override = self.settings_override
        return dataclasses.replace(
            prefs,
            display_name=override.get("display_name", prefs.display_name),
            presence_color=override.get("color", prefs.presence_color),
        )

    def display_name(self) -> str:
        """Return the name written on the user's annotations and shown to the others."""
        return self.preferences().display_name or "Me"

    def creator_name(self) -> str:
        """Return the name written as ``creatorName`` on new records.

        A review's token may fix it (the server refuses any other); else the display name.
        """
        if self.claims is not None and self.claims.creator_name:
            return self.claims.creator_name
        return self.display_name()

    def my_color(self) -> str:
        """Return the user's presence colour (their layer and cursor for the others)."""
        return self.preferences().presence_color

    def open_preferences(self) -> QWidget:
        """Open the Preferences dialog; OK applies the new values to every open window."""
        from lamina.ui.preferences import open_preferences

        dialog = open_preferences(self, self.settings)
        dialog.accepted.connect(self.preferences_changed.emit)
        return dialog

    def apply_preferences(self) -> None:
        """Use the saved Preferences now: tool colours, name, presence colour, autosave.

        The default tool colours become the colours of new annotations (a colour picked in
        the Properties panel since then is replaced); the name and colour go to the review's
        presence; the autosave mode goes to the open review.
        """
        prefs = self.preferences()
        name = prefs.display_name or "Me"
        for tool, _label, _key in TOOLS:
            style = self.view.style_for(tool)
            kind = TOOL_COLOR_KINDS.get(tool)
            color = prefs.tool_color(kind) if kind is not None else style.color
            self.view.set_style(tool, dataclasses.replace(style, color=color, creator_name=name))
        if self.view.selected_id is None:
            tool = self.view.tool
            self.properties.show_style(self.view.style_for(tool), _style_target(tool))
        if self.session is not None:
            self.session.set_autosave(prefs.autosave)
            self.session.set_presence(name, prefs.presence_color)
            self._refresh_layers()
            self._update_status()

    # -- refresh ------------------------------------------------------------------------

    def _update_comment_buttons(self) -> None:
        """Enable Reply / Edit text / Delete for the comments panel's pick, per the token."""
        current = self.comments.current_id()
        record = self.find_record(current) if current else None
        if not isinstance(record, Annotation | Comment):
            self.comments.set_allowed(None, None, None)
            return
        edit, delete, why = self.record_flags(record)
        self.comments.set_allowed(self.may_reply(record), (edit, why), (delete, why))

    def _on_records_changed(self, origin: str) -> None:
        if self.session is None:
            return
        annotations = self.visible_annotations()
        self.view.set_annotations(annotations, self._can_edit)
        marks: list[tuple[Annotation, str]] = []
        for name, records in self.shown_layer_records().items():
            color = self.layer_color(name)
            marks.extend((r, color) for r in records if isinstance(r, Annotation))
        self.view.set_layer_marks(marks)
        threads: dict[str, list[Comment]] = {}
        every = [*self.session.records()]
        for records in self.shown_layer_records().values():
            every.extend(records)
        for record in every:
            if isinstance(record, Comment):
                threads.setdefault(record.root_id, []).append(record)
        rows = [
            (a, a.creator_name or "", self.layer_of(a), threads.get(a.id, []))
            for a in annotations
            # Links and form widgets are part of the document, not review comments.
            if not isinstance(a, LinkAnnotation | WidgetAnnotation)
        ]
        self.comments.set_records(rows)
        self._update_comment_buttons()
        self._refresh_layers()
        self._update_actions()

    def visible_annotations(self) -> list[Annotation]:
        """Return what is drawn: the user's layer (unless hidden), then the layers viewed."""
        if self.session is None:
            return []
        out: list[Annotation] = []
        if self.session.own_layer not in self.hidden_layers:
            out.extend(self.session.annotations())
        for records in self.shown_layer_records().values():
            out.extend(r for r in records if isinstance(r, Annotation))
        return out

    def shown_layer_records(self) -> dict[str, list[Record]]:
        """Return the records of each other layer being viewed that the user does not have.

        A layer starts as a copy of the PDF's own annotations: those copies (same ids as the
        user's own, or the PDF's) are not drawn twice.
        """
        if self.session is None:
            return {}
        session = self.session
        mine = {r.id for r in session.records()} | set(session.base)
        return {
            name: [r for r in records if r.id not in mine]
            for name, records in session.other_layers.items()
        }

    def layer_of(self, record: object) -> str:
        """Return the name of the layer a record is on, as the Comments panel shows it."""
        return self._other_layer_of(record) or self.own_layer_label()

    def own_layer_label(self) -> str:
        if self.session is None or self.session.standalone:
            return "my layer"
        return f"{self.session.own_layer or 'shared'} (mine)"

    def layer_color(self, name: str) -> str:
        """Return the swatch colour of another layer (distinct per layer listed)."""
        if name not in self.other_layer_names:
            self.other_layer_names.append(name)
        return LAYER_COLORS[self.other_layer_names.index(name) % len(LAYER_COLORS)]

    def _offer_layers(self) -> None:
        """List the other layers this token may view: named in its claim, or known to the host.

        The protocol cannot list a document's layers: for ``"*"`` the Layers panel offers
        the layers this app made invites for (when it hosts the review) and a field to type
        a name.
        """
        session = self.session
        if session is None:
            return
        allowed = session.viewable_layers()
        names = [n for n in allowed if n != "*"]
        if "*" in allowed and self.layer_source is not None and self.claims is not None:
            names.extend(self.layer_source(self.claims.document_id))
        for name in names:
            if name not in self.other_layer_names and session.may_view_layer(name):
                self.other_layer_names.append(name)
        if session.standalone:
            hint = "A PDF on your computer has one layer: yours."
        elif not allowed:
            hint = "Your invite shows your layer only."
        elif "*" in allowed:
            hint = "Your invite may view every layer: tick one to overlay it (read-only)."
        else:
            hint = "Tick a layer to overlay it on the pages (read-only)."
        self.layers.set_can_add("*" in allowed, hint)
        auto, self.auto_show_layers = self.auto_show_layers, []
        for name in auto:
            if session.may_view_layer(name):
                if name not in self.other_layer_names:
                    self.other_layer_names.append(name)
                self.show_layer(name)

    def add_layer(self, name: str) -> None:
        """Offer another layer by name and show it (the "Add layer…" field)."""
        session = self.session
        if session is None:
            return
        if name == session.own_layer:
            self.statusBar().showMessage(f"{name} is your own layer", 5000)
            return
        if not session.may_view_layer(name):
            self.show_error(
                "Cannot view this layer",
                f"your invite may not view layer {name!r}; ask the host for a lead invite",
            )
            return
        if name not in self.other_layer_names:
            self.other_layer_names.append(name)
        self.show_layer(name)

    def show_layer(self, name: str) -> None:
        """Ask for another layer's records and draw them read-only when they arrive."""
        from lamina.ui.documents import ensure_loop

        session = self.session
        if session is None or name in session.other_layers or name in self.loading_layers:
            return
        self.loading_layers.add(name)
        self._refresh_layers()

        async def view() -> None:
            try:
                await session.view_layer(name)
            except LaminaError as exc:
                if self.session is session and name in self.loading_layers:
                    self.statusBar().showMessage(f"Cannot show layer {name}: {exc}", 8000)
            finally:
                self.loading_layers.discard(name)
                if self.session is session:
                    self._on_records_changed("remote")

        ensure_loop().create_task(view(), name=f"lamina-view-layer-{name}")

    def hide_layer(self, name: str) -> None:
        if self.session is not None:
            self.session.hide_layer(name)
        self.loading_layers.discard(name)
        self._on_records_changed("local")

    def _on_layer_changed(self, name: str) -> None:
        self._on_records_changed("remote")

    def _refresh_layers(self) -> None:
        """List the user's layer and the other layers offered, with authors and colours."""
        session = self.session
        if self.claims is None:
            title = f"My layer ({self.display_name()})"
        elif self.claims.layer:
            title = f"My layer: {self.claims.layer} ({self.display_name()})"
        else:
            title = "Shared layer (everyone)"
        own = session.own_layer if session is not None else ""
        rows = [LayerRow(own, title, self.my_color(), own not in self.hidden_layers, "Editable")]
        shown = self.shown_layer_records()
        for name in self.other_layer_names:
            records = shown.get(name)
            if name in self.loading_layers and records is None:
                label, tip = f"{name} \u2014 loading\u2026", "Asking the server for this layer"
            elif records is None:
                label, tip = name, "Tick to overlay this layer on the pages (read-only)"
            else:
                authors = sorted({r.creator_name for r in records if r.creator_name})
                count = sum(1 for r in records if isinstance(r, Annotation))
                by = f" \u2014 {', '.join(authors)}" if authors else ""
                plural = "" if count == 1 else "s"
                label = f"{name}{by}\n{count} annotation{plural}, read-only"
                tip = f"Read-only: {name} layer" + (f", by {', '.join(authors)}" if authors else "")
            visible = records is not None or name in self.loading_layers
            rows.append(LayerRow(name, label, self.layer_color(name), visible, tip))
        self.layers.set_layers(rows)

    def _on_layer_visibility(self, layer: str, visible: bool) -> None:
        own = self.session.own_layer if self.session is not None else ""
        if layer != own:
            if visible:
                self.show_layer(layer)
            else:
                self.hide_layer(layer)
            return
        if visible:
            self.hidden_layers.discard(layer)
        else:
            self.hidden_layers.add(layer)
        self._on_records_changed("local")

    def _refresh_conflicts(self) -> None:
        if self.session is None:
            return
        conflicts = getattr(self.session.client, "conflicts", None)
        items = conflicts() if callable(conflicts) else conflicts or []
        self.conflicts.set_conflicts(list(items))
        if items:
            self.docks["conflicts"].show()
            self.docks["conflicts"].raise_()
        self._update_status()

    def _reapply_conflict(self, conflict_id: str) -> None:
        if self.session is None:
            return
        try:
            self.session.client.reapply_conflict(conflict_id)
        except LaminaError as exc:
            self.show_error("Cannot re-apply this change", str(exc))
            return
        self._on_records_changed("local")

    def _dismiss_conflict(self, conflict_id: str) -> None:
        if self.session is None:
            return
        try:
            self.session.client.dismiss_conflict(conflict_id)
        except LaminaError as exc:
            self.show_error("Cannot dismiss this change", str(exc))

    def _update_status(self) -> None:
        """Show the connection, what is saved, and who else is here, in the status bar."""
        s = self.session
        if s is None:
            for w in (self.connection_label, self.sync_label):
                w.setText("")
            self.presence_label.set_people([])
            return
        text, tip = self.connection_text()
        self.connection_label.setText(text)
        self.connection_label.setToolTip(tip)
        plural = "s" if s.pending != 1 else ""
        if s.standalone:
            self.sync_label.setText(
                "All changes saved into the PDF"
                if s.pending == 0
                else f"{s.pending} change{plural} kept, not yet in the PDF (Ctrl+S)"
            )
            self.sync_label.setToolTip(
                "Your changes are kept safely as you work; Ctrl+S writes them into the PDF file."
            )
        else:
            self.sync_label.setText(
                "All changes saved" if s.pending == 0 else f"{s.pending} change{plural} pending"
            )
            self.sync_label.setToolTip(
                "Changes are kept on this computer and sent to the server as soon as it is "
                "reachable."
            )
        self.presence_label.set_people([(p.name or "someone", p.color or "#888") for p in s.peers])
        self._keep_status_readable()

    def _keep_status_readable(self) -> None:
        """Keep the window at least as wide as the status fields that must show in full.

        The status bar squeezes every field once the window is narrower than all of them
        together; only the names of who else is here may shrink (to nothing).
        """
        bar = self.statusBar()
        fields = (self.connection_label, self.sync_label, self.page_label, self.zoom_label)
        layout = bar.layout()
        spacing = max(0, layout.spacing()) if layout is not None else 0
        needed = sum(w.sizeHint().width() + spacing + 4 for w in fields if not w.isHidden())
        bar.setMinimumWidth(needed + 24)  # the size grip

    def connection_text(self) -> tuple[str, str]:
        """Return the connection label's text and tooltip."""
        s = self.session
        if s is None:
            return "", ""
        if s.standalone:
            return "Local file", "This PDF is not shared: no server involved."
        texts = {
            "online": '<span style="color:#2E7D32">&#9679;</span> Online',
            "connecting": "Connecting\u2026",
            "reconnecting": '<span style="color:#EF6C00">&#9679;</span> Offline \u2014 '
            "reconnecting\u2026",
            "offline": "Offline",
            "stopped": "Disconnected",
        }
        return texts.get(s.connection, s.connection), s.connection_reason or s.connection

    def _on_page_changed(self, page: int) -> None:
        self.page_box.blockSignals(True)
        self.page_box.setValue(page + 1)
        self.page_box.blockSignals(False)
        self.page_label.setText(f"Page {page + 1} of {self.view.page_count}")
        self.thumbnails.set_current(page)

    def _update_actions(self) -> None:
        has_doc = self.session is not None
        _page, words = self.view.selected_words()
        for act in self.markup_actions.values():
            act.setEnabled(has_doc and bool(words) and not self.view.read_only)
        for act in (
            self.save_action,
            self.export_json_action,
            self.export_pdf_action,
            self.export_flat_action,
            self.export_layers_action,
            self.import_json_action,
            self.find_action,
            self.goto_action,
        ):
            act.setEnabled(has_doc)
        self.copy_action.setEnabled(bool(words))
        # A read-only document has nothing to save or import (a PDF that forbids annotating
        # would get a backup copy and an error; a viewer's changes would all be refused).
        for act, tip in (
            (self.save_action, "Save annotations into PDF (Ctrl+S)"),
            (self.import_json_action, "Import Instant JSON"),
        ):
            if self.view.read_only and has_doc:
                act.setEnabled(False)
                act.setToolTip(f"Read-only: {self.read_only_reason or 'this document'}")
            else:
                act.setToolTip(tip)
        can_host = has_doc and self.session is not None and self.session.standalone
        self.host_action.setEnabled(can_host)
        self.host_action.setToolTip(
            "Share the open PDF from this computer and create invite links for others"
            if can_host
            else "Open a PDF from your computer to host its review"
        )
        self.undo_action.setEnabled(
            has_doc and self.session is not None and self.session.history.can_undo
        )
        self.redo_action.setEnabled(
            has_doc and self.session is not None and self.session.history.can_redo
        )
        if self.session is not None and self.session.history.undo_label:
            self.undo_action.setText(f"&Undo {self.session.history.undo_label}")
        selected = self._selected_record()
        self.delete_action.setEnabled(selected is not None and self._can_delete(selected))
        reason = f"Read-only: {self.read_only_reason}" if self.view.read_only else None
        for name, act in self.tool_actions.items():
            if name in ("select", "text"):
                continue
            act.setEnabled(reason is None)
            label = TOOL_LABELS[name]
            key = next(k for n, _l, k in TOOLS if n == name)
            act.setToolTip(reason or f"{label} ({key})")
        for act in self.markup_actions.values():
            if reason is not None:
                act.setToolTip(reason)
        if selected is not None and not self._can_delete(selected):
            self.delete_action.setToolTip(self.record_flags(selected)[2])
        else:
            self.delete_action.setToolTip("Delete the selected annotation (Del)")

    # -- help ---------------------------------------------------------------------------

    def shortcut_rows(self) -> list[tuple[str, str, str]]:
        """Return ``(menu, command, keys)`` of every menu command that has a shortcut."""
        rows: list[tuple[str, str, str]] = []
        for top in self.menuBar().actions():
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

    def show_shortcuts(self) -> QWidget:
        """Show every keyboard shortcut, by menu (Help → Keyboard shortcuts, F1)."""
        from PySide6.QtWidgets import QDialog, QTableWidget, QTableWidgetItem, QVBoxLayout

        dialog = QDialog(self)
        dialog.setObjectName("shortcutsDialog")
        dialog.setWindowTitle("Keyboard shortcuts")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        rows = self.shortcut_rows()
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

    def show_about(self) -> None:
        from lamina import __version__

        box = QMessageBox(
            QMessageBox.Icon.Information,
            "About Lamina",
            f"Lamina {__version__}\n\nAnnotate PDFs on your own or review them together "
            "live; your work is kept as you go and syncs when you are back online.",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("aboutDialog")
        box.open()
        self._open_dialogs.append(box)
        box.finished.connect(
            lambda *_: self._open_dialogs.remove(box) if box in self._open_dialogs else None
        )

    # -- search and go to -----------------------------------------------------------------

    def start_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    def _on_search_enter(self) -> None:
        query = self.search_box.text().strip()
        if query and query == self._search_query and self._search_hits:
            self.step_search(1)
            return
        self.run_search(query)

    def run_search(self, query: str) -> None:
        """Search every page in small slices, so a long document never freezes the window."""
        self._search_query = query
        self._search_hits = []
        self._search_index = -1
        self.view.set_search_hits([])
        if not query or self.pdf is None:
            self.search_label.setText("")
            return
        start = self.view.current_page
        self._search_pending = list(range(start, self.view.page_count)) + list(range(0, start))
        self.search_label.setText(" searching…")
        QTimer.singleShot(0, self._search_slice)

    def _search_slice(self) -> None:
        if self.pdf is None:
            return
        for _ in range(16):
            if not self._search_pending:
                break
            page = self._search_pending.pop(0)
            for rects in search_page(self.pdf, page, self._search_query):
                self._search_hits.append(SearchHit(page, rects))
        if self._search_pending:
            QTimer.singleShot(0, self._search_slice)
            if self._search_index < 0 and self._search_hits:
                self._search_index = 0
                self.view.set_search_hits(self._search_hits, 0)
            return
        self._search_hits.sort(key=lambda h: (h.page, h.rects[0].top, h.rects[0].left))
        if self._search_hits:
            start = self.view.current_page
            self._search_index = next(
                (i for i, h in enumerate(self._search_hits) if h.page >= start), 0
            )
        self.view.set_search_hits(self._search_hits, self._search_index)
        self._update_search_label()

    def step_search(self, step: int) -> None:
        if not self._search_hits:
            if self.search_box.text().strip():
                self.run_search(self.search_box.text().strip())
            return
        self._search_index = (self._search_index + step) % len(self._search_hits)
        self.view.set_search_hits(self._search_hits, self._search_index)
        self._update_search_label()

    def _update_search_label(self) -> None:
        if not self._search_hits:
            self.search_label.setText(" no matches")
        else:
            self.search_label.setText(f" {self._search_index + 1} of {len(self._search_hits)}")

    def start_goto(self) -> None:
        self.page_box.setFocus()
        self.page_box.selectAll()

    # -- files ----------------------------------------------------------------------------

    def save(self) -> None:
        from lamina.ui.files import save_into_pdf

        save_into_pdf(self)

    def export_instant_json(self) -> None:
        from lamina.ui.files import export_instant_json

        export_instant_json(self)

    def export_pdf(self, flatten: bool) -> None:
        from lamina.ui.files import export_pdf

        export_pdf(self, flatten)

    def import_instant_json(self) -> None:
        from lamina.ui.files import import_instant_json

        import_instant_json(self)

    def export_layers(self) -> QWidget | None:
        """Ask which layers to merge, then write them into one PDF (File → Export)."""
        from lamina.ui.files import export_merged_pdf
        from lamina.ui.panels import ExportLayersDialog

        session = self.session
        if session is None:
            return None
        rows = [(session.own_layer, f"{self.own_layer_label()} (always included)", True, False)]
        for name in session.other_layers:
            rows.append((name, f"{name} layer", True, True))
        dialog = ExportLayersDialog(rows, self)
        self._open_dialogs.append(dialog)

        def finished(result: int) -> None:
            if dialog in self._open_dialogs:
                self._open_dialogs.remove(dialog)
            if result == ExportLayersDialog.DialogCode.Accepted:
                layers = [n for n in dialog.chosen() if n != session.own_layer]
                export_merged_pdf(self, layers, dialog.flatten.isChecked())

        dialog.finished.connect(finished)
        dialog.open()
        return dialog


def _style_target(tool: str) -> str:
    """Return what the Properties panel says it edits while ``tool`` is active."""
    if tool in ("select", "text"):
        return "Select an annotation to change it, or pick a tool"
    return f"New {TOOL_LABELS[tool].lower()} annotations"


def _meta_field(info: object, name: str) -> str | None:
    value = info.get(name) if isinstance(info, dict) else getattr(info, name, None)
    return str(value) if value is not None else None


def _why_not(record: Annotation | Comment) -> str:
    who = f"{record.creator_name}'s" if record.creator_name else "this"
    what = "comment" if isinstance(record, Comment) else "annotation"
    return f"Your invite does not allow changing {who} {what}"


def _restyle(record: Annotation, style: ToolStyle) -> Annotation:
    changes: dict[str, object] = {"opacity": round(style.opacity, 3) if style.opacity < 1 else None}
    names = {f.name for f in dataclasses.fields(record)}
    for name in ("stroke_color", "color", "font_color"):
        if name in names:
            changes[name] = style.color
    if "line_width" in names:
        changes["line_width"] = style.width
    if "stroke_width" in names:
        changes["stroke_width"] = style.width
    if "font_size" in names:
        changes["font_size"] = style.font_size
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


def _style_of(record: Annotation, base: ToolStyle) -> ToolStyle:
    color = (
        getattr(record, "stroke_color", None)
        or getattr(record, "color", None)
        or getattr(record, "font_color", None)
    )
    width = (
        getattr(record, "line_width", None) or getattr(record, "stroke_width", None) or base.width
    )
    font_size = getattr(record, "font_size", None) or base.font_size
    return dataclasses.replace(
        base,
        color=color if isinstance(color, str) and color.startswith("#") else base.color,
        width=float(width),
        opacity=record.effective_opacity,
        font_size=float(font_size) if isinstance(font_size, int | float) else base.font_size,
    )
