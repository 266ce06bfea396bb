"""A cold catch-up: what a resuming client missed, read from the store by ``seq`` (issue 15).

A client that reconnects with a resume point (its hello's ``layer_epoch`` and ``last_seq``)
to a server whose room for its layer is not loaded (the server restarted, the room was
evicted, its commits came through another process) would wait for the whole layer to load,
O(live records), before its K missed changes arrive. Instead :func:`catch_up_cold` reads
what the layer committed after its ``last_seq`` (:meth:`lamina.server.store.Store.
changes_after`, indexed by ``seq``: O(K)), sends its ``welcome`` and catch-up at once, and
loads the room in the background; the client joins it once it is loaded
(:func:`_join_when_loaded`), and what it sends meanwhile waits for that join
(``Connection.joining``).

The decision is the warm one's: :func:`lamina.sync.catch_up.catch_up_for` runs on a layer
that holds only the changes read, and the view rule is the room's
(:meth:`lamina.server.access.Access.view_rule`). Whenever that would not be an exact
``changes`` catch-up (a snapshot: first sync, another epoch, a ``last_seq`` below the
compaction horizon or past the layer's, a missed record the token may not view, a resumed
snapshot) or a record's visibility depends on a form field of the layer (which only the
loaded room knows), the client is caught up the warm way instead.

No gap, no duplicate: the client has everything up to the ``seq`` ``S`` the store read was
at. The room loads later, at some ``seq`` at or past ``S`` (on PostgreSQL other processes may
commit meanwhile, and the fan-out may apply more before the join); a load that began before
the store read (another joiner's) may be behind ``S``, and is first caught up from the store
as the fan-out does. At the join, with nothing awaited in between, the client is sent the
room's changes after ``S`` (``LayerState.changes_since``), then becomes a member: every later
commit reaches it as a relay, every earlier one is in what it was sent. Where that cannot
be exact (the layer was reset or compacted past ``S`` meanwhile, or a record changed in
between is one the token may not view: naming it would leak it), the connection is closed
with ``server-error`` and the client reconnects, to be caught up again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lamina.model.errors import LaminaError
from lamina.server.compaction import note_replica_at
from lamina.server.errors import DocumentNotFoundError
from lamina.sync.catch_up import catch_up_for
from lamina.sync.layer import LayerState
from lamina.sync.messages import Hello
from lamina.sync.state import RecordState

if TYPE_CHECKING:
    from lamina.server.app import LaminaServer
    from lamina.server.connection import Connection

logger = logging.getLogger("lamina.server")

RESYNC = "the layer changed while you reconnected; reconnect"
"""What a client is told when its cold catch-up cannot be continued exactly."""


class _NeedsLayer(Exception):
    """A record's visibility depends on a form field only the loaded layer holds."""


def _no_fields(name: str) -> RecordState | None:
    raise _NeedsLayer(name)


async def catch_up_cold(server: LaminaServer, conn: Connection, hello: Hello) -> bool:
    """Send ``conn`` (its token verified) its ``welcome`` and exactly what it missed, read
    from the store, when its room is not loaded and that can be exact; return whether it did
    (then its room joins in the background), False to catch it up the warm way."""
    claims = conn.claims
    assert claims is not None
    key = (claims.document_id, claims.layer)
    room = server.rooms.get(key)
    if room is not None and room.loaded.done() and not room.broken:
        return False
    if hello.resume is not None or hello.last_seq is None or hello.layer_epoch is None:
        return False
    store = server.store
    changes = await asyncio.to_thread(store.changes_after, *key, hello.last_seq)
    if changes is None or changes.epoch != hello.layer_epoch:
        return False
    missed = LayerState(
        changes.epoch,
        seq=changes.seq,
        records=changes.records,
        history_from=changes.history_from,
    )
    visible = conn.access.view_rule(_no_fields)
    try:
        decided = catch_up_for(hello, missed, visible)
    except _NeedsLayer:
        return False
    if decided.snapshot:
        return False
    document = await asyncio.to_thread(store.get_document, claims.document_id)
    if document is None or conn.closing is not None or server.is_stopping:
        return False
    server.cold_catch_ups += 1
    # The compaction horizon waits for it from now (as note_replica_soon at a warm join).
    note_replica_at(server, *key, missed.epoch, missed.seq, hello)
    server.send_welcome(conn, missed.epoch, missed.seq, document)
    conn.session.send_catch_up(missed, visible=visible)
    conn.flush()
    conn.joining = server.spawn(_join_when_loaded(server, conn, missed))
    return True


async def _join_when_loaded(server: LaminaServer, conn: Connection, sent: LayerState) -> None:
    """Load ``conn``'s room, send it what the room has past ``sent`` (what the cold catch-up
    brought it to), and make it a member, with nothing awaited in between (module
    docstring)."""
    try:
        await _join(server, conn, sent)
    except Exception:
        # As for any connection's handler (LaminaServer._handle): logged, and it is closed.
        logger.exception("error joining %s after its cold catch-up", conn.describe())
        conn.close_with("server-error", "internal server error")


async def _join(server: LaminaServer, conn: Connection, sent: LayerState) -> None:
    claims = conn.claims
    assert claims is not None
    try:
        room = await server._room(claims.document_id, claims.layer)
    except DocumentNotFoundError:
        conn.close_with("forbidden", f"document {claims.document_id!r} was removed")
        return
    except LaminaError as exc:
        logger.error("cannot load %s/%r: %s", claims.document_id, claims.layer, exc)
        conn.close_with("server-error", "the server could not read the layer; reconnect")
        return
    peers = server.peers
    if room.layer.seq < sent.seq and peers is not None and not room.broken:
        # Its load began before the store read (another joiner's), and another process
        # committed in between: bring the room up to what the client already has.
        try:
            await peers.catch_up(room)
        except LaminaError as exc:
            logger.warning("cannot catch up %s/%r: %s", claims.document_id, claims.layer, exc)
    if conn.closing is not None or conn not in server.connections or server.is_stopping:
        server.maybe_evict(room)
        return
    layer = room.layer
    since = layer.changes_since(sent.seq) if layer.epoch == sent.epoch else None
    visible = conn.visible_in(room)
    if since is None or (visible is not None and not all(map(visible, since))):
        logger.info(
            "%s/%r moved on during the cold catch-up of %s past seq %d",
            claims.document_id,
            claims.layer,
            conn.describe(),
            sent.seq,
        )
        conn.close_with("server-error", RESYNC)
        server.maybe_evict(room)
        return
    if since:
        conn.session.send_changes(since, layer.seq, visible=visible)
        conn.flush()
    server.join_room(conn, room)
