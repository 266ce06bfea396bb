"""The local replica both kinds of document share: session, store, view, events, waiters.

A :class:`Replica` is what a :class:`~lamina.client.document.LaminaDocument` holds whether
its changes go to a server or into a local PDF: the sans-I/O
:class:`~lamina.sync.client_session.ClientSession` (replica, outbox, conflicts), its durable
copy in the :class:`~lamina.client.store.LocalStore` (written through
:class:`~lamina.client.persistence.StateWriter`), the user's view of the records as parsed
:class:`~lamina.model.records.Record` values, the event subscribers, and the callers waiting
for their changes to be saved.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lamina.client.errors import ClientError
from lamina.client.events import Conflict, Event, RecordsChanged
from lamina.client.persistence import StateWriter, load_state
from lamina.client.store import LocalStore
from lamina.model.errors import InstantJsonError
from lamina.model.ids import RecordId
from lamina.model.records import Record, record_class_for_type, record_from_json
from lamina.sync import client_session as cs
from lamina.sync import local_replica

log = logging.getLogger("lamina.client")

Callback = Callable[[Event], None]


def kind_of_content(content: Mapping[str, Any]) -> str:
    """Return the record kind (sync §2.1) of an Instant JSON record by its ``type``.

    Raises:
        ClientError: the record has no type.
    """
    type_name = content.get("type")
    if not isinstance(type_name, str):
        raise ClientError("a record needs a type (e.g. pspdfkit/note)")
    return record_class_for_type(type_name).KIND


def parse_record(content: Mapping[str, Any] | None) -> Record | None:
    """Return a record's model value, or None (logged) when it is not valid Instant JSON."""
    if content is None:
        return None
    try:
        return record_from_json(dict(content))
    except InstantJsonError as exc:
        log.warning("record %s is not valid instant json: %s", content.get("id"), exc)
        return None


def public_conflict(conflict: local_replica.Conflict, at: str) -> Conflict:
    """Return the session's conflict entry as the value subscribers and the UI see."""
    theirs = conflict.theirs
    return Conflict(
        conflict_id=conflict.change_id,
        record_id=conflict.record_id,
        reason="deleted" if conflict.status == "deleted" else "conflict",
        mine=conflict.mine,
        theirs=None if theirs is None else theirs.content,
        lost=conflict.lost,
        lost_unset=conflict.lost_unset,
        at=at,
    )


@dataclass
class _SaveWaiter:
    record_ids: frozenset[str] | None  # None: every record
    future: asyncio.Future[None]


class Replica:
    """A session over a local store, the user's view of it, its subscribers and waiters.

    Args:
        store: the opened local store; the session state is loaded from it.

    Attributes:
        store: the local store.
        session: the sans-I/O client session (its state is the replica).
        conflict_times: when each conflict was learnt of (ISO 8601), by change id.
    """

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        state, self.conflict_times = load_state(store)
        self.session = cs.ClientSession(state)
        self._writer = StateWriter(store, state, self.conflict_times)
        # The synced records' own content, not copies: a replica of 100,000 records holds
        # each one once (the view copies only records with pending changes).
        self._view: dict[RecordId, Mapping[str, Any]] = self.session.view_shared()
        self._parsed: dict[RecordId, Record | None] = {}
        self._subscribers: list[tuple[Callback, tuple[type, ...] | None]] = []
        self._waiters: list[_SaveWaiter] = []
        self.write_behind = False
        """Whether local edits are written on the store's thread (see :meth:`persist_behind`)."""

    # --- durability -----------------------------------------------------------------------

    def persist(self) -> None:
        """Write to the store whatever the session changed since the last persist (after
        any write behind: it is durable when this returns)."""
        self._writer.persist(self.session.state)

    def persist_behind(self) -> concurrent.futures.Future[None] | None:
        """Write what the session changed on the store's own thread; return that write's
        future (None: nothing to write). A failed write is logged and written again, whole,
        by the next persist."""
        future = self._writer.persist_behind(self.session.state)
        if future is not None:
            future.add_done_callback(self._log_failed_write)
        return future

    def _log_failed_write(self, future: concurrent.futures.Future[None]) -> None:
        exc = future.exception()
        if exc is not None:
            log.error("%s; the edit is kept and written again with the next one", exc)

    # --- the user's view ------------------------------------------------------------------

    @property
    def view(self) -> Mapping[RecordId, Mapping[str, Any]]:
        """Every record the user sees, as Instant JSON by id (do not change it)."""
        return self._view

    def record(self, record_id: str) -> Record | None:
        """Return one record as the user sees it, or None when it does not exist."""
        rid = RecordId(record_id)
        if rid not in self._parsed:
            self._parsed[rid] = parse_record(self._view.get(rid))
        return self._parsed[rid]

    def records(self) -> list[Record]:
        """Return every record as the user sees it, in view order."""
        return [r for rid in self._view if (r := self.record(rid)) is not None]

    def refresh(self, record_ids: Iterable[RecordId], origin: str) -> None:
        """Bring the view up to date for these records; report what changed."""
        changed: list[Record] = []
        deleted: list[RecordId] = []
        # Records are parsed for the event only when someone listens (a headless script
        # joining 100,000 records never builds 100,000 model objects).
        listening = any(only is None or RecordsChanged in only for _, only in self._subscribers)
        for rid in record_ids:
            new = self.session.view_content(rid)
            old = self._view.get(rid)
            if new is old or new == old:
                continue
            self._parsed.pop(rid, None)
            if new is None:
                self._view.pop(rid, None)
                deleted.append(rid)
            else:
                self._view[rid] = new
                record = self.record(rid) if listening else None
                if record is not None:
                    changed.append(record)
        if changed or deleted:
            self.emit(
                RecordsChanged(
                    tuple(changed), tuple(deleted), "local" if origin == "local" else "remote"
                )
            )

    def conflicts(self) -> list[Conflict]:
        """Return the user's versions that lost, oldest first (sync §6.4)."""
        return [
            public_conflict(c, self.conflict_times.get(c.change_id, ""))
            for c in self.session.state.conflicts
        ]

    # --- events ---------------------------------------------------------------------------

    def subscribe(
        self, callback: Callback, *, only: tuple[type, ...] | None = None
    ) -> Callable[[], None]:
        """Call ``callback`` with every event from now on (``only``: events of these types);
        return the unsubscribe function.

        Records are parsed for :class:`RecordsChanged` only while a subscriber wants it.
        """
        entry = (callback, only)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(entry)

        return unsubscribe

    def emit(self, event: Event) -> None:
        """Call every subscriber with ``event``, in subscription order."""
        for callback, only in list(self._subscribers):
            if only is not None and not isinstance(event, only):
                continue
            try:
                callback(event)
            except Exception:
                # A broken subscriber must not break sync for the others; ERROR level, so a
                # test that meets it fails.
                log.exception("event subscriber %r failed on %r", callback, event)

    # --- waiting for saves ----------------------------------------------------------------

    async def wait_saved(self, record_ids: frozenset[str] | None) -> None:
        """Wait until no change to these records (None: to any) is pending.

        Raises:
            the error a :meth:`fail_waiters` call gives it.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = _SaveWaiter(record_ids, future)
        self._waiters.append(waiter)
        self.check_waiters()
        try:
            await future
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def check_waiters(self) -> None:
        """Wake the waiters whose records have nothing pending any more."""
        for waiter in list(self._waiters):
            if waiter.future.done():
                self._waiters.remove(waiter)
            elif not self.session.has_pending(waiter.record_ids):
                waiter.future.set_result(None)
                self._waiters.remove(waiter)

    def fail_waiters(self, error: Exception, record_id: str | None = None) -> None:
        """Fail the waiters for ``record_id`` (None: every waiter) with ``error``."""
        for waiter in list(self._waiters):
            wanted = waiter.record_ids
            if record_id is None or wanted is None or record_id in wanted:
                if not waiter.future.done():
                    waiter.future.set_exception(error)
                self._waiters.remove(waiter)
