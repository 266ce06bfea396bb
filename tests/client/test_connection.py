"""The connection shell: the sync address, one-shot failures, reconnects (real sockets)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from lamina.client.connection import Connection, EventLog, sync_url
from lamina.client.errors import AccessLostError, ClientError, ConnectionFailedError
from lamina.client.events import ConnectionState
from lamina.sync import client_session as cs
from lamina.sync.client_session import ClientSession

from tests.client.conftest import FAST, ServerProcess, async_test, free_port, note


def test_sync_url_points_at_the_sync_endpoint() -> None:
    assert sync_url("ws://192.168.1.20:8765") == "ws://192.168.1.20:8765/sync"
    assert sync_url("wss://review.example.org/") == "wss://review.example.org/sync"
    assert sync_url("ws://h:1/custom") == "ws://h:1/custom"


class _Recorder(EventLog):
    """Records the order of the listener calls (fakes at the edge only: the socket is real)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def connection_changed(self, state: ConnectionState, reason: str) -> None:
        self.calls.append(state.value)

    def sending(self) -> None:
        self.calls.append("sending")

    def received(self, events: Sequence[cs.ClientEvent]) -> None:
        super().received(events)
        self.calls.append("received")

    def caught_up(self) -> None:
        self.calls.append("caught-up")

    def connection_lost(self) -> None:
        self.calls.append("lost")

    def stopped(self, error: ClientError) -> None:
        self.calls.append("gave-up")


@async_test
async def test_a_one_shot_connection_to_nothing_stops_with_the_address() -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    log = _Recorder()
    connection = Connection(ClientSession.new(), url, "x.y.z", listener=log)
    connection.start()
    with pytest.raises(ConnectionFailedError, match=f"cannot connect to {url}/sync"):
        await connection.wait_until(lambda: connection.is_open)
    assert connection.state is ConnectionState.STOPPED
    assert log.calls == ["connecting", "lost", "stopped", "gave-up"]
    await connection.stop()


@async_test
async def test_a_refused_token_stops_for_good(server: ServerProcess) -> None:
    token = server.invite().token[:-4] + "AAAA"  # the signature no longer matches
    connection = Connection(ClientSession.new(), server.url, token, listener=EventLog())
    connection.start()
    with pytest.raises(AccessLostError, match="the server refused access"):
        await connection.wait_until(lambda: connection.is_open, idle_timeout=30)
    assert connection.state is ConnectionState.STOPPED and not connection.running
    await connection.stop()


@async_test
async def test_sent_marks_are_made_durable_before_frames_go_and_drops_reconnect(
    server: ServerProcess,
) -> None:
    session = ClientSession.new()
    log = _Recorder()
    connection = Connection(session, server.url, server.invite().token, listener=log, backoff=FAST)
    connection.start()
    await connection.wait_until(lambda: connection.is_open, idle_timeout=30)
    assert log.calls[:2] == ["connecting", "received"] and "caught-up" in log.calls
    assert connection.state is ConnectionState.ONLINE
    log.calls.clear()
    session.create("annotation", note("over the wire"))
    session.flush()
    connection.kick()
    await connection.wait_until(lambda: not session.has_pending(), idle_timeout=30)
    assert log.calls[0] == "sending"  # before the push could be applied (sync §4.2)

    server.kill()
    await connection.wait_until(lambda: connection.state is ConnectionState.RECONNECTING)
    assert "lost" in log.calls and connection.running
    server.start()
    await connection.wait_until(lambda: connection.is_open, idle_timeout=30)
    assert connection.state is ConnectionState.ONLINE
    await connection.stop("done")
    assert connection.state is ConnectionState.OFFLINE and connection.reason == "done"


@async_test
async def test_a_server_silent_but_answering_pings_is_waited_for_and_a_frozen_one_is_not(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait's timeout counts progress (frames or pongs), not the whole wait (issue 15:
    ``layer-pdf`` gave up after 15 s while the server was still building)."""
    import asyncio
    import os
    import signal

    from lamina.client import connection as connection_module

    monkeypatch.setattr(connection_module, "PROBE_INTERVAL", 0.1, raising=False)
    connection = Connection(ClientSession.new(), server.url, server.token(), listener=EventLog())
    connection.start()
    try:
        await connection.wait_until(lambda: connection.is_open, idle_timeout=10)
        loop = asyncio.get_running_loop()
        until = loop.time() + 1.5  # no frame at all meanwhile: the server has nothing to say
        await connection.wait_until(lambda: loop.time() >= until, idle_timeout=0.5)
        assert connection.is_open

        assert server.proc is not None
        os.kill(server.proc.pid, signal.SIGSTOP)  # answers nothing, not even a ping
        try:
            with pytest.raises(ConnectionFailedError, match=r"nothing for 0\.5 s"):
                await connection.wait_until(lambda: False, idle_timeout=0.5)
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
    finally:
        await connection.stop()


@async_test
async def test_a_big_snapshot_is_taken_out_of_the_cyclic_collectors_walks(
    stopped_server: ServerProcess,
) -> None:
    """Issue 15: full collections walked every record taken in again and again while a
    100,000-record snapshot streamed in (a third of the join); a bulk frame's records are
    frozen (``gc.freeze``) instead."""
    import gc

    from lamina.model.ids import RecordId
    from lamina.server.store import LayerWrite, SqliteStore
    from lamina.sync.state import RecordState

    store = SqliteStore(stopped_server.data_dir)
    try:
        epoch = store.get_document("doc").epoch  # type: ignore[union-attr]
        records = [
            RecordState(
                RecordId(f"r{i:05d}"), "annotation", 1, i + 1, {**note(f"{i}"), "id": f"r{i:05d}"}
            )
            for i in range(1500)
        ]
        store.commit([LayerWrite("doc", "", epoch, 1500, records)])
    finally:
        store.close()
    stopped_server.start()
    gc.unfreeze()
    connection = Connection(
        ClientSession.new(), stopped_server.url, stopped_server.token(), listener=EventLog()
    )
    connection.start()
    try:
        await connection.wait_until(lambda: connection.is_open, idle_timeout=30)
        assert len(connection.session.state.replica) >= 1500
        assert gc.get_freeze_count() > 1500 * 5  # the records' objects, not the collector's
    finally:
        gc.unfreeze()
        await connection.stop()
