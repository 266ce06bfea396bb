"""Side panels: thumbnails, properties, comments, layers and conflicts.

Each panel is a plain widget the main window puts in a dock; panels never talk to the client
themselves, they emit signals the window turns into edits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lamina.model.records import STAMP_TYPES, Annotation, Comment, Record
from lamina.model.tools import ToolStyle
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)


def color_icon(color: str, size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


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


class PropertiesPanel(QWidget):
    """Colour, width, opacity and font size of the selection or of the next annotation.

    Signals:
        style_changed(object): the user changed a property; the new :class:`ToolStyle`.
    """

    style_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._style = ToolStyle()
        layout = QFormLayout(self)
        self.target = QLabel("New annotations")
        layout.addRow(self.target)
        self.color_button = QPushButton("Colour…")
        self.color_button.setObjectName("colorButton")
        self.color_button.clicked.connect(self._pick_color)
        layout.addRow("Colour", self.color_button)
        self.width_box = QDoubleSpinBox()
        self.width_box.setRange(0.5, 48)
        self.width_box.setSingleStep(0.5)
        self.width_box.valueChanged.connect(self._changed)
        layout.addRow("Width", self.width_box)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(5, 100)
        self.opacity.valueChanged.connect(self._changed)
        layout.addRow("Opacity", self.opacity)
        self.font_size = QDoubleSpinBox()
        self.font_size.setRange(4, 144)
        self.font_size.valueChanged.connect(self._changed)
        layout.addRow("Font size", self.font_size)
        self.stamp = QComboBox()
        self.stamp.addItems(list(STAMP_TYPES))
        self.stamp.currentTextChanged.connect(self._changed)
        layout.addRow("Stamp", self.stamp)
        self._loading = False
        self.show_style(self._style)

    def show_style(self, style: ToolStyle, target: str = "New annotations") -> None:
        self._loading = True
        self._style = style
        self.target.setText(target)
        self.color_button.setIcon(color_icon(style.color))
        self.color_button.setText(style.color)
        self.width_box.setValue(style.width)
        self.opacity.setValue(round(style.opacity * 100))
        self.font_size.setValue(style.font_size)
        self.stamp.setCurrentText(style.stamp_type)
        self._loading = False

    @property
    def tool_style(self) -> ToolStyle:
        return self._style

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(QColor(self._style.color), self, "Annotation colour")
        if color.isValid():
            self._style = ToolStyle(**{**self._style.__dict__, "color": color.name().upper()})
            self.show_style(self._style, self.target.text())
            self.style_changed.emit(self._style)

    def _changed(self) -> None:
        if self._loading:
            return
        self._style = ToolStyle(
            **{
                **self._style.__dict__,
                "width": self.width_box.value(),
                "opacity": self.opacity.value() / 100,
                "font_size": self.font_size.value(),
                "stamp_type": self.stamp.currentText(),
            }
        )
        self.style_changed.emit(self._style)


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
        self._rows: list[tuple[Annotation, str, str, list[Comment]]] = []
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
        rows: Sequence[tuple[Annotation, str, str, list[Comment]]],
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

    def _emit_text(self, signal: Any) -> None:
        record_id = self.current_id()
        text = self.text.toPlainText().strip()
        if record_id and text:
            signal.emit(record_id, text)
            self.text.clear()

    def _emit_delete(self) -> None:
        record_id = self.current_id()
        if record_id:
            self.delete.emit(record_id)


@dataclass(frozen=True)
class LayerRow:
    """One row of the Layers panel.

    Attributes:
        key: the layer's name (the user's own layer: its name, ``""`` for the shared one).
        label: what the row says (name, authors, how many annotations).
        color: the layer's swatch colour.
        visible: whether the layer is drawn on the pages.
        tooltip: more about the row (read-only, who made it).
    """

    key: str
    label: str
    color: str
    visible: bool
    tooltip: str = ""


class LayersPanel(QWidget):
    """My layer and the other layers this token may view: author, colour, visibility.

    Signals:
        visibility_changed(str, bool): show or hide a layer.
        add_requested(str): the user typed another layer's name to view.
        export_requested(): export chosen layers merged into one PDF.
    """

    visibility_changed = Signal(str, bool)
    add_requested = Signal(str)
    export_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setObjectName("layersList")
        self.list.setIconSize(QSize(14, 14))
        self.list.itemChanged.connect(self._on_changed)
        layout.addWidget(self.list, 1)
        self.hint = QLabel("")
        self.hint.setObjectName("layersHint")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(mid);")
        layout.addWidget(self.hint)
        self.add_row = QWidget()
        row = QHBoxLayout(self.add_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.add_box = QLineEdit()
        self.add_box.setObjectName("addLayerBox")
        self.add_box.setPlaceholderText("Another layer's name, e.g. ana")
        self.add_box.setToolTip(
            "Your invite may view every layer; reviews cannot list them, so type the name "
            "(the host sees it in the invite)"
        )
        self.add_box.returnPressed.connect(self._add)
        self.add_button = QPushButton("Add layer…")
        self.add_button.setObjectName("addLayerButton")
        self.add_button.setToolTip("Show this layer read-only on the pages")
        self.add_button.clicked.connect(self._add)
        row.addWidget(self.add_box, 1)
        row.addWidget(self.add_button)
        layout.addWidget(self.add_row)
        self.add_row.hide()
        self.export_button = QPushButton("Export chosen layers as one PDF…")
        self.export_button.setObjectName("exportLayersButton")
        self.export_button.setToolTip("Write one PDF with your layer and the layers you pick")
        self.export_button.clicked.connect(self.export_requested.emit)
        layout.addWidget(self.export_button)

    def set_layers(self, layers: Sequence[LayerRow]) -> None:
        """Show the rows; the first is the user's own layer."""
        self.list.blockSignals(True)
        current = self.list.currentRow()
        self.list.clear()
        for row in layers:
            item = QListWidgetItem(color_icon(row.color), row.label)
            item.setData(Qt.ItemDataRole.UserRole, row.key)
            item.setToolTip(row.tooltip)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if row.visible else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        if 0 <= current < self.list.count():
            self.list.setCurrentRow(current)
        self.list.blockSignals(False)

    def set_can_add(self, allowed: bool, hint: str) -> None:
        """Show the "Add layer…" field (a token that may view any layer) and a hint line."""
        self.add_row.setVisible(allowed)
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))

    def item_of(self, layer: str) -> QListWidgetItem | None:
        """Return the row of ``layer`` (None: not listed)."""
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == layer:
                return item
        return None

    def layer_names(self) -> list[str]:
        return [
            str(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())
        ]

    def visible_layers(self) -> list[str]:
        out = []
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return out

    def _add(self) -> None:
        name = self.add_box.text().strip()
        if name:
            self.add_box.clear()
            self.add_requested.emit(name)

    def _on_changed(self, item: QListWidgetItem) -> None:
        self.visibility_changed.emit(
            str(item.data(Qt.ItemDataRole.UserRole)), item.checkState() == Qt.CheckState.Checked
        )


class ExportLayersDialog(QDialog):
    """Pick the layers to merge into one exported PDF, and whether to flatten it.

    Args:
        layers: ``(layer, label, checked, enabled)`` rows; the first is the user's own layer
            (always exported: the PDF's annotations come from it).
    """

    def __init__(
        self, layers: Sequence[tuple[str, str, bool, bool]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("exportLayersDialog")
        self.setWindowTitle("Export merged PDF of chosen layers")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Merge these layers' annotations into one PDF:"))
        self.boxes: dict[str, QCheckBox] = {}
        for layer, label, checked, enabled in layers:
            box = QCheckBox(label)
            box.setObjectName(f"exportLayer_{layer}")
            box.setChecked(checked)
            box.setEnabled(enabled)
            if not enabled:
                box.setToolTip("Your layer is always in the export (it carries the PDF's own)")
            layout.addWidget(box)
            self.boxes[layer] = box
        self.flatten = QCheckBox("Flatten (burn the annotations into the pages)")
        self.flatten.setObjectName("exportFlatten")
        layout.addWidget(self.flatten)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def chosen(self) -> list[str]:
        """Return the checked layers (the user's own included)."""
        return [layer for layer, box in self.boxes.items() if box.isChecked()]


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
        self._conflicts: list[Any] = []
        self.set_conflicts([])

    def set_conflicts(self, conflicts: Sequence[Any]) -> None:
        self._conflicts = list(conflicts)
        self.list.clear()
        for c in self._conflicts:
            reason = (
                "deleted by someone else" if c.reason == "deleted" else "changed by someone else"
            )
            fields = ", ".join(sorted(c.lost)) if c.lost else "the record"
            self.list.addItem(f"{fields} — {reason}")
        if self._conflicts:
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

    def _emit(self, signal: Any) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self._conflicts):
            signal.emit(self._conflicts[row].conflict_id)
