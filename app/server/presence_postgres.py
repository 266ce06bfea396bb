"""Presence across server processes on one PostgreSQL (DESIGN §8, protocol §8.1).

Presence is soft state that is never stored (§8.1), so it travels in NOTIFY payloads on
:data:`PRESENCE_CHANNEL`, not in a table: no rows to write for each cursor move, and none
left behind by a process that dies. Each payload is one JSON array:

- ``["set", origin, document, layer, key, entry]``: a connection of ``origin``'s room joined
  or changed (``entry`` is its presence-list entry, §8.1);
- ``["gone", origin, document, layer, key]``: it left;
- ``["ask", origin]``: a process that just started listening (or heard of one it did not
  know) asks everyone for their entries again;
- ``["bye", origin]``: a process shuts down.

Which processes are alive, PostgreSQL itself says: each sends its notifications over a
connection named ``lamina-presence-<origin>``, and every :data:`LIVENESS_POLL` seconds each
process reads ``pg_stat_activity`` (a read: no transaction, no WAL, unlike a heartbeat
NOTIFY, which commits). The entries of a process whose connection is gone leave every list:
at the next poll after it is killed (the kernel closes its sockets), or, when its machine is
lost, once the backend's TCP keepalive gives up (set to :data:`KEEPALIVE` on the
connection): within :data:`LOST_WITHIN` seconds either way.

An entry is bounded by ``Limits.presence_bytes`` (4 KiB by default) plus its ids, within
PostgreSQL's 8,000-byte payload limit; an entry that would not fit (a host that raised the
limit) travels without its ``state`` (name and color stay). Notifications commit with
``synchronous_commit = off``: presence needs no WAL flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from lamina.model.errors import LaminaError
from lamina.sync.json_text import dumps
from lamina.sync.message_decoder import decode_message
from lamina.sync.messages import (
    PresenceClient,
    PresenceList,
)

if TYPE_CHECKING:
    from lamina.server.app import LaminaServer
    from lamina.server.rooms import RoomKey
    from lamina.server.store_postgres import PostgresStore

logger = logging.getLogger("lamina.server")

PRESENCE_CHANNEL = "lamina_presence"
APPLICATION_PREFIX = "lamina-presence-"
"""The presence connection's ``application_name`` is this and the process's origin."""
LIVENESS_POLL = 1.0
"""Seconds between reads of which processes are connected."""
KEEPALIVE = {"tcp_keepalives_idle": 5, "tcp_keepalives_interval": 1, "tcp_keepalives_count": 3}
"""The backend's TCP keepalive on a presence connection: a lost machine is noticed in ~8 s."""
LOST_WITHIN = 10.0
"""Seconds within which the clients of a dead process leave presence lists (a lost machine;
a killed process: the next poll)."""
MAX_PAYLOAD = 7999
"""PostgreSQL's NOTIFY payload limit (8,000 bytes, less one)."""

_STOP = object()
Remote = tuple[str, str]
"""(origin, connection key): one connection of another process."""


class PostgresPresence:
    """This process's presence entries, told to the others; theirs, kept for our rooms.

    Everything but the sending thread runs on the server's event loop. The fan-out's
    listening connection hands received payloads to :meth:`received`.

    Args:
        server: the running server (its rooms are told when a list changes).
        store: its store (for the connection URL and this process's ``origin``).
    """

    def __init__(self, server: LaminaServer, store: PostgresStore) -> None:
        self.server = server
        self.store = store
        self.origin = store.origin
        self._published: dict[RoomKey, dict[str, PresenceClient]] = {}
        self._remote: dict[RoomKey, dict[Remote, PresenceClient]] = {}
        self._heard: dict[str, float] = {}  # origin -> monotonic time it was last heard of
        self._outbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._send, name="lamina-presence", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start sending and watching who is alive (call on the server's loop)."""
        self._loop = asyncio.get_running_loop()
        self._thread.start()

    async def stop(self) -> None:
        """Say goodbye, then stop sending."""
        self._outbox.put(dumps(["bye", self.origin]))
        self._outbox.put(_STOP)
        await asyncio.to_thread(self._thread.join, 10)

    # --- this process's entries ------------------------------------------------------------

    def publish(self, key: RoomKey, entries: Mapping[str, PresenceClient]) -> None:
        """Tell the other processes how the room ``key``'s connections here changed."""
        before = self._published.get(key, {})
        document_id, layer = key
        for conn_key, entry in entries.items():
            if before.get(conn_key) != entry:
                self._put_set(document_id, layer, conn_key, entry)
        for conn_key in before.keys() - entries.keys():
            self._outbox.put(dumps(["gone", self.origin, document_id, layer, conn_key]))
        if entries:
            self._published[key] = dict(entries)
        else:
            self._published.pop(key, None)

    def _put_set(self, document_id: str, layer: str, conn_key: str, entry: PresenceClient) -> None:
        head: list[Any] = ["set", self.origin, document_id, layer, conn_key]
        payload = dumps([*head, entry.to_wire()])
        if len(payload.encode()) > MAX_PAYLOAD:
            bare = PresenceClient(entry.client_id, entry.user_id, entry.name, entry.color)
            payload = dumps([*head, bare.to_wire()])
            if len(payload.encode()) > MAX_PAYLOAD:
                return  # ids and a name this long are not presence: leave it out
        self._outbox.put(payload)

    def _republish(self) -> None:
        for (document_id, layer), entries in self._published.items():
            for conn_key, entry in entries.items():
                self._put_set(document_id, layer, conn_key, entry)

    def ask(self) -> None:
        """Ask every process for its entries again (after (re)connecting the listener:
        what is known of them may have changed unheard, so it is dropped first)."""
        stale = list(self._remote)
        self._remote.clear()
        for key in stale:
            self._changed(key)
        self._outbox.put(dumps(["ask", self.origin]))

    # --- the other processes' entries ------------------------------------------------------

    def elsewhere(self, key: RoomKey) -> Sequence[PresenceClient]:
        """Return the connections to the room ``key`` on other processes."""
        return list(self._remote.get(key, {}).values())

    def received(self, payload: str) -> None:
        """Take one notification of another process (on the server's loop)."""
        try:
            message = json.loads(payload)
            kind, origin = message[0], str(message[1])
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            logger.warning("ignored a malformed presence notification %r: %s", payload[:80], exc)
            return
        if origin == self.origin:
            return
        if origin not in self._heard and kind not in ("bye", "ask"):
            # A process we did not know (or took for dead): hear all it has.
            self._outbox.put(dumps(["ask", self.origin]))
        self._heard[origin] = time.monotonic()
        try:
            if kind == "set":
                key, conn_key, entry = (str(message[2]), str(message[3])), message[4], message[5]
                client = _decode_entry(entry)
                self._remote.setdefault(key, {})[(origin, str(conn_key))] = client
                self._changed(key)
            elif kind == "gone":
                key = (str(message[2]), str(message[3]))
                entries = self._remote.get(key, {})
                if entries.pop((origin, str(message[4])), None) is not None:
                    self._changed(key)
            elif kind == "ask":
                self._republish()
            elif kind == "bye":
                self._forget(origin)
        except (IndexError, LaminaError) as exc:
            logger.warning("ignored a presence notification %r: %s", payload[:80], exc)

    def _forget(self, origin: str) -> None:
        self._heard.pop(origin, None)
        for key, entries in list(self._remote.items()):
            gone = [remote for remote in entries if remote[0] == origin]
            for remote in gone:
                del entries[remote]
            if not entries:
                del self._remote[key]
            if gone:
                self._changed(key)

    def _changed(self, key: RoomKey) -> None:
        room = self.server.rooms.get(key)
        if room is not None and room.members:
            room.broadcast_presence()

    def _alive(self, origins: frozenset[str], polled_at: float) -> None:
        """Take the processes PostgreSQL has presence connections of (read at
        ``polled_at``): forget the others, unless they spoke since."""
        for origin in origins - self._heard.keys() - {self.origin}:
            self._heard[origin] = polled_at
        for origin, heard in list(self._heard.items()):
            if origin not in origins and heard < polled_at:
                logger.info("server process %s is gone: its clients left", origin)
                self._forget(origin)

    # --- the sending thread ----------------------------------------------------------------

    def _send(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        connected_before = False
        polled = 0.0
        stopping = False
        while not stopping:
            try:
                batch = [self._outbox.get(timeout=LIVENESS_POLL)]
            except queue.Empty:
                batch = []
            while True:
                try:
                    batch.append(self._outbox.get_nowait())
                except queue.Empty:
                    break
            if _STOP in batch:
                stopping = True
                batch = [item for item in batch if item is not _STOP]
            try:
                if conn is None or conn.closed or conn.broken:
                    conn = self._connect()
                    if connected_before:
                        # Others may have taken this process for gone meanwhile.
                        self._call(self._republish)
                    connected_before = True
                if batch:
                    with conn.transaction():
                        for payload in batch:
                            conn.execute("SELECT pg_notify(%s, %s)", (PRESENCE_CHANNEL, payload))
                if not stopping and time.monotonic() - polled >= LIVENESS_POLL:
                    polled = time.monotonic()
                    rows = conn.execute(
                        "SELECT substr(application_name, %s) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND application_name LIKE %s",
                        (len(APPLICATION_PREFIX) + 1, APPLICATION_PREFIX + "%"),
                    ).fetchall()
                    self._call(self._alive, frozenset(o for (o,) in rows), polled)
            except psycopg.Error as exc:
                # Soft state: what was lost is sent again at the next change or "ask".
                logger.warning("cannot send presence to other processes: %s", exc)
                time.sleep(LIVENESS_POLL)
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(
            self.store.url, autocommit=True, application_name=APPLICATION_PREFIX + self.origin
        )
        conn.execute("SET synchronous_commit = off")
        for setting, value in KEEPALIVE.items():
            conn.execute(f"SET {setting} = {int(value)}")
        return conn

    def _call(self, callback: Any, *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            # The loop may close between the check and the call: the server is stopping.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback, *args)


def _decode_entry(entry: Any) -> PresenceClient:
    """Read one presence-list entry with the protocol's own decoder (§8.1)."""
    message = decode_message(dumps({"type": "presence", "clients": [entry]}), from_client=False)
    assert isinstance(message, PresenceList)
    return message.clients[0]
