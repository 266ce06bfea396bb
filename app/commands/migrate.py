"""The ``migrate`` verb: move a review from a data directory's SQLite store to PostgreSQL."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``migrate`` to the ``lamina`` parser."""
    from lamina.commands.common import add_common_options

    migrate = subparsers.add_parser(
        "migrate",
        help="copy a data directory's review into PostgreSQL",
        description="Copy every document, layer, record and revoked token of a data "
        "directory's store into an empty PostgreSQL database, keeping epochs and sequence "
        "numbers, so clients reconnect to `lamina serve --database URL` and continue. The "
        "data directory is only read; keep it for its key pair (serve with --data DIR).",
    )
    add_common_options(migrate)
    migrate.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        metavar="DATA_DIR",
        help="the server data directory to copy",
    )
    migrate.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="the PostgreSQL database, e.g. postgresql://user@host/lamina",
    )
    migrate.set_defaults(func=_migrate)


def _migrate(args: argparse.Namespace) -> int:
    from lamina.server.errors import StoreError
    from lamina.server.migrate_data import copy_store
    from lamina.server.store_postgres import PostgresStore
    from lamina.server.store_sqlite import DATABASE_NAME, SqliteStore

    if not (args.source / DATABASE_NAME).is_file():
        raise StoreError(f"{args.source} holds no lamina store ({DATABASE_NAME})")
    from lamina.server.admin import HostAdmin

    source = SqliteStore(args.source)
    try:
        admin = HostAdmin(args.source, store=source)
        named = {
            d.document_id: admin.invited_layers(d.document_id) for d in source.list_documents()
        }
        target = PostgresStore(args.target)
        try:
            summary = copy_store(source, target, named)
        finally:
            target.close()
    finally:
        source.close()
    print(f"copied {summary} from {args.source} to {target!r}")
    return 0
