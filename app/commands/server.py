"""Verbs that host a review: ``serve``, ``doc add|list|layers|remove``, ``revoke`` and
``compact``.

The host verbs work on a local data directory (``--data``), or against a running server
through its HTTP API (``--server URL``, with the admin secret from ``--api-auth-token``,
``$API_AUTH_TOKEN`` or the data directory's ``api-auth-token``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lamina.commands.common import add_data_option, data_dir_from
from lamina.model.errors import LaminaError
from lamina.sync.validation import Limits

if TYPE_CHECKING:
    from lamina.server.admin import HostAdmin
    from lamina.server.compaction import Compaction
    from lamina.server.store import Store

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9787
API_TIMEOUT = 120.0
"""Seconds a host verb waits for the server's HTTP API."""


class ServeOptionError(LaminaError):
    """``lamina serve`` was given options that do not work together."""


class HostApiError(LaminaError):
    """The server's HTTP API refused a host verb (its message is the server's reason)."""


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        metavar="URL",
        default=None,
        help="a running server (http://HOST:PORT or ws://HOST:PORT): use its HTTP API "
        "instead of the local data directory",
    )
    parser.add_argument(
        "--api-auth-token",
        metavar="SECRET",
        default=None,
        help="the server's admin secret (default: $API_AUTH_TOKEN, else DATA/api-auth-token)",
    )


class _HostApi:
    """The admin side of a running server's HTTP API, for the host verbs."""

    def __init__(self, args: argparse.Namespace) -> None:
        import os

        url = str(args.server).rstrip("/")
        for scheme, http in (("ws://", "http://"), ("wss://", "https://")):
            if url.startswith(scheme):
                url = http + url[len(scheme) :]
        if url.endswith("/sync"):
            url = url[: -len("/sync")]
        self.base = url
        secret = args.api_auth_token or os.environ.get("API_AUTH_TOKEN")
        if not secret:
            path = data_dir_from(args) / "api-auth-token"
            try:
                secret = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise HostApiError(
                    f"no admin secret for {self.base}: give --api-auth-token or "
                    f"API_AUTH_TOKEN (cannot read {path}: {exc.strerror})"
                ) from exc
        self.secret = secret

    def call(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> Any:
        """Return the JSON reply of one request; raise HostApiError with the server's reason."""
        import json
        import urllib.error
        import urllib.request

        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Authorization": f'Token token="{self.secret}"'}
        if data is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=API_TIMEOUT) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            try:
                details = json.loads(exc.read()).get("details") or exc.reason
            except ValueError:
                details = exc.reason
            raise HostApiError(f"{self.base}: {exc.code} {details}") from exc
        except OSError as exc:
            raise HostApiError(f"cannot reach {self.base}: {exc}") from exc
        return json.loads(raw) if raw else {}


def register(subparsers: Any) -> None:
    """Add ``serve``, ``doc``, ``revoke`` and ``compact`` to the ``lamina`` parser."""
    from lamina.commands.common import add_common_options

    serve = subparsers.add_parser(
        "serve",
        help="run the sync server",
        description="Run the server: WebSocket sync at /sync, health at /healthz and "
        "/healthcheck, and Document Engine's HTTP API (/api/..., /openapi.json).",
    )
    add_common_options(serve)
    add_data_option(serve)
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address (default {DEFAULT_HOST})")
    serve.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"port, 0 for any (default {DEFAULT_PORT})",
    )
    serve.add_argument(
        "--public-key",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="PEM public key that verifies tokens (repeatable); default: the data dir's key pair",
    )
    serve.add_argument(
        "--fsync",
        action="store_true",
        help="fsync every commit, so acknowledged changes also survive a power loss "
        "(default: they survive the server being killed; slower under load)",
    )
    serve.add_argument(
        "--api-auth-token",
        default=None,
        metavar="SECRET",
        help='the HTTP API\'s admin secret (Authorization: Token token="SECRET"); default: '
        "$API_AUTH_TOKEN, else one generated into DATA/api-auth-token (mode 0600)",
    )
    serve.add_argument(
        "--database",
        default=None,
        metavar="URL",
        help="serve from PostgreSQL (postgresql://user@host/db) instead of the data "
        "directory's SQLite; several servers may share one (see `lamina migrate`)",
    )
    serve.add_argument(
        "--reuse-port",
        action="store_true",
        help="let several servers listen on one port (SO_REUSEPORT: the kernel spreads "
        "connections over them); with --database, they serve the same reviews",
    )
    Limits.add_arguments(serve)  # INTEGRITY (issue 11): --limit-NAME flags, DESIGN §10
    serve.set_defaults(func=_serve)

    doc = subparsers.add_parser(
        "doc", help="manage the server's documents", description="Manage the server's documents."
    )
    add_common_options(doc)
    doc_verbs = doc.add_subparsers(dest="doc_verb", metavar="ACTION", required=True)

    add = doc_verbs.add_parser(
        "add",
        help="add a PDF and print its id",
        description="Add a PDF and print its id (the same PDF again prints the same id).",
    )
    add_common_options(add)
    add_data_option(add)
    _add_server_options(add)
    add.add_argument("pdf", type=Path, metavar="FILE.pdf", help="the PDF to add")
    add.add_argument("--id", default=None, help="document id (default: a new ULID)")
    add.set_defaults(func=_doc_add)

    listing = doc_verbs.add_parser(
        "list", help="list documents", description="List documents: id, pages, base records."
    )
    add_common_options(listing)
    add_data_option(listing)
    _add_server_options(listing)
    listing.set_defaults(func=_doc_list)

    layers = doc_verbs.add_parser(
        "layers",
        help="list a document's layers",
        description="List a document's layers that have changes: name, seq, live records.",
    )
    add_common_options(layers)
    add_data_option(layers)
    _add_server_options(layers)
    layers.add_argument("document_id", metavar="ID")
    layers.set_defaults(func=_doc_layers)

    remove = doc_verbs.add_parser(
        "remove",
        help="remove a document and its layers",
        description="Remove a document, all its layers and (when unused) its PDF.",
    )
    add_common_options(remove)
    add_data_option(remove)
    _add_server_options(remove)
    remove.add_argument("document_id", metavar="ID")
    remove.set_defaults(func=_doc_remove)

    revoke = subparsers.add_parser(
        "revoke",
        help="revoke a token by its jti",
        description="Revoke every token with this jti; a running server closes their sessions.",
    )
    add_common_options(revoke)
    add_data_option(revoke)
    _add_server_options(revoke)
    revoke.add_argument("jti", metavar="JTI")
    revoke.set_defaults(func=_revoke)

    compact = subparsers.add_parser(
        "compact",
        help="drop history no replica needs (tombstones, remembered change ids)",
        description="Compact every layer's history now, as a running server does every "
        "15 minutes: tombstones and applied change ids below the lowest seq a known replica "
        'acknowledged, or older than the retention, are dropped (README "History and '
        'compaction"). Safe beside running servers.',
    )
    add_common_options(compact)
    add_data_option(compact)
    _add_server_options(compact)
    compact.add_argument(
        "--database",
        default=None,
        metavar="URL",
        help="compact this PostgreSQL store instead of the data directory's SQLite",
    )
    compact.add_argument(
        "--retention",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"keep history this long for replicas away (default "
        f"{Limits.history_retention:.0f}, 30 days; as serve --limit-history-retention)",
    )
    compact.set_defaults(func=_compact)


def _admin(args: argparse.Namespace) -> HostAdmin:
    from lamina.server.admin import HostAdmin

    return HostAdmin(data_dir_from(args))


def _serve(args: argparse.Namespace) -> int:
    import os

    from lamina.server.serve import run_server
    from lamina.sync.validation import configure_limits

    configure_limits(Limits.from_args(args))
    if args.reuse_port and args.database is None:
        # Processes sharing a port must share one truth: rooms of two SQLite processes
        # would not see each other's commits.
        raise ServeOptionError("--reuse-port needs --database: the processes must share a store")
    return run_server(
        data_dir=data_dir_from(args),
        host=args.host,
        port=args.port,
        public_key_files=list(args.public_key),
        fsync=args.fsync,
        api_token=args.api_auth_token or os.environ.get("API_AUTH_TOKEN") or None,
        database=args.database,
        reuse_port=args.reuse_port,
    )


def _compact(args: argparse.Namespace) -> int:
    from lamina.server.compaction import Compaction, compact_store

    if args.server:
        query = "" if args.retention is None else f"?retention={args.retention}"
        reply = _HostApi(args).call("POST", "/api/compact" + query)
        _print_compactions([Compaction(**c) for c in reply["data"]])
        return 0
    store: Store
    if args.database is not None:
        from lamina.server.store_postgres import PostgresStore

        store = PostgresStore(args.database)
    else:
        from lamina.server.store_sqlite import SqliteStore

        store = SqliteStore(data_dir_from(args))
    retention = Limits.history_retention if args.retention is None else args.retention
    try:
        _print_compactions(compact_store(store, retention))
    finally:
        store.close()
    return 0


def _print_compactions(done: list[Compaction]) -> None:
    for c in done:
        print(
            f"{c.document_id}\t{c.layer!r}\thorizon {c.horizon}\t"
            f"{c.tombstones} tombstones, {c.change_ids} change ids dropped"
        )


def _doc_add(args: argparse.Namespace) -> int:
    if args.server:
        try:
            pdf = args.pdf.read_bytes()
        except OSError as exc:
            raise HostApiError(f"cannot read {args.pdf}: {exc.strerror}") from exc
        path = "/api/documents"
        api = _HostApi(args)
        if args.id:
            import urllib.parse

            query = urllib.parse.urlencode({"document_id": args.id, "title": args.pdf.name})
            path = f"{path}?{query}"
        print(api.call("POST", path, pdf, "application/pdf")["data"]["document_id"])
        return 0
    with _admin(args) as admin:
        info = admin.add_document(args.pdf, args.id)
    print(info.document_id)
    return 0


def _doc_list(args: argparse.Namespace) -> int:
    if args.server:
        api = _HostApi(args)
        cursor: str | None = None
        while True:
            page = api.call(
                "GET",
                "/api/documents?order_direction=asc&page_size=100"
                + (f"&cursor={cursor}" if cursor else ""),
            )
            for d in page["data"]:
                print(f"{d['document_id']}\t{d['byteSize']} bytes\t{d['title']}\t{d['createdAt']}")
            cursor = page.get("next_cursor")
            if not cursor:
                return 0
    with _admin(args) as admin:
        documents = admin.documents()
    for d in documents:
        print(
            f"{d.document_id}\t{d.page_count} pages\t{d.base_record_count} base records\t"
            f"{d.filename}\t{d.added_at}"
        )
    return 0


def _doc_layers(args: argparse.Namespace) -> int:
    if args.server:
        for name in _HostApi(args).call("GET", f"/api/documents/{args.document_id}/layers")["data"]:
            print(name)
        return 0
    with _admin(args) as admin:
        layers = admin.layers(args.document_id)
    for layer in layers:
        name = layer.name if layer.name else '""'
        print(f"{name}\tseq {layer.seq}\t{layer.record_count} records")
    return 0


def _doc_remove(args: argparse.Namespace) -> int:
    if args.server:
        _HostApi(args).call("DELETE", f"/api/documents/{args.document_id}")
        print(f"removed {args.document_id}")
        return 0
    with _admin(args) as admin:
        admin.remove_document(args.document_id)
    print(f"removed {args.document_id}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    if args.server:
        _HostApi(args).call("POST", "/api/revoke", {"jtis": [args.jti]})
        print(f"revoked {args.jti}")
        return 0
    with _admin(args) as admin:
        fresh = admin.revoke(args.jti)
    print(f"revoked {args.jti}" if fresh else f"{args.jti} was already revoked")
    return 0


def port_number(text: str) -> int:
    """Parse ``--port``: 0 (any free port) to 65535, else a one-line usage error."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range (0 to 65535)")
    return port
