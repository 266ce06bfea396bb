"""A standalone document held in memory: the stand-in while ``app.client`` has no document API.

It has the surface the window uses from a client document (``records``, ``create``,
``update``, ``delete``, ``subscribe``) and reports the same events, so
:class:`~app.ui.session.DocumentSession` treats both alike. It does not persist anything;
the app uses the client's standalone document (autosaved to the local store) when the client
provides one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.client.events import RecordsChanged, SyncStateChanged
from app.model.ids import RecordId
from app.model.records import Record


class MemoryDocument:
    """Records of one PDF in memory, changed at once, reported to subscribers."""

    def __init__(self, base_records: list[Record] | None = None) -> None:
        self._records: dict[RecordId, Record] = {r.id: r for r in base_records or []}
        self._subscribers: list[Callable[[Any], None]] = []

    def records(self) -> list[Record]:
        return list(self._records.values())

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def _emit(self, event: object) -> None:
        for callback in list(self._subscribers):
            callback(event)

    def add_base(self, records: list[Record]) -> None:
        """Add the PDF's own annotations once they are read (reported as ``remote``)."""
        fresh = [r for r in records if r.id not in self._records]
        for r in fresh:
            self._records[r.id] = r
        self._emit(RecordsChanged(tuple(fresh), (), "remote"))

    def create(self, record: Record) -> None:
        self._records[record.id] = record
        self._emit(RecordsChanged((record,), (), "local"))
        self._emit(SyncStateChanged(0))

    def update(self, record: Record) -> None:
        self._records[record.id] = record
        self._emit(RecordsChanged((record,), (), "local"))

    def delete(self, record_id: RecordId) -> None:
        self._records.pop(record_id, None)
        self._emit(RecordsChanged((), (record_id,), "local"))
