"""The API's record routes: annotations as ``AnnotationRecord``, form field values, comments.

Reads go through the caller's view rules, writes are pushes into the layer's room
(:func:`lamina.server.api_layers.write`), answered after the commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from lamina.model.diff import key_changes
from lamina.model.ids import RecordId
from lamina.server.access import Access
from lamina.server.api import ApiError, json_body
from lamina.server.api_layers import (
    INSTANT_JSON_FORMAT,
    admin_room,
    apply_document,
    done_with,
    fail_on_refusals,
    just,
    parse_instant_json_body,
    reader_room,
    refusals,
    visible_records,
    write,
)
from lamina.sync.state import Actor, Change, CreateChange, DeleteChange, RecordState, UpdateChange
from ulid import ULID

if TYPE_CHECKING:
    from lamina.server.app import LaminaServer
    from lamina.server.rooms import Room


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
    caller, room = await reader_room(server, request)
    try:
        found = [annotation_record(r) for r in _of_kind(room, caller.access, "annotation")]
    finally:
        done_with(server, room)
    return web.json_response({"data": {"annotations": found, "truncated": False}})


async def get_annotation(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET …/annotations/{id}``: one ``AnnotationRecord``."""
    caller, room = await reader_room(server, request)
    try:
        wanted = request.match_info["annotationId"]
        found = [r for r in _of_kind(room, caller.access, "annotation") if r.id == wanted]
    finally:
        done_with(server, room)
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
    access, room = await admin_room(server, request)
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
            results = await write(server, room, access, just(change), actor)
            refused = refusals(results)
            if refused:
                failing.append(
                    {"path": f"$.annotations[{index}]", "details": refused[0]["details"]}
                )
            else:
                created.append(record_id)
    finally:
        done_with(server, room)
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
    access, room = await admin_room(server, request)
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

        fail_on_refusals(await write(server, room, access, plan, Actor(body.get("user_id"))))
    finally:
        done_with(server, room)
    return web.json_response({"data": {"id": record_id}})


async def delete_annotation(server: LaminaServer, request: web.Request) -> web.Response:
    """``DELETE …/annotations/{id}``."""
    access, room = await admin_room(server, request)
    record_id = RecordId(request.match_info["annotationId"])
    try:
        current = room.layer.get(record_id)
        if current is None or current.deleted:
            raise ApiError(404, f"no annotation {record_id!r} in this layer")
        fail_on_refusals(
            await write(
                server,
                room,
                access,
                lambda r: [DeleteChange(f"api-{ULID()}", record_id, r.layer.get(record_id).rev)],  # type: ignore[union-attr]
            )
        )
    finally:
        done_with(server, room)
    return web.json_response({})


async def form_field_values(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET …/form-field-values``."""
    caller, room = await reader_room(server, request)
    try:
        values = [
            {"name": (r.content or {}).get("name"), "value": (r.content or {}).get("value")}
            for r in _of_kind(room, caller.access, "form-field-value")
        ]
    finally:
        done_with(server, room)
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
    document = parse_instant_json_body({"format": INSTANT_JSON_FORMAT, "formFieldValues": entries})
    access, room = await admin_room(server, request)
    try:
        results = await apply_document(server, room, access, document)
    finally:
        done_with(server, room)
    fail_on_refusals(results)
    return web.json_response({"data": {"changes": len(results)}})


async def _add_comments(
    server: LaminaServer, request: web.Request, root: str | None
) -> web.Response:
    body = await json_body(request)
    comments = body.get("comments")
    if not isinstance(comments, list) or not all(isinstance(c, dict) for c in comments):
        raise ApiError(400, "comments must be a list of objects")
    access, room = await admin_room(server, request)
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
            fail_on_refusals(await write(server, room, access, lambda _r: [change]))
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
            fail_on_refusals(await write(server, room, access, just(change), actor))
            created.append(comment_id)
    finally:
        done_with(server, room)
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
    caller, room = await reader_room(server, request)
    root = request.match_info["annotationId"]
    try:
        found = [
            {"id": r.id, "content": r.content, "createdBy": r.creator_id, "group": r.group}
            for r in _of_kind(room, caller.access, "comment")
            if (r.content or {}).get("rootId") == root
        ]
    finally:
        done_with(server, room)
    return web.json_response({"data": {"comments": found}})
