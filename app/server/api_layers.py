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
import json
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
    from lamina.sync.server_session import ChangesRelay

WRITE_TIMEOUT = 60.0
"""Seconds a write may wait for its commit before the request fails (a broken store)."""
FEED_TIMEOUT = 30.0
"""Default seconds a long-poll of the change feed waits for a change."""
FEED_KEEPALIVE = 15.0
"""Seconds between comment lines on an idle event stream (proxies close silent streams)."""
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


class FeedListener:
    """Wakes a change-feed request whenever its room relays a commit (a room viewer)."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.ended: str | None = None

    def relay(self, relay: ChangesRelay, room: Room) -> list[str]:
        """Called by the room for each commit: wake up; no frames to write."""
        self.changed.set()
        return []

    def close_with(self, code: str, message: str) -> None:
        """Called when the room breaks."""
        self.ended = message
        self.changed.set()


async def load_room(server: LaminaServer, document_id: str, layer: str) -> Room:
    """Return the loaded room of a layer (404 for an unknown document or layer)."""
    if layer:
        names = await asyncio.to_thread(server.admin.layer_names, document_id)
        if layer not in names:
            raise ApiError(404, f"document {document_id!r} has no layer {layer!r}")
    return await server._room(document_id, layer)


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


def _just(change: Change) -> Callable[[Room], list[Change]]:
    """A plan of one change made beforehand."""
    return lambda _room: [change]


def _refusals(results: Iterable[ChangeResult]) -> list[dict[str, str]]:
    return [
        {"path": f"$.{r.record_id}", "details": r.reason or r.status}
        for r in results
        if r.status == "rejected"
    ]


def _fail_on_refusals(results: Iterable[ChangeResult]) -> None:
    refused = _refusals(results)
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


def _parse_instant_json(data: bytes | str | Mapping[str, Any]) -> InstantDocument:
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
        return _parse_instant_json(data)
    data = await request.read()
    if not data:
        raise ApiError(400, "the request has no Instant JSON body")
    return _parse_instant_json(data)


def _where(request: web.Request) -> tuple[str, str]:
    return request.match_info["documentId"], request.match_info.get("layerName", "")


async def _reader(server: LaminaServer, request: web.Request) -> tuple[Caller, Room]:
    document_id, layer = _where(request)
    caller = caller_for_layer(server, request, document_id, layer)
    return caller, await load_room(server, document_id, layer)


async def _admin_room(server: LaminaServer, request: web.Request) -> tuple[Access, Room]:
    require_admin(server, request)
    document_id, layer = _where(request)
    return admin_access(document_id, layer), await load_room(server, document_id, layer)


def _done_with(server: LaminaServer, room: Room) -> None:
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
    _done_with(server, source)
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
            _fail_on_refusals(await write(server, target, access, plan, actor))
        extra = [
            DeleteChange(f"api-{ULID()}", r.id, r.rev)
            for r in target.layer.snapshot()
            if r.id not in wanted
        ]
        _fail_on_refusals(await write(server, target, access, lambda _r: extra))
    finally:
        _done_with(server, target)


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
            instant = _parse_instant_json(raw)
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
    if instant is not None:
        room = await server._room(document_id, name)
        try:
            _fail_on_refusals(
                await apply_document(server, room, admin_access(document_id, name), instant)
            )
        finally:
            _done_with(server, room)
    return web.json_response({"data": {"name": name, "errors": []}})


async def delete_layer(server: LaminaServer, request: web.Request) -> web.Response:
    """``DELETE …/layers/{l}``: its records are deleted, its live sessions end."""
    access, room = await _admin_room(server, request)
    document_id, layer = _where(request)
    try:
        await write(
            server,
            room,
            access,
            lambda r: [DeleteChange(f"api-{ULID()}", s.id, s.rev) for s in r.layer.snapshot()],
        )
    finally:
        _done_with(server, room)
    server.end_sessions(document_id, layer, f"layer {layer!r} was deleted by the host")
    await asyncio.to_thread(server.admin.forget_layer, document_id, layer)
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
    caller, room = await _reader(server, request)
    try:
        contents = [dict(r.content or {}) for r in visible_records(room, caller.access)]
        assert room.info is not None
        document = room.info.document
    finally:
        _done_with(server, room)
    source = await asyncio.to_thread(server.store.read_asset, document.sha256)
    data = await asyncio.to_thread(_instant_json, source, contents, int(version_text))
    return web.json_response(data)


async def apply_instant_json(server: LaminaServer, request: web.Request) -> web.Response:
    """``POST …/apply_instant_json``: apply a diff; reviewers see it at once."""
    document = await _instant_json_of(request)
    access, room = await _admin_room(server, request)
    try:
        results = await apply_document(server, room, access, document)
        seq = room.layer.seq
    finally:
        _done_with(server, room)
    _fail_on_refusals(results)
    return web.json_response({"data": {"changes": len(results), "seq": seq}})


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "false").lower() in ("1", "true", "yes")


async def layer_pdf(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET|POST …/pdf?flatten=&source=``: the layer's PDF (``source``: as uploaded)."""
    from lamina.server.export import build_off_loop

    caller, room = await _reader(server, request)
    try:
        if caller.claims is not None and not caller.claims.has(DOWNLOAD):
            raise ApiError(403, "token lacks the download permission")
        assert room.info is not None
        document = room.info.document
        records = room.layer.snapshot()
        visible = room.view_rule(caller)  # type: ignore[arg-type]  # has .access
    finally:
        _done_with(server, room)
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
    caller, room = await _reader(server, request)
    try:
        assert room.info is not None
        document = room.info.document
        records = room.layer.snapshot()
        visible = room.view_rule(caller)  # type: ignore[arg-type]
    finally:
        _done_with(server, room)
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
    caller, room = await _reader(server, request)
    try:
        contents = [dict(r.content or {}) for r in visible_records(room, caller.access)]
        assert room.info is not None
        document = room.info.document
    finally:
        _done_with(server, room)
    source = await asyncio.to_thread(server.store.read_asset, document.sha256)
    data = await asyncio.to_thread(_xfdf, source, contents)
    return web.Response(body=data, content_type="application/vnd.adobe.xfdf")


# --- records ------------------------------------------------------------------------------


def annotation_record(record: RecordState) -> dict[str, Any]:
    """Return Document Engine's ``AnnotationRecord`` of a record."""
    return {
        "id": record.id,
        "content": record.content,
        "createdBy": record.creator_id,
        "updatedBy": record.creator_id,
        "group": record.group,
    }


def _of_kind(room: Room, access: Access, kind: str) -> list[RecordState]:
    return [r for r in visible_records(room, access) if r.kind == kind]


async def list_annotations(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET …/annotations``: ``{"data": {"annotations": [AnnotationRecord]}}``."""
    caller, room = await _reader(server, request)
    try:
        found = [annotation_record(r) for r in _of_kind(room, caller.access, "annotation")]
    finally:
        _done_with(server, room)
    return web.json_response({"data": {"annotations": found, "truncated": False}})


async def get_annotation(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET …/annotations/{id}``: one ``AnnotationRecord``."""
    caller, room = await _reader(server, request)
    try:
        wanted = request.match_info["annotationId"]
        found = [r for r in _of_kind(room, caller.access, "annotation") if r.id == wanted]
    finally:
        _done_with(server, room)
    if not found:
        raise ApiError(404, f"no annotation {wanted!r} in this layer")
    return web.json_response(annotation_record(found[0]))


def _kind_of(content: Mapping[str, Any]) -> str:
    from lamina.model.records import record_class_for_type

    type_name = content.get("type")
    if not isinstance(type_name, str):
        raise ApiError(422, "annotation content needs a 'type'")
    return record_class_for_type(type_name).KIND


async def create_annotations(server: LaminaServer, request: web.Request) -> web.Response:
    """``POST …/annotations``: one ``{content, id?, user_id?, group?}`` or
    ``{"annotations": [...]}``."""
    body = await json_body(request)
    access, room = await _admin_room(server, request)
    single = "annotations" not in body
    items = [body] if single else body["annotations"]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ApiError(400, "annotations must be a list of objects")
    created: list[str] = []
    failing: list[dict[str, str]] = []
    try:
        for index, item in enumerate(items):
            content = item.get("content")
            if not isinstance(content, dict):
                raise ApiError(422, f"annotation {index} needs a 'content' object")
            record_id = RecordId(str(item.get("id") or content.get("id") or ULID()))
            content = {**content, "id": record_id}
            change = CreateChange(
                f"api-{ULID()}", record_id, _kind_of(content), content, item.get("group")
            )
            actor = Actor(item.get("user_id"), None, item.get("group"))
            results = await write(server, room, access, _just(change), actor)
            refused = _refusals(results)
            if refused:
                failing.append(
                    {"path": f"$.annotations[{index}]", "details": refused[0]["details"]}
                )
            else:
                created.append(record_id)
    finally:
        _done_with(server, room)
    if single:
        if failing:
            raise ApiError(422, failing[0]["details"])
        return web.json_response({"data": {"id": created[0]}})
    result = "success" if not failing else ("failure" if not created else "partial_failure")
    out: dict[str, Any] = {"result": result, "status": 200 if not failing else 400}
    out["data"] = {"annotations": [{"id": i} for i in created]}
    if failing:
        out["failingPaths"] = failing
    return web.json_response(out)


async def update_annotation(server: LaminaServer, request: web.Request) -> web.Response:
    """``PUT …/annotations/{id}``: ``{content, user_id?, group?}`` replaces its content."""
    body = await json_body(request)
    content = body.get("content")
    if not isinstance(content, dict):
        raise ApiError(422, "an update needs a 'content' object")
    access, room = await _admin_room(server, request)
    record_id = RecordId(request.match_info["annotationId"])
    try:
        current = room.layer.get(record_id)
        if current is None or current.deleted or current.kind != "annotation":
            raise ApiError(404, f"no annotation {record_id!r} in this layer")

        def plan(room: Room) -> list[Change]:
            now = room.layer.get(record_id)
            assert now is not None
            diff = key_changes(now.content or {}, {**content, "id": record_id})
            group = body.get("group")
            if not diff and group is None:
                return []
            return [
                UpdateChange(
                    f"api-{ULID()}",
                    record_id,
                    now.rev,
                    dict(diff.set),
                    diff.unset,
                    group if isinstance(group, str) else None,
                )
            ]

        _fail_on_refusals(await write(server, room, access, plan, Actor(body.get("user_id"))))
    finally:
        _done_with(server, room)
    return web.json_response({"data": {"id": record_id}})


async def delete_annotation(server: LaminaServer, request: web.Request) -> web.Response:
    """``DELETE …/annotations/{id}``."""
    access, room = await _admin_room(server, request)
    record_id = RecordId(request.match_info["annotationId"])
    try:
        current = room.layer.get(record_id)
        if current is None or current.deleted:
            raise ApiError(404, f"no annotation {record_id!r} in this layer")
        _fail_on_refusals(
            await write(
                server,
                room,
                access,
                lambda r: [DeleteChange(f"api-{ULID()}", record_id, r.layer.get(record_id).rev)],  # type: ignore[union-attr]
            )
        )
    finally:
        _done_with(server, room)
    return web.json_response({})


async def form_field_values(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET …/form-field-values``."""
    caller, room = await _reader(server, request)
    try:
        values = [
            {"name": (r.content or {}).get("name"), "value": (r.content or {}).get("value")}
            for r in _of_kind(room, caller.access, "form-field-value")
        ]
    finally:
        _done_with(server, room)
    return web.json_response({"data": {"formFieldValues": values}})


async def set_form_field_values(server: LaminaServer, request: web.Request) -> web.Response:
    """``POST …/form-field-values``: ``{"formFieldValues": [{name, value}]}``."""
    body = await json_body(request)
    values = body.get("formFieldValues")
    if not isinstance(values, list):
        raise ApiError(400, "formFieldValues must be a list")
    entries = [
        {"v": 1, "type": "pspdfkit/form-field-value", **v} if isinstance(v, dict) else v
        for v in values
    ]
    document = _parse_instant_json({"format": INSTANT_JSON_FORMAT, "formFieldValues": entries})
    access, room = await _admin_room(server, request)
    try:
        results = await apply_document(server, room, access, document)
    finally:
        _done_with(server, room)
    _fail_on_refusals(results)
    return web.json_response({"data": {"changes": len(results)}})


async def _add_comments(
    server: LaminaServer, request: web.Request, root: str | None
) -> web.Response:
    body = await json_body(request)
    comments = body.get("comments")
    if not isinstance(comments, list) or not all(isinstance(c, dict) for c in comments):
        raise ApiError(400, "comments must be a list of objects")
    access, room = await _admin_room(server, request)
    created: list[str] = []
    try:
        root_id = root
        annotation = body.get("annotation")
        if root_id is None and isinstance(annotation, dict):
            content = annotation.get("content")
            if not isinstance(content, dict):
                raise ApiError(422, "annotation needs a 'content' object")
            root_id = str(annotation.get("id") or content.get("id") or ULID())
            content = {**content, "id": root_id}
            change = CreateChange(f"api-{ULID()}", RecordId(root_id), _kind_of(content), content)
            _fail_on_refusals(await write(server, room, access, lambda _r: [change]))
        if root_id is None:
            raise ApiError(422, "comments need a root annotation")
        for item in comments:
            comment_id = RecordId(str(item.get("id") or ULID()))
            content = {
                "v": 2,
                "type": "pspdfkit/comment",
                "rootId": root_id,
                "pageIndex": item.get("pageIndex", 0),
                "text": item.get("text", {"format": "plain", "value": ""}),
                "createdAt": item.get("createdAt") or _now(),
                "updatedAt": item.get("updatedAt") or _now(),
                "creatorName": item.get("creatorName"),
                "id": comment_id,
            }
            if isinstance(content["text"], str):
                content["text"] = {"format": "plain", "value": content["text"]}
            content = {k: v for k, v in content.items() if v is not None}
            change = CreateChange(f"api-{ULID()}", comment_id, "comment", content)
            actor = Actor(item.get("user_id"))
            _fail_on_refusals(await write(server, room, access, _just(change), actor))
            created.append(comment_id)
    finally:
        _done_with(server, room)
    return web.json_response(
        {"data": {"annotation": {"id": root_id}, "comments": [{"id": c} for c in created]}}
    )


def _now() -> str:
    from lamina.model.timestamps import utc_now_iso

    return utc_now_iso()


async def create_comments(server: LaminaServer, request: web.Request) -> web.Response:
    """``POST …/comments``: ``{annotation, comments}`` (a new root and its thread)."""
    return await _add_comments(server, request, None)


async def reply_comments(server: LaminaServer, request: web.Request) -> web.Response:
    """``POST …/annotations/{id}/comments``: ``{comments}`` joining that thread."""
    return await _add_comments(server, request, request.match_info["annotationId"])


async def thread_comments(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET …/annotations/{id}/comments``."""
    caller, room = await _reader(server, request)
    root = request.match_info["annotationId"]
    try:
        found = [
            {"id": r.id, "content": r.content, "createdBy": r.creator_id, "group": r.group}
            for r in _of_kind(room, caller.access, "comment")
            if (r.content or {}).get("rootId") == root
        ]
    finally:
        _done_with(server, room)
    return web.json_response({"data": {"comments": found}})


# --- the change feed (beyond Document Engine) ---------------------------------------------


def feed_entry(
    record: RecordState, visible: Callable[[RecordState], bool] | None
) -> dict[str, Any]:
    """Return one record's entry in the change feed (content None when deleted or hidden)."""
    shown = not record.deleted and (visible is None or visible(record))
    return {
        "id": record.id,
        "kind": record.kind,
        "seq": record.seq,
        "rev": record.rev,
        "deleted": record.deleted,
        "content": record.content if shown else None,
        "createdBy": record.creator_id,
        "group": record.group,
        "updatedAt": record.updated_at,
    }


def _batch(room: Room, access: Access, since: int) -> dict[str, Any]:
    visible = access.view_rule(room.field_named)
    changed = [r for r in room.layer.records() if r.seq > since]
    entries = [
        feed_entry(r, visible) for r in changed if r.deleted or visible is None or visible(r)
    ]
    return {"seq": room.layer.seq, "epoch": room.layer.epoch, "changes": entries}


async def changes(server: LaminaServer, request: web.Request) -> web.StreamResponse:
    """``GET …/changes?since=SEQ[&timeout=S]``: the records changed after ``SEQ``.

    As JSON: answers at once when something changed, else waits up to ``timeout`` seconds
    (default 30, at most 300) for the next commit (long-poll). With ``Accept:
    text/event-stream``: a ``changes`` event per commit, ``id`` the layer's seq (a
    reconnecting ``EventSource`` resumes from ``Last-Event-ID``).
    """
    query = request.query
    try:
        since = int(request.headers.get("Last-Event-ID") or query.get("since", "0"))
        timeout = min(300.0, max(0.0, float(query.get("timeout", FEED_TIMEOUT))))
    except ValueError as exc:
        raise ApiError(400, "since must be a whole number and timeout a number") from exc
    caller, room = await _reader(server, request)
    listener = FeedListener()
    room.viewers.add(listener)  # type: ignore[arg-type]  # relays wake it
    try:
        if "text/event-stream" in request.headers.get("Accept", ""):
            return await _stream(server, request, room, caller.access, since, listener)
        if room.layer.seq <= since:
            await _wait(server, listener, timeout)
        return web.json_response(_batch(room, caller.access, since))
    finally:
        room.viewers.discard(listener)
        _done_with(server, room)


async def _wait(server: LaminaServer, listener: FeedListener, timeout: float) -> bool:
    """Wait for a commit (True), the timeout or shutdown (False)."""
    changed = asyncio.ensure_future(listener.changed.wait())
    stopping = asyncio.ensure_future(server.stopping.wait())
    try:
        done, _ = await asyncio.wait(
            {changed, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        changed.cancel()
        stopping.cancel()
    listener.changed.clear()
    return changed in done


async def _stream(
    server: LaminaServer,
    request: web.Request,
    room: Room,
    access: Access,
    since: int,
    listener: FeedListener,
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    seq = since
    try:
        while not server.stopping.is_set() and listener.ended is None and not server.is_stopping:
            if room.layer.seq > seq:
                batch = _batch(room, access, seq)
                seq = batch["seq"]
                text = json.dumps(batch, ensure_ascii=False)
                await response.write(f"id: {seq}\nevent: changes\ndata: {text}\n\n".encode())
                continue
            if not await _wait(server, listener, FEED_KEEPALIVE):
                await response.write(b": keep-alive\n\n")
    except ConnectionError:
        pass
    return response
