"""History compaction (issue 15, lamina.server.compaction), against a real server on both
stores: what the store holds after a compaction, the reset of a replica behind the horizon,
a real offline client that converges through it, and dedup of a change pushed again.

The long history is written through the sync core into the store (``LayerState.prepare``,
what a room does, then ``Store.commit``): 15,000 changes through the socket would spend most
of a minute in the per-connection change budget of DESIGN §10. Everything a client sees goes
through the socket: the cold load, the catch-up or reset, the pushes and their acks.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from lamina.auth.invite import Invite
from lamina.client.document import LaminaDocument
from lamina.client.events import ConnectionState
from lamina.model.timestamps import utc_now_iso
from lamina.server.compaction import compact_store
from lamina.server.store import LayerWrite, Store
from lamina.server.store_postgres import PostgresStore
from lamina.sync.layer import AllowAll
from lamina.sync.state import Actor, Change, CreateChange, DeleteChange, RecordId, UpdateChange
from ulid import ULID

from tests.server.conftest import ServerThread, create, delete, join, run, update
from tests.server.test_hostile import _token
from tests.support.waiting import eventually

LAYER = ""


def _rows(server: ServerThread, sql: str) -> int:
    """Return the one number ``sql`` counts in the server's store (SQLite or PostgreSQL)."""
    if server.database is None:
        db = sqlite3.connect(server.data_dir / "lamina.sqlite3")
        try:
            return int(db.execute(sql).fetchone()[0])
        finally:
            db.close()

    with psycopg.connect(server.database) as conn:
        row = conn.execute(sql.replace("deleted = 1", "deleted").encode()).fetchone()
        assert row is not None
        return int(row[0])


def _counts(server: ServerThread) -> tuple[int, int, int]:
    """Return the store's (live records, tombstones, remembered change ids)."""
    return (
        _rows(server, "SELECT count(*) FROM records WHERE NOT (deleted = 1)"),
        _rows(server, "SELECT count(*) FROM records WHERE deleted = 1"),
        _rows(server, "SELECT count(*) FROM applied_changes"),
    )


def _pages(server: ServerThread) -> int | None:
    """Return the SQLite store's size in pages (None on PostgreSQL, whose autovacuum makes
    deleted rows' space reusable but keeps the files' size)."""
    if server.database is not None:
        return None
    return _rows(server, "PRAGMA page_count")


class _Writer:
    """Pushes changes as a room does (the sync core prepares, the store commits)."""

    def __init__(self, store: Store, doc: str) -> None:
        self.store = store
        self.doc = doc
        loaded = store.load_layer(doc, LAYER)
        self.state = loaded.state()

    def push(self, changes: list[Change], batch: int = 500) -> None:
        actor = Actor("churner")
        for i in range(0, len(changes), batch):
            commit = self.state.prepare(changes[i : i + batch], actor, AllowAll(), utc_now_iso())
            self.store.commit(
                [
                    LayerWrite(
                        self.doc,
                        LAYER,
                        commit.epoch,
                        commit.seq,
                        (*commit.seeded, *commit.records),
                        [(r.change_id, r.to_store()) for r in commit.remembered],
                        base_seq=commit.base_seq,
                    )
                ]
            )
            self.state.apply_prepared(commit)

    def create(self, count: int) -> list[str]:
        ids = [str(ULID()) for _ in range(count)]
        self.push([CreateChange(str(ULID()), RecordId(i), "annotation", _rect(i)) for i in ids])
        return ids

    def rev(self, record_id: str) -> int:
        state = self.state.get(record_id)
        assert state is not None
        return state.rev


def _rect(record_id: str) -> dict[str, Any]:
    return {
        "type": "pspdfkit/shape/rectangle",
        "v": 2,
        "id": record_id,
        "pageIndex": 0,
        "bbox": [10, 10, 50, 50],
        "strokeColor": "#ff0000",
    }


async def _snapshot_ids(server: ServerThread, doc: str) -> set[str]:
    """Return the ids of every live record a fresh joiner gets."""
    client, _, part = await join(server.url, _token(server, doc, "reader"))
    assert part["type"] == "snapshot"
    parts = [part]
    while parts[-1].get("more"):
        parts.append(await client.recv_type("snapshot"))
    await client.ws.close()
    return {r["id"] for p in parts for r in p["records"]}


async def _until(predicate: Any, timeout: float = 60) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never held")


def test_after_10000_updates_and_5000_deletes_a_compaction_leaves_live_data_and_an_offline_client_converges(  # noqa: E501
    server: ServerThread, tmp_path: Path
) -> None:
    doc = server.add_document(document_id="churned")
    store = server.open_store()
    try:
        ids = _Writer(store, doc).create(6000)
    finally:
        store.close()
    keep, doomed = ids[:1000], ids[1000:]
    mine_updated, mine_deleted = keep[0], keep[1]
    invite = Invite(server.url, _token(server, doc, "offline"))

    async def go_offline() -> tuple[LaminaDocument, list[str]]:
        client = await LaminaDocument.open_invite(invite, store_dir=tmp_path / "client")
        await asyncio.wait_for(client.wait_for_state(ConnectionState.ONLINE), 60)
        await _until(lambda: set(ids) <= {r.id for r in client.records()})
        await client.disconnect()
        # Offline edits, never sent: two creates, an update and a delete.
        made = [str(client.create(_rect(str(ULID()))).record_id) for _ in range(2)]
        client.update(mine_updated, {"strokeColor": "#00ff00"})
        client.delete(mine_deleted)
        assert client.pending_count == 4
        await client.close()
        return client, made

    _, made = run(go_offline())
    # Nobody is connected: the room leaves memory, and the next join loads it again.
    run(_until(lambda: (doc, LAYER) not in server.server.rooms))

    store = server.open_store()
    try:
        writer = _Writer(store, doc)
        others = [i for i in keep if i not in (mine_updated, mine_deleted)]
        revs = {i: writer.rev(i) for i in others}
        updates: list[Change] = []
        while len(updates) < 10_000:
            record_id = others[len(updates) % len(others)]
            change = UpdateChange(
                str(ULID()), RecordId(record_id), revs[record_id], {"note": str(len(updates))}
            )
            revs[record_id] += 1
            updates.append(change)
        writer.push(updates)
        writer.push([DeleteChange(str(ULID()), RecordId(i), writer.rev(i)) for i in doomed])
        base = len([r for r in store.load_layer(doc, LAYER).records if r.seq == 0])
        live = 1000 + base
        assert _counts(server) == (live, 5000, 6000 + 10_000 + 5000)
        pages = _pages(server)

        # Within the retention the offline replica could still need all of it: only the
        # change ids at or below the seq it acknowledged (its join) may go.
        (kept,) = compact_store(store, retention=30 * 86400.0)
        assert (kept.horizon, kept.tombstones, kept.change_ids) == (6000, 0, 6000)
        assert _counts(server) == (live, 5000, 15_000)
        # Past the retention: only the live data is left.
        (done,) = compact_store(store, retention=0.0)
        assert (done.tombstones, done.change_ids) == (5000, 15_000)
        assert done.horizon == 6000 + 10_000 + 5000
        assert _counts(server) == (live, 0, 0)
        assert _rows(server, "SELECT count(*) FROM records") == live
        if pages is not None:  # SQLite gives the freed pages back to the file system
            after = _pages(server)
            assert after is not None and after < pages / 3, (pages, after)
    finally:
        store.close()

    async def come_back() -> None:
        client = await LaminaDocument.open_invite(invite, store_dir=tmp_path / "client")
        try:
            assert client.pending_count == 4
            await asyncio.wait_for(client.wait_for_state(ConnectionState.ONLINE), 60)
            await _until(lambda: client.pending_count == 0)
            served = await _snapshot_ids(server, doc)
            mine = {r.id for r in client.records()}
            assert mine == served, "the client converged with the server"
            assert set(made) <= served, "its offline creates reached the server"
            assert mine_deleted not in served and set(doomed).isdisjoint(served)
            assert client.instant_json_records()[mine_updated]["strokeColor"] == "#00ff00"
            assert len(served) == live - 1 + 2, "each edit applied once"
            assert not client.conflicts()
            room = server.server.rooms.get((doc, LAYER))
            # Loaded: the live records; since: two creates (a delete keeps its row).
            assert room is not None and len(room.layer) == live + 2, "loaded live data only"
        finally:
            await client.close()

    run(come_back())


def _replica_seqs(server: ServerThread, doc: str) -> tuple[int, ...]:
    """The ``seq`` of every replica of ``doc``'s default layer its store knows of."""
    store = server.open_store()
    try:
        history = store.layer_history(doc, "", "0000")  # type: ignore[attr-defined]
    finally:
        store.close()
    return () if history is None else tuple(history.replica_seqs)


def test_a_client_just_behind_the_horizon_is_reset_and_one_at_it_is_caught_up(
    server: ServerThread,
) -> None:
    doc = server.add_document(document_id="horizon")
    token = _token(server, doc, "writer")

    async def history() -> tuple[str, list[dict[str, Any]]]:
        writer, welcome, _ = await join(server.url, token)
        acks = []
        for change in [create(), create(), create(), create()]:
            acks.append(await writer.push(change))  # seq 1..4, one change id each
        a, b = (acks[i]["results"][0]["record"] for i in (0, 1))
        acks.append(await writer.push(delete(a["id"], a["rev"])))  # seq 5
        acks.append(await writer.push(delete(b["id"], b["rev"])))  # seq 6
        acks.append(await writer.push(create()))  # seq 7
        assert [ack["seq"] for ack in acks] == [1, 2, 3, 4, 5, 6, 7]
        await writer.ws.close()
        return welcome["layer_epoch"], acks

    epoch, acks = run(history())
    # A join's replica note is written off the loop: wait for it before forgetting it (one
    # written later would hold the horizon at 0), and for the next one before stopping.
    run(eventually(lambda: 0 in _replica_seqs(server, doc), what="the writer's note"))
    store = server.open_store()
    try:
        store.forget_replicas("9999")  # the writer's join (seq 0): only the replica below
    finally:
        store.close()

    async def replica_at_5() -> None:
        replica, _, catch_up = await join(server.url, token, last_seq=5, layer_epoch=epoch)
        assert catch_up["type"] == "changes" and catch_up["catch_up"] is True
        await replica.ws.close()

    run(replica_at_5())
    run(eventually(lambda: _replica_seqs(server, doc) == (5,), what="the replica's note"))
    server.stop()
    store = server.open_store()
    try:
        (done,) = compact_store(store, retention=30 * 86400.0)
    finally:
        store.close()
    assert (done.horizon, done.tombstones, done.change_ids) == (5, 1, 5)
    assert _rows(server, "SELECT count(*) FROM records WHERE deleted = 1") == 1

    with ServerThread(server.data_dir, database=server.database) as again:

        async def rejoin() -> None:
            behind, _, reset = await join(again.url, token, last_seq=4, layer_epoch=epoch)
            assert reset["type"] == "snapshot", "just behind the horizon: a reset"
            assert {r["id"] for r in reset["records"]} >= {
                acks[i]["results"][0]["record_id"] for i in (2, 3, 6)
            }
            at, _, caught = await join(again.url, token, last_seq=5, layer_epoch=epoch)
            assert caught["type"] == "changes" and caught["catch_up"] is True, "at it: exact"
            assert [(r["seq"], r["deleted"]) for r in caught["records"]] == [(6, True), (7, False)]
            for client in (behind, at):
                await client.ws.close()

        run(rejoin())
        # The HTTP change feed: below the horizon every live record and a reset.
        feed = again.url.replace("ws://", "http://").replace(
            "/sync", f"/api/documents/{doc}/changes"
        )
        auth = {"Authorization": f"Bearer {token}"}
        below = httpx.get(feed, params={"since": 4, "timeout": 0}, headers=auth).json()
        at_it = httpx.get(feed, params={"since": 5, "timeout": 0}, headers=auth).json()
    assert below["reset"] is True and not any(c["deleted"] for c in below["changes"])
    assert "reset" not in at_it and [(c["seq"], c["deleted"]) for c in at_it["changes"]] == [
        (6, True),
        (7, False),
    ]


def test_a_change_pushed_again_after_a_compaction_has_no_second_effect(
    server: ServerThread,
) -> None:
    doc = server.add_document(document_id="dedup")
    token = _token(server, doc, "writer")
    first_create = create()
    gone = create()

    async def first() -> dict[str, list[dict[str, Any]]]:
        writer, _, _ = await join(server.url, token)
        made = await writer.push(first_create, gone)
        record, doomed = (r["record"] for r in made["results"])
        changes = {
            "update": [update(record["id"], record["rev"], strokeColor="#0000ff")],
            "delete": [delete(doomed["id"], doomed["rev"])],
        }
        for batch in changes.values():
            ack = await writer.push(*batch)
            assert all(r["status"] == "applied" for r in ack["results"])
        await writer.ws.close()
        # The create of the deleted record is not pushed again: README "History and
        # compaction" says why that one would come back.
        return {"create": [first_create], **changes}

    pushed = run(first())
    server.stop()
    store = server.open_store()
    try:
        (done,) = compact_store(store, retention=0.0)
        assert done.change_ids == 4 and done.tombstones == 1
    finally:
        store.close()
    before = _counts(server)

    with ServerThread(server.data_dir, database=server.database) as again:

        async def again_() -> list[dict[str, Any]]:
            writer, welcome, _ = await join(again.url, token)
            seq = welcome["seq"]
            results = []
            for batch in pushed.values():
                ack = await writer.push(*batch)
                assert ack["seq"] == seq, "nothing committed again"
                results.extend(ack["results"])
            await writer.ws.close()
            return results

        results = run(again_())
    # The same records, live and deleted (the no-op update's result is remembered again).
    assert _counts(server)[:2] == before[:2]
    made, updated, deleted = results
    assert made["status"] == "rejected" and "taken" in made["reason"]
    assert updated["status"] == "applied" and updated.get("made_rev") is None
    assert deleted["status"] == "rejected" and "does not exist" in deleted["reason"]


def test_a_change_above_the_horizon_pushed_again_gets_its_stored_result(
    server: ServerThread,
) -> None:
    doc = server.add_document(document_id="kept")
    token = _token(server, doc, "writer")
    later = create()

    async def first() -> tuple[str, dict[str, Any]]:
        writer, welcome, _ = await join(server.url, token)
        await writer.push(create())
        await writer.push(create())
        ack = await writer.push(later)
        await writer.ws.close()
        return welcome["layer_epoch"], ack

    epoch, original = run(first())
    # (The writer's note is written off the loop: one landing after the forget would hold
    # the horizon at 0.)
    run(eventually(lambda: 0 in _replica_seqs(server, doc), what="the writer's note"))
    store = server.open_store()
    try:
        store.forget_replicas("9999")
        store.note_replica(doc, LAYER, epoch, "away", 2)
        (done,) = compact_store(store, retention=30 * 86400.0)
        assert (done.horizon, done.change_ids) == (2, 2)
    finally:
        store.close()
    server.stop()

    with ServerThread(server.data_dir, database=server.database) as again:

        async def repeat() -> dict[str, Any]:
            writer, _, _ = await join(again.url, token, last_seq=2, layer_epoch=epoch)
            ack = await writer.push(later)
            await writer.ws.close()
            return ack

        ack = run(repeat())
    (result,) = ack["results"]
    (first_result,) = original["results"]
    assert result["status"] == "applied" and result["made_rev"] == first_result["made_rev"] == 1
    assert ack["seq"] == original["seq"] == 3


class _Unannounced(PostgresStore):
    """Commits without telling the other processes."""

    def _notes(self, writes: Sequence[LayerWrite]) -> list[tuple[str, str, bool]]:
        return []


def test_a_room_another_process_compacted_past_is_closed_and_its_clients_reset(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lamina.server import fanout_postgres

    monkeypatch.setattr(fanout_postgres, "POLL_INTERVAL", 3600.0)  # catch-ups only when told
    data = tmp_path / "data"
    with (
        ServerThread(data, database=postgres_url) as one,
        ServerThread(data, database=postgres_url) as two,
    ):
        doc = one.add_document(document_id="elsewhere")
        token = _token(one, doc, "writer")

        def compact_behind_its_back(record: dict[str, Any]) -> None:
            store = _Unannounced(postgres_url)
            try:
                # Committed without telling the others, then compacted past server two's room.
                writer = _Writer(store, doc)
                writer.push([DeleteChange(str(ULID()), RecordId(record["id"]), record["rev"])])
                (done,) = compact_store(store, retention=0.0)
                assert done.horizon == 2 and done.tombstones == 1
            finally:
                store.close()
            room = two.server.rooms[(doc, LAYER)]
            assert two.fanout is not None
            two.call(two.fanout.catch_up(room))

        async def scenario() -> None:
            ann, _, _ = await join(one.url, token)
            bob, welcome, _ = await join(two.url, token)
            ack = await ann.push(create())
            await bob.recv_type("changes")  # server two's room is at seq 1
            await ann.ws.close()
            record = ack["results"][0]["record"]
            await asyncio.to_thread(compact_behind_its_back, record)
            _, frames = await bob.closed()
            assert frames[-1]["code"] == "server-error" and "compacted" in frames[-1]["message"]
            again, _, snapshot = await join(
                two.url, token, last_seq=1, layer_epoch=welcome["layer_epoch"]
            )
            assert snapshot["type"] == "snapshot", "behind the horizon: a reset"
            assert record["id"] not in {r["id"] for r in snapshot["records"]}
            await again.ws.close()

        run(scenario())
