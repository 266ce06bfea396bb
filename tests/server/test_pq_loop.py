"""The loop-driven PostgreSQL connection (:mod:`lamina.server.pq_loop`) as the fan-out's
LISTEN connection uses it: notifications, a lost idle connection, scripts that fail whole."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from lamina.server.pq_loop import LoopConnection, StatementError
from psycopg.conninfo import make_conninfo

from tests.support.waiting import async_test, eventually


def _terminate(url: str, application_name: str) -> int:
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchall()
    return len(rows)


@async_test
async def test_a_notification_is_handed_over_by_the_read_that_brought_it(
    postgres_url: str,
) -> None:
    notes: list[tuple[str, str]] = []
    conn = LoopConnection(postgres_url, {}, on_notify=lambda c, p: notes.append((c, p)))
    try:
        await conn.script(b"LISTEN lamina_test_a; LISTEN lamina_test_b")
        with psycopg.connect(postgres_url, autocommit=True) as other:
            other.execute("SELECT pg_notify('lamina_test_b', 'one')")
            other.execute("SELECT pg_notify('lamina_test_c', 'not listened')")
            other.execute("SELECT pg_notify('lamina_test_a', 'two')")
        # Nothing is asked of the connection meanwhile: the loop reads them as they come.
        await eventually(lambda: len(notes) >= 2, what="both notifications")
        assert notes == [("lamina_test_b", "one"), ("lamina_test_a", "two")]
        # A notification that comes while a statement is in flight is handed over too.
        with psycopg.connect(postgres_url, autocommit=True) as other:
            other.execute("SELECT pg_notify('lamina_test_a', 'three')")
            await conn.script(b"SELECT pg_sleep(0.2)")
        await eventually(lambda: len(notes) == 3, what="the third notification")
        assert notes[2] == ("lamina_test_a", "three")
    finally:
        conn.close()


@pytest.mark.expect_error_log("handling a notification on")
@async_test
async def test_a_failing_notification_handler_does_not_stop_the_connection(
    postgres_url: str,
) -> None:
    notes: list[str] = []

    def handler(channel: str, payload: str) -> None:
        if payload == "bad":
            raise ValueError("a handler's bug")
        notes.append(payload)

    conn = LoopConnection(postgres_url, {}, on_notify=handler)
    try:
        await conn.script(b"LISTEN lamina_test")
        with psycopg.connect(postgres_url, autocommit=True) as other:
            other.execute("SELECT pg_notify('lamina_test', 'bad')")
            other.execute("SELECT pg_notify('lamina_test', 'good')")
        await eventually(lambda: notes == ["good"], what="the notification after the bad one")
        assert conn.is_open
    finally:
        conn.close()


@async_test
async def test_a_lost_idle_connection_says_so_and_opens_again(postgres_url: str) -> None:
    lost = asyncio.Event()
    name = "lamina-test-lost"
    conn = LoopConnection(make_conninfo(postgres_url, application_name=name), {}, on_lost=lost.set)
    try:
        await conn.script(b"LISTEN lamina_test")
        assert conn.is_open
        assert _terminate(postgres_url, name) == 1
        # No statement is in flight: only the loop's read of the socket can tell.
        await asyncio.wait_for(lost.wait(), 30)
        assert not conn.is_open
        result = await conn.script(b"SELECT 41 + 1")
        assert result.get_value(0, 0) == b"42"
    finally:
        conn.close()


@async_test
async def test_a_script_that_fails_takes_no_effect(postgres_url: str) -> None:
    conn = LoopConnection(postgres_url, {})
    try:
        with pytest.raises(StatementError, match="division by zero") as failed:
            await conn.script(b"CREATE TABLE lamina_test_t (x int); SELECT 1 / 0")
        assert failed.value.sqlstate == "22012"
        # One transaction: the table the first statement made is gone with it, and the
        # connection takes the next statement.
        result = await conn.script(b"SELECT to_regclass('lamina_test_t') IS NULL")
        assert result.get_value(0, 0) == b"t"
    finally:
        conn.close()
