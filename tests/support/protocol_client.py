"""A raw protocol client for server tests: JSON frames by hand, every frame it receives kept.

Server tests speak the wire protocol directly (they send malformed and hostile frames too), so
this client is deliberately not :mod:`lamina.client`. :func:`run` runs a scenario on a fresh
event loop and closes every connection the scenario left open; :func:`join` connects and says
hello; :func:`create`, :func:`update` and :func:`delete` build the changes of a push.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Coroutine
from typing import Any, TypeVar

from ulid import ULID
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

T = TypeVar("T")

_OPEN: list[ClientConnection] = []


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a test scenario on a fresh event loop, then close every connection it left open."""

    async def wrapper() -> T:
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
        """Send ``message`` as one JSON text frame."""
        await self.ws.send(json.dumps(message))

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        """Return the next frame (and keep it in ``received``)."""
        msg = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.received.append(msg)
        return msg

    async def recv_type(self, type_: str, timeout: float = 10) -> dict[str, Any]:
        """Return the next frame of type ``type_``, keeping the ones read before it."""
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
        except (ConnectionClosed, TimeoutError):
            pass
        await asyncio.wait_for(self.ws.wait_closed(), timeout)
        return self.ws.close_code, frames

    async def push(self, *changes: dict[str, Any]) -> dict[str, Any]:
        """Push ``changes`` and return the server's ack."""
        await self.send({"type": "push", "changes": list(changes)})
        return await self.recv_type("ack")

    def records_seen(self) -> list[dict[str, Any]]:
        """Every record state in every frame received so far."""
        out: list[dict[str, Any]] = []
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
    resume: dict[str, Any] | None = None,
) -> tuple[Client, dict[str, Any], dict[str, Any]]:
    """Connect, say hello, and return the client, its welcome and its catch-up message.

    ``resume``: the hello's resume point of an interrupted snapshot (§3.8).
    """
    ws = await connect(url, compression=None, max_size=None, max_queue=None)
    client = Client(ws)
    hello: dict[str, Any] = {
        "type": "hello",
        "protocol": 1,
        "token": token,
        "client_id": str(ULID()),
        "last_seq": last_seq,
        "layer_epoch": layer_epoch,
        "presence": {"name": name, "color": "#112233"},
    }
    if resume is not None:
        hello["resume"] = resume
    await client.send(hello)
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
    """An update change that sets ``fields`` on top of revision ``base_rev``."""
    return {
        "change_id": str(ULID()),
        "op": "update",
        "record_id": record_id,
        "base_rev": base_rev,
        "set": fields,
        "unset": [],
    }


def delete(record_id: str, base_rev: int) -> dict[str, Any]:
    """A delete change of revision ``base_rev``."""
    return {"change_id": str(ULID()), "op": "delete", "record_id": record_id, "base_rev": base_rev}
