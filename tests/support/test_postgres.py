"""The throw-away PostgreSQL cluster: starts unprivileged on a free port with its socket in its
own directory, serves a database per test, stops and leaves nothing; missing binaries skip,
or fail under LAMINA_REQUIRE_POSTGRES=1; ServerThread serves from it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import psycopg
import pytest

from tests.support import postgres
from tests.support.postgres import PostgresCluster, PostgresUnavailable, require_postgres
from tests.support.protocol_client import create, join, run
from tests.support.server_thread import ServerThread


def test_a_cluster_runs_unprivileged_in_its_directory_and_leaves_nothing() -> None:
    require_postgres()
    with PostgresCluster() as cluster:
        directory = cluster.directory
        assert (directory / f".s.PGSQL.{cluster.port}").is_socket()
        url = cluster.create_database()
        with psycopg.connect(url) as conn:
            [(data_dir,)] = conn.execute("SHOW data_directory").fetchall()
            assert data_dir == str(cluster.data)
        if os.geteuid() == 0:
            assert cluster.data.stat().st_uid != 0  # PostgreSQL refuses root
        assert cluster.running
    assert not directory.exists()
    assert not cluster.running
    with socket.socket() as probe, pytest.raises(OSError):
        probe.connect(("127.0.0.1", cluster.port))


def test_missing_binaries_skip_or_fail_when_postgres_is_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def nothing() -> Path:
        raise PostgresUnavailable("no PostgreSQL server binaries (test)")

    monkeypatch.setattr(postgres, "find_bindir", nothing)
    monkeypatch.delenv("LAMINA_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_postgres()
    monkeypatch.setenv("LAMINA_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match="LAMINA_REQUIRE_POSTGRES=1 but no"):
        require_postgres()


def test_find_bindir_honours_lamina_pg_bindir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("initdb", "pg_ctl", "postgres"):
        (tmp_path / name).write_text("")
    monkeypatch.setenv("LAMINA_PG_BINDIR", str(tmp_path))
    assert postgres.find_bindir() == tmp_path


def test_server_thread_serves_from_a_postgres_database(tmp_path: Path, postgres_url: str) -> None:
    with ServerThread(tmp_path / "data", database=postgres_url) as server:
        doc = server.add_document()

        async def scenario() -> None:
            client, _, _ = await join(server.url, server.token(doc))
            change = create()
            ack = await client.push(change)
            store = server.open_store()
            try:
                layer = store.load_layer(doc, "")
            finally:
                store.close()
            assert layer.seq == ack["seq"]
            assert change["record_id"] in {r.id for r in layer.records}
            await client.ws.close()

        run(scenario())
    assert not list((tmp_path / "data").glob("*.sqlite3"))
