"""Keep the page view drawing what the review model shows, page by page.

The user's records and the layers viewed are drawn by the page view
(:class:`~lamina.ui.layer_overlay.LayerPageView`); other layers' records are framed in their
layer's colour. A change redraws only the pages the changed ids are (or were) on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lamina.client.review_events import (
    LayerRecordsChanged,
    LayerVisibilityChanged,
    ReadOnlyChanged,
    RecordsChanged,
)
from lamina.client.review_model import ReviewModel
from lamina.model.records import Annotation
from lamina.ui.bridge import ReviewBridge
from lamina.ui.layer_overlay import LayerPageView
from PySide6.QtCore import QObject


class DrawnRecords(QObject):
    """Draw a review model's visible annotations on a page view and follow its changes.

    Args:
        view: the page view.
        model: the open document's review model.
        bridge: the model's Qt bridge; this object is its child and goes with it.
        layer_color: the frame colour of another layer.

    Signals: none.
    """

    def __init__(
        self,
        view: LayerPageView,
        model: ReviewModel,
        bridge: ReviewBridge,
        layer_color: Callable[[str], str],
    ) -> None:
        super().__init__(bridge)
        self.view = view
        self.model = model
        self._layer_color = layer_color
        bridge.records_changed.connect(self._on_records)
        bridge.layer_records_changed.connect(self._on_layer_records)
        bridge.layer_visibility_changed.connect(self._on_visibility)
        bridge.read_only_changed.connect(self._on_read_only)
        self.redraw()

    def editable(self, annotation: Annotation) -> bool:
        """Return whether the user may move or resize ``annotation`` on the page."""
        return self.model.flags(annotation.id).edit

    def redraw(self) -> None:
        """Draw everything the model shows (a document opened, a layer shown or hidden)."""
        self.view.set_annotations(self.model.visible_annotations(), self.editable)
        self._frame_layers()

    def _frame_layers(self) -> None:
        self.view.set_layer_marks(
            [(a, self._layer_color(layer)) for layer, a in self.model.overlay_annotations()]
        )

    def _redraw_ids(self, ids: Iterable[str]) -> None:
        pages: set[int] = set()
        for record_id in ids:
            before = self.view.page_of(record_id)
            if before is not None:
                pages.add(before)
            found = self.model.find(record_id)
            if found is not None and isinstance(found[1], Annotation):
                pages.add(found[1].page_index)
        if pages:
            self.view.set_page_annotations({p: self.model.page_annotations(p) for p in pages})

    def _on_records(self, event: RecordsChanged) -> None:
        self._redraw_ids(event.ids)

    def _on_layer_records(self, event: LayerRecordsChanged) -> None:
        self._redraw_ids(event.ids)
        self._frame_layers()

    def _on_visibility(self, event: LayerVisibilityChanged) -> None:
        if event.layer == self.model.own_layer:
            self.redraw()

    def _on_read_only(self, _event: ReadOnlyChanged) -> None:
        self.view.read_only = self.model.read_only_reason is not None
        self.view.viewport().update()
