"""Other layers a review window overlays read-only: which are asked for, and their records.

:class:`LayerOverlays` keeps, per layer, the records the user does not have: a layer starts as
a copy of the PDF's own annotations, and those copies (the ids of the user's records or of the
PDF's) are left out so that nothing is drawn twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from lamina.client.review_events import LayerRecordsChanged
from lamina.model.ids import RecordId
from lamina.model.records import Annotation, Comment, Record

LayerState = Literal["hidden", "loading", "shown"]
"""Where another layer stands: not viewed, asked for (records not in yet), or drawn."""


class LayerOverlays:
    """The other layers viewed, in the order they were asked for, with their records."""

    def __init__(self) -> None:
        # None until the layer's records arrived (loading).
        self._layers: dict[str, dict[RecordId, Record] | None] = {}
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
        return list((self._layers.get(name) or {}).values())

    def find(self, record_id: str) -> tuple[str, Record] | None:
        """Return ``(layer, record)`` of a record on a layer viewed, or None."""
        for name, records in self._layers.items():
            if records is not None and record_id in records:
                return name, records[RecordId(record_id)]
        return None

    def annotations(self) -> list[tuple[str, Annotation]]:
        """Return ``(layer, annotation)`` of every layer shown, layer by layer."""
        return [
            (name, record)
            for name, records in self._layers.items()
            for record in (records or {}).values()
            if isinstance(record, Annotation)
        ]

    def comments(self, root_id: str) -> list[Comment]:
        """Return the comments of the layers shown whose thread root is ``root_id``."""
        return [
            record
            for records in self._layers.values()
            for record in (records or {}).values()
            if isinstance(record, Comment) and record.root_id == root_id
        ]

    def roots(self) -> list[RecordId]:
        """Return the roots of the threads the layers shown have comments in."""
        found: dict[RecordId, None] = {}
        for records in self._layers.values():
            for record in (records or {}).values():
                if isinstance(record, Comment):
                    found[record.root_id] = None
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
        return list((self._layers.pop(name, None) or {}).values())

    def set_records(
        self, name: str, records: Iterable[Record], mine: set[RecordId]
    ) -> tuple[LayerRecordsChanged | None, set[RecordId]]:
        """Take a layer's records now (every one, not only the changed ones).

        ``mine`` are the ids to leave out (the user's own and the PDF's). Returns what changed
        (None: nothing) and the thread roots whose comments changed.
        """
        new = {r.id: r for r in records if r.id not in mine}
        old = self._layers.get(name) or {}
        self._layers[name] = new
        added = tuple(rid for rid in new if rid not in old)
        changed = tuple(rid for rid, r in new.items() if rid in old and old[rid] != r)
        removed = tuple(rid for rid in old if rid not in new)
        if not (added or changed or removed):
            return None, set()
        touched = [new[rid] for rid in (*added, *changed)]
        touched += [old[rid] for rid in (*changed, *removed)]
        roots = {r.root_id for r in touched if isinstance(r, Comment)}
        return LayerRecordsChanged(name, added, changed, removed), roots
