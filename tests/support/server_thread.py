"""The one in-process server harness: a real :class:`LaminaServer` on a thread of its own.

The server listens on 127.0.0.1, port 0 (the OS picks a free port), and keeps a real SQLite
store in the data directory the test gives it (a ``tmp_path``), exactly as ``lamina serve``
runs it without ``--fsync``. The test keeps its own event loop (``asyncio.run``) for the
clients; the server's loop runs on the harness's thread, so a client that blocks cannot
stall the server, and a test can stop the server in the middle of a scenario.

With ``database=`` (a URL from the ``postgres_url`` fixture, :mod:`tests.support.postgres`) it
serves from PostgreSQL instead, as ``lamina serve --database`` does; :meth:`ServerThread.open_store`
opens the same store either way.

For a server the test can SIGKILL, use :class:`tests.support.server_process.ServerProcess`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from lamina.auth import mint_token
from lamina.auth.keys import KeyPair, load_or_create_keypair
from lamina.server.app import LaminaServer
from lamina.server.documents import add_document_file
from lamina.server.fanout_postgres import PostgresFanout
from lamina.server.store import SqliteStore, Store
from lamina.server.store_postgres import PostgresStore

from tests.support.corpus import STAMPS, corpus_pdf

T = TypeVar("T")

StoreFactory = Callable[[Path], Store]


def serve_store(data_dir: Path) -> SqliteStore:
    """Open the store as ``lamina serve`` does without ``--fsync``."""
    return SqliteStore(data_dir, synchronous="NORMAL", manual_checkpoints=True)


def add_corpus_document(data_dir: Path, prefix: str = STAMPS, document_id: str = "stamps") -> str:
    """Add a corpus PDF to the store in ``data_dir`` (as ``lamina doc add``); return its id.

    The store is opened and closed around the call, so it works beside a running server.
    """
    store = SqliteStore(data_dir)
    try:
        return add_document_file(store, corpus_pdf(prefix), document_id).document_id
    finally:
        store.close()


async def _finish_loop() -> None:
    current = asyncio.current_task()
    leftovers = [task for task in asyncio.all_tasks() if task is not current]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
    loop = asyncio.get_running_loop()
    await loop.shutdown_asyncgens()
    await loop.shutdown_default_executor()


class ServerThread:
    """A LaminaServer running on its own event loop in a daemon thread, started at once.

    Args:
        data_dir: the server's data directory (keys and SQLite store), created if missing.
        store_factory: opens the store in ``data_dir`` (a fake disk, a writer-thread store);
            default :func:`serve_store`.
        database: a PostgreSQL URL: serve from a :class:`PostgresStore` there (commits on
            the writer thread, as ``lamina serve --database``) instead of SQLite in
            ``data_dir`` (which still holds the keys).
        **options: keyword arguments of :class:`LaminaServer` (``max_write_buffer``,
            ``inline_commits``).

    Attributes:
        port: the port the OS chose; ``url`` is ``ws://127.0.0.1:PORT/sync``.
        keypair: the data directory's signing key (see :meth:`token`).
        server: the running :class:`LaminaServer`.
    """

    def __init__(
        self,
        data_dir: Path,
        store_factory: StoreFactory | None = None,
        *,
        database: str | None = None,
        **options: Any,
    ) -> None:
        self.data_dir = data_dir
        self.database = database
        if database is not None:
            # As ``lamina serve --database``: PostgreSQL, commits on the writer thread.
            store_factory = store_factory or (lambda _: PostgresStore(database))
            options.setdefault("inline_commits", False)
        self.store_factory: StoreFactory = store_factory or serve_store
        self.options = options
        self.fanout: PostgresFanout | None = None
        self.keypair: KeyPair = load_or_create_keypair(data_dir)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="lamina-test-server", daemon=True
        )
        self.thread.start()
        self._stopped = False
        try:
            self.server: LaminaServer = self.call(self._make())
            self.port: int = self.call(self.server.start("127.0.0.1", 0))
        except BaseException:
            self._stop_loop()
            raise
        self.url = f"ws://127.0.0.1:{self.port}/sync"

    async def _make(self) -> LaminaServer:
        # Made on the server's loop: the server's asyncio objects belong to that loop.
        store = self.store_factory(self.data_dir)
        server = LaminaServer(store, [self.keypair.public_pem], **self.options)
        if isinstance(store, PostgresStore):
            # As lamina serve --database: commits of other processes reach this one's rooms.
            self.fanout = PostgresFanout(server, store)
            await self.fanout.start()
        return server

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run ``coro`` on the server's loop and return its result (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        """Shut the server down (commit, close every connection with 1001); idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if self.fanout is not None:
                self.call(self.fanout.stop())
            self.call(self.server.shutdown())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._stopped = True
        # As asyncio.run ends a loop: what is left is cancelled and the executor joined.
        self.call(_finish_loop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()

    def token(self, document_id: str, **claims: Any) -> str:
        """Mint a token this server trusts (claims as :func:`lamina.auth.mint_token` takes)."""
        return mint_token(self.keypair, document_id=document_id, **claims)

    def add_document(self, prefix: str = STAMPS, document_id: str = "stamps") -> str:
        """Add a corpus PDF as a document of this server; return its id."""
        if self.database is None:
            return add_corpus_document(self.data_dir, prefix, document_id)
        store = self.open_store()
        try:
            return add_document_file(store, corpus_pdf(prefix), document_id).document_id
        finally:
            store.close()

    def open_store(self) -> Store:
        """Open another store on this server's data (as ``lamina doc`` would); close it."""
        if self.database is None:
            return SqliteStore(self.data_dir)
        return PostgresStore(self.database)

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
