"""Verbs for backend scripts: ``push``, ``pull``, ``layer-pdf`` and ``layers`` of one token.

They are the command-line equivalents of Document Engine's layer endpoints
(``apply_instant_json``, ``document.json``, ``/layers/{layer}/pdf``) and speak the sync
protocol (app/sync) over one WebSocket, as any client does, so the server enforces the token's
permissions on them exactly as on the desktop app.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lamina.model.errors import LaminaError

if TYPE_CHECKING:
    from lamina.client.connection import Connection, EventLog
    from lamina.model.instant_json import InstantDocument

CONNECT_TIMEOUT = 15.0
"""Seconds the server may answer nothing, no frame and not even a ping, before a verb gives
up; a server that is busy (building a big layer PDF) but alive is waited for."""


class ScriptError(LaminaError):
    """A scripting verb could not do its job (server unreachable, refused, ...)."""


def register(subparsers: Any) -> None:
    """Add ``push``, ``pull`` and ``layer-pdf`` to the ``lamina`` parser."""
    from lamina.commands.common import add_common_options

    push = subparsers.add_parser(
        "push",
        help="apply an Instant JSON diff to a layer",
        description=(
            "Apply an Instant JSON diff to the token's layer and return once every change is "
            "saved. New annotations are created, known ids updated, skippedPdfObjectIds "
            "without a replacement deleted. Forbidden changes are listed on stderr (exit 1)."
        ),
    )
    pull = subparsers.add_parser(
        "pull",
        help="write a layer as Instant JSON",
        description="Write the layer's Instant JSON, as a diff against the PDF, as the token "
        "may see it.",
    )
    layer_pdf = subparsers.add_parser(
        "layer-pdf",
        help="download a layer's PDF",
        description="Download the PDF with the layer's annotations (needs `download`).",
    )
    layers = subparsers.add_parser(
        "layers",
        help="list the layers a token may view",
        description="List the layers of the token's document that the token may view (its "
        'own and those of its view_layers claim), one per line; the default layer is "".',
    )
    for parser in (push, pull, layer_pdf, layers):
        add_common_options(parser)
        parser.add_argument("--server", metavar="URL", help="server, e.g. ws://127.0.0.1:9787")
        parser.add_argument("--token", metavar="JWT", help="the token (see `lamina token`)")
        parser.add_argument("--invite", metavar="LINK", help="an invite link instead of both")
    push.add_argument("changes", type=Path, metavar="CHANGES.json", help="Instant JSON diff")
    push.set_defaults(func=_push)
    pull.add_argument("-o", "--output", type=Path, metavar="OUT.json", help="default: stdout")
    pull.set_defaults(func=_pull)
    layer_pdf.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.pdf")
    layer_pdf.add_argument("--flatten", action="store_true", help="burn annotations into pages")
    layer_pdf.add_argument(
        "--layers",
        metavar="A,B",
        default=None,
        help="export these layers merged into one PDF (the token's own and layers its "
        "view_layers claim names); default: the token's layer",
    )
    layer_pdf.set_defaults(func=_layer_pdf)
    layers.set_defaults(func=_layers)


def _target(args: argparse.Namespace) -> tuple[str, str]:
    """Return the server url and token the arguments name (checked before connecting)."""
    if args.invite:
        from lamina.auth import parse_invite_link

        invite = parse_invite_link(args.invite)
        return invite.server_url, invite.token
    if not args.server or not args.token:
        raise ScriptError("give --server and --token, or --invite")
    from lamina.auth.errors import InviteError
    from lamina.auth.invite import check_server_url

    try:
        return check_server_url(args.server), args.token
    except InviteError:
        raise ScriptError(
            f"server url must look like ws://host:port, got {args.server!r}"
        ) from None


@contextlib.asynccontextmanager
async def _connected(server: str, token: str) -> AsyncIterator[tuple[Connection, EventLog]]:
    """Connect once (no retries), wait for the catch-up, and close at the end.

    Raises:
        ScriptError: the server cannot be reached, refused the token, or stopped answering.
    """
    from lamina.client.connection import Connection, EventLog
    from lamina.sync.client_session import ClientSession

    log = EventLog()
    connection = Connection(
        ClientSession.new(), server, token, listener=log, presence={"name": "lamina script"}
    )
    connection.start()
    try:
        await _wait(connection, lambda: connection.is_open)
        yield connection, log
    finally:
        await connection.stop()


async def _wait(connection: Connection, done: Callable[[], bool]) -> None:
    """Wait until ``done()``; a stopped or silent connection becomes a :class:`ScriptError`."""
    from lamina.client.errors import ClientError

    try:
        await connection.wait_until(done, idle_timeout=CONNECT_TIMEOUT)
    except ClientError as exc:
        raise ScriptError(str(exc)) from exc


async def _document(
    connection: Connection, log: EventLog, *, with_layer: bool = False, flatten: bool = False
) -> bytes:
    """Ask for the PDF (§5.4; ``with_layer``: with the layer's records in it) and return it."""
    from lamina.sync.client_session import DocumentReceived

    seen = len(log.events)
    connection.session.request_document(with_layer=with_layer, flatten=flatten)
    connection.kick()

    def arrived() -> bool:
        return any(isinstance(e, DocumentReceived) for e in log.events[seen:])

    await _wait(connection, arrived)
    return next(e.data for e in log.events[seen:] if isinstance(e, DocumentReceived))


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


# --- push ---------------------------------------------------------------------------------


def _push(args: argparse.Namespace) -> int:
    url, token = _target(args)
    try:
        diff_json = args.changes.read_bytes()
    except OSError as exc:
        raise ScriptError(f"cannot read {args.changes}: {exc.strerror}") from exc
    from lamina.model.errors import InstantJsonError
    from lamina.model.instant_json import parse_instant_json

    try:
        document = parse_instant_json(diff_json)  # a bad file fails before connecting
    except InstantJsonError as exc:
        raise ScriptError(f"{args.changes.name} is not valid Instant JSON: {exc}") from exc
    return int(_run(_push_async(url, token, document)))


async def _push_async(server: str, token: str, document: InstantDocument) -> int:
    from lamina.model.diff import CreateRecord, UpdateRecord, changes_for_diff
    from lamina.sync.client_session import ChangeRejected, ConflictDetected

    async with _connected(server, token) as (connection, log):
        session = connection.session
        plan = changes_for_diff(session.view(), document)
        for change in plan:
            if isinstance(change, CreateRecord):
                session.create(change.kind, change.content, record_id=change.record_id)
            elif isinstance(change, UpdateRecord):
                session.update(change.record_id, change.set, change.unset)
            else:
                session.delete(change.record_id)
        session.flush()
        connection.kick()
        await _wait(connection, lambda: not session.has_pending())
    failed = 0
    for event in log.events:
        if isinstance(event, ChangeRejected):
            failed += 1
            print(f"rejected {event.record_id}: {event.reason}", file=sys.stderr)
        elif isinstance(event, ConflictDetected):
            failed += 1
            print(
                f"conflict on {event.record_id}: another change won {sorted(event.conflict.lost)}",
                file=sys.stderr,
            )
    creates = sum(1 for c in plan if isinstance(c, CreateRecord))
    updates = sum(1 for c in plan if isinstance(c, UpdateRecord))
    deletes = len(plan) - creates - updates
    print(
        f"saved {len(plan) - failed} of {len(plan)} changes "
        f"({creates} creates, {updates} updates, {deletes} deletes)"
    )
    return 1 if failed else 0


# --- pull ---------------------------------------------------------------------------------


async def _layer_view(server: str, token: str) -> tuple[list[dict[str, Any]], bytes]:
    async with _connected(server, token) as (connection, log):
        contents = [dict(c) for c in connection.session.view().values()]
        return contents, await _document(connection, log)


def pull_instant_json(url: str, token: str) -> dict[str, Any]:
    """Return the layer's Instant JSON (a diff against the PDF) as the token may see it."""
    from lamina.model.diff import diff_against_base
    from lamina.model.instant_json import instant_json_to_dict
    from lamina.model.records import record_from_json
    from lamina.pdf import open_pdf
    from lamina.pdf.annotations import read_records_and_attachments

    contents, pdf = _run(_layer_view(url, token))
    with open_pdf(pdf) as document:
        base, attachments = read_records_and_attachments(document)
    current = [record_from_json(c, f"record {c.get('id')}") for c in contents]
    return instant_json_to_dict(diff_against_base(base, current, attachments=attachments))


def _check_output_dir(output: Path | None) -> None:
    """Refuse an output in a missing directory before talking to the server."""
    if output is not None and not output.parent.is_dir():
        raise ScriptError(f"directory {output.parent} does not exist: choose another -o path")


def _pull(args: argparse.Namespace) -> int:
    url, token = _target(args)
    _check_output_dir(args.output)
    text = json.dumps(pull_instant_json(url, token), indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


# --- layer-pdf ----------------------------------------------------------------------------


async def _layer_pdf_async(server: str, token: str, flatten: bool) -> bytes:
    async with _connected(server, token) as (connection, log):
        # §5.4 with_layer: the server writes the layer's visible records into the PDF.
        return await _document(connection, log, with_layer=True, flatten=flatten)


async def _layer_names(connection: Connection, log: EventLog) -> tuple[str, ...]:
    from lamina.sync.client_session import LayersListed

    seen = len(log.events)
    connection.session.list_layers()
    connection.kick()

    def listed() -> bool:
        return any(isinstance(e, LayersListed) for e in log.events[seen:])

    await _wait(connection, listed)
    return next(e.layers for e in log.events[seen:] if isinstance(e, LayersListed))


async def _layers_async(server: str, token: str) -> tuple[str, ...]:
    async with _connected(server, token) as (connection, log):
        return await _layer_names(connection, log)


def _layers(args: argparse.Namespace) -> int:
    url, token = _target(args)
    for name in _run(_layers_async(url, token)):
        print(name if name else '""')
    return 0


async def _merged_pdf_async(server: str, token: str, wanted: list[str], flatten: bool) -> bytes:
    """Return the PDF with the records of the ``wanted`` layers merged (first layer wins an
    id both hold)."""
    from lamina.sync.client_session import LayerRecordsChanged

    async with _connected(server, token) as (connection, log):
        own = connection.session.welcome.layer if connection.session.welcome else ""
        available = await _layer_names(connection, log)
        missing = [name for name in wanted if name not in available]
        if missing:
            raise ScriptError(
                f"the token may not view {', '.join(repr(m) for m in missing)}; it may view "
                f"{', '.join(repr(a) for a in available)}"
            )
        contents: dict[str, dict[str, Any]] = {}
        for name in wanted:
            if name == own:
                for record_id, content in connection.session.view().items():
                    contents.setdefault(str(record_id), dict(content))
                continue
            seen = len(log.events)
            connection.session.view_layer(name)
            connection.kick()

            def arrived(name: str = name, seen: int = seen) -> bool:
                return any(
                    isinstance(e, LayerRecordsChanged) and e.layer == name and e.snapshot
                    for e in log.events[seen:]
                )

            await _wait(connection, arrived)
            snapshot = next(
                e
                for e in log.events[seen:]
                if isinstance(e, LayerRecordsChanged) and e.layer == name
            )
            for record in snapshot.records:
                if not record.deleted and record.content is not None:
                    contents.setdefault(str(record.id), dict(record.content))
        source = await _document(connection, log)
    return await asyncio.to_thread(_write_merged, source, list(contents.values()), flatten)


def _write_merged(source: bytes, contents: list[dict[str, Any]], flatten: bool) -> bytes:
    from lamina.model.diff import diff_against_base
    from lamina.model.records import record_from_json
    from lamina.pdf import apply_instant_json, open_pdf
    from lamina.pdf.annotations import read_records

    with open_pdf(source) as pdf:
        base = read_records(pdf)
    wanted = [record_from_json(c, f"record {c.get('id')}") for c in contents]
    data: bytes = apply_instant_json(source, diff_against_base(base, wanted), flatten=flatten)
    return data


def _layer_pdf(args: argparse.Namespace) -> int:
    url, token = _target(args)
    _check_output_dir(args.output)
    if args.layers is not None:
        wanted = [name.strip() for name in args.layers.split(",")]
        data = _run(_merged_pdf_async(url, token, wanted, args.flatten))
    else:
        data = _run(_layer_pdf_async(url, token, args.flatten))
    tmp = args.output.with_name(args.output.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(args.output)
    print(f"wrote {args.output} ({len(data)} bytes)")
    return 0
