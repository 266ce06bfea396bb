"""What only the PostgreSQL store must do: versioned migrations, seq numbers that two processes
never both hand out, and no commit claimed when the connection died in the middle of it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from lamina.model.ids import RecordId
from lamina.server.errors import StoreError
from lamina.server.migrate_schema import MIGRATIONS, SCHEMA_VERSION
from lamina.server.store import LayerAdvancedError, LayerWrite
from lamina.server.store_postgres import PostgresStore, commit_channel
from lamina.sync.state import RecordState

from tests.conftest import corpus_pdf
from tests.support.postgres import terminate_lock_waiter


def _record(rid: str, seq: int) -> RecordState:
    return RecordState(
        RecordId(rid), "annotation", seq, seq, {"type": "pspdfkit/note", "id": rid, "n": seq}
    )


def _store_with_doc(url: str) -> tuple[PostgresStore, str]:
    store = PostgresStore(url)
    data = corpus_pdf("annot-stamps").read_bytes()
    info = store.add_document("d", data, page_count=1, filename="x.pdf", base_records=[])
    return store, info.epoch


def test_a_fresh_database_is_migrated_once_and_a_newer_one_is_refused(postgres_url: str) -> None:
    # Several processes start at once on an empty database: each migration runs once.
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: PostgresStore(postgres_url), range(4)))
    assert {s.schema_version for s in stores} == {SCHEMA_VERSION}
    for store in stores:
        store.close()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(
            "SELECT version, description FROM lamina_schema_version ORDER BY version"
        ).fetchall()
        assert rows == [(m.version, m.description) for m in MIGRATIONS]
        conn.execute("INSERT INTO lamina_schema_version VALUES (%s, 'from the future')", (999,))
    with pytest.raises(StoreError, match="schema is version 999, newer than"):
        PostgresStore(postgres_url)


def test_two_processes_never_commit_the_same_seq(postgres_url: str) -> None:
    one, epoch = _store_with_doc(postgres_url)
    other = PostgresStore(postgres_url)  # another process: its own connections
    one.commit([LayerWrite("d", "r", epoch, 1, [_record("A", 1)], base_seq=0)])
    # Both prepared seq 2 on top of seq 1; the second to commit must fail, whole.
    one.commit([LayerWrite("d", "r", epoch, 2, [_record("A", 2)], base_seq=1)])
    with pytest.raises(LayerAdvancedError, match="is at seq 2, not 1"):
        other.commit(
            [
                LayerWrite("d", "s", epoch, 1, [_record("S", 1)], base_seq=0),
                LayerWrite("d", "r", epoch, 2, [_record("B", 2)], base_seq=1),
            ]
        )
    # Nothing of the failed transaction is there, not even its other layer.
    assert [(r.id, r.seq) for r in one.load_layer("d", "r").records] == [("A", 2)]
    assert not one.load_layer("d", "s").materialized
    # The first write of a layer raced by two processes: one materializes it.
    one.commit([LayerWrite("d", "t", epoch, 1, [_record("T", 1)], base_seq=0)])
    with pytest.raises(LayerAdvancedError):
        other.commit([LayerWrite("d", "t", epoch, 1, [_record("U", 1)], base_seq=0)])
    one.close()
    other.close()


def test_concurrent_committers_hand_out_each_seq_once(postgres_url: str) -> None:
    first, epoch = _store_with_doc(postgres_url)
    first.close()
    committed: list[list[int]] = [[], [], []]

    def writer(index: int) -> None:
        store = PostgresStore(postgres_url)
        try:
            while len(committed[index]) < 15:
                loaded = store.load_layer("d", "r")
                seq = loaded.seq + 1
                write = LayerWrite(
                    "d", "r", epoch, seq, [_record(f"w{index}-{seq}", seq)], base_seq=loaded.seq
                )
                try:
                    store.commit([write])
                except LayerAdvancedError:
                    continue  # another writer won this seq: prepare again on the new one
                committed[index].append(seq)
        finally:
            store.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    handed_out = sorted(s for seqs in committed for s in seqs)
    assert handed_out == list(range(1, 46))
    check = PostgresStore(postgres_url)
    loaded = check.load_layer("d", "r")
    assert loaded.seq == 45
    assert sorted(r.seq for r in loaded.records) == handed_out
    check.close()


def test_a_backend_terminated_mid_commit_raises_and_nothing_is_written(postgres_url: str) -> None:
    store, epoch = _store_with_doc(postgres_url)
    store.commit([LayerWrite("d", "r", epoch, 1, [_record("A", 1)], base_seq=0)])
    with psycopg.connect(postgres_url) as blocker:
        # Hold the layer row, so the store's commit waits inside its transaction.
        blocker.execute("SELECT 1 FROM layers WHERE name = 'r' FOR UPDATE")
        outcome: list[BaseException | None] = []

        def commit() -> None:
            try:
                store.commit([LayerWrite("d", "r", epoch, 2, [_record("B", 2)], base_seq=1)])
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=commit)
        thread.start()
        asyncio.run(terminate_lock_waiter(postgres_url))
        thread.join(30)
        blocker.rollback()
    assert len(outcome) == 1
    assert isinstance(outcome[0], StoreError)
    assert "store write failed" in str(outcome[0])
    # Nothing of it committed; the store reconnects for the next call.
    loaded = store.load_layer("d", "r")
    assert (loaded.seq, [r.id for r in loaded.records]) == (1, ["A"])
    store.commit([LayerWrite("d", "r", epoch, 2, [_record("C", 2)], base_seq=1)])
    assert store.layer_seq("d", "r") == 2
    store.close()


def _traced_commit(store: PostgresStore, write: LayerWrite, trace: Path) -> list[str]:
    """Commit ``write`` and return the messages the store sent (libpq trace, frontend)."""
    with trace.open("w") as out:
        conn = store._db()
        conn.pgconn.trace(out.fileno())
        try:
            store.commit([write])
        finally:
            conn.pgconn.untrace()
    return [line for line in trace.read_text().splitlines() if "\tF\t" in line]


def _listen_as_another_process(conn: psycopg.Connection[Any], channel: str) -> None:
    """LISTEN on ``conn`` as a server process does for a room: with its row in
    ``layer_listeners`` (a commit is announced only to a layer someone else listens to)."""
    conn.execute(f"LISTEN {channel}")
    conn.execute(
        "INSERT INTO layer_listeners VALUES (%s, 'another process', pg_backend_pid())", (channel,)
    )


def test_a_commit_is_announced_only_to_a_layer_another_process_listens_to(
    postgres_url: str,
) -> None:
    # A NOTIFY costs PostgreSQL a transaction in every listening backend of the database
    # (each is signalled, whatever its channels), and its sender heard its own: per commit,
    # more processes cost more, though no one else had a room for the layer.
    store, epoch = _store_with_doc(postgres_url)
    store.commit([LayerWrite("d", "r", epoch, 1, [_record("A", 1)], base_seq=0)])
    channel = commit_channel("d", "r")
    with psycopg.connect(postgres_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {channel}")  # as a process with no row (or this one's own)
        listener.execute(
            "INSERT INTO layer_listeners VALUES (%s, %s, pg_backend_pid())",
            (channel, store.origin),
        )
        store.commit([LayerWrite("d", "r", epoch, 2, [_record("B", 2)], base_seq=1)])
        assert list(listener.notifies(timeout=0.5)) == []
        # The long way (a lost race, then a layer's first write) does the same.
        with pytest.raises(LayerAdvancedError):
            store.commit([LayerWrite("d", "r", epoch, 3, [_record("C", 3)], base_seq=1)])
        store.commit([LayerWrite("d", "r", epoch, 3, [_record("C", 3)], base_seq=2)])
        assert list(listener.notifies(timeout=0.5)) == []
        _listen_as_another_process(listener, channel)
        store.commit([LayerWrite("d", "r", epoch, 4, [_record("D", 4)], base_seq=3)])
        notes = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
        assert [json.loads(n)[:3] for n in notes] == [["d", "r", 4]]
        # A layer's first commit is announced to every process (it may now be listed).
        listener.execute("LISTEN lamina_commits")
        store.commit([LayerWrite("d", "s", epoch, 1, [_record("S", 1)], base_seq=0)])
        notes = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
        assert [json.loads(n)[:3] for n in notes] == [["d", "s", 1]]
    store.close()


def _syncs(trace: Path) -> list[str]:
    """Return the Sync messages (each a round trip) the client sent, in a libpq trace."""
    return [line for line in trace.read_text().splitlines() if "\tF\t4\tSync" in line]


def test_a_commit_is_written_and_announced_in_one_round_trip(
    postgres_url: str, tmp_path: Path
) -> None:
    # A NOTIFY inside the writing transaction holds PostgreSQL's one notification-queue lock
    # through that transaction's WAL flush: every process's commits then wait in line, one
    # fsync each. So the announcement runs in a transaction of its own, after COMMIT (see
    # test_a_failed_announcement_does_not_fail_its_commit), in the same round trip: each
    # statement of a pipeline cost the writer a wait and a Python dump of its arrays (two
    # round trips, 6 statements; 4 processes, with their smaller group commits, served
    # fewer changes/s than 1). Read what the store sent.
    first, epoch = _store_with_doc(postgres_url)
    first.commit([LayerWrite("d", "r", epoch, 1, [_record("A", 1)], base_seq=0)])
    first.close()
    store = PostgresStore(postgres_url)  # a new connection: every statement parsed in full
    with psycopg.connect(postgres_url, autocommit=True) as listener:
        _listen_as_another_process(listener, commit_channel("d", "r"))
        write = LayerWrite("d", "r", epoch, 2, [_record("B", 2)], [("c2", {"s": 2})], 1)
        sent = _traced_commit(store, write, tmp_path / "libpq.trace")
        notes = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
    assert len(notes) == 1 and json.loads(notes[0])[:3] == ["d", "r", 2]
    statements = [line for line in sent if "\tParse\t" in line or "\tQuery\t" in line]
    assert len(statements) == 1 and "lamina_commit" in statements[0], statements
    assert len(_syncs(tmp_path / "libpq.trace")) == 1
    loaded = store.load_layer("d", "r")
    assert (loaded.seq, [r.id for r in loaded.records]) == (2, ["A", "B"])
    assert loaded.change_results["c2"] == {"s": 2}
    store.close()


def test_a_group_commit_of_many_layers_costs_one_round_trip(
    postgres_url: str, tmp_path: Path
) -> None:
    # Each layer's UPDATE used to be a round trip of its own, so a bigger group commit
    # (more writers on one process) cost more round trips.
    first, epoch = _store_with_doc(postgres_url)
    first.commit([LayerWrite("d", n, epoch, 1, [_record(n, 1)], base_seq=0) for n in "abc"])
    first.close()
    store = PostgresStore(postgres_url)
    trace = tmp_path / "libpq.trace"
    conn = store._db()
    with trace.open("w") as out:
        conn.pgconn.trace(out.fileno())
        try:
            store.commit(
                [LayerWrite("d", n, epoch, 2, [_record(n + "2", 2)], base_seq=1) for n in "abc"]
                # Two writes of one layer in one transaction: the second on top of the first.
                + [LayerWrite("d", "a", epoch, 3, [_record("a3", 3)], base_seq=2)]
            )
        finally:
            conn.pgconn.untrace()
    assert len(_syncs(trace)) == 1
    with trace.open("w") as out:
        conn.pgconn.trace(out.fileno())
        try:
            store.commit(
                [LayerWrite("d", n, epoch, 3, [_record(n + "3", 3)], base_seq=2) for n in "bc"]
                # A new layer's two writes: it has no row to move, so the whole group
                # commit goes the long way (once in a layer's life).
                + [LayerWrite("d", "new", epoch, 1, [_record("N1", 1)], base_seq=0)]
                + [LayerWrite("d", "new", epoch, 2, [_record("N2", 2)], base_seq=1)]
            )
        finally:
            conn.pgconn.untrace()
    # The call that wrote nothing, then the long way: 2, and for the new layer its UPDATE
    # again, its INSERT's row count, the next UPDATE.
    assert len(_syncs(trace)) == 6
    assert {n: store.layer_seq("d", n) for n in ("a", "b", "c", "new")} == {
        "a": 3,
        "b": 3,
        "c": 3,
        "new": 2,
    }
    assert [r.id for r in store.load_layer("d", "a").records] == ["a", "a2", "a3"]
    assert [r.id for r in store.load_layer("d", "new").records] == ["N1", "N2"]
    store.close()


def test_a_record_written_twice_in_one_group_commit_keeps_its_last_write(
    postgres_url: str,
) -> None:
    store, epoch = _store_with_doc(postgres_url)
    store.commit([LayerWrite("d", "r", epoch, 1, [_record("A", 1)], base_seq=0)])
    store.commit(
        [
            LayerWrite("d", "r", epoch, 2, [_record("A", 2)], [("c1", {"s": 1})], base_seq=1),
            LayerWrite(
                "d", "r", epoch, 3, [_record("B", 3), _record("A", 3)], [("c1", {"s": 2})], 2
            ),
        ]
    )
    loaded = store.load_layer("d", "r")
    assert loaded.seq == 3
    # In the order of their last writes, as one write at a time would leave them.
    assert [(r.id, r.rev, r.content["n"]) for r in loaded.records] == [("B", 3, 3), ("A", 3, 3)]
    assert loaded.change_results["c1"] == {"s": 2}
    # Writes not prepared on a known seq (never chained): one at a time.
    store.commit(
        [
            LayerWrite("d", "r", epoch, 4, [_record("C", 4)]),
            LayerWrite("d", "r", epoch, 5, [_record("C", 5)]),
        ]
    )
    assert store.layer_seq("d", "r") == 5
    assert [(r.id, r.rev) for r in store.load_layer("d", "r").records][-1] == ("C", 5)
    store.close()


class _FailingAnnouncements(PostgresStore):
    """Its announcement fails in PostgreSQL (as a full notification queue would)."""

    def _notes(self, writes: Sequence[LayerWrite]) -> list[tuple[str, str, bool]]:
        return [("x" * 100, "no such channel name", True)]


@pytest.mark.filterwarnings("ignore")
def test_a_failed_announcement_does_not_fail_its_commit(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    _store_with_doc(postgres_url)[0].close()
    store = _FailingAnnouncements(postgres_url)
    epoch = store.get_document("d").epoch  # type: ignore[union-attr]
    # The first commit of a layer goes the long way, the next in one call: the
    # announcement fails after COMMIT in both, in a transaction of its own.
    store.commit([LayerWrite("d", "r", epoch, 1, [_record("A", 1)], base_seq=0)])
    assert caplog.text.count("cannot announce a commit") == 1
    assert store.layer_seq("d", "r") == 1
    assert store._db().info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    store.commit([LayerWrite("d", "r", epoch, 2, [_record("B", 2)], base_seq=1)])
    assert caplog.text.count("cannot announce a commit") == 2
    # The connection is usable, outside any transaction.
    assert store._db().info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    store.commit([LayerWrite("d", "r", epoch, 3, [_record("C", 3)], base_seq=2)])
    assert [r.id for r in store.load_layer("d", "r").records] == ["A", "B", "C"]
    store.close()


def test_a_refused_commit_is_not_announced_and_leaves_no_transaction_open(
    postgres_url: str,
) -> None:
    first, epoch = _store_with_doc(postgres_url)
    first.commit([LayerWrite("d", "r", epoch, 1, [_record("A", 1)], base_seq=0)])
    first.close()
    store = PostgresStore(postgres_url)  # a new connection: every statement parsed in full
    with psycopg.connect(postgres_url, autocommit=True) as listener:
        _listen_as_another_process(listener, commit_channel("d", "r"))
        with pytest.raises(LayerAdvancedError):
            store.commit([LayerWrite("d", "r", epoch, 2, [_record("B", 2)], base_seq=0)])
        assert store._db().info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        # A record that breaks a constraint in PostgreSQL: the pipeline fails at COMMIT's sync.
        bad = dataclasses.replace(_record("C", 2), kind=None)  # type: ignore[arg-type]
        with pytest.raises(StoreError):
            store.commit([LayerWrite("d", "r", epoch, 2, [bad], base_seq=1)])
        assert store._db().info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert list(listener.notifies(timeout=0.5)) == []
        store.commit([LayerWrite("d", "r", epoch, 2, [_record("D", 2)], base_seq=1)])
        notes = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
    assert [json.loads(n)[:3] for n in notes] == [["d", "r", 2]]
    assert [r.id for r in store.load_layer("d", "r").records] == ["A", "D"]
    store.close()
