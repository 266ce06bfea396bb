"""Other layers a review window overlays read-only: which are asked for, and their records.

:class:`LayerOverlays` keeps, per layer, the records the user does not have: a layer starts as
a copy of the PDF's own annotations, and those copies (the ids of the user's records or of the
PDF's) are left out so that nothing is drawn twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from lamina.client.review_events import LayerRecordsChanged
from lamina.client.review_records import RecordIndex
from lamina.model.ids import RecordId
from lamina.model.records import Annotation, Comment, Record

LayerState = Literal["hidden", "loading", "shown"]
"""Where another layer stands: not viewed, asked for (records not in yet), or drawn."""


class LayerOverlays:
    """The other layers viewed, in the order they were asked for, with their records.

    Each layer's records are a :class:`RecordIndex` (by id, page and thread), so reading one
    page or one thread costs what it holds, not what the layers hold.
    """

    def __init__(self) -> None:
        # None until the layer's records arrived (loading).
        self._layers: dict[str, RecordIndex | None] = {}
        # One per ask: a request answered after its layer was hidden (and maybe asked for
        # again) must not touch what the newer state shows.
        self._tickets: dict[str, object] = {}

    def names(self) -> list[str]:
        """Return the layers asked for (loaded or loading), in order."""
        return list(self._layers)

    def __contains__(self, name: object) -> bool:
        return name in self._layers

    def state(self, name: str) -> LayerState:
        if name not in self._layers:
            return "hidden"
        return "loading" if self._layers[name] is None else "shown"

    def records(self, name: str) -> list[Record]:
        """Return a layer's records (empty while it is hidden or loading)."""
        index = self._layers.get(name)
        return list(index) if index is not None else []

    def find(self, record_id: str) -> tuple[str, Record] | None:
        """Return ``(layer, record)`` of a record on a layer viewed, or None."""
        for name, records in self._layers.items():
            record = records.get(record_id) if records is not None else None
            if record is not None:
                return name, record
        return None

    def annotations(self) -> list[tuple[str, Annotation]]:
        """Return ``(layer, annotation)`` of every layer shown, layer by layer."""
        return [
            (name, record)
            for name, records in self._layers.items()
            for record in (records or ())
            if isinstance(record, Annotation)
        ]

    def page(self, page: int) -> list[tuple[str, Annotation]]:
        """Return ``(layer, annotation)`` of the layers shown on ``page``, layer by layer."""
        return [
            (name, annotation)
            for name, records in self._layers.items()
            if records is not None
            for annotation in records.page(page)
        ]

    def pages(self) -> set[int]:
        """Return the pages the layers shown have annotations on."""
        return {
            p for records in self._layers.values() if records is not None for p in records.pages()
        }

    def comments(self, root_id: str) -> list[Comment]:
        """Return the comments of the layers shown whose thread root is ``root_id``."""
        return [
            comment
            for records in self._layers.values()
            if records is not None
            for comment in records.thread(root_id)
        ]

    def roots(self) -> list[RecordId]:
        """Return the roots of the threads the layers shown have comments in."""
        found: dict[RecordId, None] = {}
        for records in self._layers.values():
            if records is not None:
                found.update(dict.fromkeys(records.roots()))
        return list(found)

    def ask(self, name: str) -> object | None:
        """Mark a layer as asked for (loading); return this ask's ticket, or None when the
        layer was asked for already."""
        if name in self._layers:
            return None
        self._layers[name] = None
        ticket = self._tickets[name] = object()
        return ticket

    def is_current(self, name: str, ticket: object) -> bool:
        """Return whether ``ticket`` is the ask the layer is viewed by (not hidden since)."""
        return self._tickets.get(name) is ticket

    def forget(self, name: str) -> list[Record]:
        """Stop viewing a layer; return the records it had."""
        self._tickets.pop(name, None)
        index = self._layers.pop(name, None)
        return list(index) if index is not None else []

    def set_records(
        self, name: str, records: Iterable[Record], mine: Callable[[RecordId], bool]
    ) -> tuple[LayerRecordsChanged | None, set[RecordId]]:
        """Take a layer's records now (every one, not only the changed ones).

        ``mine`` tells the ids to leave out (the user's own and the PDF's). Returns what
        changed (None: nothing) and the thread roots whose comments changed. Costs what the
        layer holds; the records that did not change keep their place in the index.
        """
        new = {r.id: r for r in records if not mine(r.id)}
        index = self._layers.get(name)
        if index is None:
            index = self._layers[name] = RecordIndex()
        added = tuple(rid for rid in new if rid not in index)
        changed = tuple(rid for rid, r in new.items() if rid in index and index.get(rid) != r)
        removed = tuple(r.id for r in index if r.id not in new)
        if not (added or changed or removed):
            return None, set()
        roots: set[RecordId] = set()
        for rid in removed:
            roots |= index.pop(rid)[1]
        for rid in (*added, *changed):
            roots |= index.put(new[rid])[1]
        return LayerRecordsChanged(name, added, changed, removed), roots
