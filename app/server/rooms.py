"""Rooms: one per (document, layer), holding the layer's state and its connections.

A room loads its layer from the store before anyone is served (§3.5): the first joiner starts
the load and every joiner, however many arrive at once, awaits the same future. (A client
that resumes while the room is not loaded is first caught up from the store by ``seq`` and
joins once the load is done: :mod:`lamina.server.rooms_catch_up`.) Pushes are
prepared on top of each other (group commit, ``LayerState.prepare(after=...)``), written by
the group-commit writer (:mod:`lamina.server.writer`), and only applied to the layer, acked
and relayed once their transaction committed (§4.3). Completions run synchronously in
commit order, so every connection sees commits in ``seq`` order. A room leaves memory only
when it has no connection and no write in flight.

Which changes a token may make is :mod:`lamina.server.change_policy`'s. The rules are the
sync core's: the form field group rules (``lamina.sync.form_fields``),
the catch-up and each connection's presence entry (``ServerSession``); a room only moves
their frames, encoded once per commit (``ChangesRelay``) or presence change
(``PresenceRelay``), to its members' sockets.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from lamina.auth.ownership import form_field_name
from lamina.model.errors import LaminaError
from lamina.model.ids import RecordId
from lamina.model.timestamps import utc_now_iso
from lamina.server.change_policy import RefuseAll, TokenPolicy
from lamina.server.connection import broadcast
from lamina.server.store import LayerAdvancedError, LayerWrite, LoadedLayer
from lamina.server.writer import ChainFailed
from lamina.sync.form_fields import FormFields
from lamina.sync.layer import ChangePolicy, LayerCommit, LayerState
from lamina.sync.messages import PresenceClient, Push
from lamina.sync.relays import ChangesRelay, PresenceRelay
from lamina.sync.state import (
    RecordState,
)
from lamina.sync.validation import Limits, server_limits

if TYPE_CHECKING:
    from lamina.server.app import LaminaServer
    from lamina.server.connection import Connection

logger = logging.getLogger("lamina.server")

RoomKey = tuple[str, str]

PRESENCE_COALESCE = 0.05
"""Seconds presence changes of a room are gathered into one list (§8.1)."""


class Peers(Protocol):
    """The other server processes on the same store (PostgreSQL, DESIGN §8), as a room
    needs them (:class:`lamina.server.fanout_postgres.PostgresFanout`)."""

    async def catch_up(self, room: Room) -> None:
        """Make what other processes committed to the room's layer part of it and relay it
        (returns at once when the room has writes in flight)."""

    def publish_presence(self, key: RoomKey, entries: Mapping[str, PresenceClient]) -> None:
        """Tell the other processes who is connected to the room ``key`` here (by a key
        per connection)."""

    def presence_elsewhere(self, key: RoomKey) -> Sequence[PresenceClient]:
        """Return who is connected to the room ``key`` on other processes."""

    def rooms_changed(self) -> None:
        """The server made or dropped a room (the other processes' commits to a layer are
        heard only while it has a room here)."""


class Room:
    """One layer of one document, as served to its connections."""

    def __init__(self, server: LaminaServer, document_id: str, layer: str) -> None:
        self.server = server
        self.key: RoomKey = (document_id, layer)
        self.document_id = document_id
        self.layer_name = layer
        self.loaded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.state: LayerState | None = None
        self.info: LoadedLayer | None = None
        self.members: set[Connection] = set()
        self.viewers: set[Connection] = set()
        self.tail: LayerCommit | None = None
        self.writes_in_flight = 0
        self.broken = False
        # The writer chain of this room's writes (lamina.server.writer): a new one after a
        # lost race, as the old one's writes behind the refused one fail unwritten.
        self._chain = _Chain()
        # While the room catches up after a lost race (None otherwise): the pushes to
        # prepare again, those refused first, then those received meanwhile.
        self._refused: list[tuple[Connection, Push]] | None = None
        self._waiting: list[tuple[Connection, Push]] = []
        self._abandoned: _Chain | None = None
        self._stale_seq = 0
        self._fields: FormFields | None = None
        self._presence_timer: asyncio.TimerHandle | None = None
        self._expiry: dict[Connection, asyncio.TimerHandle] = {}
        # Which layer of its document this one would be, while it is not materialized.
        self._new_layer_number: int | None = None

    @property
    def limits(self) -> Limits:
        """The server's limits (DESIGN §10); the defaults when it sets none."""
        limits = getattr(self.server, "limits", None)
        return limits if isinstance(limits, Limits) else server_limits()

    @property
    def ready(self) -> bool:
        """Whether the room has loaded (without error) and is not broken: whether its layer
        state may be read and relayed from."""
        return self.state is not None and not self.broken

    @property
    def layer(self) -> LayerState:
        """The loaded layer state (only after :attr:`loaded`)."""
        assert self.state is not None, "room used before it loaded"
        return self.state

    @property
    def fields(self) -> FormFields:
        """The layer's form fields by name (only after :attr:`loaded`)."""
        assert self._fields is not None, "room used before it loaded"
        return self._fields

    async def load(self) -> None:
        """Read the layer from the store off the event loop, then open the room (§3.5)."""
        try:
            loaded = await asyncio.to_thread(
                _bulk_load, self.server.store.load_layer, self.document_id, self.layer_name
            )
            if not loaded.materialized:
                # DESIGN §10: a new layer counts against layers_per_document at its first
                # change; read how many the document has now, off the loop.
                layers = await asyncio.to_thread(self.server.store.list_layers, self.document_id)
                self._new_layer_number = len(layers) + 1
        except Exception as exc:
            self.loaded.set_exception(exc)
            # Retrieve it here too, so a room nobody awaits never logs "never retrieved".
            self.loaded.exception()
            return
        self.info = loaded
        self.state = loaded.state()
        self._fields = FormFields(self.state, form_field_name)
        self.loaded.set_result(None)

    # --- form fields ----------------------------------------------------------------------

    def field_named(self, name: str) -> RecordState | None:
        """Return the form field called ``name`` (a tombstone too), or None: the one being
        pushed, else the latest in flight, else the committed one."""
        return self.fields.named(name)

    def view_rule(self, conn: Connection) -> Callable[[RecordState], bool] | None:
        """Return what ``conn`` may view of this layer (None: everything)."""
        return conn.access.view_rule(self.field_named)

    @property
    def idle(self) -> bool:
        """Whether the room may leave memory: nobody connected, nothing being written."""
        return (
            not self.members
            and not self.viewers
            and self.writes_in_flight == 0
            and self._refused is None
        )

    # --- pushes ---------------------------------------------------------------------------

    def push(self, conn: Connection, push: Push) -> None:
        """Prepare ``push`` on top of the writes in flight and submit it to the writer.

        When another process committed to the layer first (a shared store), the push is
        prepared again on what that process wrote and committed then (:meth:`_lost_race`):
        its client sees one ack, after the commit, as for any push.
        """
        if self._expired(conn):
            return
        if self.broken:
            conn.close_with("server-error", "the server could not save changes; reconnect")
            return
        if self._refused is not None:
            self._waiting.append((conn, push))
            return
        policy: ChangePolicy = TokenPolicy(conn.access, self)
        quota = self._layer_quota()
        if quota is not None:
            policy = RefuseAll(quota)
        commit: LayerCommit | None = None
        try:
            changes = self.fields.inherit_groups(push.changes, conn.actor)
            commit = self.layer.prepare(
                changes, conn.actor, policy, utc_now_iso(), after=self.tail, limits=self.limits
            )
        finally:
            self.fields.end_push(commit)
        if quota is not None:
            marked = tuple(
                dataclasses.replace(r, limit="layers_per_document") for r in commit.results
            )
            commit = dataclasses.replace(commit, results=marked)
        elif commit.records:
            self._new_layer_number = None
        for result in commit.results:
            if result.status == "rejected":
                logger.warning(
                    "rejected change %s of %s on %s/%r: %s",
                    result.change_id,
                    conn.describe(),
                    self.document_id,
                    self.layer_name,
                    result.reason,
                )
        self._submit(commit, conn=conn, push=push)
        follow = self.fields.follow_group_moves(commit, after=self.tail, now=utc_now_iso())
        if follow is not None:
            self._submit(*follow)

    def _submit(
        self,
        commit: LayerCommit,
        previous: Mapping[RecordId, RecordState | None] | None = None,
        conn: Connection | None = None,
        push: Push | None = None,
    ) -> None:
        self.writes_in_flight += 1
        chain = self._chain
        if commit.changed:
            self.tail = commit
            write = LayerWrite(
                self.document_id,
                self.layer_name,
                commit.epoch,
                commit.seq,
                (*commit.seeded, *commit.records),
                [(r.change_id, r.to_store()) for r in commit.remembered],
                base_seq=commit.base_seq,
            )
            future = self.server.writer.submit(write, chain=chain)
        else:
            # Nothing to write; still answer after the writes before it, in order.
            future = self.server.writer.submit_barrier(chain=chain)
        future.add_done_callback(lambda f: self._committed(f, conn, commit, previous, push))

    def _committed(
        self,
        future: asyncio.Future[None],
        conn: Connection | None,
        commit: LayerCommit,
        previous: Mapping[RecordId, RecordState | None] | None = None,
        push: Push | None = None,
    ) -> None:
        self.writes_in_flight -= 1
        # Retrieved even when the room already broke (the writes behind a failed one fail
        # too), or asyncio logs "Future exception was never retrieved".
        error = future.exception()
        if self.broken:
            self.server.maybe_evict(self)
            return
        if isinstance(error, LayerAdvancedError) and self._refused is None:
            self._lost_race(error)
        if self._refused is not None and isinstance(error, (LayerAdvancedError, ChainFailed)):
            # Prepared on a layer another process has moved on from: prepared again once
            # the room has what it missed (a group-move follow-up is derived again too).
            if conn is not None and push is not None:
                self._refused.append((conn, push))
            if self.writes_in_flight == 0:
                self.server.spawn(self._catch_up_and_retry())
            return
        if error is not None:
            self._break(f"store write failed: {error}")
            return
        if commit.changed:
            self.layer.apply_prepared(commit)
            self.fields.committed(commit.records)
            if self.tail is commit:
                self.tail = None
                self.fields.forget_in_flight()
        if conn is not None:
            conn.send_ack(commit, self)
        if commit.records:
            self.relay(commit, exclude=conn, previous=previous)
        self.server.maybe_evict(self)

    def _lost_race(self, error: LayerAdvancedError) -> None:
        """Another process committed to the layer first: stop preparing on what this room
        knows, let the writes in flight fail, then catch up and prepare them again."""
        logger.info("%s/%r: preparing pushes again: %s", self.document_id, self.layer_name, error)
        self._refused = []
        # The store is past this seq (another process committed on it): catching up must
        # bring the room past it too (the fan-out may get there first).
        self._stale_seq = self.layer.seq
        self._abandoned = self._chain
        self._chain = _Chain()
        self.tail = None
        self.fields.forget_in_flight()

    async def _catch_up_and_retry(self) -> None:
        # Every write of the old chain has settled: the writer may forget it failed.
        if self._abandoned is not None:
            self.server.writer.forget_chain(self._abandoned)
            self._abandoned = None
        peers = self.server.peers
        try:
            if peers is None:
                raise LayerAdvancedError("another process committed, and none is known")
            await peers.catch_up(self)
        except LaminaError as exc:
            self._break(f"cannot catch up after another process committed: {exc}")
            return
        if self.broken:
            return
        if self.layer.seq <= self._stale_seq:
            # Refused, yet nothing new to read: the layer was reset or removed elsewhere.
            self._break(f"layer {self.layer_name!r} moved on elsewhere and cannot be read")
            return
        retry = [*(self._refused or []), *self._waiting]
        self._refused = None
        self._waiting = []
        for conn, push in retry:
            if conn.closing is None:
                # A client that left resends on reconnect (same change ids, applied once).
                self.push(conn, push)
        self.server.maybe_evict(self)

    def relay(
        self,
        commit: LayerCommit,
        exclude: Connection | None,
        previous: Mapping[RecordId, RecordState | None] | None = None,
    ) -> None:
        """Send one commit's records to every other member and viewer (§4.9), encoded once
        per distinct view right (``previous``: how each record looked before, to judge who
        could see it; default the commit's)."""
        before = commit.previous if previous is None else previous
        chunk = self.limits.chunk_bytes
        relay = ChangesRelay(commit.records, commit.seq, previous=before, chunk_bytes=chunk)
        members = [m for m in self.members if m is not exclude]
        self._fan_out(members, lambda conn: conn.relay(relay, self))
        if self.viewers:
            layer_relay = ChangesRelay(
                commit.records,
                commit.seq,
                previous=before,
                layer=self.layer_name,
                chunk_bytes=chunk,
            )
            self._fan_out(list(self.viewers), lambda conn: conn.relay(layer_relay, self))

    def _fan_out(
        self, conns: Sequence[Connection], frames_of: Callable[[Connection], list[str]]
    ) -> None:
        # Connections that see the same records share one frame (the same str object), and
        # each distinct frame goes out in one broadcast(): encoded once, written to every
        # socket without awaiting any of them. Slow clients are dropped, not waited for
        # (which takes them out of the room: ``conns`` must be a copy).
        groups: dict[int, tuple[str, list[Connection]]] = {}
        for conn in conns:
            frames = frames_of(conn)
            if not frames or conn.over_limit():
                continue
            if len(frames) == 1:
                groups.setdefault(id(frames[0]), (frames[0], []))[1].append(conn)
            else:
                conn.send_frames(frames)
        for frame, members in groups.values():
            broadcast(members, frame)

    def _break(self, reason: str) -> None:
        # Memory may now be ahead of the store: drop the room; clients reconnect and get
        # the committed truth from a fresh load.
        self.close(reason, logging.ERROR)

    def close(
        self,
        reason: str,
        level: int,
        told: str = "the server could not save changes; reconnect",
    ) -> None:
        """Drop the room and close its connections with ``server-error`` and ``told`` (they
        reconnect and get the store's truth from a fresh load), logging ``reason`` at
        ``level``."""
        logger.log(level, "room %s/%r closed: %s", self.document_id, self.layer_name, reason)
        self.broken = True
        self.tail = None
        if self._fields is not None:
            self._fields.forget_in_flight()
        # Writers waiting to be prepared again are told too (an HTTP write is no member).
        waiting = [conn for conn, _ in (*(self._refused or ()), *self._waiting)]
        self._refused = None
        self._waiting = []
        for conn in {*self.members, *self.viewers, *waiting}:
            conn.close_with("server-error", told)
        self.server.forget_room(self)

    # --- membership and presence ----------------------------------------------------------

    def broadcast_presence(self) -> None:
        """Send who is connected to every member (§8.1), at most once per
        :data:`PRESENCE_COALESCE` seconds.

        Presence is soft state: when fifty clients join at once (or a cursor moves at 60 Hz),
        one list sent a moment later replaces a frame per event to every member, which made
        joining O(n²) in frames.
        """
        # Every join and leave passes here: watch the members' tokens from their first list.
        self._watch_members()
        if self._presence_timer is None:
            self._presence_timer = asyncio.get_running_loop().call_later(
                PRESENCE_COALESCE, self._send_presence
            )

    # --- token expiry and connection quotas (DESIGN §5, §10) -------------------------------

    def _layer_quota(self) -> str | None:
        number = self._new_layer_number
        limit = self.limits.layers_per_document
        if number is None or self.tail is not None or number <= limit:
            return None
        return (
            f"limit layers_per_document: document {self.document_id!r} has {number - 1} "
            f"layers (at most {limit}); ask the host to remove one"
        )

    def _watch_members(self) -> None:
        for conn in [c for c in self._expiry if c not in self.members]:
            self._expiry.pop(conn).cancel()
        for conn in list(self.members):
            if conn in self._expiry or conn.claims is None:
                continue
            conn.session.limits = self.limits
            if self._over_token_quota(conn):
                continue
            delay = conn.claims.exp + self.limits.token_leeway - time.time()
            self._expiry[conn] = asyncio.get_running_loop().call_later(
                max(0.0, delay), self._expired, conn
            )

    def _expired(self, conn: Connection) -> bool:
        """Close ``conn`` when its token is past ``exp`` plus the leeway; say whether it was."""
        claims = conn.claims
        if claims is None or time.time() < claims.exp + self.limits.token_leeway:
            return False
        when = datetime.fromtimestamp(claims.exp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        conn.close_with("token-expired", f"token expired at {when}: ask the host for a new invite")
        return True

    def _over_token_quota(self, conn: Connection) -> bool:
        claims = conn.claims
        assert claims is not None
        hello = conn.session.hello
        mine = hello.token if hello is not None else None
        same = sum(
            1
            for other in self.server.connections
            if other.closing is None
            and other.session.hello is not None
            and other.session.hello.token == mine
        )
        limit = self.limits.connections_per_token
        if same <= limit:
            return False
        conn.close_with(
            "limit-exceeded",
            f"limit connections_per_token: this token has {same} connections open "
            f"(at most {limit}); close another window of this review",
        )
        return True

    def _send_presence(self) -> None:
        self._presence_timer = None
        # A copy: a member too slow to take the list is dropped, which leaves the room.
        members = list(self.members)
        peers = self.server.peers
        others: Sequence[PresenceClient] = ()
        if peers is not None:
            # Every list this process sends, the others learn of too (DESIGN §8).
            mine = {format(id(m), "x"): m.session.presence_client for m in members}
            peers.publish_presence(self.key, mine)
            others = peers.presence_elsewhere(self.key)
        if not members:
            return
        relay = PresenceRelay((m.session for m in members), others)
        self._fan_out(members, lambda conn: conn.relay_presence(relay))


class _Chain:
    """One generation of a room's writes for the group-commit writer (its ``chain``)."""

    __slots__ = ()


class _CollectorPause:
    """Python's cyclic collector paused while any bulk load runs (on any thread).

    A load allocates one object graph per record that lives as long as the room, so the
    collections its allocations trigger find nothing to free, yet walk everything loaded so
    far: at 100,000 records they tripled the load time (issue 15). Loads on several threads
    share one pause; the collector runs again (if it ran before) when the last one ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loads = 0
        self._was_enabled = True

    def __enter__(self) -> None:
        with self._lock:
            if self._loads == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._loads += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._loads -= 1
            if self._loads == 0 and self._was_enabled:
                gc.enable()


_COLLECTOR_PAUSE = _CollectorPause()


def _bulk_load(
    load: Callable[[str, str], LoadedLayer], document_id: str, layer: str
) -> LoadedLayer:
    """Run a store's ``load_layer`` with the cyclic collector paused (:class:`_CollectorPause`)."""
    with _COLLECTOR_PAUSE:
        return load(document_id, layer)
