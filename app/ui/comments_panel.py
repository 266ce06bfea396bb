"""The Comments panel: annotations and their comment threads; reply, edit, delete, filter."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence

from lamina.client.review_events import LayerRecordsChanged, RecordsChanged, ThreadsChanged
from lamina.client.review_model import ReviewModel
from lamina.model.records import (
    Annotation,
    Comment,
    CommentMarkerAnnotation,
    LinkAnnotation,
    NoteAnnotation,
    Record,
    TextAnnotation,
    WidgetAnnotation,
)
from lamina.ui.bridge import ReviewBridge
from lamina.ui.properties_panel import annotation_color
from lamina.ui.swatches import color_icon
from PySide6.QtCore import QModelIndex, QObject, Qt, Signal, SignalInstance
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

CommentRow = tuple[Annotation, str, str, list[Comment]]
"""``(annotation, author, layer, comments of its thread)``: one top-level row of the panel."""


def describe(record: Record) -> str:
    """Return a short human name for a record: ``Ink on page 3``."""
    kind = record.type.rsplit("/", 1)[-1].replace("-", " ").capitalize()
    page = record.page_index if isinstance(record, Annotation | Comment) else None
    return f"{kind} on page {page + 1}" if page is not None else kind


def record_text(record: Record) -> str:
    """Return the text a record carries (note text, free text, comment), or ''."""
    texts = Comment | TextAnnotation | NoteAnnotation | CommentMarkerAnnotation
    if isinstance(record, texts) and record.text is not None and record.text.value:
        return record.text.value
    if isinstance(record, Annotation):
        return record.note or ""
    return ""


class CommentsPanel(QWidget):
    """Annotations and their comment threads; reply, edit, delete; filter by author and layer.

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
        self.tree = QTreeWidget()
        self.tree.setObjectName("commentsTree")
        self.tree.setHeaderLabels(["Annotation", "Author", "Layer"])
        self.tree.setColumnWidth(0, 175)
        self.tree.setColumnWidth(1, 85)
        self.tree.itemActivated.connect(self._on_activated)
        self.tree.itemClicked.connect(self._on_activated)
        layout.addWidget(self.tree, 1)
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
        self.tree.currentItemChanged.connect(
            lambda *_: self.current_changed.emit(self.current_id())
        )
        self._rows: dict[str, CommentRow] = {}
        self._items: dict[str, QTreeWidgetItem] = {}
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
        empty = not self._rows
        self.empty.setVisible(empty)
        self.tree.setVisible(not empty)

    def current_id(self) -> str | None:
        """Return the id of the record picked in the list (None: nothing picked)."""
        item = self.tree.currentItem()
        if item is None:
            return None
        value = item.data(0, Qt.ItemDataRole.UserRole)
        return str(value) if value else None

    def set_records(self, rows: Sequence[CommentRow]) -> None:
        """Show these rows, and only these, in this order (the pick stays if still listed)."""
        selected = self.current_id()
        self.tree.clear()
        self._rows = {}
        self._items = {}
        self.put_rows(rows, [row[0].id for row in rows])
        if selected is not None:
            self.select(selected)

    def put_rows(self, rows: Sequence[CommentRow], order: Sequence[str]) -> None:
        """Add these rows or update them in place; ``order`` lists every row's id in order.

        Only the rows given are touched: a new one is inserted where ``order`` puts it.
        """
        new: list[str] = []
        for row in rows:
            record_id = row[0].id
            item = self._items.get(record_id)
            if item is None:
                item = self._items[record_id] = QTreeWidgetItem()
                new.append(record_id)
            self._rows[record_id] = row
            self._fill(item, row)
        if new:
            self._insert(new, order)
        self._update_filters()
        self._apply_filter([self._items[row[0].id] for row in rows])
        self._show_empty()

    def set_thread(self, root_id: str, comments: Sequence[Comment]) -> None:
        """Show these comments under the row of ``root_id`` (if listed)."""
        row = self._rows.get(root_id)
        if row is not None:
            self.put_rows([(row[0], row[1], row[2], list(comments))], ())

    def remove_rows(self, record_ids: Iterable[str]) -> None:
        """Take the rows of these ids out of the list (ids not listed are ignored)."""
        removed = False
        for record_id in record_ids:
            item = self._items.pop(record_id, None)
            if item is None:
                continue
            del self._rows[record_id]
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))
            removed = True
        if removed:
            self._update_filters()
            self._show_empty()

    def listed_ids(self) -> list[str]:
        """Return the ids of the rows listed, in order (filtered out or not)."""
        tree = self.tree
        return [
            str(item.data(0, Qt.ItemDataRole.UserRole))
            for i in range(tree.topLevelItemCount())
            if (item := tree.topLevelItem(i)) is not None
        ]

    def _insert(self, new: Sequence[str], order: Sequence[str]) -> None:
        position = {record_id: i for i, record_id in enumerate(order)}
        listed = [position.get(record_id, len(position)) for record_id in self.listed_ids()]
        for record_id in sorted(new, key=lambda rid: position.get(rid, len(position))):
            at = position.get(record_id, len(position))
            index = bisect.bisect_right(listed, at)
            listed.insert(index, at)
            item = self._items[record_id]
            self.tree.insertTopLevelItem(index, item)
            item.setExpanded(True)

    @staticmethod
    def _fill(item: QTreeWidgetItem, row: CommentRow) -> None:
        annotation, who, layer_name, comments = row
        text = record_text(annotation)
        # The page first: a narrow panel elides the end of a label, never the page number.
        kind = annotation.type.rsplit("/", 1)[-1].replace("-", " ").capitalize()
        label = f"p. {annotation.page_index + 1} \u00b7 {kind}" + (f": {text}" if text else "")
        for column, value in enumerate((label, who, layer_name)):
            item.setText(column, value)
        item.setData(0, Qt.ItemDataRole.UserRole, annotation.id)
        item.setToolTip(0, f"{label}\nby {who or 'no author'}, layer {layer_name}")
        color = annotation_color(annotation)
        if isinstance(color, str) and color.startswith("#"):
            item.setIcon(0, color_icon(color))
        else:
            item.setIcon(0, QIcon())
        item.takeChildren()
        for comment in comments:
            child = QTreeWidgetItem([record_text(comment), comment.creator_name or ""])
            child.setData(0, Qt.ItemDataRole.UserRole, comment.id)
            item.addChild(child)

    def _update_filters(self) -> None:
        for combo, index, label in (
            (self.author_filter, 1, "All authors"),
            (self.layer_filter, 2, "All layers"),
        ):
            current = combo.currentData() if combo.currentIndex() > 0 else None
            values = sorted({str(r[index]) for r in self._rows.values()})
            if [combo.itemData(i) for i in range(1, combo.count())] == values:
                continue
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(label, None)
            for value in values:
                combo.addItem(value or "(no author)", value)
            if current is not None and current in values:
                combo.setCurrentIndex(combo.findData(current))
            combo.blockSignals(False)
            if current is not None and current not in values:
                self._apply_filter()
        # The Layer column only says something when more than one layer is shown.
        self.tree.setColumnHidden(2, len({r[2] for r in self._rows.values()}) <= 1)

    def _apply_filter(self, items: Iterable[QTreeWidgetItem] | None = None) -> None:
        """Hide the rows the author and layer filters leave out (``items``: only these)."""
        author = self.author_filter.currentData() if self.author_filter.currentIndex() > 0 else None
        layer = self.layer_filter.currentData() if self.layer_filter.currentIndex() > 0 else None
        for item in self._items.values() if items is None else items:
            who, layer_name = item.text(1), item.text(2)
            item.setHidden(
                (author is not None and who != author)
                or (layer is not None and layer_name != layer)
            )

    def select(self, record_id: str | None) -> None:
        """Pick the row of ``record_id`` (the selection on the page), if listed."""
        item = self._items.get(record_id) if record_id is not None else None
        if item is not None:
            self.tree.setCurrentItem(item)
        elif record_id is None and self.tree.currentItem() is not None:
            # Nothing is selected on the page: no row stays picked (Delete acts on the page's
            # selection, never on a row left over from before).
            self.tree.setCurrentIndex(QModelIndex())
            self.tree.clearSelection()

    def _on_activated(self, item: QTreeWidgetItem) -> None:
        value = item.data(0, Qt.ItemDataRole.UserRole)
        if value:
            self.activated.emit(str(value))

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


def page_order(annotation: Annotation) -> tuple[int, float, float]:
    """Sort key of the rows: by page, then top to bottom, then left to right."""
    return (annotation.page_index, round(annotation.bbox.top, 1), annotation.bbox.left)


def listed_in_comments(annotation: Annotation) -> bool:
    """Return whether an annotation gets a row: links and form widgets are part of the
    document, not review comments."""
    return not isinstance(annotation, LinkAnnotation | WidgetAnnotation)


class CommentRows(QObject):
    """Keep the Comments panel listing what a review model shows, row by changed row.

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
        bridge.records_changed.connect(self._on_records)
        bridge.layer_records_changed.connect(self._on_layer_records)
        bridge.layer_visibility_changed.connect(lambda *_: self.reset())
        bridge.threads_changed.connect(self._on_threads)
        self.reset()

    def _row(self, annotation: Annotation) -> CommentRow:
        return comment_row(annotation, self.model.thread(annotation.id), self._layer_of(annotation))

    def _listed(self) -> list[Annotation]:
        listed = [a for a in self.model.visible_annotations() if listed_in_comments(a)]
        return sorted(listed, key=page_order)

    def reset(self) -> None:
        """List everything again (a document opened, a layer shown or hidden)."""
        self.panel.set_records([self._row(a) for a in self._listed()])

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
            self.panel.put_rows(rows, [a.id for a in self._listed()])

    def _on_records(self, event: RecordsChanged) -> None:
        self.panel.remove_rows(event.removed)
        self._put((*event.added, *event.changed))

    def _on_layer_records(self, event: LayerRecordsChanged) -> None:
        self.panel.remove_rows(event.removed)
        self._put((*event.added, *event.changed))

    def _on_threads(self, event: ThreadsChanged) -> None:
        for root_id in event.root_ids:
            self.panel.set_thread(root_id, self.model.thread(root_id))
