"""A cold catch-up of K changes costs O(K), not O(N) (issue 15): a client that resumes on a
server whose room for its layer is not loaded gets what it missed from the store, read by
``seq``, before the room loads, then joins the room with no gap and no duplicate.

Real servers on port 0 (both stores), the raw protocol client. The store's ``load_layer`` is
held shut by a gate (a spy on the real store, at the port's edge): a catch-up that arrives
while it is shut did not need the load. Nothing here is timed."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Any

import pytest
from lamina.model.ids import RecordId
from lamina.server.compaction import compact_store
from lamina.server.errors import StoreError
from lamina.server.rooms_catch_up import RESYNC
from lamina.server.store import LayerChanges, LayerWrite, LoadedLayer
from lamina.sync.state import RecordState
from ulid import ULID
from websockets.exceptions import ConnectionClosed

from tests.server.conftest import Client, ServerThread, create, delete, join, run, update
from tests.server.test_hostile import _token

N = 300
"""Records on the layer (pushed in pushes of 100)."""


class _StoreSpy:
    """Counts the server store's layer loads and the records its ``changes_after`` reads,
    and holds every load behind :attr:`gate` while it is shut (the real store does the work)."""

    def __init__(
        self, running: ServerThread, *, gate_after_read: bool = False, fail: bool = False
    ) -> None:
        store: Any = running.server.store
        self.loads = 0
        self.loads_done = 0
        self.read: list[int | None] = []
        self.gate = threading.Event()
        real_load, real_changes = store.load_layer, store.changes_after

        def load_layer(document_id: str, layer: str) -> LoadedLayer:
            self.loads += 1
            if not gate_after_read:
                assert self.gate.wait(30), "the gate was never opened"
            if fail:
                raise StoreError("store read failed: the disk went away")
            loaded: LoadedLayer = real_load(document_id, layer)
            if gate_after_read:  # read, then held: the room loads what was before
                assert self.gate.wait(30), "the gate was never opened"
            self.loads_done += 1
            return loaded

        def changes_after(document_id: str, layer: str, seq: int) -> LayerChanges | None:
            changes: LayerChanges | None = real_changes(document_id, layer, seq)
            self.read.append(None if changes is None else len(changes.records))
            return changes

        store.load_layer = load_layer
        store.changes_after = changes_after


async def _seed(url: str, token: str, count: int) -> list[dict[str, Any]]:
    """Push ``count`` creates; return the records acknowledged."""
    writer, _, _ = await join(url, token)
    records = []
    for start in range(0, count, 100):
        ack = await writer.push(*(create() for _ in range(min(100, count - start))))
        records.extend(r["record"] for r in ack["results"])
    await writer.ws.close()
    return records


async def _replica(url: str, token: str) -> tuple[dict[str, dict[str, Any]], int, str]:
    """Join once and leave: the replica's records by id, its seq and epoch."""
    client, welcome, snapshot = await join(url, token)
    assert snapshot["type"] == "snapshot"
    held = {r["id"]: r for r in snapshot["records"]}
    await client.ws.close()
    return held, welcome["seq"], welcome["layer_epoch"]


def _apply(held: dict[str, dict[str, Any]], frame: dict[str, Any]) -> None:
    for record in frame["records"]:
        if record.get("deleted"):
            held.pop(record["id"], None)
        else:
            held[record["id"]] = record


async def _changes_until(client: Client, seq: int) -> list[dict[str, Any]]:
    """Read the client's frames until it has a ``changes`` or ``ack`` at ``seq``; return
    the ``changes`` frames read."""
    frames = []
    while True:
        frame = await client.recv()
        if frame["type"] == "changes":
            frames.append(frame)
        if frame["type"] in ("changes", "ack") and frame["seq"] >= seq:
            return frames


async def _live(url: str, token: str) -> dict[str, tuple[int, Any]]:
    fresh, _, snapshot = await join(url, token)
    await fresh.ws.close()
    return {r["id"]: (r["rev"], r["content"]) for r in snapshot["records"]}


def _state(held: dict[str, dict[str, Any]]) -> dict[str, tuple[int, Any]]:
    return {rid: (r["rev"], r["content"]) for rid, r in held.items()}


def test_a_cold_resume_of_k_changes_reads_k_records_and_converges(server: ServerThread) -> None:
    doc = server.add_document(document_id="cold")
    token = _token(server, doc, "writer")

    async def before() -> tuple[dict[str, dict[str, Any]], int, str, list[dict[str, Any]]]:
        records = await _seed(server.url, token, N)
        held, seq, epoch = await _replica(server.url, token)
        # K = 5 changes while the replica is away: 2 creates, 2 updates, 1 delete.
        writer, _, _ = await join(server.url, token)
        missed = [
            *(await writer.push(create(), create()))["results"],
            *(await writer.push(update(records[0]["id"], 1, bbox=[1, 2, 3, 4])))["results"],
            *(await writer.push(update(records[1]["id"], 1, strokeWidth=3)))["results"],
            *(await writer.push(delete(records[2]["id"], 1)))["results"],
        ]
        await writer.ws.close()
        return held, seq, epoch, missed

    held, seq, epoch, missed = run(before())
    assert len(held) >= N and all(r["status"] == "applied" for r in missed)
    server.stop()

    with ServerThread(server.data_dir, database=server.database) as again:
        spy = _StoreSpy(again)

        async def resume() -> None:
            client, welcome, catch_up = await join(
                again.url, token, last_seq=seq, layer_epoch=epoch
            )
            # The load is still shut behind the gate: this came from the store by seq.
            assert spy.loads_done == 0
            assert catch_up["type"] == "changes" and catch_up["catch_up"] is True
            assert welcome["seq"] == catch_up["seq"] == seq + 5
            assert {r["id"] for r in catch_up["records"]} == {r["record_id"] for r in missed}
            assert spy.read == [5], "the store read the 5 changed records, not the layer"
            assert again.server.cold_catch_ups == 1
            _apply(held, catch_up)
            # Its own push is answered once the room has loaded (the gate opens).
            mine = create()
            await client.send({"type": "push", "changes": [mine]})
            await asyncio.sleep(0.2)
            assert spy.loads_done == 0 and spy.loads <= 1
            spy.gate.set()
            ack = await client.recv_type("ack")
            assert ack["seq"] == seq + 6 and ack["results"][0]["status"] == "applied"
            held[mine["record_id"]] = ack["results"][0]["record"]
            assert _state(held) == await _live(again.url, token)
            await client.ws.close()

        run(resume())
        assert spy.loads == 1 and spy.loads_done == 1


def test_commits_made_while_the_room_loads_reach_the_resumed_client_once(
    tmp_path: Path, postgres_url: str
) -> None:
    """The gap between the store read and the room's load: another process commits in it,
    and again once the room is loaded; the client gets every change exactly once."""
    data = tmp_path / "data"
    with (
        ServerThread(data, database=postgres_url) as one,
        ServerThread(data, database=postgres_url) as two,
    ):
        doc = one.add_document(document_id="race")
        token = _token(one, doc, "writer")

        async def scenario() -> None:
            records = await _seed(one.url, token, N)
            held, seq, epoch = await _replica(two.url, token)  # two's room leaves with it
            writer, _, _ = await join(one.url, token)
            before = await writer.push(update(records[0]["id"], 1, strokeWidth=4), create())
            spy = _StoreSpy(two)
            client, _, catch_up = await join(two.url, token, last_seq=seq, layer_epoch=epoch)
            assert catch_up["type"] == "changes" and catch_up["seq"] == before["seq"]
            assert spy.read == [2] and spy.loads_done == 0
            frames = [catch_up]
            # In the gap: committed by the other process after the store read, before the
            # room's load reads the layer.
            gap = await writer.push(update(records[0]["id"], 2, strokeWidth=5), create())
            gap2 = await writer.push(delete(records[1]["id"], 1))
            spy.gate.set()
            frames += await _changes_until(client, gap2["seq"])
            # After the join: relayed by the fan-out as any remote commit.
            after = await writer.push(update(records[0]["id"], 3, strokeWidth=6), create())
            frames += await _changes_until(client, after["seq"])
            seen = [(r["id"], r["rev"]) for f in frames for r in f["records"]]
            assert len(seen) == len(set(seen)), f"a change came twice: {seen}"
            changed = {
                (r["record"]["id"], r["record"]["rev"])
                for ack in (before, gap, gap2, after)
                for r in ack["results"]
            }
            assert set(seen) == changed, "no change missing"
            assert [f["seq"] for f in frames] == sorted({f["seq"] for f in frames})
            assert frames[1]["seq"] == gap2["seq"] and "catch_up" not in frames[1], (
                "the gap came as one changes frame at the join"
            )
            for frame in frames:
                _apply(held, frame)
            assert _state(held) == await _live(one.url, token)
            assert two.server.cold_catch_ups == 1 and spy.loads_done == 1
            await writer.ws.close()
            await client.ws.close()

        run(scenario())


def test_a_load_begun_before_the_store_read_is_brought_up_to_the_resumed_client(
    tmp_path: Path, postgres_url: str
) -> None:
    """Another joiner's load read the layer before another process committed; the client
    resuming after that commit is caught up past the loading room: the room is caught up
    from the store before the client joins, so it gets no change twice and misses none."""
    data = tmp_path / "data"
    with (
        ServerThread(data, database=postgres_url) as one,
        ServerThread(data, database=postgres_url) as two,
    ):
        doc = one.add_document(document_id="behind")
        token = _token(one, doc, "writer")

        async def scenario() -> None:
            records = await _seed(one.url, token, 20)
            writer, _, _ = await join(one.url, token)
            spy = _StoreSpy(two, gate_after_read=True)
            # A first joiner on two starts the room's load; it reads the layer now.
            first = asyncio.ensure_future(join(two.url, token))
            while spy.loads == 0:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # the load's read is done (it waits after it)
            ahead = await writer.push(update(records[0]["id"], 1, strokeWidth=7))
            # The resuming client already has that commit: nothing missed, sent cold.
            client, _, catch_up = await join(
                two.url, token, last_seq=ahead["seq"], layer_epoch=ahead_epoch
            )
            assert catch_up["records"] == [] and two.server.cold_catch_ups == 1
            spy.gate.set()
            await first
            after = await writer.push(update(records[0]["id"], 2, strokeWidth=8))
            frames = await _changes_until(client, after["seq"])
            assert [[(r["id"], r["rev"]) for r in f["records"]] for f in frames] == [
                [(records[0]["id"], 3)]
            ], "only the commit after its resume point, once"
            await writer.ws.close()

        _, _, ahead_epoch = run(_replica(one.url, token))
        run(scenario())


def _commit_elsewhere(
    running: ServerThread, doc: str, epoch: str, seq: int, creator: str | None = None
) -> str:
    """Commit one new record at ``seq`` through another opener of the server's store (as
    another process would); return its id."""
    other = running.open_store()
    rid = RecordId(str(ULID()))
    record = RecordState(rid, "annotation", 1, seq, create(rid)["content"], creator_id=creator)
    try:
        other.commit([LayerWrite(doc, "", epoch, seq, [record])])
    finally:
        other.close()
    return rid


def test_a_commit_by_another_opener_of_the_store_during_the_load_fills_the_gap(
    server: ServerThread,
) -> None:
    """On either store, what was committed between the store read and the load comes from
    the loaded room at the join."""
    doc = server.add_document(document_id="gap")
    token = _token(server, doc, "writer")

    async def scenario() -> None:
        await _seed(server.url, token, 20)
        held, seq, epoch = await _replica(server.url, token)
        spy = _StoreSpy(server)
        client, _, catch_up = await join(server.url, token, last_seq=seq, layer_epoch=epoch)
        assert catch_up["type"] == "changes" and catch_up["records"] == []
        assert spy.read == [0] and server.server.cold_catch_ups == 1
        rid = _commit_elsewhere(server, doc, epoch, seq + 1)
        spy.gate.set()
        (gap,) = await _changes_until(client, seq + 1)
        assert [r["id"] for r in gap["records"]] == [rid] and gap["seq"] == seq + 1
        _apply(held, gap)
        mine = create()
        ack = await client.push(mine)  # a member now: its push commits on top of the gap
        assert ack["seq"] == seq + 2
        held[mine["record_id"]] = ack["results"][0]["record"]
        assert _state(held) == await _live(server.url, token)

    run(scenario())


def test_a_cold_catch_up_sends_only_what_the_token_may_view(server: ServerThread) -> None:
    """The view rule is the room's: a missed record the token may not view makes the
    catch-up a warm snapshot (naming the record would leak it); one committed in the gap
    sends the client to reconnect."""
    doc = server.add_document(document_id="rules")
    own = ["annotations:view:self", "annotations:edit:self", "annotations:delete:self"]
    ann = _token(server, doc, "ann", own)
    bob = _token(server, doc, "bob", own)

    async def before() -> tuple[int, str, str, str]:
        await _seed(server.url, _token(server, doc, "admin"), 10)
        client, welcome, _ = await join(server.url, ann)
        await client.ws.close()
        writer, _, _ = await join(server.url, bob)
        hidden = (await writer.push(create()))["results"][0]["record_id"]  # seq + 1
        await writer.ws.close()
        writer, _, _ = await join(server.url, ann)
        mine = (await writer.push(create()))["results"][0]["record_id"]  # seq + 2
        await writer.ws.close()
        return welcome["seq"], welcome["layer_epoch"], mine, hidden

    seq, epoch, mine, _ = run(before())
    server.stop()
    with ServerThread(server.data_dir, database=server.database) as again:
        spy = _StoreSpy(again)
        spy.gate.set()

        async def missed_bobs() -> None:
            _, _, first = await join(again.url, ann, last_seq=seq, layer_epoch=epoch)
            assert first["type"] == "snapshot", "Bob's record may not be named"
            assert [r["id"] for r in first["records"]] == [mine]
            assert again.server.cold_catch_ups == 0 and spy.read == [2]

        run(missed_bobs())
    with ServerThread(server.data_dir, database=server.database) as third:
        spy = _StoreSpy(third)

        async def missed_her_own() -> None:
            client, _, caught = await join(third.url, ann, last_seq=seq + 1, layer_epoch=epoch)
            assert caught["type"] == "changes" and [r["id"] for r in caught["records"]] == [mine]
            assert third.server.cold_catch_ups == 1 and spy.read == [1]
            # Bob's record committed elsewhere while her room loads: in her gap, and not
            # hers to see, so she is sent to reconnect rather than told of it.
            gap = _commit_elsewhere(third, doc, epoch, seq + 3, creator="bob")
            spy.gate.set()
            code, frames = await client.closed()
            assert code == 1011
            assert [(f["type"], f["code"], f["message"]) for f in frames] == [
                ("error", "server-error", RESYNC)
            ]
            assert gap not in str(frames)
            _, _, again_caught = await join(third.url, ann, last_seq=seq + 2, layer_epoch=epoch)
            assert again_caught["type"] == "snapshot" and [
                r["id"] for r in again_caught["records"]
            ] == [mine]

        run(missed_her_own())


def test_a_resume_below_the_compaction_horizon_is_still_a_reset(server: ServerThread) -> None:
    doc = server.add_document(document_id="horizon")
    token = _token(server, doc, "writer")

    async def history() -> tuple[int, str, int]:
        held, seq, epoch = await _replica(server.url, token)
        writer, _, _ = await join(server.url, token)
        first = (await writer.push(create()))["results"][0]["record"]
        await writer.push(delete(first["id"], 1))
        await writer.push(create())
        await writer.ws.close()
        return seq, epoch, len(held) + 1

    seq, epoch, live = run(history())
    server.stop()
    store = server.open_store()
    try:
        store.forget_replicas("9999")
        (done,) = compact_store(store, retention=0.0)
    finally:
        store.close()
    assert done.horizon == seq + 3
    with ServerThread(server.data_dir, database=server.database) as again:
        spy = _StoreSpy(again)
        spy.gate.set()

        async def behind() -> None:
            _, _, reset = await join(again.url, token, last_seq=seq, layer_epoch=epoch)
            assert reset["type"] == "snapshot" and len(reset["records"]) == live
            assert again.server.cold_catch_ups == 0 and spy.read == [1]

        run(behind())


@pytest.mark.expect_error_log("cannot load cold/''")
def test_a_room_that_fails_to_load_after_a_cold_catch_up_closes_the_client(
    server: ServerThread,
) -> None:
    doc = server.add_document(document_id="cold")
    token = _token(server, doc, "writer")
    _, seq, epoch = run(_replica(server.url, token))
    run(_seed(server.url, token, 1))
    server.stop()
    with ServerThread(server.data_dir, database=server.database) as again:
        spy = _StoreSpy(again, fail=True)
        spy.gate.set()

        async def resume() -> None:
            client, _, caught = await join(again.url, token, last_seq=seq, layer_epoch=epoch)
            assert caught["type"] == "changes" and len(caught["records"]) == 1
            # Waits for the join (the server may have closed already: the load failed at once).
            with contextlib.suppress(ConnectionClosed):
                await client.send({"type": "push", "changes": [create()]})
            code, frames = await client.closed()
            assert code == 1011 and [f["type"] for f in frames] == ["error"]
            assert "could not read the layer" in frames[0]["message"]

        run(resume())


def test_stopping_the_server_waits_for_the_load_that_follows_a_cold_catch_up(
    tmp_path: Path,
) -> None:
    """The load runs on a worker thread: the store must not close under it (SQLite
    connections closed under a running query crash the process)."""
    server = ServerThread(tmp_path / "data")
    doc = server.add_document(document_id="cold")
    token = _token(server, doc, "writer")
    _, seq, epoch = run(_replica(server.url, token))
    run(_seed(server.url, token, 1))
    server.stop()
    again = ServerThread(server.data_dir)
    try:
        spy = _StoreSpy(again)

        async def resume() -> None:
            client, _, caught = await join(again.url, token, last_seq=seq, layer_epoch=epoch)
            assert caught["type"] == "changes"
            while spy.loads == 0:  # the background load has begun (held at the gate)
                await asyncio.sleep(0.01)
            await client.ws.close()

        run(resume())
        stopping = threading.Thread(target=again.stop)
        stopping.start()
        stopping.join(0.5)
        assert stopping.is_alive(), "the store closed under a load in flight"
        spy.gate.set()
        stopping.join(30)
        assert not stopping.is_alive() and spy.loads_done == 1
    finally:
        spy.gate.set()
        again.stop()
