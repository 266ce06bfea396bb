"""The main window: composes the page view, panels, actions, status bar and their parts.

What each part does lives in its own module: :mod:`~lamina.ui.actions` (actions, menus, tool
bars), :mod:`~lamina.ui.opening` (opening documents), :mod:`~lamina.ui.editing` (edits and
what the token allows), :mod:`~lamina.ui.search` (find, go to page),
:mod:`~lamina.ui.status_bar`, :mod:`~lamina.ui.files` (save, export, import), and one module
per panel. The window builds them, wires their signals, and shows or closes a document.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from lamina.auth.tokens import TokenClaims
from lamina.client.backoff import Backoff
from lamina.client.port import AutosaveMode, ReviewDocument
from lamina.client.review_events import LayerRecordsChanged, ReadOnlyChanged, RecordsChanged
from lamina.client.review_model import ReviewModel
from lamina.model.errors import LaminaError
from lamina.pdf import PdfDocument
from lamina.ui import files
from lamina.ui.actions import TOOLS, ActionState, WindowActions
from lamina.ui.bridge import ReviewBridge
from lamina.ui.comments_panel import CommentRows, CommentsPanel
from lamina.ui.conflicts_panel import ConflictList, ConflictsPanel
from lamina.ui.documents import OpenDocuments
from lamina.ui.drawn_records import DrawnPlan, DrawnRecords
from lamina.ui.editing import Editor
from lamina.ui.forms import FormFiller, FormPageView
from lamina.ui.help_dialogs import open_about_box, open_shortcuts_dialog
from lamina.ui.inline_editor import InlineTextEditor
from lamina.ui.layers_panel import LayerHost, LayersPanel, LayerViews
from lamina.ui.opening import DocumentOpener
from lamina.ui.preferences import Preferences, account_name, load_preferences
from lamina.ui.properties_panel import PropertiesPanel
from lamina.ui.render import TileRenderer
from lamina.ui.search import DocumentSearch
from lamina.ui.status_bar import DocumentStatusBar, follow_review
from lamina.ui.thumbnails import ThumbnailPanel
from lamina.ui.view_modes import ViewerFeatures
from lamina.ui.welcome import WelcomePage
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

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


PANEL_MIN_WIDTHS = {"thumbnails": 90, "comments": 200, "layers": 200, "properties": 200}
"""Narrowest the side panels get, in pixels (their layouts ask for up to 304)."""
CENTRAL_MIN_WIDTH = 280
"""Narrowest the page area gets, in pixels."""
MAX_MIN_WIDTH = 940
"""A window is never wider than this at its narrowest: two fit side by side on 1920 px."""
PAGE_FIELDS_MS = 100
"""While pages scroll by, the page fields show the current page this often (10 a second)."""


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

    def __init__(
        self, settings: QSettings, documents: OpenDocuments, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("Lamina")
        self.resize(1280, 860)
        self.setAcceptDrops(True)
        self.settings = settings
        self.documents = documents
        """The app's open documents: this window opens and closes its own through them."""
        self.session: ReviewModel | None = None
        """The review model of the document shown (None: the welcome page, or loading)."""
        self.bridge: ReviewBridge | None = None
        """The Qt bridge of :attr:`session`; the panels follow its signals."""
        self.layer_views: LayerViews | None = None
        """The layers offered and shown for :attr:`session`."""
        self.pdf: PdfDocument | None = None
        self.pdf_path: Path | None = None
        """The PDF shown: the local file, or a review's cached copy."""
        self.title = ""
        self.renderer: TileRenderer | None = None
        self.claims: TokenClaims | None = None
        """A review's token claims (None: a local PDF)."""
        self.read_only_reason: str | None = None
        self.layer_host: LayerHost | None = None
        """Who creates layers of the reviews this app hosts (the app controller)."""
        self.auto_show_layers: list[str] = []
        """Other layers to show as soon as the next review opens (the sample review)."""
        self.settings_override: dict[str, str] = {}
        """Name and colour of this window only (the sample review's second person)."""
        self._open_dialogs: list[QWidget] = []
        """Window-modal dialogs open now (kept referenced until they finish)."""

        self.stack = QStackedWidget()
        self.welcome = WelcomePage()
        self.view = FormPageView()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.view)
        self.setCentralWidget(self.stack)
        self.status_bar = DocumentStatusBar()
        self.setStatusBar(self.status_bar)
        self.search = DocumentSearch(self.view, self)
        self.window_actions = WindowActions(
            self,
            self.search.page_box,
            self.search.page_count_label,
            self.search.search_box,
            self.search.search_label,
        )
        self.opener = DocumentOpener(self)
        self.editor = Editor(self)
        self._build_docks()
        self._expose_parts()
        self._wire_actions()
        self._wire_view()
        self.viewer = ViewerFeatures(self)
        self.welcome.set_recent(self.opener.recent_files())
        self.preferences_changed.connect(self.apply_preferences)
        self.apply_preferences()
        self.update_actions()

    # -- construction -------------------------------------------------------------------

    def _build_docks(self) -> None:
        self.properties = PropertiesPanel()
        self.comments = CommentsPanel()
        self.layers = LayersPanel()
        self.conflicts = ConflictsPanel()
        self.thumbnails = ThumbnailPanel()
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
            self.window_actions.view_menu.addAction(dock.toggleViewAction())
            self.docks[name] = dock
        # Two windows fit side by side on a 1920-pixel screen: the panels and the page area
        # may be narrower than their layouts would like (they squeeze, and text elides).
        for name, width in PANEL_MIN_WIDTHS.items():
            self.docks[name].widget().setMinimumWidth(width)
        self.stack.setMinimumWidth(CENTRAL_MIN_WIDTH)
        self.tabifyDockWidget(self.docks["properties"], self.docks["conflicts"])
        self.docks["properties"].raise_()
        for dock in self.docks.values():
            dock.hide()

    def _expose_parts(self) -> None:
        # What the app controller, scripts and tests use of the window's parts, by the names
        # they have always had.
        acts = self.window_actions
        self.save_action = acts.save_action
        self.import_json_action = acts.import_json_action
        self.export_pdf_action = acts.export_pdf_action
        self.export_layers_action = acts.export_layers_action
        self.delete_action = acts.delete_action
        self.fit_width_action = acts.fit_width_action
        self.preferences_action = acts.preferences_action
        self.join_action = acts.join_action
        self.host_action = acts.host_action
        self.tool_actions = acts.tool_actions
        self.connection_label = self.status_bar.connection_label
        self.sync_label = self.status_bar.sync_label
        self.presence_label = self.status_bar.presence_label

    def _wire_actions(self) -> None:
        acts, editor, search, view = self.window_actions, self.editor, self.search, self.view
        for action, slot in (
            (acts.open_action, self.opener.choose_and_open),
            (acts.save_action, lambda: files.save_into_pdf(self)),
            (acts.export_json_action, lambda: files.export_instant_json(self)),
            (acts.export_pdf_action, lambda: files.export_pdf(self, False)),
            (acts.export_flat_action, lambda: files.export_pdf(self, True)),
            (acts.export_layers_action, self.export_layers),
            (acts.import_json_action, lambda: files.import_instant_json(self)),
            (acts.close_action, self.close),
            (acts.undo_action, editor.undo),
            (acts.redo_action, editor.redo),
            (acts.copy_action, editor.copy_text),
            (acts.delete_action, editor.delete_selected),
            (acts.find_action, search.start),
            (acts.find_next_action, lambda: search.step(1)),
            (acts.find_prev_action, lambda: search.step(-1)),
            (acts.goto_action, search.start_goto),
            (acts.zoom_in_action, view.zoom_in),
            (acts.zoom_out_action, view.zoom_out),
            (acts.fit_width_action, view.fit_width),
            (acts.fit_page_action, view.fit_page),
            (acts.preferences_action, self.open_preferences),
            (acts.shortcuts_action, self.show_shortcuts),
            (acts.about_action, self.show_about),
        ):
            action.triggered.connect(slot)
        for name, action in acts.tool_actions.items():
            action.triggered.connect(lambda _=False, n=name: self.set_tool(n))
        for kind, action in acts.markup_actions.items():
            action.triggered.connect(lambda _=False, k=kind: self.markup_selection(k))
        acts.recent_menu.aboutToShow.connect(
            lambda: self.opener.fill_recent_menu(self.window_actions.recent_menu)
        )

    def _wire_view(self) -> None:
        editor, view = self.editor, self.view
        view.record_created.connect(editor.on_record_created)
        view.record_changed.connect(editor.on_record_changed)
        view.records_erased.connect(editor.erase)
        view.selection_changed.connect(editor.on_selection_changed)
        view.text_selection_changed.connect(self.update_actions)
        view.zoom_changed.connect(self.status_bar.show_zoom)
        self._page_shown_later: int | None = None
        self._page_fields_timer = QTimer(self)
        self._page_fields_timer.setSingleShot(True)
        self._page_fields_timer.setInterval(PAGE_FIELDS_MS)
        self._page_fields_timer.timeout.connect(self._show_page_fields)
        view.current_page_changed.connect(self._on_page_changed)
        self.thumbnails.page_chosen.connect(view.go_to_page)
        self.thumbnails.follow_annotations(view.painted_annotations)
        view.annotations_changed.connect(self.thumbnails.redraw_pages)
        view.rotation_changed.connect(self.thumbnails.set_rotation)
        self.properties.style_changed.connect(editor.on_style_changed)
        self.comments.activated.connect(editor.go_to_record)
        self.comments.reply.connect(editor.reply)
        self.comments.edit.connect(editor.edit_text)
        self.comments.delete.connect(editor.delete_id)
        self.comments.current_changed.connect(lambda *_: editor.update_comment_buttons())
        self.comments.current_changed.connect(editor.follow_comments_pick)
        self.layers.visibility_changed.connect(self._on_layer_ticked)
        self.layers.export_requested.connect(self.export_layers)
        self.layers.add_requested.connect(self._on_layer_added)
        self.conflicts.reapply.connect(self._reapply_conflict)
        self.conflicts.dismiss.connect(self._dismiss_conflict)
        self.welcome.open_requested.connect(self.opener.choose_and_open)
        self.welcome.recent_chosen.connect(lambda path: self.open_path(Path(path)))

    # -- opening and closing ------------------------------------------------------------

    def open_path(self, path: Path, password: str | None = None) -> bool:
        """Open a local PDF; errors become a clear dialog. Return whether it opened."""
        return self.opener.open_path(path, password)

    def open_review(self, link: str, backoff: Backoff | None = None) -> None:
        """Join the review an invite link points to; errors become a clear dialog."""
        self.opener.open_review(link, backoff)

    def show_pdf(self, pdf: PdfDocument, title: str) -> None:
        """Show a PDF's pages in this window (annotations follow with :meth:`attach_document`)."""
        self.close_document()
        self.pdf = pdf
        self.title = title
        self.renderer = TileRenderer(pdf.source, pdf.password, parent=self, opened=pdf)
        self.read_only_reason = pdf.read_only_reason
        self.view.read_only = pdf.read_only_reason is not None
        self.view.set_document(pdf, self.renderer)
        self.thumbnails.set_document(pdf, self.renderer)
        self.search.set_document(pdf)
        self.stack.setCurrentWidget(self.view)
        self.setWindowTitle(f"{title} — Lamina")
        for name in ("thumbnails", "comments", "layers", "properties"):
            self.docks[name].show()
        self.docks["properties"].raise_()
        self.update_actions()
        self.view.setFocus()
        if pdf.repaired:
            self.statusBar().showMessage(
                f"{pdf.name} was damaged and has been repaired for viewing.", 10000
            )
        if pdf.read_only_reason:
            self.statusBar().showMessage(f"Read-only: {pdf.read_only_reason}", 10000)

    def attach_document(
        self,
        document: ReviewDocument,
        pdf_path: Path,
        title: str,
        claims: TokenClaims | None = None,
        model: ReviewModel | None = None,
        drawn: DrawnPlan | None = None,
    ) -> None:
        """Show the records of an opened client document over the PDF on screen.

        The window keeps a :class:`ReviewModel` of it (``model``, when one was built off the
        GUI thread already, with ``drawn``, what its page view draws) and follows the model
        through one :class:`ReviewBridge`: each panel updates what an event names.
        """
        model = model if model is not None else ReviewModel(document)
        if self.pdf is not None and self.pdf.read_only_reason is not None:
            model.set_read_only(self.pdf.read_only_reason)
        bridge = ReviewBridge(model, self)
        self.session, self.bridge, self.pdf_path, self.claims = model, bridge, pdf_path, claims
        self._apply_document_preferences()
        self._show_read_only()
        self.layer_views = layer_views = LayerViews(self, model, bridge)
        DrawnRecords(self.view, model, bridge, layer_views.color, drawn)
        if self.pdf is not None:
            FormFiller(self.view, model, bridge, self.pdf, self._report)
        CommentRows(self.comments, model, bridge, layer_views.layer_of)
        ConflictList(self.conflicts, model, bridge, self._show_conflicts_dock)
        follow_review(self.status_bar, model, bridge)
        bridge.records_changed.connect(self._on_records_changed)
        bridge.layer_records_changed.connect(self._on_records_changed)
        bridge.threads_changed.connect(lambda *_: self.editor.update_comment_buttons())
        bridge.undo_changed.connect(self.window_actions.show_undo)
        bridge.read_only_changed.connect(self._show_read_only)
        bridge.change_refused.connect(
            lambda event: self.statusBar().showMessage(f"Change refused: {event.reason}", 8000)
        )
        bridge.server_fell_behind.connect(lambda event: self._on_server_behind(event.message))
        auto, self.auto_show_layers = self.auto_show_layers, []
        layer_views.offer(auto)
        self.editor.update_comment_buttons()
        self.update_actions()
        self.document_opened.emit(title)

    def close_document(self) -> None:
        """Close what this window shows; the client document closes in the background."""
        self.editor.finish_inline_edit()
        model, bridge = self.session, self.bridge
        self.session = self.bridge = self.layer_views = None
        if self.view.filler is not None:
            self.view.filler.close_editor(commit=True)
            self.view.filler = None
        if bridge is not None:
            bridge.close()
            bridge.deleteLater()  # with it, the panels' per-document parts
        if model is not None:
            model.close()
            self.documents.close_later(model.document)
        self.claims = None
        self.pdf_path = None
        self.read_only_reason = None
        # Nothing of this document stays drawn or listed over the next one while it loads.
        self.view.set_annotations([], lambda _annotation: False)
        self.view.set_layer_marks([])
        self.comments.set_records([])
        if self.renderer is not None:
            self.renderer.stop()
            self.renderer = None
        if self.pdf is not None:
            self.pdf.close()
            self.pdf = None
        self.search.set_document(None)
        self.conflicts.set_conflicts([])
        self.layers.set_layers([])
        self.status_bar.show_sync(None)
        self.window_actions.show_undo(None)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.close_document()
        super().closeEvent(event)
        self.closed.emit()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(u.toLocalFile().lower().endswith(".pdf") for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.toLocalFile().lower().endswith(".pdf"):
                self.open_path(Path(url.toLocalFile()))
                event.acceptProposedAction()
                return

    # -- dialogs ------------------------------------------------------------------------

    def keep_dialog(self, dialog: QDialog) -> None:
        """Keep a window-modal dialog referenced until it finishes (it does not block)."""
        self._open_dialogs.append(dialog)
        dialog.finished.connect(
            lambda *_: self._open_dialogs.remove(dialog) if dialog in self._open_dialogs else None
        )

    def _report(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

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
        self.keep_dialog(box)

    def _on_server_behind(self, message: str) -> None:
        from lamina.ui.server_behind import ask_server_behind

        box = ask_server_behind(self, message)
        if box is not None:
            self.keep_dialog(box)

    def show_shortcuts(self) -> QWidget:
        """Show every keyboard shortcut, by menu (Help → Keyboard shortcuts, F1)."""
        return open_shortcuts_dialog(self, self.window_actions.shortcut_rows())

    def show_about(self) -> None:
        """Show Help → About Lamina."""
        self.keep_dialog(open_about_box(self))

    def export_layers(self) -> QWidget | None:
        """Ask which layers to merge, then write them into one PDF (File → Export)."""
        return files.choose_layers_to_export(self)

    # -- editing (see lamina.ui.editing) ------------------------------------------------

    @property
    def inline_editor(self) -> InlineTextEditor | None:
        """The in-place editor of a new free text or note while the user types."""
        return self.editor.inline_editor

    def set_tool(self, name: str) -> None:
        """Use tool ``name`` (``select``, ``ink``, ``rectangle``, ...)."""
        self.editor.set_tool(name)

    def markup_selection(self, kind: str) -> None:
        """Turn the selected text into a highlight/underline/strikeout/squiggly annotation."""
        self.editor.markup_selection(kind)

    def delete_selected(self) -> None:
        """Delete the selected annotation, if the token allows it."""
        self.editor.delete_selected()

    # -- preferences --------------------------------------------------------------------

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
        return self.preferences().display_name or account_name()

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
        name = prefs.display_name or account_name()
        for tool, _label, _key in TOOLS:
            style = self.view.style_for(tool)
            kind = TOOL_COLOR_KINDS.get(tool)
            color = prefs.tool_color(kind) if kind is not None else style.color
            self.view.set_style(tool, dataclasses.replace(style, color=color, creator_name=name))
        self.editor.show_tool_style()
        self._apply_document_preferences()
        if self.layer_views is not None:
            self.layer_views.refresh_row(self.layer_views.model.own_layer)

    def _apply_document_preferences(self) -> None:
        # A local PDF keeps its own rule (edits are kept in the local store at once and
        # written into the PDF on Ctrl+S) and has nobody to tell a name to.
        model = self.session
        if model is None or model.standalone:
            return
        prefs = self.preferences()
        model.document.set_autosave(AutosaveMode(prefs.autosave))
        model.document.set_presence(
            {"name": prefs.display_name or account_name(), "color": prefs.presence_color}
        )

    # -- showing the document's state ---------------------------------------------------

    def _on_records_changed(self, event: RecordsChanged | LayerRecordsChanged) -> None:
        # What the selection and the Comments panel's pick allow may have changed with them.
        ids = set(event.ids)
        if self.view.selected_id in ids or self.comments.current_id() in ids:
            self.editor.update_comment_buttons()
            self.update_actions()

    def _show_read_only(self, _event: ReadOnlyChanged | None = None) -> None:
        model = self.session
        if model is not None:
            self.read_only_reason = model.read_only_reason
            self.view.read_only = model.read_only_reason is not None
        self.update_actions()

    def _on_layer_ticked(self, layer: str, visible: bool) -> None:
        if self.layer_views is not None:
            self.layer_views.set_visible(layer, visible)

    def _on_layer_added(self, name: str) -> None:
        if self.layer_views is not None:
            self.layer_views.add(name)

    def _show_conflicts_dock(self) -> None:
        self.docks["conflicts"].show()
        self.docks["conflicts"].raise_()

    def _reapply_conflict(self, conflict_id: str) -> None:
        if self.session is None:
            return
        try:
            self.session.reapply_conflict(conflict_id)
        except LaminaError as exc:
            self.show_error("Cannot re-apply this change", str(exc))

    def _dismiss_conflict(self, conflict_id: str) -> None:
        if self.session is None:
            return
        try:
            self.session.dismiss_conflict(conflict_id)
        except LaminaError as exc:
            self.show_error("Cannot dismiss this change", str(exc))

    def _on_page_changed(self, page: int) -> None:
        self.thumbnails.set_current(page)  # (it follows once the view stops changing page)
        self._page_shown_later = page
        if not self._page_fields_timer.isActive():
            self._show_page_fields()  # the first change at once, as a key press expects

    def _show_page_fields(self) -> None:
        """Show the current page in the toolbar's field and the status bar: at most once per
        :data:`PAGE_FIELDS_MS` while pages go by (each change repainted both bars and the
        window behind them, most of a scrolled frame's time), always ending on the last."""
        page, self._page_shown_later = self._page_shown_later, None
        if page is None:
            return
        self.search.show_page(page)
        self.status_bar.show_page(page, self.view.page_count)
        self._page_fields_timer.start()

    def update_actions(self) -> None:
        """Enable the actions that may run now (after the document or selection changed)."""
        model = self.session
        _page, words = self.view.selected_words()
        self.window_actions.update(
            ActionState(
                has_document=model is not None,
                text_selected=bool(words),
                read_only_reason=(self.read_only_reason or "this document")
                if self.view.read_only
                else None,
                standalone=model is not None and model.standalone,
                selected=self.editor.selected_record() is not None,
                delete_why_not=self.editor.delete_why_not(),
            )
        )
