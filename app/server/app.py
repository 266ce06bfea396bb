"""The server: WebSocket connections at ``/sync``, ``/healthz``, and the HTTP API, one port.

The network stack is aiohttp (HTTP and WebSocket on one port; chosen by ``bench/fanout.py``,
README "Server"). :class:`LaminaServer` is the asyncio shell around the sans-I/O
:class:`ServerSession` (app/sync): it verifies tokens (``lamina.auth``), routes each
connection to the room of its token's layer (:mod:`lamina.server.rooms`), and writes what the
session queues through the connection (:mod:`lamina.server.connection`). Everything the store
does happens off the event loop: reads in worker threads, writes on the group-commit writer
thread. The HTTP API's routes are :mod:`lamina.server.api`'s; ``lamina serve`` is
:func:`lamina.server.serve.run_server`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from lamina import __version__
from lamina.auth import verify_token
from lamina.auth.errors import AuthError, TokenWrongDocument
from lamina.auth.tokens import READ_DOCUMENT
from lamina.model.errors import LaminaError
from lamina.server.access import Access
from lamina.server.admin import HostAdmin
from lamina.server.compaction import compact_periodically, note_replica_soon
from lamina.server.connection import Connection, SyncSocket
from lamina.server.errors import DocumentNotFoundError
from lamina.server.rooms import Peers, Room, RoomKey
from lamina.server.rooms_catch_up import catch_up_cold
from lamina.server.store import DocumentInfo as StoredDocument
from lamina.server.store import Store
from lamina.server.writer import GroupCommitWriter
from lamina.sync.errors import RemoteProtocolError
from lamina.sync.messages import MAX_FRAME_BYTES, DocumentInfo, Welcome
from lamina.sync.server_session import (
    DocumentRequested,
    HelloReceived,
    LayersRequested,
    PresenceReceived,
    PushReceived,
    ServerEvent,
    UnviewLayerRequested,
    ViewLayerRequested,
)
from lamina.sync.state import Actor

logger = logging.getLogger("lamina.server")

SYNC_PATH = "/sync"
HEALTH_PATH = "/healthz"
HELLO_TIMEOUT = 10.0
"""Seconds a new connection has to say hello."""
CHECKPOINT_INTERVAL = 1.0
"""Seconds between WAL checkpoints (what makes commits durable against power loss)."""
REVOCATION_POLL = 1.0
"""Seconds between reads of the revoked-token table (``lamina revoke`` runs elsewhere)."""
MAX_WRITE_BUFFER = 16 * 1024 * 1024
"""Bytes queued for one slow client before the server gives up on it (four maximal frames)."""
LOAD_GRACE = 60.0
"""Seconds shutdown waits for room loads in flight before it closes the store."""
KEEPALIVE_PING = 20.0
"""Seconds between the server's pings on an idle socket (as the websockets default was)."""
SERVER_HEADER = f"lamina/{__version__}"
PDF_DIGESTS_KEPT = 4096
"""Filtered-PDF hashes remembered for ``welcome`` (one per document and set of view rules)."""
EVICTIONS_KEPT = 64
"""Forgotten rooms remembered in :attr:`LaminaServer.evictions` (a list grew by one per
eviction for as long as the server ran)."""


class LaminaServer:
    """The sync server around one store.

    Args:
        store: where documents and layers live.
        public_keys: PEM public keys that verify tokens.
        max_write_buffer: bytes a client may leave unread before it is dropped.
        inline_commits: commit on the event loop (for a store whose commit does not fsync)
            instead of awaiting it there or on a writer thread (:mod:`lamina.server.writer`).
        api_token: the HTTP API's admin secret; None refuses every admin request.
        data_dir: the data directory, for host administration (default: the store's).
    """

    def __init__(
        self,
        store: Store,
        public_keys: Sequence[bytes],
        *,
        max_write_buffer: int = MAX_WRITE_BUFFER,
        inline_commits: bool = True,
        api_token: str | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.api_token = api_token
        directory = data_dir if data_dir is not None else getattr(store, "data_dir", None)
        self.admin = HostAdmin(Path(directory or "."), store=store)
        self.max_write_buffer = max_write_buffer
        self.public_keys = list(public_keys)
        self.writer = GroupCommitWriter(store, inline=inline_commits)
        self.rooms: dict[RoomKey, Room] = {}
        self.connections: set[Connection] = set()
        self.revoked: frozenset[str] = frozenset()
        self._lingering: dict[RoomKey, tuple[Room, asyncio.TimerHandle]] = {}
        self.evictions: deque[RoomKey] = deque(maxlen=EVICTIONS_KEPT)
        """The rooms last forgotten, newest last (for tests; a bounded few)."""
        self.cold_catch_ups = 0
        """Clients caught up from the store before their room loaded (for tests)."""
        self.peers: Peers | None = None
        """The other processes on the same store (set by the PostgreSQL fan-out)."""
        self._pdf_digests: dict[tuple[Any, ...], tuple[str, int]] = {}
        """(PDF hash, view rules) -> hash and size of the filtered PDF served for them."""
        self._server: asyncio.Server | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._closed = asyncio.Event()
        self.stopping = asyncio.Event()
        """Set once shutdown has closed the sockets: long-running HTTP replies end."""

    # --- lifecycle ------------------------------------------------------------------------

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, *, reuse_port: bool = False
    ) -> int:
        """Start listening; return the port.

        ``reuse_port``: bind with ``SO_REUSEPORT``, so several processes (each started with
        it) listen on one port and the kernel spreads new connections over them.
        """
        self.revoked = await asyncio.to_thread(self.store.revoked_jtis)
        app = web.Application(client_max_size=self.max_request_bytes)
        app.router.add_get(HEALTH_PATH, self._health)
        app.router.add_get(SYNC_PATH, self._handle)
        self.add_routes(app)
        app.on_response_prepare.append(_server_header)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=5.0
        )
        await self._runner.setup()
        # Our own listening socket (not a TCPSite), so shutdown can stop accepting while the
        # open sockets are still told why they close.
        handler = self._runner.server
        assert handler is not None
        self._server = await asyncio.get_running_loop().create_server(
            handler, host, port, reuse_port=reuse_port or None
        )
        self.spawn(self._poll_revocations())
        self.spawn(self._checkpoints())
        self.spawn(compact_periodically(self))
        sockets = list(self._server.sockets)
        return int(sockets[0].getsockname()[1])

    max_request_bytes = 512 * 1024 * 1024
    """Largest HTTP request body (a PDF upload)."""

    def add_routes(self, app: web.Application) -> None:
        """Add the HTTP API's routes (:mod:`lamina.server.api`)."""
        from lamina.server.api import add_api_routes

        add_api_routes(app, self)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference until it ends; return its task."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def wait_closed(self) -> None:
        """Wait until :meth:`shutdown` has finished."""
        await self._closed.wait()

    async def shutdown(self) -> None:
        """Stop accepting, commit what is in flight, close every connection with 1001."""
        if self._stopping:
            await self._closed.wait()
            return
        self._stopping = True
        if self._server is not None:
            self._server.close()  # stop accepting; open sockets stay until told why
        # Writes already submitted commit (and are acked) before anyone is told to go.
        await self.writer.submit_barrier()
        for conn in list(self.connections):
            conn.close_with("shutting-down", "the server is shutting down; reconnect later")
        for conn in list(self.connections):
            if conn.close_task is not None:
                with contextlib.suppress(TimeoutError, ConnectionError):
                    await asyncio.wait_for(asyncio.shield(conn.close_task), 5)
        self.stopping.set()
        from lamina.server.export import cancel_export_waits

        # A PDF build may take far longer than the handlers' grace period below, and
        # nobody is left to receive it.
        cancel_export_waits()
        if self._runner is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._runner.cleanup(), 10)
        await self.writer.aclose()
        # A load runs on a worker thread that cancelling its task does not stop: the store
        # must not close under it (a background load follows every cold catch-up).
        loading = [room.loaded for room in self.rooms.values() if not room.loaded.done()]
        if loading:
            await asyncio.wait(loading, timeout=LOAD_GRACE)
        for task in list(self._tasks):
            task.cancel()
        self.store.close()
        self._closed.set()

    # --- HTTP -----------------------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "status": "ok",
                "version": __version__,
                "connections": len(self.connections),
                "rooms": len(self.rooms),
            }
        )

    @property
    def is_stopping(self) -> bool:
        """Whether shutdown has begun."""
        return self._stopping

    def end_sessions(self, document_id: str, layer: str | None, reason: str) -> None:
        """Close the sync sessions of a document (of one layer, or every layer: None)."""
        for conn in list(self.connections):
            claims = conn.claims
            if claims is None or claims.document_id != document_id:
                continue
            if layer is None or claims.layer == layer:
                self._reject(conn, "forbidden", reason)

    def end_revoked(self) -> None:
        """Close the sessions whose token's jti is in :attr:`revoked`, at once."""
        for conn in list(self.connections):
            claims = conn.claims
            if claims is not None and claims.jti is not None and claims.jti in self.revoked:
                self._reject(conn, "forbidden", f"token {claims.jti} was revoked by the host")

    # --- connections ----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self._stopping:
            return web.Response(status=503, text="shutting down\n")
        ws = SyncSocket(
            compress=False,  # §1.1
            max_msg_size=MAX_FRAME_BYTES,  # §1.2: larger frames close with 1009
            heartbeat=KEEPALIVE_PING,
        )
        if not ws.can_prepare(request).ok:
            return web.Response(
                status=426,
                headers={"Upgrade": "websocket", "Connection": "Upgrade"},
                text=f"{SYNC_PATH} is a WebSocket: send an Upgrade: websocket request\n",
            )
        await ws.prepare(request)
        conn = Connection(self, ws, request)
        self.connections.add(conn)
        try:
            await self._serve_connection(conn, request.query.get("document"))
            await ws.linger()
            if conn.close_task is not None:
                # Returning would close with 1000: let our own close code go out first (the
                # close reads on until the client's closing frame).
                await conn.close_task
        except ConnectionError:
            pass
        except Exception:
            logger.exception("error on connection %s", conn.describe())
            conn.close_with("server-error", "internal server error")
            if conn.close_task is not None:
                with contextlib.suppress(ConnectionError):
                    await conn.close_task
        finally:
            conn.stop_streams()
            self.connections.discard(conn)
            self.leave_rooms(conn)
            self._log_connection(conn)
        return ws

    def _log_connection(self, conn: Connection) -> None:
        claims = conn.claims
        where = f"{claims.document_id}/{claims.layer!r}" if claims is not None else "-"
        code = conn.close_code
        reason = f" ({conn.closing[0]}: {conn.closing[1]})" if conn.closing else ""
        client = f" client {conn.client_id}" if conn.client_id else ""
        line = (
            f"connection {conn.describe()}{client} {where} closed {code} after "
            f"{time.monotonic() - conn.opened:.1f}s{reason}"
        )
        if conn.closing is not None and conn.closing[0] not in ("shutting-down",):
            logger.warning(line)
        else:
            logger.info(line)

    async def _serve_connection(self, conn: Connection, wanted_document: str | None) -> None:
        ws = conn.ws
        try:
            first = await ws.receive(timeout=HELLO_TIMEOUT)
        except TimeoutError:
            conn.close_with("bad-message", f"no hello within {HELLO_TIMEOUT:g} seconds")
            return
        message = first
        while True:
            if conn.closing is not None:
                return
            if message.type == WSMsgType.BINARY:
                conn.close_with("bad-message", "frame: expected text, got binary")
                return
            if message.type != WSMsgType.TEXT:
                return  # closed, closing, or an error aiohttp already closed with (1009)
            if not await self._feed(conn, message.data, wanted_document):
                return
            message = await ws.receive()

    async def _feed(self, conn: Connection, text: Any, wanted_document: str | None = None) -> bool:
        """Hand one frame to the session and act on it; False once the connection closes."""
        if not isinstance(text, str):
            conn.close_with("bad-message", "frame: expected text, got binary")
            return False
        try:
            events = conn.session.receive_text(text, now=time.monotonic())
        except RemoteProtocolError as exc:
            conn.flush()
            conn.closing = (exc.code, exc.message)
            logger.warning("rejected %s: %s: %s", conn.describe(), exc.code, exc.message)
            conn.close_task = asyncio.get_running_loop().create_task(
                conn.close_socket(exc.close_code, exc.message)
            )
            return False
        for event in events:
            await self._on_event(conn, event, wanted_document)
            if conn.closing is not None:
                return False
        throttle = conn.session.take_throttle()
        if throttle > 0:
            # Over its byte or change budget (§7.3): read this client's next frame only
            # when the budget allows it; meanwhile its socket fills and pushes back.
            await asyncio.sleep(throttle)
        return True

    async def _on_event(
        self, conn: Connection, event: ServerEvent, wanted_document: str | None
    ) -> None:
        if conn.joining is not None and not conn.joining.done():
            # Caught up cold (lamina.server.rooms_catch_up): what it sends next is answered
            # in the room, in order, once it is a member.
            await asyncio.wait([conn.joining])  # its outcome is the join's to handle
            if conn.closing is not None:
                return
        if isinstance(event, HelloReceived):
            await self._on_hello(conn, event, wanted_document)
        elif isinstance(event, PushReceived):
            assert conn.room is not None
            conn.room.push(conn, event.push)
        elif isinstance(event, PresenceReceived):
            if conn.room is not None:
                conn.room.broadcast_presence()
        elif isinstance(event, DocumentRequested):
            # A layer PDF of a big layer builds for a long time: the read loop goes on
            # meanwhile, so the client's pings are answered and its pushes acknowledged.
            self.spawn(self._send_document_in_turn(conn, event))
        elif isinstance(event, ViewLayerRequested):
            await self._view_layer(conn, event.layer)
        elif isinstance(event, LayersRequested):
            await self._send_layers(conn)
        elif isinstance(event, UnviewLayerRequested):
            viewed = conn.viewing.pop(event.layer, None)
            if viewed is not None:
                viewed.viewers.discard(conn)
                self.maybe_evict(viewed)

    def _reject(self, conn: Connection, code: str, message: str) -> None:
        logger.warning("rejected %s: %s: %s", conn.describe(), code, message)
        conn.close_with(code, message)

    async def _on_hello(
        self, conn: Connection, event: HelloReceived, wanted_document: str | None
    ) -> None:
        hello = event.hello
        try:
            self.revoked = await asyncio.to_thread(self.store.revoked_jtis)
            claims = verify_token(
                hello.token,
                self.public_keys,
                document_id=wanted_document,
                revoked_jtis=self.revoked,
            )
        except AuthError as exc:
            self._reject(conn, exc.code, str(exc))
            return
        if not claims.has(READ_DOCUMENT):
            self._reject(conn, "forbidden", "token lacks the read-document permission")
            return
        conn.claims = claims
        conn.access = Access(claims)
        conn.actor = Actor(claims.user_id, claims.creator_name, claims.default_group)
        conn.client_id = hello.client_id
        if await catch_up_cold(self, conn, hello):
            return  # its missed changes are out; it joins the room once that is loaded
        try:
            room = await self._room(claims.document_id, claims.layer)
        except DocumentNotFoundError:
            exc2 = TokenWrongDocument(
                f"document {claims.document_id!r} does not exist on this server: "
                "ask the host for a new invite"
            )
            self._reject(conn, exc2.code, str(exc2))
            return
        if conn.closing is not None or self._stopping:
            return
        # From here to joining the room nothing awaits, so no commit slips in between the
        # catch-up and the first relay (§3.3, §4.9).
        layer = room.layer
        assert room.info is not None
        self.send_welcome(conn, layer.epoch, layer.seq, room.info.document)
        conn.session.send_catch_up(layer, visible=conn.visible_in(room))
        conn.flush()
        note_replica_soon(self, room, hello)  # the compaction horizon waits for it
        self.join_room(conn, room)

    def send_welcome(
        self, conn: Connection, epoch: str, seq: int, document: StoredDocument
    ) -> None:
        """Queue the ``welcome`` of ``conn`` (its hello verified) to its layer at ``epoch``
        and ``seq`` (§3.2); its catch-up must follow."""
        claims = conn.claims
        assert claims is not None
        served = self._served_pdf(conn, document)
        conn.session.send_welcome(
            Welcome(
                document_id=claims.document_id,
                layer=claims.layer,
                layer_epoch=epoch,
                seq=seq,
                user_id=claims.user_id,
                permissions=tuple(sorted(claims.permissions)),
                collaboration_permissions=claims.collaboration_permissions,
                default_group=claims.default_group,
                view_layers=tuple(claims.view_layers),
                document=DocumentInfo(served[0], served[1], document.page_count),
            )
        )

    def join_room(self, conn: Connection, room: Room) -> None:
        """Make ``conn``, caught up to ``room``'s layer as it is now, a member: every commit
        from now on is relayed to it (§4.9)."""
        conn.room = room
        room.members.add(conn)
        room.broadcast_presence()
        assert conn.claims is not None
        self.announce_layers(conn.claims.document_id)

    async def _room(self, document_id: str, layer: str) -> Room:
        """Return the loaded room of a layer, loading it once however many ask at once."""
        room = self.rooms.get((document_id, layer))
        if room is None or room.broken:
            room = Room(self, document_id, layer)
            self.rooms[room.key] = room
            self._rooms_changed()
            self.spawn(room.load())
        try:
            await asyncio.shield(room.loaded)
        except BaseException:
            if self.rooms.get(room.key) is room and room.loaded.done():
                del self.rooms[room.key]
                self._rooms_changed()
            raise
        return room

    def _rooms_changed(self) -> None:
        if self.peers is not None:
            self.peers.rooms_changed()

    def leave_rooms(self, conn: Connection) -> None:
        """Take ``conn`` out of its room and the layers it views (once)."""
        room = conn.room
        conn.room = None
        if room is not None:
            room.members.discard(conn)
            room.broadcast_presence()
            self.maybe_evict(room)
        for viewed in conn.viewing.values():
            viewed.viewers.discard(conn)
            self.maybe_evict(viewed)
        conn.viewing.clear()

    def maybe_evict(self, room: Room) -> None:
        """Forget an idle room (no connection, no write in flight) that does not linger."""
        lingering = self._lingering.get(room.key)
        if lingering is not None and lingering[0] is room:
            return  # forgotten when its time is up (linger)
        if room.idle and self.rooms.get(room.key) is room:
            del self.rooms[room.key]
            self.evictions.append(room.key)
            self._rooms_changed()

    def linger(self, room: Room, seconds: float) -> None:
        """Forget ``room`` ``seconds`` from now if it is idle then, not at once when idle.

        A backend that polls the change feed of a layer nobody is connected to then finds
        the room loaded: a poll costs what changed since, not a load of the whole layer
        (which every poll used to cost, in every process it reached).
        """
        lingering = self._lingering.pop(room.key, None)
        if lingering is not None:
            lingering[1].cancel()
        handle = asyncio.get_running_loop().call_later(seconds, self._linger_over, room)
        self._lingering[room.key] = (room, handle)

    def _linger_over(self, room: Room) -> None:
        lingering = self._lingering.get(room.key)
        if lingering is not None and lingering[0] is room:
            del self._lingering[room.key]
        self.maybe_evict(room)

    def forget_room(self, room: Room) -> None:
        """Forget a broken room at once, so the next joiner loads it again."""
        if self.rooms.get(room.key) is room:
            del self.rooms[room.key]
            self._rooms_changed()

    async def _view_layer(self, conn: Connection, layer: str) -> None:
        claims = conn.claims
        assert claims is not None
        if layer == claims.layer or not claims.may_view_layer(layer):
            self._reject(conn, "forbidden", f"token may not view layer {layer!r}")
            return
        try:
            room = await self._room(claims.document_id, layer)
        except DocumentNotFoundError:
            self._reject(conn, "forbidden", f"document {claims.document_id!r} was removed")
            return
        if conn.closing is not None:
            return
        conn.session.send_snapshot(
            room.layer.snapshot(), room.layer.seq, layer=layer, visible=conn.visible_in(room)
        )
        conn.flush()
        conn.viewing[layer] = room
        room.viewers.add(conn)

    async def _send_layers(self, conn: Connection) -> None:
        """Send ``conn`` the layers its token may view (§4.8), and remember it asked."""
        claims = conn.claims
        assert claims is not None
        try:
            names = await asyncio.to_thread(self.admin.layer_names, claims.document_id)
        except DocumentNotFoundError:
            names = []
        visible = sorted({n for n in ["", *names] if claims.may_view_layer(n)} | {claims.layer})
        if conn.closing is not None or tuple(visible) == conn.listed_layers:
            return
        conn.listed_layers = tuple(visible)
        conn.session.send_layers(visible)
        conn.flush()

    def announce_layers(self, document_id: str) -> None:
        """Send the grown layer list to the connections of a document that asked for it."""
        for conn in list(self.connections):
            claims = conn.claims
            if conn.listed_layers is not None and claims and claims.document_id == document_id:
                self.spawn(self._send_layers(conn))

    async def _send_document_in_turn(self, conn: Connection, request: DocumentRequested) -> None:
        """Answer ``get_document`` beside the read loop, one request of ``conn`` at a time."""
        async with conn.document_turn:
            if conn.closing is not None or conn.room is None:
                return
            try:
                await self._send_document(conn, request)
            except ConnectionError:
                pass
            except Exception:
                logger.exception("error sending the pdf to %s", conn.describe())
                conn.close_with("server-error", "internal server error")

    async def _send_document(self, conn: Connection, request: DocumentRequested) -> None:
        assert conn.room is not None and conn.room.info is not None
        document = conn.room.info.document
        from lamina.server.export import build_off_loop  # INTEGRITY: a bounded process pool

        if request.with_layer:
            claims = conn.claims
            assert claims is not None
            if not claims.has("download"):
                self._reject(conn, "forbidden", "token lacks the download permission")
                return
            records = conn.room.layer.snapshot()
            try:
                data = await build_off_loop(
                    self.store,
                    document,
                    records,
                    conn.visible_in(conn.room),
                    with_layer=True,
                    flatten=request.flatten,
                )
            except LaminaError as exc:
                logger.error("layer pdf of %s failed: %s", document.document_id, exc)
                self._reject(conn, "server-error", f"could not build the layer pdf: {exc}")
                return
            digest = hashlib.sha256(data).hexdigest()
        else:
            # Less the PDF's own annotations the token may not view (issue 11 defect 15).
            visible = conn.visible_in(conn.room)
            try:
                data = await build_off_loop(self.store, document, [], visible, with_layer=False)
            except LaminaError as exc:
                self._reject(conn, "server-error", f"could not prepare the pdf: {exc}")
                return
            digest = document.sha256 if visible is None else hashlib.sha256(data).hexdigest()
            key = self._pdf_key(conn, document.sha256)
            if key is not None:
                self._pdf_digests[key] = (digest, len(data))
                while len(self._pdf_digests) > PDF_DIGESTS_KEPT:
                    del self._pdf_digests[next(iter(self._pdf_digests))]
        if conn.closing is not None:
            return
        conn.session.send_document_chunks(data, digest)
        # A stream: chunk by chunk as the client takes each (a big PDF never sits whole in
        # the write buffer, and never trips the slow-client limit).
        conn.flush()

    def _pdf_key(self, conn: Connection, sha256: str) -> tuple[Any, ...] | None:
        """What decides which of the PDF's own annotations ``conn`` gets (None: all)."""
        claims = conn.claims
        if claims is None or claims.collaboration_permissions is None:
            return None
        rules = tuple(claims.collaboration_permissions)
        return (sha256, rules, claims.user_id, claims.default_group)

    def _served_pdf(self, conn: Connection, document: StoredDocument) -> tuple[str, int]:
        """The hash and size of the PDF ``conn`` gets for ``get_document`` (§5.4), as far as
        the server knows: for a token whose rules hide some of the PDF's own annotations,
        the filtered PDF's once one was built for the same rules, so a client that has it
        is not sent it again on every connect; else the uploaded PDF's."""
        key = self._pdf_key(conn, document.sha256)
        known = self._pdf_digests.get(key) if key is not None else None
        return known if known is not None else (document.sha256, document.size)

    async def _checkpoints(self) -> None:
        # The committing connection never checkpoints (that fsyncs): do it here, off the loop.
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL)
            try:
                await asyncio.to_thread(self.store.checkpoint)
            except LaminaError as exc:
                logger.error("%s", exc)

    async def refresh_revocations(self) -> None:
        """Read the revoked token ids again and close the sessions of newly revoked tokens
        (every :data:`REVOCATION_POLL` seconds, and at once when another process on the
        same PostgreSQL announces a revocation)."""
        try:
            revoked = await asyncio.to_thread(self.store.revoked_jtis)
        except LaminaError as exc:
            logger.error("cannot read revoked tokens: %s", exc)
            return
        self.revoked = revoked
        self.end_revoked()

    async def _poll_revocations(self) -> None:
        while True:
            await asyncio.sleep(REVOCATION_POLL)
            await self.refresh_revocations()


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER_HEADER
