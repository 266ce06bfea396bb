"""One client's WebSocket on the sync server: its session, its token's rights, its writes.

A :class:`Connection` writes what its :class:`~lamina.sync.server_session.ServerSession`
queues, in order and without waiting for the client (a slow reader must not delay the
others), and drops a client that leaves more than the server's ``max_write_buffer`` unread.
Streams (a snapshot, catch-up or PDF in parts, §3.7) go out part by part as the client reads
them, and what is sent after a stream waits behind it. Frames are written to the transport
whole, here, never through aiohttp's ``send_frame`` coroutine (see :meth:`Connection._write_now`).
:class:`~lamina.server.app.LaminaServer` makes one per socket (an aiohttp
``WebSocketResponse``); rooms hand it commits and presence lists to relay, and write one
frame to many connections with :func:`broadcast` (encoded once).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from aiohttp import WSCloseCode, web
from lamina.auth.tokens import TokenClaims
from lamina.server.access import Access
from lamina.sync.errors import close_code_for
from lamina.sync.layer import LayerCommit
from lamina.sync.relays import ChangesRelay, PresenceRelay
from lamina.sync.server_session import ServerSession
from lamina.sync.state import Actor, RecordState

logger = logging.getLogger("lamina.server")

if TYPE_CHECKING:
    from lamina.server.app import LaminaServer
    from lamina.server.rooms import Room


class Connection:
    """One client's WebSocket, its session and its token's rights."""

    def __init__(
        self, server: LaminaServer, ws: web.WebSocketResponse, request: web.BaseRequest
    ) -> None:
        self.server = server
        self.ws = ws
        self.transport = request.transport
        self.session = ServerSession()
        self.claims: TokenClaims | None = None
        self.access: Access = None  # type: ignore[assignment]  # set by the hello
        self.actor = Actor()
        self.client_id = ""
        self.room: Room | None = None
        self.joining: asyncio.Task[None] | None = None
        """After a cold catch-up: the join of its room, awaited before its next message is
        answered (:mod:`lamina.server.rooms_catch_up`)."""
        self.viewing: dict[str, Room] = {}
        self.listed_layers: tuple[str, ...] | None = None
        """The layer list last sent (§4.8); None until the client asks for it."""
        self.closing: tuple[str, str] | None = None
        self.document_turn = asyncio.Lock()
        """Held while a ``get_document`` is answered (they are answered one at a time)."""
        self.close_task: asyncio.Task[None] | None = None
        self.sent_close_code: int | None = None
        """The close code this server sent (None until it closes the socket itself)."""
        self.opened = time.monotonic()
        self._drain = request.writer.drain
        self._queue: collections.deque[bytes | Iterator[str]] = collections.deque()
        self._held = 0
        """Bytes of the frames waiting behind a stream (counted by ``over_limit``)."""
        self._pump_task: asyncio.Task[None] | None = None
        self.sent_parts = 0
        """Stream parts written so far (for tests and logs)."""
        remote = self.transport.get_extra_info("peername") if self.transport else None
        self.remote = f"{remote[0]}:{remote[1]}" if remote else "?"

    def describe(self) -> str:
        """Return ``user@client`` for log lines."""
        user = self.claims.user_id if self.claims is not None else None
        return f"{user or '-'}@{self.remote}"

    def visible_in(self, room: Room) -> Callable[[RecordState], bool] | None:
        """The session's view rule for ``room``'s layer: None when it sees every record."""
        return room.view_rule(self)

    # --- sending (synchronous, so frames leave in the order they were made) ---------------

    def send_frames(self, frames: Sequence[str | Iterator[str]]) -> None:
        """Write ``frames`` in order; a closed or hopelessly slow client is dropped.

        A frame is written now, never waiting for the client (one slow reader must not delay
        the others), unless a stream is still going out: then it waits its turn behind it.
        A stream (a snapshot, catch-up or PDF in parts, ``ServerSession.output``) is written
        part by part as the client reads (:meth:`_pump`), so what one joiner is sent never
        piles up in memory. What a client does not read is bounded: past the server's
        ``max_write_buffer`` (transport buffer plus frames waiting behind a stream) the
        client is dropped with ``server-error`` (it reconnects and catches up).
        """
        if self.closing is not None or self.over_limit():
            return
        for frame in frames:
            if isinstance(frame, str):
                self.write(frame.encode())
            else:
                self._queue.append(frame)
                self._start_pump()

    def write(self, data: bytes) -> None:
        """Send one text frame (UTF-8 ``data``): now, or behind a stream still going out."""
        if self._queue:
            self._queue.append(data)
            self._held += len(data)
        else:
            self._write_now(data)

    def _write_now(self, data: bytes) -> None:
        """Put one text frame in the socket's buffer now, never waiting.

        The frame is written to the transport here, whole (:func:`text_frame_header`), not
        through aiohttp's ``send_frame`` coroutine: that one awaits the protocol's drain
        future once the transport is paused, and stepping it without a task (to avoid the
        wait) left that shared future marked as awaited, so the next frame written while
        still paused raised ``await wasn't used with future`` and the connection died.
        """
        transport = self.transport
        if self.ws.closed or transport is None or transport.is_closing():
            return
        header = text_frame_header(len(data))
        if len(data) <= _JOIN_BELOW:
            transport.write(header + data)
        else:
            transport.write(header)
            transport.write(data)

    def _write_ready(self) -> bool:
        """Write queued frames while the transport takes them without pausing (its buffer
        under its high-water mark); return whether the queue is empty."""
        transport = self.transport
        high = transport.get_write_buffer_limits()[1] if transport is not None else 0
        while self._queue:
            if self._gone(transport):
                # Nobody will read it: never make the rest of a stream for a closed socket.
                self._queue.clear()
                self._held = 0
                break
            assert transport is not None
            if transport.get_write_buffer_size() > high:
                return False
            head = self._queue[0]
            if isinstance(head, bytes):
                self._queue.popleft()
                self._held -= len(head)
                self._write_now(head)
                continue
            frame = next(head, None)
            if frame is None:
                self._queue.popleft()
                continue
            self._write_now(frame.encode())
            self.sent_parts += 1
        return True

    def _gone(self, transport: asyncio.BaseTransport | None) -> bool:
        return (
            self.closing is not None
            or self.ws.closed
            or transport is None
            or transport.is_closing()
        )

    def _start_pump(self) -> None:
        if self._pump_task is None and not self._write_ready():
            self._pump_task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        """Write the rest of the queue as the client reads: wait while the transport is
        paused (aiohttp's drain), then write until it pauses again."""
        try:
            while True:
                await self._drain()
                if self._write_ready() or self.closing is not None:
                    return
                await asyncio.sleep(0)  # paused yet not over the mark: let the loop run
        except ConnectionError:
            pass  # closing under us: the handler sees the close and cleans up
        except Exception:
            # A part that cannot be made (a bug): this client reconnects, the others go on.
            logger.exception("stream to %s failed", self.describe())
            self.close_with("server-error", "internal server error")
        finally:
            self._pump_task = None

    def stop_streams(self) -> None:
        """Forget what has not gone out (the socket is done)."""
        if self._pump_task is not None:
            self._pump_task.cancel()
        self._queue.clear()
        self._held = 0

    @property
    def streaming(self) -> bool:
        """Whether a stream (or frames behind one) is still waiting to go out."""
        return bool(self._queue)

    def over_limit(self) -> bool:
        """Drop the client if it left more than ``max_write_buffer`` bytes unread."""
        transport = self.transport
        buffered = transport.get_write_buffer_size() if transport is not None else 0
        buffered += self._held
        if buffered <= self.server.max_write_buffer:
            return False
        self.close_with(
            "server-error",
            f"client too slow to receive changes: {buffered} bytes unread; reconnect to catch up",
        )
        return True

    def flush(self) -> None:
        """Write what the session queued (streams part by part, :meth:`send_frames`)."""
        self.send_frames(self.session.output())

    def send_ack(self, commit: LayerCommit, room: Room) -> None:
        """Acknowledge one push of ``room`` after its commit, records filtered by view rights
        (§4.4)."""
        if self.closing is not None or not self.session.is_open:
            return
        self.session.send_ack(commit.results, commit.seq, visible=self.visible_in(room))
        self.flush()

    def relay(self, relay: ChangesRelay, room: Room) -> list[str]:
        """Return the frames of one commit's ``changes`` of ``room`` as this connection may
        see them (§4.9), for the caller to write (empty: nothing to send)."""
        if self.closing is not None or not self.session.is_open:
            return []
        if self.session.relay(relay, self.visible_in(room)):
            return self.session.frames_to_send()
        return []

    def relay_presence(self, relay: PresenceRelay) -> list[str]:
        """Return the frame of a room's shared presence list (§8.1), for the caller to write
        (empty when the connection is closing)."""
        if self.closing is not None or not self.session.is_open:
            return []
        self.session.relay_presence(relay)
        return self.session.frames_to_send()

    def close_with(self, code: str, message: str) -> None:
        """Send ``error`` and close with the §7.1 close code (once)."""
        if self.closing is not None:
            return
        self.closing = (code, message)
        if not self.session.is_closed:
            close_code = self.session.send_error(code, message)
            # Written even past the slow-client limit, and ahead of a stream still going out
            # (parts are whole frames): one short frame that says why.
            for frame in self.session.frames_to_send():
                self._write_now(frame.encode())
        else:
            close_code = close_code_for(code)
        self.close_task = asyncio.get_running_loop().create_task(
            self.close_socket(close_code, message)
        )
        # Leave now, not when the closing handshake ends (a slow client may take the whole
        # close timeout): the others see it gone at once.
        self.server.leave_rooms(self)

    async def close_socket(self, close_code: int, message: str) -> None:
        """Close the socket with ``close_code`` and (the first 120 bytes of) ``message``."""
        self.sent_close_code = close_code
        await self.ws.close(code=close_code, message=message[:120].encode())

    @property
    def close_code(self) -> int | None:
        """The socket's close code once closed (None while open): the one this server sent
        when it closed first, else the client's.

        (aiohttp keeps the code of the closing frame it read last; a client that errors out
        at our ``error`` frame may close with its own code, 1011 from ``websockets``, before
        ours reaches it, and the log then named the wrong reason.)
        """
        if self.sent_close_code is not None:
            return self.sent_close_code
        return self.ws.close_code


class SyncSocket(web.WebSocketResponse):
    """aiohttp's WebSocket, lingering after a frame too big as the websockets library did.

    aiohttp closes the TCP connection as soon as it has sent close 1009, while the client
    may still be writing the oversized frame: the client then sees a reset instead of the
    close code. Here the transport stays open (aiohttp's parser discards what follows an
    error) until the handler returns, :data:`OVERSIZE_LINGER` seconds later (``linger``),
    and the close code stays 1009.
    """

    def _set_code_close_transport(self, code: WSCloseCode) -> None:
        if self.close_code != WSCloseCode.MESSAGE_TOO_BIG:
            super()._set_code_close_transport(code)

    async def linger(self) -> None:
        """After a frame too big: read (and drop) the client's input a moment longer."""
        if self.close_code == WSCloseCode.MESSAGE_TOO_BIG:
            await asyncio.sleep(OVERSIZE_LINGER)


OVERSIZE_LINGER = 1.0
"""Seconds a socket that sent a frame too big is read (and discarded) before it closes."""


_JOIN_BELOW = 16 * 1024
"""Frames up to this size go out as one buffer with their header (a copy, one write)."""


def text_frame_header(length: int) -> bytes:
    """Return the header of a final, unmasked, uncompressed text frame of ``length`` bytes
    (RFC 6455 §5.2: what a server sends; compression is off, §1.1)."""
    if length < 126:
        return struct.pack("!BB", 0x81, length)
    if length < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, length)
    return struct.pack("!BBQ", 0x81, 127, length)


def broadcast(conns: Sequence[Connection], frame: str) -> None:
    """Write one text frame to every connection of ``conns``, encoded once, never waiting."""
    data = frame.encode()
    for conn in conns:
        conn.write(data)
