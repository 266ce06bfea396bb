"""Verbs that host a review: ``serve``, ``doc add|list|layers|remove`` and ``revoke``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lamina.commands.common import add_data_option, data_dir_from

if TYPE_CHECKING:
    from lamina.server.admin import HostAdmin

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9787


def register(subparsers: Any) -> None:
    """Add ``serve``, ``doc`` and ``revoke`` to the ``lamina`` parser."""
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
        "--port", type=int, default=DEFAULT_PORT, help=f"port, 0 for any (default {DEFAULT_PORT})"
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
    add.add_argument("pdf", type=Path, metavar="FILE.pdf", help="the PDF to add")
    add.add_argument("--id", default=None, help="document id (default: a new ULID)")
    add.set_defaults(func=_doc_add)

    listing = doc_verbs.add_parser(
        "list", help="list documents", description="List documents: id, pages, base records."
    )
    add_common_options(listing)
    add_data_option(listing)
    listing.set_defaults(func=_doc_list)

    layers = doc_verbs.add_parser(
        "layers",
        help="list a document's layers",
        description="List a document's layers that have changes: name, seq, live records.",
    )
    add_common_options(layers)
    add_data_option(layers)
    layers.add_argument("document_id", metavar="ID")
    layers.set_defaults(func=_doc_layers)

    remove = doc_verbs.add_parser(
        "remove",
        help="remove a document and its layers",
        description="Remove a document, all its layers and (when unused) its PDF.",
    )
    add_common_options(remove)
    add_data_option(remove)
    remove.add_argument("document_id", metavar="ID")
    remove.set_defaults(func=_doc_remove)

    revoke = subparsers.add_parser(
        "revoke",
        help="revoke a token by its jti",
        description="Revoke every token with this jti; a running server closes their sessions.",
    )
    add_common_options(revoke)
    add_data_option(revoke)
    revoke.add_argument("jti", metavar="JTI")
    revoke.set_defaults(func=_revoke)


def _admin(args: argparse.Namespace) -> HostAdmin:
    from lamina.server.admin import HostAdmin

    return HostAdmin(data_dir_from(args))


def _serve(args: argparse.Namespace) -> int:
    import os

    from lamina.server.app import run_server

    return run_server(
        data_dir=data_dir_from(args),
        host=args.host,
        port=args.port,
        public_key_files=list(args.public_key),
        fsync=args.fsync,
        api_token=args.api_auth_token or os.environ.get("API_AUTH_TOKEN") or None,
        database=args.database,
    )


def _doc_add(args: argparse.Namespace) -> int:
    with _admin(args) as admin:
        info = admin.add_document(args.pdf, args.id)
    print(info.document_id)
    return 0


def _doc_list(args: argparse.Namespace) -> int:
    with _admin(args) as admin:
        documents = admin.documents()
    for d in documents:
        print(
            f"{d.document_id}\t{d.page_count} pages\t{d.base_record_count} base records\t"
            f"{d.filename}\t{d.added_at}"
        )
    return 0


def _doc_layers(args: argparse.Namespace) -> int:
    with _admin(args) as admin:
        layers = admin.layers(args.document_id)
    for layer in layers:
        name = layer.name if layer.name else '""'
        print(f"{name}\tseq {layer.seq}\t{layer.record_count} records")
    return 0


def _doc_remove(args: argparse.Namespace) -> int:
    with _admin(args) as admin:
        admin.remove_document(args.document_id)
    print(f"removed {args.document_id}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    with _admin(args) as admin:
        fresh = admin.revoke(args.jti)
    print(f"revoked {args.jti}" if fresh else f"{args.jti} was already revoked")
    return 0
