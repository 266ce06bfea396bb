"""``lamina serve``: the process around one :class:`~lamina.server.app.LaminaServer`.

:func:`run_server` picks the store (the data directory's SQLite, or PostgreSQL), sets up the
log lines, serves until SIGINT or SIGTERM, and stops what the process started (the PostgreSQL
fan-out, the export workers).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from lamina.auth.keys import load_or_create_keypair, load_public_key
from lamina.server.admin import HostAdmin
from lamina.server.app import LaminaServer
from lamina.server.store import SqliteStore, Store

logger = logging.getLogger("lamina.server")


def load_keys(data_dir: Path, public_key_files: Sequence[Path]) -> list[bytes]:
    """Return the public keys that verify tokens: the given files, or the data dir's pair."""
    if public_key_files:
        return [load_public_key(path) for path in public_key_files]
    return [load_or_create_keypair(data_dir).public_pem]


class _BelowWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.WARNING


def run_server(
    *,
    data_dir: Path,
    host: str,
    port: int,
    public_key_files: Sequence[Path] = (),
    fsync: bool = False,
    api_token: str | None = None,
    database: str | None = None,
    reuse_port: bool = False,
) -> int:
    """Run the server until SIGINT or SIGTERM (``lamina serve``); return the exit status.

    ``fsync``: fsync every commit (survives power loss; a writer thread commits) instead of
    SQLite ``synchronous=NORMAL`` with commits on the loop (survives ``kill -9``).
    ``api_token``: the HTTP API's admin secret; None: the data directory's (made on first
    use, ``<data>/api-auth-token``, mode 0600).
    ``database``: a PostgreSQL URL to serve from instead of the data directory's SQLite.
    ``reuse_port``: share the port with other ``lamina serve --reuse-port`` processes.
    """
    server_logger = logging.getLogger("lamina.server")
    if not server_logger.isEnabledFor(logging.DEBUG):
        # Connection lines go to stderr too (warnings already do, through the root handler).
        info = logging.StreamHandler(sys.stderr)
        info.addFilter(_BelowWarning())
        info.setLevel(logging.INFO)
        info.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        server_logger.addHandler(info)
        server_logger.setLevel(logging.INFO)
    keys = load_keys(data_dir, public_key_files)
    if api_token is None:
        api_token = HostAdmin(data_dir).api_auth_token()
    if database is not None:
        # PostgreSQL (DESIGN §8): each commit is a network round trip, which the loop
        # awaits (lamina.server.writer); the data directory still holds the key pair.
        from lamina.server.store_postgres import PostgresStore

        store: Store = PostgresStore(database)
        fsync = True
    elif fsync:
        store = SqliteStore(data_dir, synchronous="FULL")
    else:
        store = SqliteStore(data_dir, synchronous="NORMAL", manual_checkpoints=True)
    return asyncio.run(
        _serve_until_signal(
            store,
            keys,
            host,
            port,
            inline_commits=not fsync,
            api_token=api_token,
            data_dir=data_dir,
            reuse_port=reuse_port,
        )
    )


async def _serve_until_signal(
    store: Store,
    keys: list[bytes],
    host: str,
    port: int,
    *,
    inline_commits: bool,
    api_token: str,
    data_dir: Path,
    reuse_port: bool,
) -> int:
    server = LaminaServer(
        store, keys, inline_commits=inline_commits, api_token=api_token, data_dir=data_dir
    )
    bound = await server.start(host, port, reuse_port=reuse_port)
    fanout = None
    if not isinstance(store, SqliteStore):  # (a laptop's server never loads psycopg)
        from lamina.server.fanout_postgres import start_fanout

        fanout = await start_fanout(server)  # PostgreSQL: other processes' commits reach ours
    shown = f"[{host}]" if ":" in host else host
    print(f"listening on ws://{shown}:{bound}", flush=True)
    logger.info("serving on %s:%d", host, bound)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logger.info("shutting down")
    if fanout is not None:
        await fanout.stop()
    await server.shutdown()
    from lamina.server.export import close_export_pool

    close_export_pool()  # a layer PDF still building has nobody left to receive it
    return 0
