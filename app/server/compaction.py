"""History compaction: tombstones and remembered change ids dropped once nobody needs them.

A layer's store keeps, beside its live records, the tombstones of deleted records (a
catch-up from an older ``seq`` must tell a client what was deleted, §3.3) and the applied
change ids with their results (a change pushed again is applied once, §4.2). Both only
serve replicas that are behind; without compaction they grow with the history, not with the
live data (DESIGN §7 "Growth", issue 15).

The rule, written once (:func:`compaction_horizon`): every tombstone and change id committed
at or below the layer's *horizon* is dropped, where the horizon is the lowest ``seq`` any
known replica has acknowledged (the ``last_seq`` of its latest ``hello``, §3.1; a replica
last seen longer than the retention ago no longer counts; with none known, 0), or the
newest ``seq`` committed longer than the retention ago (``Limits.history_retention``,
``lamina serve --limit-history-retention SECONDS``, 30 days by default), whichever is
further. The store
remembers the horizon (the layer's ``compacted_seq``); a room loaded from it answers a
``hello`` whose ``last_seq`` (or ``resume.seq``) is below it with a whole snapshot (a reset:
the client keeps its conflicts and outbox and pushes its outbox again, §3.3).

What dedup guarantees then (README "History and compaction"): a change pushed again whose
first push committed above the horizon gets its stored result, as always; a client's
unacknowledged changes stay above it while the client is within the retention, but when a
catch-up took it past its own change and it dropped before the repeat's ack. A change whose
id was compacted away is decided again by the merge rules, which give it no second effect:
an update whose values are already there changes nothing (§4.5), an update or delete of a
deleted record gets ``deleted`` or "does not exist" (§4.6), a create of a live record is
refused as taken (§4.7: the record is in the reset snapshot, so nothing is lost). The one
case with an effect: a create whose ack was lost, whose record someone deleted since, and
whose client stayed away past the retention comes back as a new record.

When it runs: :func:`compact_periodically` in the server (every :data:`COMPACT_INTERVAL`
seconds, on a worker thread; the rooms in memory then forget the compacted tombstones too,
:func:`forget_in_rooms`), ``POST /api/compact`` and ``lamina compact`` from the shell. Each
store drops rows in batches of :data:`BATCH_ROWS`, one short transaction each, so commits
never wait long behind it; several processes on one PostgreSQL may compact at once (their
batches of one layer take turns on the layer's row lock, and the horizon only ever moves
up: lamina.server.history_postgres).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from lamina.model.errors import LaminaError
from lamina.model.timestamps import format_utc_iso
from lamina.sync.messages import Hello

if TYPE_CHECKING:
    from lamina.server.app import LaminaServer
    from lamina.server.rooms import Room

logger = logging.getLogger("lamina.server")

COMPACT_INTERVAL = 15 * 60.0
"""Seconds between two compactions of every layer by a running server."""
BATCH_ROWS = 500
"""Rows one compaction transaction drops at most (a commit waits at most that long)."""


@dataclass(frozen=True)
class LayerHistory:
    """What a store knows of one layer's history, to place its horizon.

    Attributes:
        epoch: the layer's epoch (a compaction of another epoch does nothing).
        seq: the layer's ``seq``.
        compacted_seq: the horizon of the last compaction (0: never compacted).
        replica_seqs: the ``seq`` each replica of this epoch acknowledged, for those seen
            within the retention.
        expired_seq: the newest ``seq`` committed before the retention cutoff (0: none).
    """

    epoch: str
    seq: int
    compacted_seq: int
    replica_seqs: tuple[int, ...]
    expired_seq: int


@dataclass(frozen=True)
class Compaction:
    """What one compaction of one layer did."""

    document_id: str
    layer: str
    horizon: int
    tombstones: int
    change_ids: int


def compaction_horizon(layer_seq: int, replica_seqs: Iterable[int], expired_seq: int) -> int:
    """Return the ``seq`` at or below which a layer's tombstones and change ids may go.

    The lowest ``seq`` a known replica acknowledged, or ``expired_seq`` (the newest ``seq``
    older than the retention) when that is further; never past the layer's ``seq``. With
    no replica known only the retention counts: a store upgraded from before replicas were
    noted, or copied by ``lamina migrate``, knows none of the replicas that hold its layers.
    """
    acknowledged = min(replica_seqs, default=0)
    return max(0, min(layer_seq, max(acknowledged, expired_seq)))


def retention_cutoff(retention: float, now: datetime | None = None) -> str:
    """Return the record time (ISO 8601, lamina.model.timestamps) before which history
    is past the retention of ``retention`` seconds."""
    moment = (now or datetime.now(UTC)) - timedelta(seconds=max(0.0, retention))
    return format_utc_iso(moment)


def acknowledged_seq(hello: Hello, layer_epoch: str, layer_seq: int) -> int:
    """Return the ``seq`` a replica acknowledges with ``hello`` (its ``last_seq`` or its
    interrupted snapshot's ``seq``, the lower), or ``layer_seq`` when it holds nothing of
    this epoch (it gets a snapshot at ``layer_seq``)."""
    if hello.layer_epoch != layer_epoch:
        return layer_seq
    resumed = hello.resume.seq if hello.resume is not None else None
    held = [s for s in (hello.last_seq, resumed) if s is not None and s <= layer_seq]
    return min(held, default=layer_seq)


@runtime_checkable
class CompactingStore(Protocol):
    """The part of the ``Store`` port compaction uses (both stores implement it)."""

    def note_replica(
        self, document_id: str, layer: str, epoch: str, client_id: str, seq: int
    ) -> None:
        """Remember that replica ``client_id`` of the layer has acknowledged ``seq``."""

    def compactable_layers(self) -> list[tuple[str, str]]:
        """Return ``(document_id, layer)`` of every materialized layer."""

    def layer_history(self, document_id: str, layer: str, cutoff: str) -> LayerHistory | None:
        """Return the layer's history facts (None: not materialized); replicas last seen
        before ``cutoff`` do not count."""

    def drop_history(
        self, document_id: str, layer: str, epoch: str, horizon: int, limit: int
    ) -> tuple[int, int]:
        """Drop up to ``limit`` tombstones and ``limit`` change ids at or below
        ``horizon`` in one transaction and raise the layer's ``compacted_seq`` to it (in
        that transaction: a load never sees rows gone below an older horizon); return how
        many tombstones and change ids went (nothing when the layer's epoch moved on)."""

    def forget_replicas(self, cutoff: str) -> int:
        """Forget replicas last seen before ``cutoff``; return how many."""

    def reclaim_space(self) -> None:
        """Give the space of dropped rows back where the store does not reuse it by itself."""


def compact_layer(
    store: CompactingStore, document_id: str, layer: str, cutoff: str, batch: int = BATCH_ROWS
) -> Compaction | None:
    """Compact one layer to its horizon (:func:`compaction_horizon`), batch by batch;
    return what went (None: the layer is not materialized). Blocks: run off the loop."""
    history = store.layer_history(document_id, layer, cutoff)
    if history is None:
        return None
    horizon = compaction_horizon(history.seq, history.replica_seqs, history.expired_seq)
    tombstones = change_ids = 0
    if horizon > 0:
        while True:
            dropped = store.drop_history(document_id, layer, history.epoch, horizon, batch)
            tombstones += dropped[0]
            change_ids += dropped[1]
            if max(dropped) < batch:
                break
    return Compaction(document_id, layer, horizon, tombstones, change_ids)


def compact_store(
    store: CompactingStore, retention: float, *, now: datetime | None = None
) -> list[Compaction]:
    """Compact every materialized layer of ``store`` and forget replicas past the
    retention; return what each layer dropped. Blocks: run off the loop."""
    cutoff = retention_cutoff(retention, now)
    done = []
    for document_id, layer in store.compactable_layers():
        result = compact_layer(store, document_id, layer, cutoff)
        if result is not None:
            done.append(result)
    store.forget_replicas(cutoff)
    if any(c.tombstones or c.change_ids for c in done):
        store.reclaim_space()
    return done


def note_replica_soon(server: LaminaServer, room: Room, hello: Hello) -> None:
    """Remember, off the loop, which ``seq`` the replica saying ``hello`` to ``room``
    acknowledged (with a compacting store; a layer not materialized yet keeps its epoch at
    its first commit, so the note holds then too)."""
    if room.info is None:
        return
    layer = room.layer
    note_replica_at(server, room.document_id, room.layer_name, layer.epoch, layer.seq, hello)


def note_replica_at(
    server: LaminaServer, document_id: str, layer: str, epoch: str, seq: int, hello: Hello
) -> None:
    """Remember, off the loop, which ``seq`` the replica saying ``hello`` acknowledged of a
    layer at ``epoch`` and ``seq`` (with a compacting store)."""
    store = server.store
    if not isinstance(store, CompactingStore):
        return
    acknowledged = acknowledged_seq(hello, epoch, seq)

    async def note() -> None:
        try:
            await asyncio.to_thread(
                store.note_replica, document_id, layer, epoch, hello.client_id, acknowledged
            )
        except LaminaError as exc:
            # Only the horizon is at stake: an unknown replica is reset when it is behind.
            logger.warning("cannot note replica %s: %s", hello.client_id, exc)

    server.spawn(note())


async def compact_periodically(server: LaminaServer) -> None:
    """Compact the server's store every :data:`COMPACT_INTERVAL` seconds, off the loop."""
    store = server.store
    if not isinstance(store, CompactingStore):
        return
    while True:
        await asyncio.sleep(COMPACT_INTERVAL)
        retention = server_retention(server)
        try:
            done = await asyncio.to_thread(compact_store, store, retention)
        except LaminaError as exc:
            logger.warning("history compaction failed, tried again later: %s", exc)
            continue
        dropped = sum(c.tombstones + c.change_ids for c in done)
        if dropped:
            logger.info("history compaction dropped %d rows in %d layers", dropped, len(done))
        forget_in_rooms(server, done)


def forget_in_rooms(server: LaminaServer, done: list[Compaction]) -> None:
    """Drop from the rooms in memory the tombstones their store compacted (on the loop:
    one walk of each compacted room's records), so a room that never empties does not
    grow with its history either."""
    for compaction in done:
        room = server.rooms.get((compaction.document_id, compaction.layer))
        if room is None or not room.ready:
            continue
        if compaction.horizon > room.layer.history_from:
            room.layer.forget_history(compaction.horizon)


def server_retention(server: LaminaServer) -> float:
    """Return the history retention (seconds) of ``server`` (its limits, DESIGN §10)."""
    from lamina.sync.validation import Limits, server_limits

    limits = getattr(server, "limits", None)
    return (limits if isinstance(limits, Limits) else server_limits()).history_retention
