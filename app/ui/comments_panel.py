"""The Comments panel: annotations and their comment threads; reply, edit, delete, filter.

The list is a :class:`~lamina.ui.comments_model.CommentsModel` in a table view: a change
updates the rows it names, whatever the number of annotations (DESIGN §7).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from lamina.client.review_events import LayerRecordsChanged, RecordsChanged, ThreadsChanged
from lamina.client.review_model import ReviewModel
from lamina.model.records import Annotation, Comment, Record
from lamina.ui.bridge import ReviewBridge
from lamina.ui.comments_model import (
    CommentRow,
    CommentsModel,
    listed_in_comments,
    page_order,
    record_text,
)
from PySide6.QtCore import QModelIndex, QObject, QRect, Qt, QTimer, Signal, SignalInstance
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

__all__ = [
    "CommentRow",
    "CommentRows",
    "CommentsPanel",
    "comment_row",
    "describe",
    "listed_in_comments",
    "page_order",
    "record_text",
]


def describe(record: Record) -> str:
    """Return a short human name for a record: ``Ink on page 3``."""
    kind = record.type.rsplit("/", 1)[-1].replace("-", " ").capitalize()
    page = record.page_index if isinstance(record, Annotation | Comment) else None
    return f"{kind} on page {page + 1}" if page is not None else kind


class CommentsPanel(QWidget):
    """Annotations and their comment threads; reply, edit, delete; filter by author and layer.

    ``table`` shows ``model``: one row per annotation in page order, its comments in the rows
    below it.

    Signals:
        activated(str): the user picked a record (go to it, select it).
        reply(str, str): reply to the thread of record id with text.
        edit(str, str): set the text of record id.
        delete(str): delete record id.
        current_changed(object): the record id picked in the list (None: nothing).
    """

    current_changed = Signal(object)
    activated = Signal(str)
    reply = Signal(str, str)
    edit = Signal(str, str)
    delete = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        filters = QHBoxLayout()
        self.author_filter = QComboBox()
        self.author_filter.setObjectName("authorFilter")
        self.author_filter.setToolTip("Show annotations by this author only")
        self.layer_filter = QComboBox()
        self.layer_filter.setObjectName("layerFilter")
        self.layer_filter.setToolTip("Show annotations of this layer only")
        filters.addWidget(self.author_filter)
        filters.addWidget(self.layer_filter)
        layout.addLayout(filters)
        self.model = CommentsModel(self)
        self.table = table = QTableView()
        table.setObjectName("commentsTree")
        table.setModel(self.model)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setTabKeyNavigation(False)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        rows = table.verticalHeader()
        rows.hide()
        # Fixed heights: the view never measures rows it does not show.
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(table.fontMetrics().height() + 6)
        columns = table.horizontalHeader()
        columns.setStretchLastSection(True)
        columns.setHighlightSections(False)
        table.setColumnWidth(0, 175)
        table.setColumnWidth(1, 85)
        table.activated.connect(self._on_activated)
        table.clicked.connect(self._on_activated)
        layout.addWidget(table, 1)
        self.empty = QLabel(
            "No annotations yet.\n\nDraw with a tool from the left tool bar (Pen P, "
            "Rectangle R, Free text X, Sticky note N…); it appears here, and you can reply "
            "to it below."
        )
        self.empty.setObjectName("commentsEmpty")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color: palette(mid); padding: 12px;")
        layout.addWidget(self.empty, 1)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("Write a reply or new text…")
        self.text.setMaximumHeight(70)
        layout.addWidget(self.text)
        buttons = QHBoxLayout()
        self.reply_button = QPushButton("Reply")
        self.reply_button.setObjectName("replyButton")
        self.edit_button = QPushButton("Edit text")
        self.edit_button.setObjectName("editTextButton")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("deleteCommentButton")
        for b in (self.reply_button, self.edit_button, self.delete_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.reply_button.clicked.connect(lambda: self._emit_text(self.reply))
        self.edit_button.clicked.connect(lambda: self._emit_text(self.edit))
        self.delete_button.clicked.connect(self._emit_delete)
        self.author_filter.currentIndexChanged.connect(lambda *_: self._apply_filter())
        self.layer_filter.currentIndexChanged.connect(lambda *_: self._apply_filter())
        selection = table.selectionModel()
        selection.currentChanged.connect(lambda *_: self.current_changed.emit(self.current_id()))
        self._filter_values: tuple[list[str], list[str]] = ([], [])
        self.set_allowed(None, None, None)
        self._show_empty()

    def set_allowed(
        self,
        reply: tuple[bool, str] | None,
        edit: tuple[bool, str] | None,
        delete: tuple[bool, str] | None,
    ) -> None:
        """Enable the buttons per ``(allowed, why not)``; None: nothing selected."""
        for button, flag, tip in (
            (self.reply_button, reply, "Reply to the selected thread with the text above"),
            (self.edit_button, edit, "Replace the selected item's text with the text above"),
            (self.delete_button, delete, "Delete the selected annotation or comment"),
        ):
            if flag is None:
                button.setEnabled(False)
                button.setToolTip("Select an annotation or comment in the list first")
            else:
                button.setEnabled(flag[0])
                button.setToolTip(tip if flag[0] else flag[1])

    def _show_empty(self) -> None:
        empty = len(self.model) == 0
        self.empty.setVisible(empty)
        self.table.setVisible(not empty)

    def row_count(self) -> int:
        """Return how many annotations are listed (filtered out or not)."""
        return len(self.model)

    def current_id(self) -> str | None:
        """Return the id of the record picked in the list (None: nothing picked)."""
        index = self.table.currentIndex()
        return self.model.id_at(index.row()) if index.isValid() else None

    def set_records(self, rows: Sequence[CommentRow]) -> None:
        """Show these rows, and only these (the pick stays if still listed)."""
        selected = self.current_id()
        self.model.reset(rows)
        self._update_filters()
        self._show_empty()
        if selected is not None:
            self.select(selected)

    def put_rows(self, rows: Sequence[CommentRow]) -> None:
        """Add these rows or update them in place; a new or moved one goes where its page
        puts it. Only the rows given are touched."""
        self.model.put(rows)
        self._update_filters()
        self._show_empty()

    def set_thread(self, root_id: str, comments: Sequence[Comment]) -> None:
        """Show these comments under the row of ``root_id`` (if listed)."""
        self.model.set_thread(root_id, comments)

    def remove_rows(self, record_ids: Iterable[str]) -> None:
        """Take the rows of these ids out of the list (ids not listed are ignored)."""
        if self.model.remove(record_ids):
            self._update_filters()
            self._show_empty()

    def listed_ids(self) -> list[str]:
        """Return the ids of the annotations listed, in order (filtered out or not)."""
        return self.model.ids()

    def row_rect(self, record_id: str) -> QRect | None:
        """Return where a record's row is in ``table.viewport()`` (None: not shown)."""
        row = self.model.row_of(record_id)
        if row is None:
            return None
        index = self.model.index(row, 0)
        self.table.scrollTo(index)
        return self.table.visualRect(index)

    def _update_filters(self) -> None:
        values = (self.model.authors(), self.model.layers())
        if values == self._filter_values:
            return
        self._filter_values = values
        refilter = False
        for combo, listed, label in (
            (self.author_filter, values[0], "All authors"),
            (self.layer_filter, values[1], "All layers"),
        ):
            current = combo.currentData() if combo.currentIndex() > 0 else None
            if [combo.itemData(i) for i in range(1, combo.count())] == listed:
                continue
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(label, None)
            for value in listed:
                combo.addItem(value or "(no author)", value)
            if current is not None and current in listed:
                combo.setCurrentIndex(combo.findData(current))
            combo.blockSignals(False)
            refilter = refilter or (current is not None and current not in listed)
        if refilter:
            self._apply_filter()
        # The Layer column only says something when more than one layer is shown.
        self.table.setColumnHidden(2, len(values[1]) <= 1)

    def _apply_filter(self) -> None:
        """Show only the rows of the author and layer the filters name."""
        author = self.author_filter.currentData() if self.author_filter.currentIndex() > 0 else None
        layer = self.layer_filter.currentData() if self.layer_filter.currentIndex() > 0 else None
        selected = self.current_id()
        self.model.set_filter(author, layer)
        if selected is not None:
            self.select(selected)

    def select(self, record_id: str | None) -> None:
        """Pick the row of ``record_id`` (the selection on the page), if listed."""
        row = self.model.row_of(record_id) if record_id is not None else None
        if row is not None:
            if self.table.currentIndex().row() != row:
                self.table.setCurrentIndex(self.model.index(row, 0))
        elif record_id is None and self.table.currentIndex().isValid():
            # Nothing is selected on the page: no row stays picked (Delete acts on the page's
            # selection, never on a row left over from before).
            self.table.setCurrentIndex(QModelIndex())
            self.table.clearSelection()

    def _on_activated(self, index: QModelIndex) -> None:
        record_id = self.model.id_at(index.row()) if index.isValid() else None
        if record_id:
            self.activated.emit(record_id)

    def _emit_text(self, signal: SignalInstance) -> None:
        record_id = self.current_id()
        text = self.text.toPlainText().strip()
        if record_id and text:
            signal.emit(record_id, text)
            self.text.clear()

    def _emit_delete(self) -> None:
        record_id = self.current_id()
        if record_id:
            self.delete.emit(record_id)


def comment_row(annotation: Annotation, thread: Sequence[Comment], layer: str) -> CommentRow:
    """Return the panel's row of an annotation, the comments of its thread and its layer."""
    return (annotation, annotation.creator_name or "", layer, list(thread))


FILL_SLICE = 200
"""How many rows a listing adds per turn of the event loop, at least (whole pages at a time):
the window stays responsive while tens of thousands of annotations are listed."""


class CommentRows(QObject):
    """Keep the Comments panel listing what a review model shows, row by changed row.

    A change costs the rows it names. Listing everything again (a document opened, a layer
    shown or hidden) goes page by page, :data:`FILL_SLICE` rows or more per turn of the event
    loop, so the rows arrive in page order and nothing sorts them all at once.

    Args:
        panel: the Comments panel.
        model: the open document's review model.
        bridge: the model's Qt bridge; this object is its child and goes with it.
        layer_of: the name the Layer column gives a record's layer.

    Signals: none.
    """

    def __init__(
        self,
        panel: CommentsPanel,
        model: ReviewModel,
        bridge: ReviewBridge,
        layer_of: Callable[[Annotation], str],
    ) -> None:
        super().__init__(bridge)
        self.panel = panel
        self.model = model
        self._layer_of = layer_of
        self._pages: list[int] = []
        """Pages still to list, last first (the rest of a listing)."""
        self._pick: str | None = None
        """The row picked when the listing started, until it is listed again."""
        self._filling = QTimer(self)
        self._filling.setSingleShot(True)
        self._filling.setInterval(0)
        self._filling.timeout.connect(self._fill_slice)
        bridge.records_changed.connect(self._on_records)
        bridge.layer_records_changed.connect(self._on_layer_records)
        bridge.layer_visibility_changed.connect(lambda *_: self.reset())
        bridge.threads_changed.connect(self._on_threads)
        # Opening: the window attaches its other parts to the document in this turn of the
        # event loop; the first rows wait for the next (each step then stays short).
        self.reset(first_slice_now=False)

    @property
    def filling(self) -> bool:
        """Whether a listing is still adding rows."""
        return bool(self._pages)

    def _row(self, annotation: Annotation) -> CommentRow:
        return comment_row(annotation, self.model.thread(annotation.id), self._layer_of(annotation))

    def reset(self, first_slice_now: bool = True) -> None:
        """List everything again (a document opened, a layer shown or hidden).

        The first pages are listed at once (unless not ``first_slice_now``), the others in
        later turns of the event loop.
        """
        self._pick = self.panel.current_id()
        self._pages = self.model.drawn_pages()
        self._pages.reverse()
        self.panel.set_records([])
        if first_slice_now:
            self._fill_slice()
        elif self._pages:
            self._filling.start()

    def _fill_slice(self) -> None:
        rows: list[CommentRow] = []
        while self._pages and len(rows) < FILL_SLICE:
            listed = [
                a for a in self.model.page_annotations(self._pages.pop()) if listed_in_comments(a)
            ]
            listed.sort(key=page_order)
            rows.extend(self._row(a) for a in listed)
        if rows:
            self.panel.put_rows(rows)
        if self._pick is not None and self.panel.model.row_of(self._pick) is not None:
            # The row picked before the listing started is back: picked again (unless the
            # user picked another one meanwhile).
            if self.panel.current_id() is None:
                self.panel.select(self._pick)
            self._pick = None
        if self._pages:
            self._filling.start()
        else:
            self._filling.stop()
            self._pick = None

    def _put(self, ids: Iterable[str]) -> None:
        rows: list[CommentRow] = []
        gone: list[str] = []
        for record_id in ids:
            found = self.model.find(record_id)
            if found is None or not isinstance(found[1], Annotation):
                continue
            layer, record = found[0] or self.model.own_layer, found[1]
            if listed_in_comments(record) and self.model.layer_visible(layer):
                rows.append(self._row(record))
            else:
                gone.append(record_id)
        if gone:
            self.panel.remove_rows(gone)
        if rows:
            self.panel.put_rows(rows)

    def _on_records(self, event: RecordsChanged | LayerRecordsChanged) -> None:
        if len(event.added) + len(event.changed) > FILL_SLICE:
            # Many at once (a snapshot arrived, a big import): listing again a slice at a
            # time never freezes the window, where a row each would, all in one turn.
            self.reset()
            return
        self.panel.remove_rows(event.removed)
        self._put((*event.added, *event.changed))

    def _on_layer_records(self, event: LayerRecordsChanged) -> None:
        self._on_records(event)

    def _on_threads(self, event: ThreadsChanged) -> None:
        for root_id in event.root_ids:
            self.panel.set_thread(root_id, self.model.thread(root_id))
