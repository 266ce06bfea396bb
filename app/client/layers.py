"""Other layers of a review, viewed read-only (sync §5.3).

:class:`LayerViews` keeps, for each layer the user asked to see, its records as the server
last sent them (kept across reconnects, so a view never goes blank while offline) and the
callers waiting for its first snapshot. The review asks the server for the layers (again
after each reconnect); this object only keeps what arrives.
"""

from __future__ import annotations

import asyncio

from lamina.client.errors import LayerAccessError
from lamina.client.events import Event, LayerRecordsChanged
from lamina.client.replica import parse_record
from lamina.model.ids import RecordId
from lamina.model.records import Record
from lamina.sync import client_session as cs


class LayerViews:
    """The other layers being viewed: their records by layer name, and who waits for them."""

    def __init__(self) -> None:
        # name -> its records (None until the first snapshot arrived)
        self._layers: dict[str, dict[RecordId, Record] | None] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}

    def names(self) -> list[str]:
        """Return the layers being viewed, in the order they were asked for."""
        return list(self._layers)

    def add(self, name: str) -> bool:
        """Start viewing ``name``; return True if it was not viewed before (ask the server)."""
        if name in self._layers:
            return False
        self._layers[name] = None
        return True

    def arrived(self, name: str) -> bool:
        """Return whether a snapshot of ``name`` has arrived."""
        return self._layers.get(name) is not None

    async def wait(self, name: str) -> None:
        """Wait for the first snapshot of a layer being viewed.

        Raises:
            LayerAccessError: the layer was hidden meanwhile.
            ClientError: the review stopped for good (see :meth:`fail`).
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(name, []).append(future)
        await future

    def records(self, name: str) -> list[Record]:
        """Return the records of a layer being viewed (the last known ones while offline).

        Raises:
            LayerAccessError: the layer is not being viewed (:meth:`view_layer` first).
        """
        records = self._layers.get(name)
        if records is None:
            raise LayerAccessError(f"layer {name!r} is not being viewed: call view_layer first")
        return list(records.values())

    def hide(self, name: str) -> None:
        """Stop viewing ``name``; its records are forgotten and its waiters fail."""
        self._layers.pop(name, None)
        for future in self._waiters.pop(name, []):
            if not future.done():
                future.set_exception(LayerAccessError(f"layer {name!r} was hidden"))

    def layer_of(self, rid: RecordId) -> str | None:
        """Return the viewed layer a record is on, or None."""
        for name, records in self._layers.items():
            if records is not None and rid in records:
                return name
        return None

    def update(self, event: cs.LayerRecordsChanged, session: cs.ClientSession) -> Event | None:
        """Take the layer's records from ``session`` after ``event``; return what to report.

        Returns None for a layer hidden meanwhile (the server relays it until the next
        reconnect, and it is ignored).
        """
        if event.layer not in self._layers:
            return None
        records: dict[RecordId, Record] = {}
        for rid, state in session.layers.get(event.layer, {}).items():
            record = None if state.deleted else parse_record(state.content)
            if record is not None:
                records[rid] = record
        self._layers[event.layer] = records
        for future in self._waiters.pop(event.layer, []):
            if not future.done():
                future.set_result(None)
        return LayerRecordsChanged(event.layer, tuple(records.values()))

    def fail(self, error: Exception) -> None:
        """Fail every caller waiting for a layer with ``error``."""
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)
        self._waiters.clear()
