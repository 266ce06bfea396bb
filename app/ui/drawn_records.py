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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

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
from lamina.ui.page_canvas import Drawing, drawing_of
from PySide6.QtCore import QObject


@dataclass(frozen=True)
class DrawnPlan:
    """What a review model's page view draws, worked out beforehand (:func:`plan_drawing`)."""

    base: Mapping[int, Record]
    """The PDF's own records, by object number."""
    natives: Mapping[str, Annotation]
    """The records the page tiles draw (the PDF's own, unedited), by id."""
    drawing: Drawing


def plan_drawing(model: ReviewModel, base: Mapping[int, Record] | None = None) -> DrawnPlan:
    """Return what ``model``'s page view draws now: O(records), so with 10,000 records an
    opening calls it in a worker thread, which is safe while nothing changes the model (a
    local document before the window has it)."""
    if base is None:
        base = {r.pdf_object_id: r for r in model.document.base_records() if r.pdf_object_id}
    visible = model.visible_annotations()
    natives: dict[str, Annotation] = {a.id: a for a in visible if _unedited(base, a)}
    return DrawnPlan(base, natives, drawing_of(visible, natives.values()))


def _unedited(base: Mapping[int, Record], annotation: Annotation) -> bool:
    """Return whether ``annotation`` is one of the PDF's own, as the PDF has it."""
    original = base.get(annotation.pdf_object_id or 0)
    if original is None:
        return False
    if original == annotation:
        return True  # the common case, decided without building a diff
    return not diff_against_base([original], [annotation]).annotations


class DrawnRecords(QObject):
    """Draw a review model's visible annotations on a page view and follow its changes.

    Args:
        view: the page view.
        model: the open document's review model.
        bridge: the model's Qt bridge; this object is its child and goes with it.
        layer_color: the frame colour of another layer.
        plan: what to draw first, when worked out off the GUI thread (:func:`plan_drawing`
            on this model, unchanged since); None: work it out here.

    Signals: none.
    """

    def __init__(
        self,
        view: LayerPageView,
        model: ReviewModel,
        bridge: ReviewBridge,
        layer_color: Callable[[str], str],
        plan: DrawnPlan | None = None,
    ) -> None:
        super().__init__(bridge)
        self.view = view
        self.model = model
        self._layer_color = layer_color
        plan = plan if plan is not None else plan_drawing(model)
        self._base = plan.base
        self._natives: dict[str, Annotation] = {}
        bridge.records_changed.connect(self._on_records)
        bridge.layer_records_changed.connect(self._on_layer_records)
        bridge.layer_visibility_changed.connect(self._on_visibility)
        bridge.read_only_changed.connect(self._on_read_only)
        self._draw(plan)

    def editable(self, annotation: Annotation) -> bool:
        """Return whether the user may move or resize ``annotation`` on the page."""
        return self.model.flags(annotation.id).edit

    def redraw(self) -> None:
        """Draw everything the model shows (a document opened, a layer shown or hidden)."""
        self._draw(plan_drawing(self.model, self._base))

    def _draw(self, plan: DrawnPlan) -> None:
        self._natives = dict(plan.natives)
        self.view.set_drawing(plan.drawing, self.editable)
        self._frame_layers()

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
            if record is not None and _unedited(self._base, record):
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
