"""The Comments panel: annotations and their comment threads; reply, edit, delete, filter."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from lamina.model.records import Annotation, Comment, LinkAnnotation, Record, WidgetAnnotation
from lamina.ui.swatches import color_icon
from PySide6.QtCore import Qt, Signal, SignalInstance
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
    page = getattr(record, "page_index", None)
    return f"{kind} on page {page + 1}" if isinstance(page, int) else kind


def record_text(record: Record) -> str:
    """Return the text a record carries (note text, free text, comment), or ''."""
    text = getattr(record, "text", None)
    value = getattr(text, "value", None)
    if isinstance(value, str) and value:
        return value
    note = getattr(record, "note", None)
    return note if isinstance(note, str) else ""


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
        self.author_filter.currentIndexChanged.connect(self._refilter)
        self.layer_filter.currentIndexChanged.connect(self._refilter)
        self.tree.currentItemChanged.connect(
            lambda *_: self.current_changed.emit(self.current_id())
        )
        self._rows: list[CommentRow] = []
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
        item = self.tree.currentItem()
        if item is None:
            return None
        value = item.data(0, Qt.ItemDataRole.UserRole)
        return str(value) if value else None

    def set_records(
        self,
        rows: Sequence[CommentRow],
    ) -> None:
        """Show ``(annotation, author, layer, comments)`` rows."""
        self._rows = list(rows)
        for combo, index, label in (
            (self.author_filter, 1, "All authors"),
            (self.layer_filter, 2, "All layers"),
        ):
            current = combo.currentData() if combo.currentIndex() > 0 else None
            values = sorted({str(r[index]) for r in self._rows})
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(label, None)
            for value in values:
                combo.addItem(value or "(no author)", value)
            if current is not None and current in values:
                combo.setCurrentIndex(combo.findData(current))
            combo.blockSignals(False)
        # The Layer column only says something when more than one layer is shown.
        self.tree.setColumnHidden(2, len({r[2] for r in self._rows}) <= 1)
        self._refilter()

    def _refilter(self) -> None:
        author = self.author_filter.currentData() if self.author_filter.currentIndex() > 0 else None
        layer = self.layer_filter.currentData() if self.layer_filter.currentIndex() > 0 else None
        selected = self.current_id()
        self.tree.clear()
        for annotation, who, layer_name, comments in self._rows:
            if (author is not None and who != author) or (
                layer is not None and layer_name != layer
            ):
                continue
            text = record_text(annotation)
            label = describe(annotation) + (f": {text}" if text else "")
            item = QTreeWidgetItem([label, who, layer_name])
            item.setData(0, Qt.ItemDataRole.UserRole, annotation.id)
            item.setToolTip(0, f"{label}\nby {who or 'no author'}, layer {layer_name}")
            color = getattr(annotation, "stroke_color", None) or getattr(annotation, "color", None)
            if isinstance(color, str) and color.startswith("#"):
                item.setIcon(0, color_icon(color))
            for comment in comments:
                child = QTreeWidgetItem([record_text(comment), comment.creator_name or ""])
                child.setData(0, Qt.ItemDataRole.UserRole, comment.id)
                item.addChild(child)
            self.tree.addTopLevelItem(item)
            item.setExpanded(True)
            if annotation.id == selected:
                self.tree.setCurrentItem(item)
        self._show_empty()

    def select(self, record_id: str | None) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == record_id:
                self.tree.setCurrentItem(item)
                return

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


def comment_rows(
    annotations: Iterable[Annotation],
    records: Iterable[Record],
    layer_of: Callable[[Annotation], str],
) -> list[CommentRow]:
    """Return the panel's rows: each annotation shown with the comments of its thread.

    ``records`` are every record shown (their comments make the threads); ``layer_of``
    names the layer of an annotation as the Layer column shows it. Links and form widgets
    are part of the document, not review comments: they get no row.
    """
    threads: dict[str, list[Comment]] = {}
    for record in records:
        if isinstance(record, Comment):
            threads.setdefault(record.root_id, []).append(record)
    return [
        (a, a.creator_name or "", layer_of(a), threads.get(a.id, []))
        for a in annotations
        if not isinstance(a, LinkAnnotation | WidgetAnnotation)
    ]
