"""A lean sync client for ``bench/scaleout.py``, on a bare asyncio protocol: its writers push
one change at a time and wait for its ack; its fan-out receivers note when each frame arrived.

On a 2-core machine the bench's clients share the cores with the servers and PostgreSQL, so
what the clients cost is taken from what is measured. The tests' client
(:mod:`tests.support.protocol_client`, on the ``websockets`` library) cost 0.10-0.15 ms of CPU
per acknowledged change; this one is a frame parser and a mask, and ``scaleout.py`` prints
what it costs in the same run. A receiver on it also tells when a frame's bytes arrived
(:meth:`Writer.recv_timed`): with 50 receivers in one process, the tests' client stamps a
frame only once its task has run, after the other receivers' frames of that read were
parsed, queued and handed over, so a receipt there measured the bench as much as the
servers. It speaks just what the bench needs of the protocol (hello, push, ack, changes;
ping and close), and checks the handshake and every frame it relies on.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import struct
import time
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from websockets.speedups import apply_mask

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TEXT, _CLOSE, _PING, _PONG = 0x1, 0x8, 0x9, 0xA


class ProtocolError(Exception):
    """The server said something this client does not expect."""


class Writer(asyncio.Protocol):
    """One connection: :meth:`open`, then :meth:`push` changes one at a time."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._handshake: asyncio.Future[bytes] | None = None
        self._frames: deque[tuple[float, dict[str, Any]]] = deque()  # (arrived, frame)
        self._waiter: asyncio.Future[None] | None = None
        self._closed: BaseException | None = None
        self._arrived = 0.0  # when the last read's bytes arrived

    @classmethod
    async def open(cls, url: str, token: str, client_id: str) -> Writer:
        """Connect to ``url`` (``ws://host:port/sync``), say hello, read the welcome and the
        catch-up; return the writer."""
        parts = urlsplit(url)
        loop = asyncio.get_running_loop()
        _, writer = await loop.create_connection(cls, parts.hostname, parts.port)
        await writer._upgrade(f"{parts.hostname}:{parts.port}", parts.path or "/")
        writer.send(
            {
                "type": "hello",
                "protocol": 1,
                "token": token,
                "client_id": client_id,
                "last_seq": None,
                "layer_epoch": None,
                "presence": {"name": "bench", "color": "#112233"},
            }
        )
        welcome = await writer.recv()
        if welcome.get("type") != "welcome":
            raise ProtocolError(f"expected a welcome, got {welcome}")
        await writer.recv()  # the catch-up
        return writer

    async def push(self, change: dict[str, Any]) -> dict[str, Any]:
        """Push one change; return its ack (frames before it are dropped)."""
        self.send({"type": "push", "changes": [change]})
        while True:
            frame = await self.recv()
            if frame.get("type") == "ack":
                return frame

    def send(self, message: dict[str, Any]) -> None:
        """Send ``message`` as one masked JSON text frame."""
        if self._closed is not None:
            raise self._closed
        assert self._transport is not None
        self._transport.write(_frame(_TEXT, json.dumps(message).encode()))

    async def recv(self) -> dict[str, Any]:
        """Return the next JSON frame from the server."""
        return (await self.recv_timed())[1]

    async def recv_timed(self) -> tuple[float, dict[str, Any]]:
        """Return when the next JSON frame's last bytes arrived (``time.perf_counter()``,
        taken as they were read, before any frame of that read was parsed) and the frame."""
        while not self._frames:
            if self._closed is not None:
                raise self._closed
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._frames.popleft()

    def close(self) -> None:
        """Send a close frame and drop the connection."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(_frame(_CLOSE, struct.pack("!H", 1000)))
            self._transport.close()

    # --- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError(f"the server closed the connection: {exc}"))

    def data_received(self, data: bytes) -> None:
        self._arrived = time.perf_counter()
        self._buffer += data
        if self._handshake is not None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[: end + 4])
            del self._buffer[: end + 4]
            self._handshake.set_result(head)
            self._handshake = None
        try:
            self._read_frames()
        except ProtocolError as exc:
            self._fail(exc)
            self.close()

    # --- internals ------------------------------------------------------------------------

    async def _upgrade(self, host: str, path: str) -> None:
        assert self._transport is not None
        key = base64.b64encode(os.urandom(16))
        self._handshake = asyncio.get_running_loop().create_future()
        self._transport.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await self._handshake
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        lines = head.decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])
        }
        if not lines[0].startswith("HTTP/1.1 101") or headers.get("sec-websocket-accept") != (
            accept.decode()
        ):
            raise ProtocolError(f"the server refused the upgrade: {lines[0]}")
        self._read_frames()  # a first frame may have come with the handshake

    def _read_frames(self) -> None:
        buffer = self._buffer
        woke = False
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            if second & 0x80:
                raise ProtocolError("a server frame was masked")
            if not first & 0x80:
                raise ProtocolError("fragmented frames are not expected here")
            length, start = second & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                (length,), start = struct.unpack_from("!H", buffer, 2), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                (length,), start = struct.unpack_from("!Q", buffer, 2), 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            opcode = first & 0x0F
            if opcode == _TEXT:
                self._frames.append((self._arrived, json.loads(payload)))
                woke = True
            elif opcode == _PING:
                assert self._transport is not None
                self._transport.write(_frame(_PONG, payload))
            elif opcode == _CLOSE:
                code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else None
                self._fail(ConnectionError(f"the server closed the connection ({code})"))
                self.close()
                return
            elif opcode != _PONG:
                raise ProtocolError(f"unexpected frame opcode {opcode}")
        if woke:
            self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: BaseException) -> None:
        if self._closed is None:
            self._closed = error
        if self._handshake is not None and not self._handshake.done():
            self._handshake.set_exception(error)
        self._wake()


def _frame(opcode: int, payload: bytes) -> bytes:
    """Return a masked client frame (RFC 6455 §5.2)."""
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    mask = os.urandom(4)
    return head + mask + apply_mask(payload, mask)
