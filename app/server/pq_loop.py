"""A PostgreSQL connection the event loop drives: one statement at a time, through libpq's
non-blocking API (:mod:`psycopg.pq`), with no thread and no Python per wait.

The group-commit writer's commits on PostgreSQL go through it
(:meth:`lamina.server.store_postgres.PostgresStore.commit_on_loop`), and so do the fan-out's
LISTEN connection and its reads of what other processes committed
(:mod:`lamina.server.fanout_postgres`). A thread cost, per commit or notification, a
hand-off each way (the queue's wake-up of the thread, ``call_soon_threadsafe`` back) and the
two threads' fight for the GIL on a busy machine (up to the interpreter's 5 ms switch
interval: 1.2 ms p99 and 6 ms at worst for a notification's hand-off, measured); psycopg's
``AsyncConnection`` costs a future and a reader registration for each wait of each
statement. Here the connection's socket stays registered with the loop while the connection
is open; a statement costs one send, and one read when its result arrives, and a
notification is handed to ``on_notify`` in the read that brought it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import psycopg
from lamina.server.errors import StoreError
from psycopg import pq

logger = logging.getLogger("lamina.server")


class StatementError(StoreError):
    """PostgreSQL refused the statement (the connection stays usable).

    Attributes:
        sqlstate: the error's SQLSTATE (``"LA001"``, ``"40001"``, ...), or None.
    """

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class LoopConnection:
    """One connection, one statement in flight, driven by the running event loop.

    Args:
        conninfo: a libpq connection string or ``postgresql://`` URL.
        statements: name to SQL (``$1``-style parameters) of every statement it runs with
            :meth:`execute`, prepared once per connection.
        on_notify: called with the channel and payload of every notification the
            connection receives (it must have LISTENed), on the loop.
        on_lost: called once each time an open connection is lost or closed.

    Opens on first use and after a lost connection (the statement that found it lost
    fails with :class:`~lamina.server.errors.StoreError`: it may or may not have run).
    """

    def __init__(
        self,
        conninfo: str,
        statements: dict[bytes, bytes],
        on_notify: Callable[[str, str], None] | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self._conninfo = conninfo.encode()
        self._statements = statements
        self._on_notify = on_notify
        self._on_lost = on_lost
        self._pg: pq.abc.PGconn | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._results: list[pq.abc.PGresult] = []
        self._fd = -1  # the socket's, kept: a lost connection no longer tells it

    async def execute(self, name: bytes, params: Sequence[bytes | None]) -> pq.abc.PGresult:
        """Run the prepared statement ``name`` with text ``params``; return its result.

        Raises:
            StatementError: PostgreSQL answered with an error.
            StoreError: cannot connect, or the connection was lost (the statement may
                have run).
        """
        return await self._run(lambda pg: pg.send_query_prepared(name, params))

    async def script(self, statements: bytes) -> pq.abc.PGresult:
        """Run ``statements`` (one or more, ``;``-separated, no parameters: the simple query
        protocol, one round trip, one transaction unless they say otherwise); return the
        last one's result.

        Raises:
            StatementError: a statement failed (the ones after it did not run, and none
                of them took effect).
            StoreError: as for :meth:`execute`.
        """
        return await self._run(lambda pg: pg.send_query(statements))

    @property
    def is_open(self) -> bool:
        """Whether the connection is open (it opens on the next statement otherwise)."""
        return self._pg is not None and self._pg.status == pq.ConnStatus.OK

    async def _run(self, send: Callable[[pq.abc.PGconn], None]) -> pq.abc.PGresult:
        if self._waiter is not None:
            raise RuntimeError("LoopConnection runs one statement at a time")
        pg = await self._connection()
        loop = asyncio.get_running_loop()
        waited = False
        try:
            send(pg)
            while pg.flush() == 1:
                waited = True  # a large statement: wait until the socket takes it
                writable = loop.create_future()
                loop.add_writer(self._fd, _settle, writable)
                try:
                    await writable
                finally:
                    loop.remove_writer(self._fd)
        except psycopg.Error as exc:
            self._drop()
            raise StoreError(f"the connection to PostgreSQL was lost: {exc}") from exc
        self._results = []
        self._waiter = loop.create_future()
        if waited:
            self._readable()  # a reply read while the statement was being sent
        try:
            await self._waiter  # settled by _readable once the last result is in
        finally:
            self._waiter = None
        return _one(self._results)

    def close(self) -> None:
        """Close the connection (a statement in flight fails)."""
        self._drop()

    async def _connection(self) -> pq.abc.PGconn:
        pg = self._pg
        if pg is not None and pg.status == pq.ConnStatus.OK:
            return pg
        self._drop()
        loop = asyncio.get_running_loop()
        # Connecting and preparing wait for PostgreSQL: on a worker thread, not the loop.
        pg = await loop.run_in_executor(None, self._open)
        pg.nonblocking = 1
        self._pg, self._loop, self._fd = pg, loop, pg.socket
        loop.add_reader(self._fd, self._readable)
        return pg

    def _open(self) -> pq.abc.PGconn:
        pg = pq.PGconn.connect(self._conninfo)
        if pg.status != pq.ConnStatus.OK:
            message = pg.get_error_message()
            pg.finish()
            raise StoreError(f"cannot connect to PostgreSQL: {message}")
        for name, sql in self._statements.items():
            result = pg.prepare(name, sql)
            if result.status != pq.ExecStatus.COMMAND_OK:
                message = result.get_error_message()
                pg.finish()
                raise StoreError(f"cannot prepare a statement on PostgreSQL: {message}")
        return pg

    def _readable(self) -> None:
        pg = self._pg
        if pg is None:
            return
        waiter = self._waiter
        done = False
        try:
            pg.consume_input()
            while waiter is not None and not pg.is_busy():
                result = pg.get_result()
                if result is None:  # the statement's last result is in
                    done = True
                    break
                self._results.append(result)
            if self._on_notify is not None:
                self._notified(pg, self._on_notify)
        except psycopg.Error as exc:
            error: str = str(exc)
        else:
            if done:
                assert waiter is not None
                _settle(waiter)
                return
            if pg.status == pq.ConnStatus.OK:
                return  # more to come (or nothing asked: a notification, a notice)
            error = pg.get_error_message()
        self._drop()
        if waiter is not None and not waiter.done():
            waiter.set_exception(StoreError(f"the connection to PostgreSQL was lost: {error}"))

    @staticmethod
    def _notified(pg: pq.abc.PGconn, on_notify: Callable[[str, str], None]) -> None:
        while (note := pg.notifies()) is not None:
            try:
                # Not ours to trust: a bad payload is the handler's to refuse, in one line.
                on_notify(
                    note.relname.decode(errors="replace"), note.extra.decode(errors="replace")
                )
            except Exception:  # one bad handler must not stop the connection's reads
                logger.exception("handling a notification on %r failed", note.relname)

    def _drop(self) -> None:
        pg, self._pg = self._pg, None
        if pg is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._fd)
            pg.finish()
            if self._on_lost is not None:
                self._on_lost()


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def text_rows(result: pq.abc.PGresult) -> list[list[str | None]]:
    """Return the rows of a text-format ``result``, each value decoded (None: NULL)."""
    columns = range(result.nfields)
    get = result.get_value
    return [
        [None if (v := get(row, col)) is None else v.decode() for col in columns]
        for row in range(result.ntuples)
    ]


def _one(results: list[pq.abc.PGresult]) -> pq.abc.PGresult:
    """Return the statement's result, or raise the error it is."""
    for result in results:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            state = result.error_field(pq.DiagnosticField.SQLSTATE)
            message = result.get_error_message()
            raise StatementError(message.strip(), state.decode() if state else None)
    if not results:
        raise StoreError("PostgreSQL sent no result")
    return results[-1]
