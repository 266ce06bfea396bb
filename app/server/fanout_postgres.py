"""Fan-out across server processes on one PostgreSQL: LISTEN for commits, fetch, relay (§8).

Every :meth:`PostgresStore.commit` notifies ``[document, layer, seq, origin]`` on the layer's
own channel (:func:`~lamina.server.store_postgres.commit_channel`) right after its
transaction committed, in the commit's last round trip (not inside the transaction: that
would serialize every process's commits, see :meth:`PostgresStore.commit`), so the
notification exists only if the commit does, and carries no record content. A
:class:`PostgresFanout` listens on a connection of its own (a thread: psycopg's blocking
``notifies()``), to the channels of the layers this process has rooms for (the server calls
:meth:`PostgresFanout.rooms_changed`; a process no longer reads every commit of every
process). A listened channel has a row in ``layer_listeners`` (channel, the store's origin,
the listening backend's pid; a killed process's rows are swept by the others every
:data:`LISTENER_SWEEP` seconds), so a commit to a layer no other process has a room for is not
announced at all: a NOTIFY costs PostgreSQL a transaction in every listening backend of the
database (it signals them all, whatever the channel), and the committing process heard its
own. For a notification from another process, it reads what the room lacks from the
store in one round trip, on the event loop with a connection of its own
(:func:`~lamina.server.history_postgres.read_changes`), makes it part of the room's layer and
relays it to the room's members and viewers, each getting what they may view (the room's
own relay). Once a room's channel is listened to, the room catches up once: what was
committed between its load and the LISTEN has no notification here.

Presence: the listening connection also takes the other processes' presence
notifications, for :class:`~lamina.server.presence_postgres.PostgresPresence`.

Layer lists: a layer created or forgotten (:meth:`PostgresStore.remember_layer`), or given
its first commit (:data:`~lamina.server.store_postgres.NOTIFY_CHANNEL`), elsewhere is
announced to this process's clients that asked for the list.

Revocations: :meth:`PostgresStore.revoke` notifies
:data:`~lamina.server.store_postgres.REVOKE_CHANNEL` in its transaction; on that note every
other process reads the revoked ids again and closes the revoked tokens' sessions at once
(the server's one-second poll stays, for a note lost while not listening).

Missed notifications (the listening connection dropped, the process was busy) are caught up
from the store: after every (re)connect, and every :data:`POLL_INTERVAL` seconds for each
room in memory, the fan-out compares the room's ``seq`` with the layer's committed one.

A room with writes in flight is caught up after they settle: those writes were prepared on
the old ``seq``, so the store refuses them (:class:`~lamina.server.store.LayerAdvancedError`);
the room then catches up through :meth:`PostgresFanout.catch_up` and prepares those pushes
again on top of what it read (:meth:`lamina.server.rooms.Room.push`), so their clients get one
ack each, after the commit, and never notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg
from lamina.model.errors import LaminaError
from lamina.server.errors import StoreError
from lamina.server.history_postgres import LayerChanges, read_changes
from lamina.server.presence_postgres import PRESENCE_CHANNEL, PostgresPresence
from lamina.server.store_postgres import (
    COMMIT_CHANNEL_PREFIX,
    LAYERS_CHANNEL,
    NOTIFY_CHANNEL,
    REVOKE_CHANNEL,
    PostgresStore,
    commit_channel,
)
from lamina.sync.layer import LayerCommit
from lamina.sync.state import ChangeResult
from psycopg import sql

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from lamina.server.app import LaminaServer
    from lamina.server.rooms import Room, RoomKey
    from lamina.sync.messages import PresenceClient

logger = logging.getLogger("lamina.server")

POLL_INTERVAL = 2.0
"""Seconds between checks of every room against the store (notifications may be lost)."""
RECONNECT_DELAY = 0.5
LISTENER_SWEEP = 10.0
"""Seconds between sweeps of ``layer_listeners`` for the rows of processes gone."""


async def start_fanout(server: LaminaServer) -> PostgresFanout | None:
    """Start the fan-out of ``server`` if its store is PostgreSQL; return it (else None)."""
    if not isinstance(server.store, PostgresStore):
        return None
    fanout = PostgresFanout(server, server.store)
    await fanout.start()
    return fanout


class PostgresFanout:
    """Brings this process's rooms up to date with commits made by other processes.

    Args:
        server: the running server whose rooms to keep up to date.
        store: its store.
    """

    def __init__(self, server: LaminaServer, store: PostgresStore) -> None:
        self.server = server
        self.store = store
        self.remote_commits = 0
        """Commits of other processes applied to a room here (for tests and benches)."""
        self.notes_heard = 0
        """Commit notifications of other processes received (for tests)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="lamina-listen", daemon=True)
        # Wakes the listening thread from its wait (rooms changed, stopping).
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._fetching: dict[Room, bool] = {}  # room -> another notification came meanwhile
        self._reader: psycopg.AsyncConnection[Any] | None = None  # reads for catch-ups
        self._reading = asyncio.Lock()  # one read at a time on it
        self._poller: asyncio.Task[None] | None = None
        self.presence = PostgresPresence(server, store)
        """Presence across processes (:mod:`lamina.server.presence_postgres`)."""

    async def start(self) -> None:
        """Start listening; return once the LISTEN is in place (the server's rooms then
        catch up through it after a lost race: ``server.peers``)."""
        self._loop = asyncio.get_running_loop()
        self.server.peers = self
        self.presence.start()
        self._thread.start()
        await asyncio.to_thread(self._listening.wait, 30)
        self._poller = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        """Stop listening and polling."""
        self._stopping.set()
        self._wake()
        if self._poller is not None:
            self._poller.cancel()
        await self.presence.stop()
        await asyncio.to_thread(self._thread.join, 10)
        self._wake_r.close()
        self._wake_w.close()
        async with self._reading:
            if self._reader is not None:
                await self._reader.close()
                self._reader = None

    def rooms_changed(self) -> None:
        """The server made or dropped a room: listen to the layers it now has rooms for."""
        self._wake()

    def _wake(self) -> None:
        # Full: a wake-up is pending anyway.
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(b"\0")

    # --- the listening thread -------------------------------------------------------------

    def _listen(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(
                    self.store.url, autocommit=True, application_name="lamina-listen"
                ) as conn:
                    for channel in (NOTIFY_CHANNEL, REVOKE_CHANNEL, PRESENCE_CHANNEL):
                        conn.execute(f"LISTEN {channel}")
                    conn.execute(f"LISTEN {LAYERS_CHANNEL}")
                    # Its channels from before this connection, and those of processes gone.
                    conn.execute(
                        "DELETE FROM layer_listeners WHERE origin = %s", (self.store.origin,)
                    )
                    _forget_gone_listeners(conn)
                    swept = time.monotonic()
                    listening: dict[str, RoomKey] = {}
                    self._subscribe(conn, listening)
                    self._listening.set()
                    self._call(self._catch_up_all)  # what was missed while not listening
                    self._call(self.presence.ask)
                    while not self._stopping.is_set():
                        # timeout=0: what arrived (also during the LISTENs), without waiting.
                        for note in conn.notifies(timeout=0):
                            self._dispatch(note)
                        wake = self._wake_r.fileno()
                        ready, _, _ = select.select([conn.pgconn.socket, wake], [], [], 1.0)
                        if wake in ready:
                            with contextlib.suppress(BlockingIOError):
                                while self._wake_r.recv(4096):
                                    pass
                            self._subscribe(conn, listening)
                        if time.monotonic() - swept >= LISTENER_SWEEP:
                            _forget_gone_listeners(conn)
                            swept = time.monotonic()
                    conn.execute(
                        "DELETE FROM layer_listeners WHERE origin = %s", (self.store.origin,)
                    )
            except psycopg.Error as exc:
                if self._stopping.is_set():
                    return
                logger.warning("listening for commits failed, reconnecting: %s", exc)
                self._stopping.wait(RECONNECT_DELAY)

    def _subscribe(self, conn: psycopg.Connection[Any], listening: dict[str, RoomKey]) -> None:
        """LISTEN to the channel of every layer with a room here, UNLISTEN the others, and
        say so in ``layer_listeners``: a process commits without announcing a layer no
        other process listens to (:meth:`PostgresStore.commit`).

        The row and the LISTEN commit together, before the room catches up: a commit whose
        announcement did not see the row had committed before it, so the catch-up reads it.
        """
        # list() of a dict is one step for the interpreter: safe beside the event loop.
        wanted = {commit_channel(*key): key for key in list(self.server.rooms)}
        gone = [c for c in listening if c not in wanted]
        new = {c: key for c, key in wanted.items() if c not in listening}
        if not gone and not new:
            return
        origin = self.store.origin
        with conn.pipeline():  # one round trip, one transaction
            for channel in gone:
                conn.execute(sql.SQL("UNLISTEN {}").format(sql.Identifier(channel)))
                del listening[channel]
            if gone:
                conn.execute(
                    "DELETE FROM layer_listeners WHERE origin = %s AND channel = ANY(%s)",
                    (origin, gone),
                )
            for channel in new:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            if new:
                conn.execute(
                    "INSERT INTO layer_listeners SELECT c, %s, pg_backend_pid() "
                    "FROM unnest(%s::text[]) AS c ON CONFLICT (channel, origin) "
                    "DO UPDATE SET pid = EXCLUDED.pid",
                    (origin, list(new)),
                )
        listening.update(new)
        if new:
            # Committed between the room's load and this LISTEN: no note will say so.
            self._call(self._check_rooms, list(new.values()))

    def _dispatch(self, note: psycopg.Notify) -> None:
        channel = note.channel
        if channel.startswith(COMMIT_CHANNEL_PREFIX):
            self._received(note.payload)
        elif channel == PRESENCE_CHANNEL:
            self._call(self.presence.received, note.payload)
        elif channel == REVOKE_CHANNEL:
            self._call(self._revoked)
        elif channel == LAYERS_CHANNEL:
            self._call(self.server.announce_layers, note.payload)
        elif channel == NOTIFY_CHANNEL:
            self._first_commit(note.payload)

    @staticmethod
    def _parse(payload: str) -> tuple[str, str, int, str] | None:
        try:
            document_id, layer, seq, origin = json.loads(payload)
            return str(document_id), str(layer), int(seq), str(origin)
        except (ValueError, TypeError) as exc:
            logger.warning("ignored a malformed commit notification %r: %s", payload[:80], exc)
            return None

    def _received(self, payload: str) -> None:
        parsed = self._parse(payload)
        if parsed is None or parsed[3] == self.store.origin:
            return
        document_id, layer, seq, _ = parsed
        self.notes_heard += 1
        # No room here for that layer (dropped since, or a digest shared with another
        # layer): nothing to fetch, so the event loop is not woken. (dict.get is atomic; a
        # room made after this looks reads the layer after the commit, which came before
        # its notification.)
        if self.server.rooms.get((document_id, layer)) is not None:
            self._call(self._advanced, document_id, layer, seq)

    def _first_commit(self, payload: str) -> None:
        parsed = self._parse(payload)
        if parsed is not None and parsed[3] != self.store.origin:
            # A layer's first commit may make it listed (§4.8): say so here too.
            self._call(self.server.announce_layers, parsed[0])

    def _call(self, callback: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            # The loop may close between the check and the call: the server is shutting down.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback, *args)

    # --- on the event loop ----------------------------------------------------------------

    def publish_presence(self, key: RoomKey, entries: Mapping[str, PresenceClient]) -> None:
        """Tell the other processes who is connected to the room ``key`` here."""
        self.presence.publish(key, entries)

    def presence_elsewhere(self, key: RoomKey) -> Sequence[PresenceClient]:
        """Return who is connected to the room ``key`` on other processes."""
        return self.presence.elsewhere(key)

    def _revoked(self) -> None:
        self.server.spawn(self.server.refresh_revocations())

    def _check_rooms(self, keys: list[RoomKey]) -> None:
        for key in keys:
            self._advanced(*key, seq=None)

    def _advanced(self, document_id: str, layer: str, seq: int | None) -> None:
        """Fetch what the room of the layer lacks, if it is behind ``seq`` (None: look)."""
        room = self.server.rooms.get((document_id, layer))
        if room is None or room.broken:
            return
        if not room.loaded.done():
            # It may have read the layer before this commit: look again once loaded.
            room.loaded.add_done_callback(lambda _: self._advanced(document_id, layer, seq))
            return
        if room.loaded.exception() is not None or (seq is not None and room.layer.seq >= seq):
            return
        self._fetch_soon(room)

    def _fetch_soon(self, room: Room) -> None:
        if room in self._fetching:
            self._fetching[room] = True  # fetch again when the current one is done
            return
        self._fetching[room] = False
        asyncio.get_running_loop().create_task(self._fetch(room))

    async def _fetch(self, room: Room) -> None:
        try:
            while True:
                while room.writes_in_flight and not room.broken:
                    await asyncio.sleep(0.002)  # they settle first (see the module docstring)
                if room.broken or self.server.rooms.get(room.key) is not room:
                    return
                await self.catch_up(room)
                if not self._fetching.get(room):
                    return
                self._fetching[room] = False
        except LaminaError as exc:
            logger.warning("cannot catch up %s/%r: %s", room.document_id, room.layer_name, exc)
        finally:
            self._fetching.pop(room, None)

    async def catch_up(self, room: Room) -> None:
        """Read what the room's layer committed after the room's ``seq``, make it part of the
        layer and relay it (nothing when the room has writes in flight: they settle first).

        Raises:
            StoreError: the store cannot be read.
        """
        since = room.layer.seq
        changes = await self._read(room.document_id, room.layer_name, since)
        if changes is not None and not room.broken and room.layer.seq == since:
            self._apply(room, since, changes)

    async def _read(self, document_id: str, layer: str, seq: int) -> LayerChanges | None:
        async with self._reading:
            reader = self._reader
            if reader is None or reader.closed or reader.broken:
                try:
                    reader = await psycopg.AsyncConnection.connect(
                        self.store.url, autocommit=True, application_name="lamina-fetch"
                    )
                except psycopg.Error as exc:
                    raise StoreError(f"cannot connect to PostgreSQL: {exc}") from exc
                self._reader = reader
            try:
                return await read_changes(reader, document_id, layer, seq)
            except StoreError:
                # It may be left inside the read's transaction: the next read reconnects.
                self._reader = None
                await reader.close()
                raise

    def _apply(self, room: Room, since: int, changes: LayerChanges) -> None:
        epoch, seq = changes.epoch, changes.seq
        if seq <= since or room.writes_in_flight:
            return
        if epoch != room.layer.epoch:
            logger.warning("layer %s/%r was reset elsewhere", room.document_id, room.layer_name)
            return
        if changes.history_from > since:
            # Compacted past this room's seq (lamina.server.compaction): the deletes in
            # between are gone from the store, so only a fresh load is the truth.
            room.close(
                f"its history was compacted past seq {since} elsewhere",
                logging.WARNING,
                "the layer's history was compacted meanwhile; reconnect",
            )
            return
        remembered = tuple(
            ChangeResult.from_wire(result, f"stored.{change_id}")
            for change_id, result in changes.change_results.items()
        )
        commit = LayerCommit(
            epoch=epoch,
            base_seq=since,
            seq=seq,
            results=(),
            records=changes.records,
            previous={r.id: room.layer.get(r.id) for r in changes.records},
            remembered=remembered,
        )
        room.layer.apply_prepared(commit)
        room.fields.committed(commit.records)
        self.remote_commits += 1
        if commit.records:
            room.relay(commit, exclude=None)

    def _catch_up_all(self) -> None:
        for room in list(self.server.rooms.values()):
            if room.loaded.done() and room.loaded.exception() is None and not room.broken:
                self._fetch_soon(room)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_INTERVAL)
            self._catch_up_all()


def _forget_gone_listeners(conn: psycopg.Connection[Any]) -> None:
    """Delete the ``layer_listeners`` rows whose backend is gone: a killed process leaves its
    rows, and every commit to their layers was announced to nobody (a NOTIFY that signals
    every listening backend of the database) until some process reconnected its listener.
    A sweep that finds none writes nothing."""
    conn.execute("DELETE FROM layer_listeners WHERE pid NOT IN (SELECT pid FROM pg_stat_activity)")
