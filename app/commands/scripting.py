"""Verbs for backend scripts: ``push``, ``pull`` and ``layer-pdf`` of one token's layer.

They are the command-line equivalents of Document Engine's layer endpoints
(``apply_instant_json``, ``document.json``, ``/layers/{layer}/pdf``) and speak the sync
protocol (app/sync) over one WebSocket, as any client does, so the server enforces the token's
permissions on them exactly as on the desktop app.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lamina.model.errors import LaminaError

CONNECT_TIMEOUT = 15.0
"""Seconds to wait for the server at each step before giving up."""


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
    for parser in (push, pull, layer_pdf):
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
    layer_pdf.set_defaults(func=_layer_pdf)


def _target(args: argparse.Namespace) -> tuple[str, str]:
    if args.invite:
        from lamina.auth import parse_invite_link

        invite = parse_invite_link(args.invite)
        return sync_url(invite.server_url), invite.token
    if not args.server or not args.token:
        raise ScriptError("give --server and --token, or --invite")
    return sync_url(args.server), args.token


def sync_url(server: str) -> str:
    """Return the ``/sync`` WebSocket url of a server url (``ws://host:port``)."""
    parts = urlsplit(server)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        raise ScriptError(f"server url must look like ws://host:port, got {server!r}") from None
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise ScriptError(f"server url must look like ws://host:port, got {server!r}")
    path = parts.path if parts.path not in ("", "/") else "/sync"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


class _Link:
    """One protocol connection driven by a ClientSession."""

    def __init__(self, url: str, token: str) -> None:
        from lamina.sync.client_session import ClientSession

        self.url = url
        self.token = token
        self.session = ClientSession.new()
        self.ws: Any = None
        self.events: list[Any] = []

    async def open(self) -> None:
        """Connect, say hello, and read until the catch-up has arrived."""
        from lamina.sync.messages import MAX_FRAME_BYTES
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        try:
            self.ws = await asyncio.wait_for(
                connect(self.url, compression=None, max_size=MAX_FRAME_BYTES, max_queue=None),
                CONNECT_TIMEOUT,
            )
        except (OSError, TimeoutError) as exc:
            raise ScriptError(
                f"cannot connect to {self.url}: {exc or 'timed out'}: "
                "check the address and that `lamina serve` is running there"
            ) from exc
        except WebSocketException as exc:
            # Something answers on that port, but it is not a Lamina server.
            raise ScriptError(
                f"{self.url} is not a lamina server ({exc}): check the address and port"
            ) from exc
        await self.ws.send(self.session.hello_frame(self.token, {"name": "lamina script"}))
        await self.until(lambda: self.session.phase == "open")

    async def send_pending(self) -> None:
        for frame in self.session.frames_to_send():
            await self.ws.send(frame)

    async def until(self, done: Any) -> None:
        """Feed frames to the session until ``done()`` is true."""
        from lamina.sync.client_session import ServerError
        from websockets.exceptions import ConnectionClosed

        while not done():
            try:
                text = await asyncio.wait_for(self.ws.recv(), CONNECT_TIMEOUT)
            except TimeoutError as exc:
                raise ScriptError("the server stopped answering") from exc
            except ConnectionClosed as exc:
                raise ScriptError(f"the server closed the connection ({exc})") from exc
            for event in self.session.receive_text(text):
                if isinstance(event, ServerError):
                    raise ScriptError(f"server refused: {event.code}: {event.message}")
                self.events.append(event)
            await self.send_pending()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def document(self, frame: str | None = None) -> bytes:
        """Ask for the PDF (``frame`` overrides the plain ``get_document``) and return it."""
        from lamina.sync.client_session import DocumentReceived

        await self.ws.send(frame or json.dumps({"type": "get_document"}))
        got: list[bytes] = []

        def arrived() -> bool:
            for event in self.events:
                if isinstance(event, DocumentReceived):
                    got.append(event.data)
                    return True
            return False

        await self.until(arrived)
        return got[0]


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


# --- push ---------------------------------------------------------------------------------


def plan_changes(
    view: Mapping[str, Mapping[str, Any]], diff_json: bytes
) -> list[tuple[str, str, dict[str, Any]]]:
    """Turn an Instant JSON diff into ``(op, record_id, args)`` against a layer's records.

    New records are created; records whose id (or ``pdfObjectId``) the layer has are updated
    with the keys that differ; ``skippedPdfObjectIds`` without a replacement are deleted.
    """
    from lamina.model.instant_json import parse_instant_json
    from lamina.model.records import record_to_json

    document = parse_instant_json(diff_json)
    plan: list[tuple[str, str, dict[str, Any]]] = []
    for record in document.records:
        content = record_to_json(record)
        if record.pdf_object_id is not None:
            record_id = str(record.pdf_object_id)
        else:
            record_id = str(record.id or content.get("id") or "")
        current = view.get(record_id) if record_id else None
        if current is None:
            plan.append(("create", record_id, {"kind": record.KIND, "content": content}))
            continue
        fixed = ("id", "type")
        set_ = {k: v for k, v in content.items() if k not in fixed and current.get(k) != v}
        unset = [k for k in current if k not in content and k not in fixed]
        if set_ or unset:
            plan.append(("update", record_id, {"set": set_, "unset": unset}))
    for pdf_object_id in sorted(document.deleted_pdf_object_ids):
        if str(pdf_object_id) in view:
            plan.append(("delete", str(pdf_object_id), {}))
    return plan


def _push(args: argparse.Namespace) -> int:
    url, token = _target(args)
    try:
        diff_json = args.changes.read_bytes()
    except OSError as exc:
        raise ScriptError(f"cannot read {args.changes}: {exc.strerror}") from exc
    from lamina.model.errors import InstantJsonError
    from lamina.model.instant_json import parse_instant_json

    try:
        parse_instant_json(diff_json)  # a bad file fails before connecting
    except InstantJsonError as exc:
        raise ScriptError(f"{args.changes.name} is not valid Instant JSON: {exc}") from exc
    return int(_run(_push_async(url, token, diff_json)))


async def _push_async(url: str, token: str, diff_json: bytes) -> int:
    from lamina.sync.client_session import ChangeRejected, ConflictDetected

    link = _Link(url, token)
    try:
        await link.open()
        session = link.session
        plan = plan_changes(dict(session.view().items()), diff_json)
        for op, record_id, fields in plan:
            if op == "create":
                session.create(fields["kind"], fields["content"], record_id=record_id or None)
            elif op == "update":
                session.update(record_id, fields["set"], fields["unset"])
            else:
                session.delete(record_id)
        session.flush()
        await link.send_pending()
        await link.until(lambda: not session.has_pending())
    finally:
        await link.close()
    failed = 0
    for event in link.events:
        if isinstance(event, ChangeRejected):
            failed += 1
            print(f"rejected {event.record_id}: {event.reason}", file=sys.stderr)
        elif isinstance(event, ConflictDetected):
            failed += 1
            print(
                f"conflict on {event.record_id}: another change won {sorted(event.conflict.lost)}",
                file=sys.stderr,
            )
    counts = {op: sum(1 for p in plan if p[0] == op) for op in ("create", "update", "delete")}
    print(
        f"saved {len(plan) - failed} of {len(plan)} changes "
        f"({counts['create']} creates, {counts['update']} updates, {counts['delete']} deletes)"
    )
    return 1 if failed else 0


# --- pull ---------------------------------------------------------------------------------


async def _layer_view(url: str, token: str, want_pdf: bool) -> tuple[list[dict[str, Any]], bytes]:
    link = _Link(url, token)
    try:
        await link.open()
        contents = [dict(c) for c in link.session.view().values()]
        pdf = await link.document() if want_pdf else b""
    finally:
        await link.close()
    return contents, pdf


def pull_instant_json(url: str, token: str) -> dict[str, Any]:
    """Return the layer's Instant JSON (a diff against the PDF) as the token may see it."""
    from lamina.model.diff import diff_against_base
    from lamina.model.instant_json import instant_json_to_dict
    from lamina.model.records import record_from_json
    from lamina.pdf import open_pdf
    from lamina.pdf.annotations import read_records_and_attachments

    contents, pdf = _run(_layer_view(url, token, want_pdf=True))
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


async def _layer_pdf_async(url: str, token: str, flatten: bool) -> bytes:
    link = _Link(url, token)
    try:
        await link.open()
        # §5.4 with_layer: the server writes the layer's visible records into the PDF.
        frame = json.dumps({"type": "get_document", "with_layer": True, "flatten": flatten})
        return await link.document(frame)
    finally:
        await link.close()


def _layer_pdf(args: argparse.Namespace) -> int:
    url, token = _target(args)
    _check_output_dir(args.output)
    data = _run(_layer_pdf_async(url, token, args.flatten))
    tmp = args.output.with_name(args.output.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(args.output)
    print(f"wrote {args.output} ({len(data)} bytes)")
    return 0
