"""The child-process server harness: `lamina serve` started, SIGKILLed, restarted, stopped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.log_guard import LogGuard
from tests.support.protocol_client import create, join, run
from tests.support.server_process import ServerProcess, error_entries


@pytest.mark.slow
def test_an_acked_change_survives_sigkill_and_the_restart_keeps_the_url(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server")
    doc = server.add_document()
    server.start()
    try:
        url = server.url
        assert url.startswith("ws://127.0.0.1:") and server.port > 0

        async def push() -> str:
            client, _, _ = await join(server.sync_url, server.token(doc, user_id="ann"))
            ack = await client.push(create(record_id=None))
            assert ack["results"][0]["status"] == "applied"
            record_id: str = ack["results"][0]["record_id"]
            return record_id

        record_id = run(push())
        server.kill()
        assert server.proc is None
        assert record_id in server.layer_records(doc)

        server.start()
        assert server.url == url
        seen = run(_catch_up_ids(server, doc))
        assert record_id in seen
    finally:
        server.stop()
    assert server.proc is None
    server.stop()  # idempotent


async def _catch_up_ids(server: ServerProcess, doc: str) -> set[str]:
    _, _, catch_up = await join(server.sync_url, server.token(doc, user_id="bob"))
    return {r["id"] for r in catch_up.get("records") or []}


def test_a_child_that_cannot_start_raises_with_its_stderr(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server", args=["--public-key", str(tmp_path / "none")])
    with pytest.raises(RuntimeError, match=r"exited before listening: (?s:.*)lamina: error"):
        server.start()
    assert server.proc is None


def test_the_url_is_unknown_until_a_port_is_chosen(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="start it first"):
        _ = ServerProcess(tmp_path / "server").url
    assert ServerProcess(tmp_path / "server", 4321).sync_url == "ws://127.0.0.1:4321/sync"


STDERR = """\
Traceback (most recent call last):
  File "x.py", line 1, in <module>
ImportError: early
2026-01-02 03:04:05,678 WARNING lamina.server: slow client dropped
2026-01-02 03:04:05,679 ERROR lamina.server: room d/'' closed: store write failed
2026-01-02 03:04:05,680 INFO lamina.server: connection closed
2026-01-02 03:04:05,681 ERROR lamina.client: event subscriber failed
Traceback (most recent call last):
  File "y.py", line 2, in callback
ZeroDivisionError: division by zero
2026-01-02 03:04:05,682 CRITICAL lamina: uncaught exception
"""


def test_error_entries_are_the_error_records_with_their_tracebacks() -> None:
    entries = error_entries(STDERR)
    assert len(entries) == 4
    assert entries[0].startswith("Traceback") and entries[0].endswith("ImportError: early")
    assert entries[1].endswith("ERROR lamina.server: room d/'' closed: store write failed")
    assert entries[2].startswith("2026-01-02 03:04:05,681 ERROR lamina.client: event subscriber")
    assert entries[2].endswith("ZeroDivisionError: division by zero")
    assert entries[3].endswith("CRITICAL lamina: uncaught exception")
    assert error_entries("2026-01-02 03:04:05,678 WARNING lamina: fine\n") == []


def _fake_serve(stderr: str, status_on_sigterm: int) -> list[str]:
    """A stand-in for `lamina serve`: writes ``stderr``, listens, exits on SIGTERM."""
    script = (
        "import signal, sys, time\n"
        f"signal.signal(signal.SIGTERM, lambda *a: sys.exit({status_on_sigterm}))\n"
        f"sys.stderr.write({stderr!r}); sys.stderr.flush()\n"
        "print('listening on ws://127.0.0.1:4321', flush=True)\n"
        "time.sleep(60)\n"
    )
    return [sys.executable, "-c", script]


def test_what_the_child_logged_at_error_is_logged_again_in_the_test(
    tmp_path: Path, fail_on_error_log: LogGuard
) -> None:
    server = ServerProcess(tmp_path / "server")
    server.command = _fake_serve(STDERR, 0)
    server.start()
    assert server.port == 4321
    server.stop()
    failure = fail_on_error_log.take_failure()
    assert failure is not None and failure.startswith("4 unexpected log record(s)")
    assert "lamina serve (pid " in failure and "ZeroDivisionError" in failure


def test_a_child_that_stops_with_a_failure_status_is_an_error(
    tmp_path: Path, fail_on_error_log: LogGuard
) -> None:
    server = ServerProcess(tmp_path / "server")
    server.command = _fake_serve("", 3)
    server.start()
    server.stop()
    failure = fail_on_error_log.take_failure()
    assert failure is not None and "exited with status 3" in failure


def test_with_a_database_documents_and_records_live_in_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    server = ServerProcess(tmp_path / "server", database=postgres_url)
    doc = server.add_document()
    server.start()
    try:

        async def push() -> str:
            client, _, _ = await join(server.sync_url, server.token(doc))
            ack = await client.push(create())
            record_id: str = ack["results"][0]["record_id"]
            return record_id

        record_id = run(push())
        assert record_id in server.layer_records(doc)
    finally:
        server.stop()
    assert not list((tmp_path / "server").glob("*.sqlite3"))
