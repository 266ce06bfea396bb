"""The Layers panel: the user's layer and the other layers this token may view."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lamina.model.errors import LaminaError
from lamina.model.records import Annotation, Comment, Record
from lamina.ui.layer_overlay import LAYER_COLORS
from lamina.ui.swatches import color_icon
from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from lamina.ui.main_window import MainWindow


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


class LayerViews(QObject):
    """Which layers the window shows: the user's own (unless hidden) and others, read-only.

    It offers the other layers the token may view in the Layers panel, asks the document
    for a layer's records when the user ticks it, and forgets them when the user unticks it.

    Args:
        window: the main window (its open document, Layers panel and status bar).

    Signals: none (the window redraws when the document reports the records).
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.hidden: set[str] = set()
        """Layers the user hid (their own layer's name; other layers are simply not viewed)."""
        self.offered: list[str] = []
        """Other layers offered in the Layers panel (viewed or not), in the order listed."""
        self.loading: set[str] = set()
        """Other layers asked for whose records have not arrived yet."""
        self.auto_show: list[str] = []
        """Other layers to show as soon as the next review opens (the sample review)."""

    def reset(self) -> None:
        """Forget the layers of the document that closed."""
        self.offered = []
        self.loading = set()
        self.hidden = set()

    # -- what is drawn -----------------------------------------------------------------

    def visible_annotations(self) -> list[Annotation]:
        """Return what is drawn: the user's layer (unless hidden), then the layers viewed."""
        session = self.window.session
        if session is None:
            return []
        out: list[Annotation] = []
        if session.own_layer not in self.hidden:
            out.extend(session.annotations())
        for records in self.shown_records().values():
            out.extend(r for r in records if isinstance(r, Annotation))
        return out

    def shown_records(self) -> dict[str, list[Record]]:
        """Return the records of each other layer being viewed that the user does not have.

        A layer starts as a copy of the PDF's own annotations: those copies (same ids as the
        user's own, or the PDF's) are not drawn twice.
        """
        session = self.window.session
        if session is None:
            return {}
        mine = {r.id for r in session.records()} | set(session.base)
        return {
            name: [r for r in records if r.id not in mine]
            for name, records in session.other_layers.items()
        }

    def marks(self) -> list[tuple[Annotation, str]]:
        """Return ``(record, layer colour)`` of every other layer's annotation drawn."""
        marks: list[tuple[Annotation, str]] = []
        for name, records in self.shown_records().items():
            color = self.color(name)
            marks.extend((r, color) for r in records if isinstance(r, Annotation))
        return marks

    def layer_of(self, record: Annotation | Comment) -> str:
        """Return the name of the layer a record is on, as the Comments panel shows it."""
        session = self.window.session
        other = session.layer_of_id(record.id) if session is not None else None
        return other or self.own_label()

    def own_label(self) -> str:
        """Return how the user's own layer is named in lists ("my layer", "ana (mine)")."""
        session = self.window.session
        if session is None or session.standalone:
            return "my layer"
        return f"{session.own_layer or 'shared'} (mine)"

    def color(self, name: str) -> str:
        """Return the swatch colour of another layer (distinct per layer listed)."""
        if name not in self.offered:
            self.offered.append(name)
        return LAYER_COLORS[self.offered.index(name) % len(LAYER_COLORS)]

    # -- offering, showing and hiding ----------------------------------------------------

    def offer(self) -> None:
        """List the other layers this token may view: named in its claim, or known to the host.

        The protocol cannot list a document's layers: for ``"*"`` the Layers panel offers
        the layers this app made invites for (when it hosts the review) and a field to type
        a name.
        """
        window = self.window
        session = window.session
        if session is None:
            return
        allowed = session.viewable_layers()
        names = [n for n in allowed if n != "*"]
        if "*" in allowed and window.layer_source is not None and window.claims is not None:
            names.extend(window.layer_source(window.claims.document_id))
        for name in names:
            if name not in self.offered and session.may_view_layer(name):
                self.offered.append(name)
        if session.standalone:
            hint = "A PDF on your computer has one layer: yours."
        elif not allowed:
            hint = "Your invite shows your layer only."
        elif "*" in allowed:
            hint = "Your invite may view every layer: tick one to overlay it (read-only)."
        else:
            hint = "Tick a layer to overlay it on the pages (read-only)."
        window.layers.set_can_add("*" in allowed, hint)
        auto, self.auto_show = self.auto_show, []
        for name in auto:
            if session.may_view_layer(name):
                if name not in self.offered:
                    self.offered.append(name)
                self.show(name)

    def add(self, name: str) -> None:
        """Offer another layer by name and show it (the "Add layer…" field)."""
        window = self.window
        session = window.session
        if session is None:
            return
        if name == session.own_layer:
            window.statusBar().showMessage(f"{name} is your own layer", 5000)
            return
        if not session.may_view_layer(name):
            window.show_error(
                "Cannot view this layer",
                f"your invite may not view layer {name!r}; ask the host for a lead invite",
            )
            return
        if name not in self.offered:
            self.offered.append(name)
        self.show(name)

    def show(self, name: str) -> None:
        """Ask for another layer's records and draw them read-only when they arrive."""
        from lamina.ui.documents import ensure_loop

        window = self.window
        session = window.session
        if session is None or name in session.other_layers or name in self.loading:
            return
        self.loading.add(name)
        self.refresh()

        async def view() -> None:
            try:
                await session.view_layer(name)
            except LaminaError as exc:
                if window.session is session and name in self.loading:
                    window.statusBar().showMessage(f"Cannot show layer {name}: {exc}", 8000)
            finally:
                self.loading.discard(name)
                if window.session is session:
                    window.show_records()

        ensure_loop().create_task(view(), name=f"lamina-view-layer-{name}")

    def hide(self, name: str) -> None:
        """Stop showing another layer."""
        if self.window.session is not None:
            self.window.session.hide_layer(name)
        self.loading.discard(name)
        self.window.show_records()

    def set_visible(self, layer: str, visible: bool) -> None:
        """Show or hide a layer as the user ticked it (their own is only hidden from view)."""
        session = self.window.session
        own = session.own_layer if session is not None else ""
        if layer != own:
            if visible:
                self.show(layer)
            else:
                self.hide(layer)
            return
        if visible:
            self.hidden.discard(layer)
        else:
            self.hidden.add(layer)
        self.window.show_records()

    def refresh(self) -> None:
        """List the user's layer and the other layers offered, with authors and colours."""
        window = self.window
        session = window.session
        claims = window.claims
        if claims is None:
            title = f"My layer ({window.display_name()})"
        elif claims.layer:
            title = f"My layer: {claims.layer} ({window.display_name()})"
        else:
            title = "Shared layer (everyone)"
        own = session.own_layer if session is not None else ""
        rows = [LayerRow(own, title, window.my_color(), own not in self.hidden, "Editable")]
        shown = self.shown_records()
        for name in self.offered:
            records = shown.get(name)
            if name in self.loading and records is None:
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
            visible = records is not None or name in self.loading
            rows.append(LayerRow(name, label, self.color(name), visible, tip))
        window.layers.set_layers(rows)
