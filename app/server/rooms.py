"""Rooms: one per (document, layer), holding the layer's state and its connections.

A room loads its layer from the store before anyone is served (§3.5): the first joiner starts
the load and every joiner, however many arrive at once, awaits the same future. Pushes are
prepared on top of each other (group commit, ``LayerState.prepare(after=...)``), written by
the writer thread, and only applied to the layer, acked and relayed once their transaction
committed (§4.3). Completions run synchronously in commit order, so every connection sees
commits in ``seq`` order. A room leaves memory only when it has no connection and no write
in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.server.access import Access
from app.server.store import LayerWrite, LoadedLayer, utc_now_iso
from app.sync.layer import LayerCommit, LayerState
from app.sync.messages import PresenceClient, PresenceList, Push, encode_message
from app.sync.server_session import ChangesRelay
from app.sync.state import Actor, Change, ChangeResult, CreateChange, DeleteChange, RecordState

if TYPE_CHECKING:
    from app.server.app import Connection, LaminaServer

logger = logging.getLogger("lamina.server")

RoomKey = tuple[str, str]


class TokenPolicy:
    """The sync layer's change policy for one connection, backed by ``app.auth`` (§4.8)."""

    def __init__(self, access: Access, layer: LayerState) -> None:
        self._access = access
        self._layer = layer

    def check(self, change: Change, current: RecordState | None, actor: Actor) -> str | None:
        """Return why ``change`` is forbidden for this token, or None."""
        from app.auth.errors import PermissionDenied

        try:
            if isinstance(change, CreateChange):
                self._access.check_create(
                    change.kind,
                    change.content,
                    change.group if change.group is not None else actor.default_group,
                    self._thread_root(change),
                )
            elif current is None:
                return None  # the layer answers "does not exist"
            elif isinstance(change, DeleteChange):
                self._access.check_delete(current)
            else:
                self._access.check_update(current, change.set, change.group)
        except PermissionDenied as exc:
            return exc.reason
        return None

    def _thread_root(self, change: CreateChange) -> RecordState | None:
        # A comment joining a thread that already has comments is a reply to its root.
        if change.kind != "comment":
            return None
        root_id = change.content.get("rootId")
        if not isinstance(root_id, str):
            return None
        root = self._layer.get(root_id)
        if root is None or root.deleted:
            return None
        for record in self._layer.snapshot():
            if record.kind == "comment" and (record.content or {}).get("rootId") == root_id:
                return root
        return None


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

    @property
    def layer(self) -> LayerState:
        """The loaded layer state (only after :attr:`loaded`)."""
        assert self.state is not None, "room used before it loaded"
        return self.state

    async def load(self) -> None:
        """Read the layer from the store off the event loop, then open the room (§3.5)."""
        try:
            loaded = await asyncio.to_thread(
                self.server.store.load_layer, self.document_id, self.layer_name
            )
        except Exception as exc:
            self.loaded.set_exception(exc)
            # Retrieve it here too, so a room nobody awaits never logs "never retrieved".
            self.loaded.exception()
            return
        self.info = loaded
        if loaded.materialized:
            known = [
                ChangeResult.from_wire(result, f"stored.{change_id}")
                for change_id, result in loaded.change_results.items()
            ]
            self.state = LayerState.from_records(loaded.records, loaded.seq, loaded.epoch, known)
        else:
            self.state = LayerState.from_base(loaded.records, loaded.epoch)
        self.loaded.set_result(None)

    @property
    def idle(self) -> bool:
        """Whether the room may leave memory: nobody connected, nothing being written."""
        return not self.members and not self.viewers and self.writes_in_flight == 0

    # --- pushes ---------------------------------------------------------------------------

    def push(self, conn: Connection, push: Push) -> None:
        """Prepare ``push`` on top of the writes in flight and submit it to the writer."""
        policy = TokenPolicy(conn.access, self.layer)
        commit = self.layer.prepare(
            push.changes, conn.actor, policy, utc_now_iso(), after=self.tail
        )
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
        self.writes_in_flight += 1
        if commit.changed:
            self.tail = commit
            write = LayerWrite(
                self.document_id,
                self.layer_name,
                commit.epoch,
                commit.seq,
                (*commit.seeded, *commit.records),
                [(r.change_id, r.to_store()) for r in commit.remembered],
            )
            future = self.server.writer.submit(write)
        else:
            # Nothing to write; still answer after the writes before it, in order.
            future = self.server.writer.submit_barrier()
        future.add_done_callback(lambda f: self._committed(f, conn, commit))

    def _committed(
        self, future: asyncio.Future[None], conn: Connection, commit: LayerCommit
    ) -> None:
        self.writes_in_flight -= 1
        if self.broken:
            self.server.maybe_evict(self)
            return
        error = future.exception()
        if error is not None:
            self._break(f"store write failed: {error}")
            return
        if commit.changed:
            self.layer.apply_prepared(commit)
            if self.tail is commit:
                self.tail = None
        conn.send_ack(commit)
        if commit.records:
            self.relay(commit, exclude=conn)
        self.server.maybe_evict(self)

    def relay(self, commit: LayerCommit, exclude: Connection | None) -> None:
        """Send one commit's records to every other member and viewer (§4.9), encoded once
        per distinct view right."""
        relay = ChangesRelay(commit.records, commit.seq, previous=commit.previous)
        for member in list(self.members):
            if member is not exclude:
                member.relay(relay)
        if self.viewers:
            layer_relay = ChangesRelay(
                commit.records, commit.seq, previous=commit.previous, layer=self.layer_name
            )
            for viewer in list(self.viewers):
                viewer.relay(layer_relay)

    def _break(self, reason: str) -> None:
        # Memory may now be ahead of the store: drop the room; clients reconnect and get
        # the committed truth from a fresh load.
        logger.error("room %s/%r closed: %s", self.document_id, self.layer_name, reason)
        self.broken = True
        self.tail = None
        for conn in list(self.members | self.viewers):
            conn.close_with("server-error", "the server could not save changes; reconnect")
        self.server.forget_room(self)

    # --- membership and presence ----------------------------------------------------------

    def presence_frame(self) -> str:
        """Encode the presence list of the room's members once (§8.1)."""
        clients = tuple(
            PresenceClient(
                client_id=m.client_id,
                user_id=m.claims.user_id if m.claims is not None else None,
                name=_str_or_none(m.presence.get("name")),
                color=_str_or_none(m.presence.get("color")),
                state=m.presence,
            )
            for m in sorted(self.members, key=lambda m: m.client_id)
        )
        return encode_message(PresenceList(clients))

    def broadcast_presence(self) -> None:
        """Send who is connected to every member (§8.1)."""
        if not self.members:
            return
        frame = self.presence_frame()
        for member in list(self.members):
            member.send_frames([frame])


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


OnEvict = Callable[[Room], None]
