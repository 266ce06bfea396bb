"""The change feed of a layer (beyond Document Engine): long-poll JSON or server-sent events.

A request waiting on the feed is a viewer of the layer's room (:class:`FeedListener`): the
room wakes it at each commit, exactly when it relays the commit to sync clients.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from lamina.server.access import Access
from lamina.server.api import ApiError
from lamina.server.api_layers import reader_room
from lamina.sync.state import RecordState

if TYPE_CHECKING:
    from lamina.server.app import LaminaServer
    from lamina.server.rooms import Room
    from lamina.sync.relays import ChangesRelay

FEED_TIMEOUT = 30.0
"""Default seconds a long-poll of the change feed waits for a change."""
FEED_KEEPALIVE = 15.0
"""Seconds between comment lines on an idle event stream (proxies close silent streams)."""
FEED_LINGER = 30.0
"""Seconds a room stays loaded after a change-feed request, for the next poll (the default
long-poll's timeout: a backend that polls at least that often never reloads the layer)."""


class FeedListener:
    """Wakes a change-feed request whenever its room relays a commit (a room viewer)."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.ended: str | None = None

    def relay(self, relay: ChangesRelay, room: Room) -> list[str]:
        """Called by the room for each commit: wake up; no frames to write."""
        self.changed.set()
        return []

    def close_with(self, code: str, message: str) -> None:
        """Called when the room breaks."""
        self.ended = message
        self.changed.set()


# --- the change feed (beyond Document Engine) ---------------------------------------------


def feed_entry(
    record: RecordState, visible: Callable[[RecordState], bool] | None
) -> dict[str, Any]:
    """Return one record's entry in the change feed (content None when deleted or hidden)."""
    shown = not record.deleted and (visible is None or visible(record))
    return {
        "id": record.id,
        "kind": record.kind,
        "seq": record.seq,
        "rev": record.rev,
        "deleted": record.deleted,
        "content": record.content if shown else None,
        "createdBy": record.creator_id,
        "group": record.group,
        "updatedAt": record.updated_at,
    }


def _batch(room: Room, access: Access, since: int) -> dict[str, Any]:
    """The feed's answer after ``since``: the records changed since (O(changes), walked from
    the newest), or, below the layer's compaction horizon (lamina.server.compaction), where
    the deletes in between are forgotten, every live record with ``"reset": true``."""
    visible = access.view_rule(room.field_named)
    layer = room.layer
    reset = since < layer.history_from
    changed = layer.snapshot() if reset else layer.changes_since(since) or []
    entries = [
        feed_entry(r, visible) for r in changed if r.deleted or visible is None or visible(r)
    ]
    batch = {"seq": layer.seq, "epoch": layer.epoch, "changes": entries}
    if reset:
        batch["reset"] = True
    return batch


async def changes(server: LaminaServer, request: web.Request) -> web.StreamResponse:
    """``GET …/changes?since=SEQ[&timeout=S]``: the records changed after ``SEQ``.

    As JSON: answers at once when something changed, else waits up to ``timeout`` seconds
    (default 30, at most 300) for the next commit (long-poll). With ``Accept:
    text/event-stream``: a ``changes`` event per commit, ``id`` the layer's seq (a
    reconnecting ``EventSource`` resumes from ``Last-Event-ID``).
    """
    query = request.query
    try:
        since = int(request.headers.get("Last-Event-ID") or query.get("since", "0"))
        timeout = min(300.0, max(0.0, float(query.get("timeout", FEED_TIMEOUT))))
    except ValueError as exc:
        raise ApiError(400, "since must be a whole number and timeout a number") from exc
    caller, room = await reader_room(server, request)
    listener = FeedListener()
    room.viewers.add(listener)  # type: ignore[arg-type]  # relays wake it
    try:
        if "text/event-stream" in request.headers.get("Accept", ""):
            return await _stream(server, request, room, caller.access, since, listener)
        if room.layer.seq <= since:
            await _wait(server, listener, timeout)
        return web.json_response(_batch(room, caller.access, since))
    finally:
        room.viewers.discard(listener)
        server.linger(room, FEED_LINGER)


async def _wait(server: LaminaServer, listener: FeedListener, timeout: float) -> bool:
    """Wait for a commit (True), the timeout or shutdown (False)."""
    changed = asyncio.ensure_future(listener.changed.wait())
    stopping = asyncio.ensure_future(server.stopping.wait())
    try:
        done, _ = await asyncio.wait(
            {changed, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        changed.cancel()
        stopping.cancel()
    listener.changed.clear()
    return changed in done


async def _stream(
    server: LaminaServer,
    request: web.Request,
    room: Room,
    access: Access,
    since: int,
    listener: FeedListener,
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    seq = since
    try:
        while not server.stopping.is_set() and listener.ended is None and not server.is_stopping:
            if room.layer.seq > seq:
                batch = _batch(room, access, seq)
                seq = batch["seq"]
                text = json.dumps(batch, ensure_ascii=False)
                await response.write(f"id: {seq}\nevent: changes\ndata: {text}\n\n".encode())
                continue
            if not await _wait(server, listener, FEED_KEEPALIVE):
                await response.write(b": keep-alive\n\n")
    except ConnectionError:
        pass
    return response
