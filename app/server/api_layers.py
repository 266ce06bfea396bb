"""The API's layer routes: layers, Instant JSON, PDF, XFDF, records, and the change feed.

Reads look at the layer's room (loaded from the store as a joining client's is) through the
caller's view rules. Writes are pushes into that room by an :class:`ApiWriter`, which stands
where a sync connection would: the room checks and commits them with the group-commit writer,
relays them to every connected reviewer, and the reply is sent from the ack, so after the write
is durable (DESIGN §4.2). Instant JSON becomes changes by the one diff rule
(:func:`lamina.model.diff.changes_for_diff`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web
from lamina.auth.errors import AuthError
from lamina.auth.tokens import DOWNLOAD
from lamina.model.diff import (
    CreateRecord,
    PlannedChange,
    UpdateRecord,
    changes_for_diff,
    key_changes,
)
from lamina.model.errors import InstantJsonError
from lamina.model.ids import RecordId
from lamina.server.access import Access
from lamina.server.api import ApiError, json_body
from lamina.server.api_auth import Caller, admin_access, caller_for_layer, require_admin
from lamina.sync.messages import Push
from lamina.sync.state import (
    Actor,
    Change,
    ChangeResult,
    CreateChange,
    DeleteChange,
    RecordState,
    UpdateChange,
)
from ulid import ULID

if TYPE_CHECKING:
    from lamina.model.instant_json import InstantDocument
    from lamina.server.app import LaminaServer
    from lamina.server.rooms import Room

WRITE_TIMEOUT = 60.0
"""Seconds a write may wait for its commit before the request fails (a broken store)."""
INSTANT_JSON_FORMAT = "https://pspdfkit.com/instant-json/v1"


# --- the room side ----------------------------------------------------------------------


class ApiWriter:
    """Stands for an HTTP request in a room's push, as a sync connection does for a client."""

    def __init__(self, access: Access, actor: Actor) -> None:
        self.access = access
        self.actor = actor
        self.closing: tuple[str, str] | None = None
        self.done: asyncio.Future[tuple[ChangeResult, ...]] = (
            asyncio.get_running_loop().create_future()
        )

    @property
    def claims(self) -> Any:
        """The claims the write is made under (the admin's: every permission)."""
        return self.access.claims

    def describe(self) -> str:
        """Return who writes, for the room's log lines."""
        return f"{self.actor.user_id or 'api'}@http"

    def close_with(self, code: str, message: str) -> None:
        """Called when the room refuses the writer or breaks: the request fails."""
        self.closing = (code, message)
        if not self.done.done():
            self.done.set_exception(ApiError(503, f"the write was not saved: {message}"))

    def send_ack(self, commit: Any, room: Room) -> None:
        """Called by the room once the push committed."""
        if not self.done.done():
            self.done.set_result(tuple(commit.results))


async def load_room(server: LaminaServer, document_id: str, layer: str) -> Room:
    """Return the loaded room of a layer (404 for an unknown document or layer).

    A layer whose room here holds a live record is listed (the layer list names every layer
    with live records), so only other layers are looked up in the list, which counts the
    live records of every layer of the document (20 ms a request at 100,000 records, every
    poll of the change feed). A deleted layer's room, lingering or on another process, holds
    none once the deletes reached it, so it is looked up and answered 404.
    """
    if layer and not _listed_here(server.rooms.get((document_id, layer))):
        names = await asyncio.to_thread(server.admin.layer_names, document_id)
        if layer not in names:
            raise ApiError(404, f"document {document_id!r} has no layer {layer!r}")
    return await server._room(document_id, layer)


def _listed_here(room: Room | None) -> bool:
    """Return whether ``room`` has loaded (a room still loading holds nothing yet) and holds
    a live record, so that its layer is in the layer list."""
    return room is not None and room.ready and room.layer.has_live_records()


def visible_records(room: Room, access: Access) -> list[RecordState]:
    """Return the live records of ``room`` that ``access`` may view."""
    rule = access.view_rule(room.field_named)
    return [r for r in room.layer.snapshot() if rule is None or rule(r)]


def _changes_of(plan: Iterable[PlannedChange], room: Room) -> list[Change]:
    changes: list[Change] = []
    for planned in plan:
        change_id = f"api-{ULID()}"
        if isinstance(planned, CreateRecord):
            record_id = planned.record_id or RecordId(str(ULID()))
            changes.append(CreateChange(change_id, record_id, planned.kind, dict(planned.content)))
            continue
        current = room.layer.get(planned.record_id)
        if current is None:
            continue
        if isinstance(planned, UpdateRecord):
            changes.append(
                UpdateChange(
                    change_id, planned.record_id, current.rev, dict(planned.set), planned.unset
                )
            )
        else:
            changes.append(DeleteChange(change_id, planned.record_id, current.rev))
    return changes


async def write(
    server: LaminaServer,
    room: Room,
    access: Access,
    plan: Callable[[Room], Sequence[Change]],
    actor: Actor | None = None,
) -> tuple[ChangeResult, ...]:
    """Push the changes ``plan`` makes (from the room's state, with no await between) and
    return their results once committed."""
    changes = tuple(plan(room))
    if not changes:
        return ()
    writer = ApiWriter(access, actor or Actor())
    room.push(writer, Push(changes))  # type: ignore[arg-type]  # stands for a Connection
    try:
        return await asyncio.wait_for(asyncio.shield(writer.done), WRITE_TIMEOUT)
    except TimeoutError as exc:
        raise ApiError(503, "the server could not save the changes; try again") from exc


def just(change: Change) -> Callable[[Room], list[Change]]:
    """A plan of one change made beforehand."""
    return lambda _room: [change]


def refusals(results: Iterable[ChangeResult]) -> list[dict[str, str]]:
    return [
        {"path": f"$.{r.record_id}", "details": r.reason or r.status}
        for r in results
        if r.status == "rejected"
    ]


def fail_on_refusals(results: Iterable[ChangeResult]) -> None:
    refused = refusals(results)
    if refused:
        reasons = "; ".join(f"{f['path'][2:]}: {f['details']}" for f in refused)
        raise ApiError(422, f"{len(refused)} changes refused: {reasons}")


async def apply_document(
    server: LaminaServer, room: Room, access: Access, document: InstantDocument
) -> tuple[ChangeResult, ...]:
    """Apply an Instant JSON diff to a room's layer (creates, updates, deletes)."""

    def plan(room: Room) -> list[Change]:
        view = {r.id: r.content or {} for r in visible_records(room, access)}
        return _changes_of(changes_for_diff(view, document), room)

    return await write(server, room, access, plan)


def parse_instant_json_body(data: bytes | str | Mapping[str, Any]) -> InstantDocument:
    from lamina.model.instant_json import parse_instant_json

    try:
        return parse_instant_json(data)
    except InstantJsonError as exc:
        raise ApiError(400, f"malformed Instant JSON: {exc}") from exc


async def _instant_json_of(request: web.Request) -> InstantDocument:
    """Read Instant JSON from a multipart ``instant.json`` part or a JSON body."""
    if request.content_type == "multipart/form-data":
        form = await request.post()
        part = form.get("instant.json")
        if part is None:
            raise ApiError(400, "multipart request needs an 'instant.json' part")
        data = part.file.read() if isinstance(part, web.FileField) else str(part).encode()
        return parse_instant_json_body(data)
    data = await request.read()
    if not data:
        raise ApiError(400, "the request has no Instant JSON body")
    return parse_instant_json_body(data)


def _where(request: web.Request) -> tuple[str, str]:
    return request.match_info["documentId"], request.match_info.get("layerName", "")


async def reader_room(server: LaminaServer, request: web.Request) -> tuple[Caller, Room]:
    document_id, layer = _where(request)
    caller = caller_for_layer(server, request, document_id, layer)
    return caller, await load_room(server, document_id, layer)


async def admin_room(server: LaminaServer, request: web.Request) -> tuple[Access, Room]:
    require_admin(server, request)
    document_id, layer = _where(request)
    return admin_access(document_id, layer), await load_room(server, document_id, layer)


def done_with(server: LaminaServer, room: Room) -> None:
    server.maybe_evict(room)


# --- layers -------------------------------------------------------------------------------


async def list_layers(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET …/layers``: ``{"data": [names]}``."""
    require_admin(server, request)
    names = await asyncio.to_thread(server.admin.layer_names, request.match_info["documentId"])
    return web.json_response({"data": names})


async def copy_layer_records(
    server: LaminaServer, source_doc: str, source_layer: str, target_doc: str, target_layer: str
) -> None:
    """Make ``target_layer`` hold what ``source_layer`` holds (creators kept)."""
    source = await server._room(source_doc, source_layer)
    wanted = {r.id: r for r in source.layer.snapshot()}
    done_with(server, source)
    target = await server._room(target_doc, target_layer)
    access = admin_access(target_doc, target_layer)
    creators = sorted({r.creator_id or "" for r in wanted.values()})
    try:
        for creator in creators or [""]:

            def plan(room: Room, creator: str = creator) -> list[Change]:
                out: list[Change] = []
                for record_id, record in wanted.items():
                    if (record.creator_id or "") != creator:
                        continue
                    have = room.layer.get(record_id)
                    content = dict(record.content or {})
                    if have is None or have.deleted:
                        out.append(
                            CreateChange(
                                f"api-{ULID()}", record_id, record.kind, content, record.group
                            )
                        )
                    else:
                        diff = key_changes(have.content or {}, content)
                        if diff:
                            out.append(
                                UpdateChange(
                                    f"api-{ULID()}",
                                    record_id,
                                    have.rev,
                                    dict(diff.set),
                                    diff.unset,
                                )
                            )
                return out

            actor = Actor(creator or None)
            fail_on_refusals(await write(server, target, access, plan, actor))
        extra = [
            DeleteChange(f"api-{ULID()}", r.id, r.rev)
            for r in target.layer.snapshot()
            if r.id not in wanted
        ]
        fail_on_refusals(await write(server, target, access, lambda _r: extra))
    finally:
        done_with(server, target)


async def create_layer(server: LaminaServer, request: web.Request) -> web.Response:
    """``POST …/layers``: ``{name, source_layer_name}`` (JSON or multipart, with an optional
    ``instant.json`` part)."""
    require_admin(server, request)
    document_id = request.match_info["documentId"]
    instant: InstantDocument | None = None
    if request.content_type == "multipart/form-data":
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        part = form.get("instant.json")
        if part is not None:
            raw = part.file.read() if isinstance(part, web.FileField) else str(part).encode()
            instant = parse_instant_json_body(raw)
        body: dict[str, Any] = fields
    else:
        body = await json_body(request)
    name = body.get("name")
    source = body.get("source_layer_name")
    if not isinstance(name, str) or not name:
        raise ApiError(400, "a layer needs a non-empty 'name'")
    if source is not None and not isinstance(source, str):
        raise ApiError(400, "source_layer_name must be a string")
    names = await asyncio.to_thread(server.admin.layer_names, document_id)
    if name in names:
        raise ApiError(400, f"document {document_id!r} already has a layer {name!r}")
    if source and source not in names:
        raise ApiError(404, f"document {document_id!r} has no layer {source!r}")
    try:
        await asyncio.to_thread(server.admin.create_layer, document_id, name)
    except AuthError as exc:  # the layer-name rule lives with the token claims
        raise ApiError(400, str(exc)) from exc
    if source is not None:
        await copy_layer_records(server, document_id, source, document_id, name)
    server.announce_layers(document_id)
    if instant is not None:
        room = await server._room(document_id, name)
        try:
            fail_on_refusals(
                await apply_document(server, room, admin_access(document_id, name), instant)
            )
        finally:
            done_with(server, room)
    return web.json_response({"data": {"name": name, "errors": []}})


async def delete_layer(server: LaminaServer, request: web.Request) -> web.Response:
    """``DELETE …/layers/{l}``: its records are deleted, its live sessions end."""
    access, room = await admin_room(server, request)
    document_id, layer = _where(request)
    try:
        await write(
            server,
            room,
            access,
            lambda r: [DeleteChange(f"api-{ULID()}", s.id, s.rev) for s in r.layer.snapshot()],
        )
    finally:
        done_with(server, room)
    server.end_sessions(document_id, layer, f"layer {layer!r} was deleted by the host")
    await asyncio.to_thread(server.admin.forget_layer, document_id, layer)
    server.announce_layers(document_id)
    return web.json_response({})


# --- Instant JSON, PDF, XFDF ----------------------------------------------------------------


def _instant_json(source: bytes, contents: list[dict[str, Any]], version: int) -> dict[str, Any]:
    from lamina.model.diff import diff_against_base
    from lamina.model.instant_json import instant_json_to_dict
    from lamina.model.records import record_from_json
    from lamina.pdf import open_pdf
    from lamina.pdf.annotations import read_records_and_attachments

    with open_pdf(source) as pdf:
        base, attachments = read_records_and_attachments(pdf)
    current = [record_from_json(c, f"record {c.get('id')}") for c in contents]
    return instant_json_to_dict(diff_against_base(base, current, attachments=attachments), version)


async def document_json(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET …/document.json?annotation_version=1|2``: the layer as an Instant JSON diff."""
    version_text = request.query.get("annotation_version", "2")
    if version_text not in ("1", "2"):
        raise ApiError(400, "annotation_version must be 1 or 2")
    caller, room = await reader_room(server, request)
    try:
        contents = [dict(r.content or {}) for r in visible_records(room, caller.access)]
        assert room.info is not None
        document = room.info.document
    finally:
        done_with(server, room)
    source = await asyncio.to_thread(server.store.read_asset, document.sha256)
    data = await asyncio.to_thread(_instant_json, source, contents, int(version_text))
    return web.json_response(data)


async def apply_instant_json(server: LaminaServer, request: web.Request) -> web.Response:
    """``POST …/apply_instant_json``: apply a diff; reviewers see it at once."""
    document = await _instant_json_of(request)
    access, room = await admin_room(server, request)
    try:
        results = await apply_document(server, room, access, document)
        seq = room.layer.seq
    finally:
        done_with(server, room)
    fail_on_refusals(results)
    return web.json_response({"data": {"changes": len(results), "seq": seq}})


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "false").lower() in ("1", "true", "yes")


async def layer_pdf(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET|POST …/pdf?flatten=&source=``: the layer's PDF (``source``: as uploaded)."""
    from lamina.server.export import build_off_loop

    caller, room = await reader_room(server, request)
    try:
        if caller.claims is not None and not caller.claims.has(DOWNLOAD):
            raise ApiError(403, "token lacks the download permission")
        assert room.info is not None
        document = room.info.document
        records = room.layer.snapshot()
        visible = room.view_rule(caller)  # type: ignore[arg-type]  # has .access
    finally:
        done_with(server, room)
    if _flag(request, "source") and caller.is_admin:
        data = await asyncio.to_thread(server.store.read_asset, document.sha256)
    else:
        data = await build_off_loop(
            server.store,
            document,
            records,
            visible,
            with_layer=True,
            flatten=_flag(request, "flatten"),
        )
    return web.Response(body=data, content_type="application/pdf")


async def pdf_with_instant_json(server: LaminaServer, request: web.Request) -> web.Response:
    """``POST …/pdf_with_instant_json``: the layer's PDF with more Instant JSON, not stored."""
    from lamina.pdf import apply_instant_json as apply_to_pdf
    from lamina.server.export import build_off_loop

    extra = await _instant_json_of(request)
    caller, room = await reader_room(server, request)
    try:
        assert room.info is not None
        document = room.info.document
        records = room.layer.snapshot()
        visible = room.view_rule(caller)  # type: ignore[arg-type]
    finally:
        done_with(server, room)
    layer_pdf_bytes = await build_off_loop(
        server.store, document, records, visible, with_layer=True
    )
    data = await asyncio.to_thread(
        apply_to_pdf, layer_pdf_bytes, extra, flatten=_flag(request, "flatten")
    )
    return web.Response(body=data, content_type="application/pdf")


def _xfdf(source: bytes, contents: list[dict[str, Any]]) -> bytes:
    from lamina.model.records import record_from_json
    from lamina.pdf import open_pdf
    from lamina.pdf.xfdf.document import export_xfdf

    records = [record_from_json(c, f"record {c.get('id')}") for c in contents]
    with open_pdf(source) as pdf:
        return export_xfdf(pdf, records).data


async def document_xfdf(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET …/document.xfdf``: the layer as XFDF."""
    caller, room = await reader_room(server, request)
    try:
        contents = [dict(r.content or {}) for r in visible_records(room, caller.access)]
        assert room.info is not None
        document = room.info.document
    finally:
        done_with(server, room)
    source = await asyncio.to_thread(server.store.read_asset, document.sha256)
    data = await asyncio.to_thread(_xfdf, source, contents)
    return web.Response(body=data, content_type="application/vnd.adobe.xfdf")
