"""Fan-out across server processes on one PostgreSQL: LISTEN for commits, fetch, relay (§8).

Every :meth:`PostgresStore.commit` notifies ``[document, layer, seq, origin]`` on the
layer's own channel (:func:`~lamina.server.store_postgres.commit_channel`) right after its
transaction committed, in the commit's last round trip (not inside the transaction: that
would serialize every process's commits, see :meth:`PostgresStore.commit`), so the
notification exists only if the commit does, and carries no record content. A
:class:`PostgresFanout` listens on a connection of its own, which the event loop drives
(:class:`~lamina.server.pq_loop.LoopConnection`: a notification is handled in the read that
brought it, with no thread to hand it over), to the channels of the layers this process has
rooms for (the server calls :meth:`PostgresFanout.rooms_changed`; a process no longer reads
every commit of every process). A listened channel has a row in ``layer_listeners``
(channel, the store's origin, the listening backend's pid; a killed process's rows are swept
by the others every :data:`LISTENER_SWEEP` seconds), so a commit to a layer no other process
has a room for is not announced at all: a NOTIFY costs PostgreSQL a transaction in every
listening backend of the database (it signals them all, whatever the channel), and the
committing process heard its own. For a notification from another process, it reads what the
room lacks from the store in one statement, on the event loop with a loop connection of its
own (:func:`~lamina.server.history_postgres.read_changes`), makes it part of the room's
layer and relays it to the room's members and viewers, each getting what they may view (the
room's own relay). Once a room's channel is listened to, the room catches up once: what was
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
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from lamina.model.errors import LaminaError
from lamina.server.errors import StoreError
from lamina.server.history_postgres import (
    CHANGES_AFTER,
    CHANGES_AFTER_NAME,
    LayerChanges,
    read_changes,
    reader_conninfo,
)
from lamina.server.pq_loop import LoopConnection
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
from psycopg.conninfo import make_conninfo

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
_FORGET_GONE_LISTENERS = (
    b"DELETE FROM layer_listeners WHERE pid NOT IN (SELECT pid FROM pg_stat_activity)"
)
"""Delete the ``layer_listeners`` rows whose backend is gone: a killed process leaves its
rows, and every commit to their layers was announced to nobody (a NOTIFY that signals every
listening backend of the database) until some process reconnected its listener. A sweep
that finds none writes nothing."""


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
        self._stopping = False
        self._listening = asyncio.Event()  # the first LISTEN is in place
        self._wake = asyncio.Event()  # rooms changed, the connection was lost, stopping
        self._listener: asyncio.Task[None] | None = None
        self._fetching: dict[Room, bool] = {}  # room -> another notification came meanwhile
        # Reads for catch-ups, on the loop (opens on first use, and again after a loss).
        self._reader = LoopConnection(
            reader_conninfo(store.url, "lamina-fetch"),
            {CHANGES_AFTER_NAME: CHANGES_AFTER},
        )
        self._reading = asyncio.Lock()
        self._poller: asyncio.Task[None] | None = None
        self.presence = PostgresPresence(server, store)
        """Presence across processes (:mod:`lamina.server.presence_postgres`)."""

    async def start(self) -> None:
        """Start listening; return once the LISTEN is in place (the server's rooms then
        catch up through it after a lost race: ``server.peers``), or after 30 s without
        PostgreSQL (it goes on trying)."""
        self.server.peers = self
        self.presence.start()
        self._listener = asyncio.create_task(self._listen(), name="lamina-listen")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 30)
        self._poller = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        """Stop listening and polling."""
        self._stopping = True
        self._wake.set()
        if self._poller is not None:
            self._poller.cancel()
        await self.presence.stop()
        if self._listener is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._listener, 10)  # cancelled if it takes longer
        async with self._reading:
            self._reader.close()

    def rooms_changed(self) -> None:
        """The server made or dropped a room: listen to the layers it now has rooms for."""
        self._wake.set()

    # --- the listening connection ---------------------------------------------------------

    async def _listen(self) -> None:
        """Listen on a connection the event loop drives (:mod:`lamina.server.pq_loop`): a
        notification is handled in the read that brought it, with no thread between."""
        conninfo = make_conninfo(self.store.url, application_name="lamina-listen")
        origin = _literal(self.store.origin)
        while not self._stopping:
            conn = LoopConnection(conninfo, {}, on_notify=self._dispatch, on_lost=self._wake.set)
            try:
                channels = (NOTIFY_CHANNEL, REVOKE_CHANNEL, PRESENCE_CHANNEL, LAYERS_CHANNEL)
                # Its channels from before this connection, and those of processes gone.
                await conn.script(
                    "".join(f"LISTEN {channel}; " for channel in channels).encode()
                    + f"DELETE FROM layer_listeners WHERE origin = {origin}; ".encode()
                    + _FORGET_GONE_LISTENERS
                )
                swept = time.monotonic()
                listening: dict[str, RoomKey] = {}
                await self._subscribe(conn, listening)
                self._listening.set()
                self._catch_up_all()  # what was missed while not listening
                self.presence.ask()
                while not self._stopping:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), 1.0)
                    self._wake.clear()
                    if not conn.is_open:
                        raise StoreError("the listening connection was lost")
                    if self._stopping:
                        break
                    await self._subscribe(conn, listening)
                    if time.monotonic() - swept >= LISTENER_SWEEP:
                        await conn.script(_FORGET_GONE_LISTENERS)
                        swept = time.monotonic()
                await conn.script(f"DELETE FROM layer_listeners WHERE origin = {origin}".encode())
            except StoreError as exc:
                if self._stopping:
                    return
                logger.warning("listening for commits failed, reconnecting: %s", exc)
                await asyncio.sleep(RECONNECT_DELAY)
            except Exception:  # a bug must not end the fan-out: say so, listen again
                logger.exception("listening for commits failed, reconnecting")
                await asyncio.sleep(RECONNECT_DELAY)
            finally:
                conn.close()

    async def _subscribe(self, conn: LoopConnection, listening: dict[str, RoomKey]) -> None:
        """LISTEN to the channel of every layer with a room here, UNLISTEN the others, and
        say so in ``layer_listeners``: a process commits without announcing a layer no
        other process listens to (:meth:`PostgresStore.commit`).

        The row and the LISTEN commit together (one transaction, one round trip), before
        the room catches up: a commit whose announcement did not see the row had committed
        before it, so the catch-up reads it.
        """
        wanted = {commit_channel(*key): key for key in self.server.rooms}
        gone = [c for c in listening if c not in wanted]
        new = {c: key for c, key in wanted.items() if c not in listening}
        if not gone and not new:
            return
        origin = _literal(self.store.origin)
        statements = [f"UNLISTEN {_identifier(c)}" for c in gone]
        if gone:
            statements.append(
                f"DELETE FROM layer_listeners WHERE origin = {origin} "
                f"AND channel = ANY({_text_array(gone)})"
            )
        statements += [f"LISTEN {_identifier(c)}" for c in new]
        if new:
            statements.append(
                f"INSERT INTO layer_listeners SELECT c, {origin}, pg_backend_pid() "
                f"FROM unnest({_text_array(new)}) AS c ON CONFLICT (channel, origin) "
                "DO UPDATE SET pid = EXCLUDED.pid"
            )
        await conn.script("; ".join(statements).encode())
        for channel in gone:
            del listening[channel]
        listening.update(new)
        if new:
            # Committed between the room's load and this LISTEN: no note will say so.
            self._check_rooms(list(new.values()))

    def _dispatch(self, channel: str, payload: str) -> None:
        if channel.startswith(COMMIT_CHANNEL_PREFIX):
            self._received(payload)
        elif channel == PRESENCE_CHANNEL:
            self.presence.received(payload)
        elif channel == REVOKE_CHANNEL:
            self._revoked()
        elif channel == LAYERS_CHANNEL:
            self.server.announce_layers(payload)
        elif channel == NOTIFY_CHANNEL:
            self._first_commit(payload)

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
        self._advanced(document_id, layer, seq)

    def _first_commit(self, payload: str) -> None:
        parsed = self._parse(payload)
        if parsed is not None and parsed[3] != self.store.origin:
            # A layer's first commit may make it listed (§4.8): say so here too.
            self.server.announce_layers(parsed[0])

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
        async with self._reading:  # one statement at a time on the connection
            return await read_changes(self._reader, document_id, layer, seq)

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
            if room.ready:
                self._fetch_soon(room)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_INTERVAL)
            self._catch_up_all()


def _literal(text: str) -> str:
    return sql.Literal(text).as_string(None)


def _identifier(name: str) -> str:
    return sql.Identifier(name).as_string(None)


def _text_array(texts: Iterable[str]) -> str:
    return f"ARRAY[{', '.join(_literal(t) for t in texts)}]::text[]"
