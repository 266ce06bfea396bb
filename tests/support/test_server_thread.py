"""The in-process server harness: a real server on 127.0.0.1, port 0, SQLite in the data dir."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from lamina.server.store import DATABASE_NAME, SqliteStore

from tests.support.protocol_client import create, join, run
from tests.support.server_thread import ServerThread


def test_serves_a_document_on_loopback_and_commits_to_sqlite_in_the_data_dir(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with ServerThread(data) as server:
        assert server.port > 0
        assert server.url == f"ws://127.0.0.1:{server.port}/sync"
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=10) as r:
            assert r.status == 200
        doc = server.add_document()

        async def scenario() -> int:
            client, welcome, _ = await join(server.url, server.token(doc, user_id="ann"))
            assert welcome["type"] == "welcome"
            ack = await client.push(create())
            assert ack["results"][0]["status"] == "applied"
            seq: int = ack["seq"]
            return seq

        seq = run(scenario())
    assert (data / DATABASE_NAME).is_file()
    store = SqliteStore(data)
    try:
        assert store.load_layer(doc, "").seq == seq
    finally:
        store.close()


def test_stop_is_idempotent_and_ends_the_thread_and_its_loop(tmp_path: Path) -> None:
    server = ServerThread(tmp_path / "data")
    server.stop()
    server.stop()
    assert not server.thread.is_alive()
    assert server.loop.is_closed()


def test_options_and_store_factory_reach_the_server(tmp_path: Path) -> None:
    opened: list[Path] = []

    def factory(data_dir: Path) -> SqliteStore:
        opened.append(data_dir)
        return SqliteStore(data_dir)

    with ServerThread(tmp_path / "data", store_factory=factory, max_write_buffer=1234) as server:
        assert opened == [tmp_path / "data"]
        assert server.server.max_write_buffer == 1234
        assert server.server.store is not None


def test_a_server_that_cannot_start_leaves_no_thread_behind(tmp_path: Path) -> None:
    def broken(data_dir: Path) -> SqliteStore:
        raise OSError("no store here")

    with pytest.raises(OSError, match="no store here"):
        ServerThread(tmp_path / "data", store_factory=broken)
