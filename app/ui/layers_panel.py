"""The Layers panel: the user's layer and the other layers this token may view."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

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
        add_requested(str): the user typed the name of a layer to create and view (only
            offered to the host of the review).
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
        self.add_box.setPlaceholderText("New layer's name, e.g. ana")
        self.add_box.setToolTip("You host this review: create a layer and overlay it")
        self.add_box.returnPressed.connect(self._add)
        self.add_button = QPushButton("Add layer…")
        self.add_button.setObjectName("addLayerButton")
        self.add_button.setToolTip("Create this layer and show it read-only on the pages")
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
        """Show the "Add layer…" field (the user may create layers) and a hint line."""
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


class LayerHost(Protocol):
    """Who may create layers of a document: the app, for a review it hosts (the admin)."""

    def hosts(self, document_id: str) -> bool:
        """Return whether this app hosts ``document_id`` (and so may create its layers)."""
        ...

    def create_layer(self, document_id: str, layer: str) -> None:
        """Create ``layer`` on ``document_id``; every connected window's list gets it.

        Raises:
            LaminaError: not a valid layer name, or the review is no longer hosted.
        """
        ...


class LayerViews(QObject):
    """Which layers a window offers and shows: the user's own and others', read-only.

    It lists in the Layers panel the layers the server lists for the token (sync §4.8, kept
    live: a layer created elsewhere appears), asks the review model to show a layer when
    the user ticks it and to stop viewing it when unticked, and updates the row of a layer
    when the model reports it shown, hidden or changed. Until the server has answered, the
    token's named ``view_layers`` are offered.

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
        self._colors: list[str] = []
        """Layers in the order they got a colour (a layer keeps its colour while listed)."""
        bridge.layer_visibility_changed.connect(lambda event: self.refresh_row(event.layer))
        bridge.layer_records_changed.connect(lambda event: self.refresh_row(event.layer))
        bridge.layers_listed.connect(lambda event: self.list_layers(event.layers))

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
        if name not in self._colors:
            self._colors.append(name)
        return LAYER_COLORS[self._colors.index(name) % len(LAYER_COLORS)]

    # -- offering, showing and hiding ----------------------------------------------------

    def may_create(self) -> bool:
        """Return whether the user may create layers to view: the app hosts this review
        and the token may view any layer."""
        host, claims = self.window.layer_host, self.window.claims
        if host is None or claims is None or "*" not in self.model.viewable_layers():
            return False
        return host.hosts(claims.document_id)

    def offer(self, auto_show: Sequence[str] = ()) -> None:
        """List the layers this token may view, and show ``auto_show`` at once (the sample
        review, the host's invited layers).

        The server's list (sync §4.8) is asked for now and followed live; until it is in,
        the token's named ``view_layers`` are listed.
        """
        model = self.model
        allowed = model.viewable_layers()
        listed = model.listed_layers()
        self._set_offered(listed if listed is not None else [n for n in allowed if n != "*"])
        if model.standalone:
            hint = "A PDF on your computer has one layer: yours."
        elif not allowed:
            hint = "Your invite shows your layer only."
        else:
            hint = "Tick a layer to overlay it on the pages (read-only); untick to stop."
        self.window.layers.set_can_add(self.may_create(), hint)
        self.refresh()
        for name in auto_show:
            if model.may_view_layer(name):
                if name not in self.offered:
                    self.offered.append(name)
                    self.refresh_row(name)
                self.show(name)

    def list_layers(self, layers: Sequence[str]) -> None:
        """Follow the server's list: new layers get an unticked row, a layer no longer
        listed leaves the panel unless it is shown."""
        self._set_offered(layers)
        self.refresh()

    def _set_offered(self, layers: Sequence[str]) -> None:
        own, model = self.model.own_layer, self.model
        listed = [n for n in layers if n != own and model.may_view_layer(n)]
        kept = [n for n in self.offered if n in listed or model.layer_visible(n)]
        self.offered = kept + [n for n in listed if n not in kept]

    def add(self, name: str) -> None:
        """Create a layer of the hosted review by name and show it (the "Add layer…" field)."""
        window, claims, host = self.window, self.window.claims, self.window.layer_host
        if name == self.model.own_layer:
            window.statusBar().showMessage(f"{name} is your own layer", 5000)
            return
        if host is None or claims is None or not self.may_create():
            window.show_error("Cannot add a layer", "only the host of a review creates layers")
            return
        if not self.model.may_view_layer(name):
            window.show_error(
                "Cannot view this layer",
                f"your invite may not view layer {name!r}; ask the host for a lead invite",
            )
            return
        try:
            host.create_layer(claims.document_id, name)
        except LaminaError as exc:
            window.show_error("Cannot add a layer", str(exc))
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
        title = name or "Shared layer"
        if state == "loading":
            label, tip = f"{title} \u2014 loading\u2026", "Asking the server for this layer"
        elif state == "hidden":
            label, tip = title, "Tick to overlay this layer on the pages (read-only)"
        else:
            records = self.model.layer_records(name)
            authors = sorted({r.creator_name for r in records if r.creator_name})
            count = sum(1 for r in records if isinstance(r, Annotation))
            by = f" \u2014 {', '.join(authors)}" if authors else ""
            plural = "" if count == 1 else "s"
            label = f"{title}{by}\n{count} annotation{plural}, read-only"
            tip = f"Read-only: {title} layer" + (f", by {', '.join(authors)}" if authors else "")
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
