"""A real sync server on 127.0.0.1, port 0, with a real SQLite file in tmp_path."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lamina.auth import mint_token
from lamina.auth.keys import KeyPair, load_or_create_keypair
from lamina.server.app import LaminaServer
from lamina.server.documents import add_document_file
from lamina.server.store import SqliteStore
from ulid import ULID
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import corpus_pdf

STAMPS = "annot-stamps"
"""A one-page corpus PDF with five stamp annotations (the base layer)."""


class ServerThread:
    """A LaminaServer running on its own event loop in a thread."""

    def __init__(self, data_dir: Path, store_factory: Any = None, **options: Any) -> None:
        self.data_dir = data_dir
        # As `lamina serve` runs it (without --fsync).
        self.store_factory = store_factory or (
            lambda d: SqliteStore(d, synchronous="NORMAL", manual_checkpoints=True)
        )
        self.options = options
        self.keypair: KeyPair = load_or_create_keypair(data_dir)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: LaminaServer = self.call(self._make())
        self.port: int = self.call(self.server.start("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self.port}/sync"

    async def _make(self) -> LaminaServer:
        store = self.store_factory(self.data_dir)
        return LaminaServer(store, [self.keypair.public_pem], **self.options)

    def call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.call(self.server.shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def token(self, document_id: str, **claims: Any) -> str:
        return mint_token(self.keypair, document_id=document_id, **claims)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    running = ServerThread(tmp_path / "data")
    yield running
    running.stop()


@pytest.fixture
def doc(server: ServerThread) -> str:
    store = SqliteStore(server.data_dir)
    try:
        return add_document_file(store, corpus_pdf(STAMPS), "stamps").document_id
    finally:
        store.close()


_OPEN: list[ClientConnection] = []


def run(coro: Any) -> Any:
    """Run a test scenario, then close every client connection it left open."""

    async def wrapper() -> Any:
        try:
            return await coro
        finally:
            for ws in _OPEN:
                # A connection the server already dropped may fail to close again
                # (websockets aborts a transport whose loop is gone): nothing to clean up.
                with contextlib.suppress(Exception):
                    await ws.close()
            _OPEN.clear()

    return asyncio.run(wrapper())


class Client:
    """A raw protocol client: sends JSON frames, keeps every frame it receives."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []
        _OPEN.append(ws)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        msg = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.received.append(msg)
        return msg

    async def recv_type(self, type_: str, timeout: float = 10) -> dict[str, Any]:
        while True:
            msg = await self.recv(timeout)
            if msg["type"] == type_:
                return msg

    async def closed(self, timeout: float = 10) -> tuple[int | None, list[dict[str, Any]]]:
        """Read until the server closes; return the close code and the frames read."""
        frames = []
        try:
            while True:
                frames.append(await self.recv(timeout))
        except Exception:
            pass
        await asyncio.wait_for(self.ws.wait_closed(), timeout)
        return self.ws.close_code, frames

    async def push(self, *changes: dict[str, Any]) -> dict[str, Any]:
        await self.send({"type": "push", "changes": list(changes)})
        return await self.recv_type("ack")

    def records_seen(self) -> list[dict[str, Any]]:
        """Every record state in every frame received so far."""
        out = []
        for msg in self.received:
            out.extend(msg.get("records") or [])
            for result in msg.get("results") or []:
                if result.get("record"):
                    out.append(result["record"])
        return out


async def join(
    url: str,
    token: str,
    *,
    last_seq: int | None = None,
    layer_epoch: str | None = None,
    name: str = "tester",
) -> tuple[Client, dict[str, Any], dict[str, Any]]:
    """Connect, say hello, and return the client, its welcome and its catch-up message."""
    ws = await connect(url, compression=None, max_size=None, max_queue=None)
    client = Client(ws)
    await client.send(
        {
            "type": "hello",
            "protocol": 1,
            "token": token,
            "client_id": str(ULID()),
            "last_seq": last_seq,
            "layer_epoch": layer_epoch,
            "presence": {"name": name, "color": "#112233"},
        }
    )
    welcome = await client.recv()
    assert welcome["type"] == "welcome", welcome
    catch_up = await client.recv()
    return client, welcome, catch_up


def create(record_id: str | None = None, **content: Any) -> dict[str, Any]:
    """A create change of a rectangle annotation."""
    rid = record_id or str(ULID())
    body = {
        "type": "pspdfkit/shape/rectangle",
        "v": 2,
        "id": rid,
        "pageIndex": 0,
        "bbox": [10, 10, 50, 50],
        "strokeColor": "#ff0000",
    }
    body.update(content)
    group = body.pop("group", None)
    return {
        "change_id": str(ULID()),
        "op": "create",
        "record_id": rid,
        "kind": "annotation",
        "content": body,
        "group": group,
    }


def update(record_id: str, base_rev: int, **fields: Any) -> dict[str, Any]:
    return {
        "change_id": str(ULID()),
        "op": "update",
        "record_id": record_id,
        "base_rev": base_rev,
        "set": fields,
        "unset": [],
    }


def delete(record_id: str, base_rev: int) -> dict[str, Any]:
    return {"change_id": str(ULID()), "op": "delete", "record_id": record_id, "base_rev": base_rev}
