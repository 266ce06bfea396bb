"""The PostgreSQL commit awaited on the event loop (``PostgresStore.commit_on_loop``, through
:mod:`lamina.server.pq_loop`): what the writer thread's commit guaranteed, without the thread."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import Any

import psycopg
import pytest
from lamina.model.ids import RecordId
from lamina.server.errors import StoreError
from lamina.server.history_postgres import (
    CHANGES_AFTER,
    CHANGES_AFTER_NAME,
    read_changes,
    reader_conninfo,
)
from lamina.server.pq_loop import LoopConnection, text_rows
from lamina.server.store import LayerAdvancedError, LayerWrite
from lamina.server.store_postgres import PostgresStore
from lamina.server.writer import GroupCommitWriter
from lamina.sync.state import RecordState

from tests.conftest import corpus_pdf
from tests.support.postgres import terminate_lock_waiter


def _record(rid: str, seq: int, **content: Any) -> RecordState:
    return RecordState(
        RecordId(rid), "annotation", seq, seq, {"type": "pspdfkit/note", "id": rid, **content}
    )


def _store_with_layer(url: str) -> tuple[PostgresStore, str]:
    """A store with document ``d`` whose layer ``r`` has one commit (record A, seq 1)."""
    store = PostgresStore(url)
    data = corpus_pdf("annot-stamps").read_bytes()
    epoch = store.add_document("d", data, page_count=1, filename="x.pdf", base_records=[]).epoch
    store.commit([LayerWrite("d", "r", epoch, 1, [_record("A", 1)], base_seq=0)])
    return store, epoch


def _backend_pids(url: str) -> set[int]:
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'lamina'"
        ).fetchall()
    return {pid for (pid,) in rows}


def test_the_writer_commits_on_the_event_loop_without_a_thread(postgres_url: str) -> None:
    store, epoch = _store_with_layer(postgres_url)

    async def scenario() -> None:
        writer = GroupCommitWriter(store)
        loop_thread = threading.get_ident()
        committed_on: list[int] = []
        original = store.commit_on_loop

        async def watched(writes: Any) -> None:
            committed_on.append(threading.get_ident())
            await original(writes)

        store.commit_on_loop = watched  # type: ignore[method-assign]
        # Three writes submitted in one loop turn share one transaction.
        futures = [
            writer.submit(
                LayerWrite("d", "r", epoch, seq, [_record(f"B{seq}", seq)], base_seq=seq - 1)
            )
            for seq in (2, 3, 4)
        ]
        await asyncio.gather(*futures)
        await writer.aclose()
        assert committed_on == [loop_thread]
        assert writer.transactions == 1
        assert "lamina-writer" not in {t.name for t in threading.enumerate()}

    asyncio.run(scenario())
    assert [r.id for r in store.load_layer("d", "r").records] == ["A", "B2", "B3", "B4"]
    store.close()


def test_a_commit_on_the_loop_that_lost_a_race_writes_nothing(postgres_url: str) -> None:
    store, epoch = _store_with_layer(postgres_url)
    other = PostgresStore(postgres_url)  # another process moves the layer on first
    other.commit([LayerWrite("d", "r", epoch, 2, [_record("X", 2)], base_seq=1)])

    async def scenario() -> None:
        with pytest.raises(LayerAdvancedError):
            await store.commit_on_loop(
                [LayerWrite("d", "r", epoch, 2, [_record("B", 2)], base_seq=1)]
            )
        await store.commit_on_loop([LayerWrite("d", "r", epoch, 3, [_record("C", 3)], base_seq=2)])

    asyncio.run(scenario())
    assert [r.id for r in store.load_layer("d", "r").records] == ["A", "X", "C"]
    store.close()
    other.close()


def test_a_refused_statement_leaves_the_loops_connection_usable(postgres_url: str) -> None:
    store, epoch = _store_with_layer(postgres_url)

    async def scenario() -> None:
        await store.commit_on_loop([LayerWrite("d", "r", epoch, 2, [_record("B", 2)], base_seq=1)])
        before = _backend_pids(postgres_url)
        bad = dataclasses.replace(_record("C", 3), kind=None)  # type: ignore[arg-type]
        with pytest.raises(StoreError, match=r"store write failed: .*kind"):
            await store.commit_on_loop([LayerWrite("d", "r", epoch, 3, [bad], base_seq=2)])
        await store.commit_on_loop([LayerWrite("d", "r", epoch, 3, [_record("D", 3)], base_seq=2)])
        assert _backend_pids(postgres_url) == before  # the same connection, not a new one

    asyncio.run(scenario())
    assert [r.id for r in store.load_layer("d", "r").records] == ["A", "B", "D"]
    store.close()


def test_a_commit_larger_than_the_socket_buffer_is_written_whole(postgres_url: str) -> None:
    store, epoch = _store_with_layer(postgres_url)
    # 8 MB of JSON: libpq's non-blocking send takes several writable waits.
    records = [_record(f"R{i:03}", 2, text="x" * 40_000) for i in range(200)]

    async def scenario() -> None:
        await store.commit_on_loop([LayerWrite("d", "r", epoch, 2, records, base_seq=1)])

    asyncio.run(scenario())
    loaded = store.load_layer("d", "r")
    assert loaded.seq == 2
    assert len(loaded.records) == 201
    assert {len(r.content["text"]) for r in loaded.records if r.id != "A"} == {40_000}
    store.close()


def test_a_backend_terminated_mid_commit_on_the_loop_fails_it_and_the_next_reconnects(
    postgres_url: str,
) -> None:
    store, epoch = _store_with_layer(postgres_url)

    async def scenario() -> None:
        await store.commit_on_loop([LayerWrite("d", "r", epoch, 2, [_record("B", 2)], base_seq=1)])
        with psycopg.connect(postgres_url) as blocker:
            # Hold the layer row, so the commit waits inside its transaction.
            blocker.execute("SELECT 1 FROM layers WHERE name = 'r' FOR UPDATE")
            commit = asyncio.ensure_future(
                store.commit_on_loop(
                    [LayerWrite("d", "r", epoch, 3, [_record("C", 3)], base_seq=2)]
                )
            )
            await terminate_lock_waiter(postgres_url)
            with pytest.raises(StoreError, match="store write failed"):
                await asyncio.wait_for(commit, 30)
            blocker.rollback()
        # Nothing of it was written; the next commit opens a new connection.
        assert store.layer_seq("d", "r") == 2
        await store.commit_on_loop([LayerWrite("d", "r", epoch, 3, [_record("D", 3)], base_seq=2)])

    asyncio.run(scenario())
    assert [r.id for r in store.load_layer("d", "r").records] == ["A", "B", "D"]
    store.close()


def test_the_loop_read_of_changes_after_is_the_threads_read(postgres_url: str) -> None:
    # The fan-out reads what another process committed on the event loop (read_changes, a
    # loop connection, text rows); a cold catch-up reads the same on a worker thread
    # (changes_after, psycopg's typed rows): one statement, so both must say the same.
    store, epoch = _store_with_layer(postgres_url)
    tombstone = dataclasses.replace(_record("A", 3), content=None, deleted=True)
    store.commit(
        [
            LayerWrite(
                "d",
                "r",
                epoch,
                2,
                [_record("B", 2, creatorName="Zoë")],
                change_results=[("c2", {"status": "applied", "seq": 2})],
                base_seq=1,
            ),
            LayerWrite(
                "d",
                "r",
                epoch,
                3,
                [tombstone, _record("C", 3)],
                change_results=[("c3", {"status": "applied"})],
                base_seq=2,
            ),
        ]
    )

    async def on_loop(seq: int, layer: str = "r") -> Any:
        conn = LoopConnection(postgres_url, {CHANGES_AFTER_NAME: CHANGES_AFTER})
        try:
            return await read_changes(conn, "d", layer, seq)
        finally:
            conn.close()

    for since in (0, 1, 2, 3):
        on_thread = store.changes_after("d", "r", since)
        assert on_thread is not None
        assert asyncio.run(on_loop(since)) == on_thread
        assert on_thread.seq == 3 and on_thread.epoch == epoch
    after_one = store.changes_after("d", "r", 1)
    assert after_one is not None
    assert [(r.id, r.seq, r.deleted) for r in after_one.records] == [
        ("B", 2, False),
        ("A", 3, True),
        ("C", 3, False),
    ]
    assert after_one.records[0].content == _record("B", 2, creatorName="Zoë").content
    assert dict(after_one.change_results) == {
        "c2": {"status": "applied", "seq": 2},
        "c3": {"status": "applied"},
    }
    assert asyncio.run(on_loop(0, layer="no such layer")) is None
    assert store.changes_after("d", "no such layer", 0) is None
    store.close()


def test_the_loop_read_of_changes_after_starts_no_parallel_workers(postgres_url: str) -> None:
    # With enough records PostgreSQL's plan for any parameters (used from the sixth run of
    # a prepared statement on) guessed a thousand rows a part and started two parallel
    # workers for every read: 7-10 ms where the read takes 0.2-0.5. Here PostgreSQL is told
    # to plan parallel wherever it may (what the bench's data made it choose).
    store, _ = _store_with_layer(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        database = admin.info.dbname
        old_name = admin.info.server_version < 160000  # renamed in PostgreSQL 16
        setting = "force_parallel_mode" if old_name else "debug_parallel_query"
        admin.execute(f'ALTER DATABASE "{database}" SET {setting} = on')

    async def plan(conninfo: str) -> str:
        conn = LoopConnection(conninfo, {CHANGES_AFTER_NAME: CHANGES_AFTER})
        try:
            for _ in range(8):  # past the custom plans
                assert await read_changes(conn, "d", "r", 0) is not None
            explained = await conn.script(b"EXPLAIN EXECUTE lamina_changes_after('d', 'r', 0)")
            return "\n".join(row[0] or "" for row in text_rows(explained))
        finally:
            conn.close()

    assert "Gather" in asyncio.run(plan(postgres_url)), "the check itself: a parallel plan"
    assert "Gather" not in asyncio.run(plan(reader_conninfo(postgres_url, "lamina-fetch")))
    store.close()
