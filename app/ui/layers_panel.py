"""The Layers panel: the user's layer and the other layers this token may view."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lamina.client.review_model import ReviewModel
from lamina.model.errors import LaminaError
from lamina.model.records import Annotation, Comment
from lamina.ui.bridge import ReviewBridge
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
            item = QListWidgetItem()
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            self._fill(item, row)
            self.list.addItem(item)
        if 0 <= current < self.list.count():
            self.list.setCurrentRow(current)
        self.list.blockSignals(False)

    def set_row(self, row: LayerRow) -> None:
        """Update the row of ``row.key`` in place (a row not listed yet is added last)."""
        self.list.blockSignals(True)
        item = self.item_of(row.key)
        if item is None:
            item = QListWidgetItem()
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            self.list.addItem(item)
        self._fill(item, row)
        self.list.blockSignals(False)

    @staticmethod
    def _fill(item: QListWidgetItem, row: LayerRow) -> None:
        item.setIcon(color_icon(row.color))
        item.setText(row.label)
        item.setData(Qt.ItemDataRole.UserRole, row.key)
        item.setToolTip(row.tooltip)
        item.setCheckState(Qt.CheckState.Checked if row.visible else Qt.CheckState.Unchecked)

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
    """Which layers a window offers and shows: the user's own and others', read-only.

    It lists in the Layers panel the other layers the token may view, asks the review model
    to show a layer when the user ticks it (and to hide it when unticked), and updates the
    row of a layer when the model reports it shown, hidden or changed.

    Args:
        window: the main window (its Layers panel, status bar, name and colour).
        model: the open document's review model.
        bridge: the model's Qt bridge; this object is its child and goes with it.

    Signals: none.
    """

    def __init__(self, window: MainWindow, model: ReviewModel, bridge: ReviewBridge) -> None:
        super().__init__(bridge)
        self.window = window
        self.model = model
        self.offered: list[str] = []
        """Other layers offered in the Layers panel (viewed or not), in the order listed."""
        bridge.layer_visibility_changed.connect(lambda event: self.refresh_row(event.layer))
        bridge.layer_records_changed.connect(lambda event: self.refresh_row(event.layer))

    # -- names and colours ---------------------------------------------------------------

    def layer_of(self, record: Annotation | Comment) -> str:
        """Return the name of the layer a record is on, as the Comments panel shows it."""
        return self.model.layer_of(record.id) or self.own_label()

    def own_label(self) -> str:
        """Return how the user's own layer is named in lists ("my layer", "ana (mine)")."""
        if self.model.standalone:
            return "my layer"
        return f"{self.model.own_layer or 'shared'} (mine)"

    def color(self, name: str) -> str:
        """Return the swatch colour of another layer (distinct per layer listed)."""
        if name not in self.offered:
            self.offered.append(name)
        return LAYER_COLORS[self.offered.index(name) % len(LAYER_COLORS)]

    # -- offering, showing and hiding ----------------------------------------------------

    def offer(self, auto_show: Sequence[str] = ()) -> None:
        """List the other layers this token may view: named in its claim, or known to the host.

        The protocol cannot list a document's layers: for ``"*"`` the Layers panel offers
        the layers this app made invites for (when it hosts the review) and a field to type
        a name. ``auto_show`` layers are shown at once (the sample review).
        """
        window, model = self.window, self.model
        allowed = model.viewable_layers()
        names = [n for n in allowed if n != "*"]
        if "*" in allowed and window.layer_source is not None and window.claims is not None:
            names.extend(window.layer_source(window.claims.document_id))
        for name in names:
            if name not in self.offered and model.may_view_layer(name):
                self.offered.append(name)
        if model.standalone:
            hint = "A PDF on your computer has one layer: yours."
        elif not allowed:
            hint = "Your invite shows your layer only."
        elif "*" in allowed:
            hint = "Your invite may view every layer: tick one to overlay it (read-only)."
        else:
            hint = "Tick a layer to overlay it on the pages (read-only)."
        window.layers.set_can_add("*" in allowed, hint)
        self.refresh()
        for name in auto_show:
            if model.may_view_layer(name):
                if name not in self.offered:
                    self.offered.append(name)
                self.show(name)

    def add(self, name: str) -> None:
        """Offer another layer by name and show it (the "Add layer…" field)."""
        window = self.window
        if name == self.model.own_layer:
            window.statusBar().showMessage(f"{name} is your own layer", 5000)
            return
        if not self.model.may_view_layer(name):
            window.show_error(
                "Cannot view this layer",
                f"your invite may not view layer {name!r}; ask the host for a lead invite",
            )
            return
        if name not in self.offered:
            self.offered.append(name)
            self.refresh_row(name)
        self.show(name)

    def show(self, name: str) -> None:
        """Show a layer: another one is asked for and drawn read-only when it arrives."""
        from lamina.ui.documents import ensure_loop

        window, model = self.window, self.model
        if name != model.own_layer and model.layer_visible(name):
            return

        async def view() -> None:
            try:
                await model.show_layer(name)
            except LaminaError as exc:
                if window.session is model:
                    window.statusBar().showMessage(f"Cannot show layer {name}: {exc}", 8000)

        ensure_loop().create_task(view(), name=f"lamina-view-layer-{name}")

    def hide(self, name: str) -> None:
        """Hide a layer (another one's records are forgotten)."""
        self.model.hide_layer(name)

    def set_visible(self, layer: str, visible: bool) -> None:
        """Show or hide a layer as the user ticked it."""
        if visible:
            self.show(layer)
        else:
            self.hide(layer)

    # -- the panel's rows ----------------------------------------------------------------

    def _own_row(self) -> LayerRow:
        window, model = self.window, self.model
        claims = window.claims
        if claims is None:
            title = f"My layer ({window.display_name()})"
        elif claims.layer:
            title = f"My layer: {claims.layer} ({window.display_name()})"
        else:
            title = "Shared layer (everyone)"
        own = model.own_layer
        return LayerRow(own, title, window.my_color(), model.layer_visible(own), "Editable")

    def _row(self, name: str) -> LayerRow:
        state = self.model.layer_state(name)
        if state == "loading":
            label, tip = f"{name} \u2014 loading\u2026", "Asking the server for this layer"
        elif state == "hidden":
            label, tip = name, "Tick to overlay this layer on the pages (read-only)"
        else:
            records = self.model.layer_records(name)
            authors = sorted({r.creator_name for r in records if r.creator_name})
            count = sum(1 for r in records if isinstance(r, Annotation))
            by = f" \u2014 {', '.join(authors)}" if authors else ""
            plural = "" if count == 1 else "s"
            label = f"{name}{by}\n{count} annotation{plural}, read-only"
            tip = f"Read-only: {name} layer" + (f", by {', '.join(authors)}" if authors else "")
        return LayerRow(name, label, self.color(name), state != "hidden", tip)

    def refresh(self) -> None:
        """List the user's layer and the other layers offered, with authors and colours."""
        self.window.layers.set_layers([self._own_row(), *(self._row(n) for n in self.offered)])

    def refresh_row(self, name: str) -> None:
        """Update the row of one layer (the user's own, or another one offered)."""
        if name == self.model.own_layer:
            self.window.layers.set_row(self._own_row())
        elif name in self.offered:
            self.window.layers.set_row(self._row(name))
