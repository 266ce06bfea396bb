"""Keep the page view drawing what the review model shows, page by page.

The user's records and the layers viewed are drawn by the page view
(:class:`~lamina.ui.layer_overlay.LayerPageView`); other layers' records are framed in their
layer's colour. A change redraws only the pages the changed ids are (or were) on.

An annotation the PDF already had and nobody edited is drawn by the page tiles, from its own
appearance stream (``/AP``) as every other viewer draws it; the view paints only new and
edited records (DESIGN §6, the fidelity contract). "Nobody edited" is the diff rule's:
the record equals the PDF's own (:func:`lamina.model.diff.diff_against_base` does not list it).
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
from lamina.model.diff import diff_against_base
from lamina.model.records import Annotation, Record
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
        self._base: dict[int, Record] = {
            r.pdf_object_id: r for r in model.document.base_records() if r.pdf_object_id
        }
        self._natives: dict[str, Annotation] = {}
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
        visible = self.model.visible_annotations()
        self._natives = {a.id: a for a in visible if self._unedited(a)}
        self.view.set_annotations(visible, self.editable)
        self.view.show_native(self._natives.values())
        self._frame_layers()

    def _unedited(self, annotation: Annotation) -> bool:
        """Return whether ``annotation`` is one of the PDF's own, as the PDF has it."""
        original = self._base.get(annotation.pdf_object_id or 0)
        if original is None:
            return False
        if original == annotation:
            return True  # the common case, decided without building a diff
        return not diff_against_base([original], [annotation]).annotations

    def _frame_layers(self) -> None:
        self.view.set_layer_marks(
            [(a, self._layer_color(layer)) for layer, a in self.model.overlay_annotations()]
        )

    def _redraw_ids(self, ids: Iterable[str]) -> None:
        """Redraw the pages these records are (or were) on; the work is that of the change
        (those pages and ids), not of every record."""
        ids = list(ids)
        pages: set[int] = set()
        for record_id in ids:
            before = self.view.page_of(record_id)
            if before is not None:
                pages.add(before)
            found = self.model.find(record_id)
            if found is not None and isinstance(found[1], Annotation):
                pages.add(found[1].page_index)
        if not pages:
            return
        drawn = {p: self.model.page_annotations(p) for p in pages}
        wanted = set(ids)
        now: dict[str, Annotation] = {
            a.id: a for records in drawn.values() for a in records if a.id in wanted
        }
        shown: list[Annotation] = []
        hidden: list[str] = []
        for record_id in ids:
            record = now.get(record_id)
            if record is not None and self._unedited(record):
                self._natives[record_id] = record
                shown.append(record)
            elif self._natives.pop(record_id, None) is not None:
                hidden.append(record_id)
        self.view.set_page_annotations(drawn)
        self.view.update_native(shown, hidden)

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
