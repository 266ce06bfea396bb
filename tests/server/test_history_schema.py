"""The stores' schema steps that history compaction needs (SQLite ``user_version``, PostgreSQL
migration 4), and the two ways compaction runs: by itself in a server and ``lamina compact``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
from lamina.cli import main
from lamina.server import compaction
from lamina.server.errors import StoreError
from lamina.server.history_sqlite import SCHEMA_VERSION
from lamina.server.migrate_schema import MIGRATIONS
from lamina.server.store_postgres import PostgresStore
from lamina.server.store_sqlite import _SCHEMA, DATABASE_NAME, SqliteStore
from lamina.sync.validation import Limits

from tests.server.conftest import ServerThread, create, delete, join, run
from tests.server.test_compaction import _rows
from tests.server.test_hostile import _token


def _first_schema_store(data_dir: Path) -> None:
    """Write a store as Lamina wrote it before schema versions: one layer at seq 7 with one
    remembered change id."""
    data_dir.mkdir(parents=True)
    db = sqlite3.connect(data_dir / DATABASE_NAME)
    db.executescript(_SCHEMA)
    db.execute("INSERT INTO documents VALUES ('d', 'aa', 1, 1, 'f.pdf', 't', 'E')")
    db.execute("INSERT INTO layers VALUES ('d', '', 'E', 7, 't')")
    db.execute("INSERT INTO applied_changes VALUES ('d', '', 'c1', '{}')")
    db.commit()
    db.close()


def test_a_sqlite_store_of_the_first_schema_is_upgraded_once_and_a_newer_one_refused(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    _first_schema_store(data)
    for _ in range(2):  # the second open finds the store up to date
        store = SqliteStore(data)
        try:
            assert store.schema_version == SCHEMA_VERSION
        finally:
            store.close()
    db = sqlite3.connect(data / DATABASE_NAME)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        # A change id from before counts as committed at its layer's seq, now: it is kept
        # until every replica has seen that seq (or the retention passes).
        seq, at = db.execute("SELECT seq, committed_at FROM applied_changes").fetchone()
        assert seq == 7 and at is not None
        assert db.execute("SELECT compacted_seq FROM layers").fetchone()[0] == 0
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        db.commit()
    finally:
        db.close()
    with pytest.raises(StoreError, match="newer than this lamina"):
        SqliteStore(data)


def test_postgres_migration_4_gives_old_change_ids_their_layer_seq(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE lamina_schema_version (version INTEGER PRIMARY KEY, "
            "description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        for step in MIGRATIONS[:3]:
            conn.execute(step.sql.encode())
            conn.execute(
                "INSERT INTO lamina_schema_version (version, description) VALUES (%s, %s)",
                (step.version, step.description),
            )
        conn.execute("INSERT INTO assets VALUES ('aa', 'x')")
        conn.execute("INSERT INTO documents VALUES ('d', 'aa', 1, 1, 'f.pdf', 't', 'E')")
        conn.execute("INSERT INTO layers VALUES ('d', '', 'E', 7, 't')")
        # Remembered before migration 2 (no seq) and after it.
        conn.execute("INSERT INTO applied_changes VALUES ('d', '', 'c1', '{}', NULL)")
        conn.execute("INSERT INTO applied_changes VALUES ('d', '', 'c2', '{}', 5)")
    store = PostgresStore(postgres_url)
    try:
        assert store.schema_version == MIGRATIONS[-1].version == 6
        rows = store._query("SELECT change_id, seq, committed_at FROM applied_changes ORDER BY 1")
        assert [(c, s) for c, s, _ in rows] == [("c1", 7), ("c2", 5)]
        assert all(at is not None for _, _, at in rows)
    finally:
        store.close()


def _history(server: ServerThread, doc: str) -> int:
    """Make a layer whose history holds one tombstone; return its seq."""

    async def scenario() -> int:
        writer, _, _ = await join(server.url, _token(server, doc, "writer"))
        made = (await writer.push(create()))["results"][0]["record"]
        ack = await writer.push(delete(made["id"], made["rev"]))
        await writer.ws.close()
        return int(ack["seq"])

    return run(scenario())


def _tombstones(server: ServerThread) -> int:
    return _rows(server, "SELECT count(*) FROM records WHERE deleted = 1")


def test_lamina_compact_compacts_the_store_beside_a_running_server(
    server: ServerThread, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = server.add_document(document_id="cli")
    seq = _history(server, doc)
    assert _tombstones(server) == 1
    where = ["--data", str(server.data_dir)]
    if server.database is not None:
        where = ["--database", server.database]
    assert main(["compact", *where, "--retention", "0"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [f"cli\t''\thorizon {seq}\t1 tombstones, 2 change ids dropped"]
    assert _tombstones(server) == 0


def test_a_running_server_compacts_by_itself(
    server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = server.add_document(document_id="periodic")
    _history(server, doc)
    done: list[Any] = []
    real = compaction.compact_store

    def watched(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        done.append(result)
        return result

    monkeypatch.setattr(compaction, "COMPACT_INTERVAL", 0.05)
    monkeypatch.setattr(compaction, "compact_store", watched)
    server.server.limits = Limits(history_retention=0.0)  # type: ignore[attr-defined]
    server.call(_start_compacting(server))

    async def wait() -> None:
        for _ in range(400):
            if any(c.tombstones for run_ in done for c in run_):
                return
            await asyncio.sleep(0.05)

    run(wait())
    assert any(c.document_id == doc and c.tombstones == 1 for run_ in done for c in run_)


async def _start_compacting(server: ServerThread) -> None:
    # The server's own loop started before the interval was shortened: start one more, as
    # LaminaServer.start does, on its loop.
    server.server.spawn(compaction.compact_periodically(server.server))


def test_lamina_compact_through_the_api_of_a_running_server(
    tmp_path: Path, store_url: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    with ServerThread(tmp_path / "data", database=store_url, api_token="s3cret") as server:
        doc = server.add_document(document_id="api")
        seq = _history(server, doc)
        argv = ["compact", "--server", server.url, "--api-auth-token", "s3cret"]
        assert main([*argv, "--retention", "0"]) == 0
        out = capsys.readouterr().out
        assert out.splitlines() == [f"api\t''\thorizon {seq}\t1 tombstones, 2 change ids dropped"]
        assert _tombstones(server) == 0
        assert main([*argv[:3], "--api-auth-token", "wrong"]) == 1
        assert "401" in capsys.readouterr().err


def test_a_room_that_stays_open_forgets_the_tombstones_its_store_compacted(
    server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = server.add_document(document_id="open")
    token = _token(server, doc, "writer")
    monkeypatch.setattr(compaction, "COMPACT_INTERVAL", 0.05)
    server.server.limits = Limits(history_retention=0.0)  # type: ignore[attr-defined]

    async def scenario() -> None:
        stays, welcome, _ = await join(server.url, token)  # keeps the room in memory
        made = (await stays.push(create()))["results"][0]["record"]
        ack = await stays.push(delete(made["id"], made["rev"]))
        room = server.server.rooms[(doc, "")]
        with_tombstone = len(room.layer)
        await asyncio.to_thread(server.call, _start_compacting(server))
        for _ in range(400):
            if room.layer.history_from == ack["seq"]:
                break
            await asyncio.sleep(0.05)
        assert server.server.rooms[(doc, "")] is room, "the same room, never reloaded"
        assert room.layer.history_from == ack["seq"]
        assert len(room.layer) == with_tombstone - 1 and room.layer.get(made["id"]) is None
        behind, _, reset = await join(
            server.url, token, last_seq=ack["seq"] - 1, layer_epoch=welcome["layer_epoch"]
        )
        assert reset["type"] == "snapshot"
        for client in (stays, behind):
            await client.ws.close()

    run(scenario())
