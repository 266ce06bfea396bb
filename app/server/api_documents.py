"""The API's document routes: health, upload, list, info, delete, copy, revoke, OpenAPI.

Host administration is :class:`lamina.server.admin.HostAdmin`'s (the server's ``admin``); these
handlers only move requests to it off the event loop and shape Document Engine's replies.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web
from lamina.server.api import ApiError, decode_cursor, encode_cursor, json_body, openapi_document
from lamina.server.api_auth import require_admin
from lamina.server.store import DocumentInfo

if TYPE_CHECKING:
    from lamina.server.app import LaminaServer

DEFAULT_PAGE_SIZE = 10


async def healthcheck(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET /healthcheck``: ``{"ok": true}`` while the server serves (503 when stopping)."""
    if server.is_stopping:
        return web.json_response({"ok": False}, status=503)
    return web.json_response({"ok": True})


async def openapi(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET /openapi.json``: what this server implements."""
    return web.json_response(openapi_document())


def _created(info: DocumentInfo, title: str | None = None) -> dict[str, Any]:
    return {
        "document_id": info.document_id,
        "errors": [],
        "password_protected": False,
        "sourcePdfSha256": info.sha256,
        "title": title if title is not None else info.filename,
        "createdAt": info.added_at,
    }


def properties(info: DocumentInfo) -> dict[str, Any]:
    """Return Document Engine's ``DocumentProperties`` of a document (plus its id)."""
    return {
        "document_id": info.document_id,
        "passwordProtected": False,
        "sourcePdfSha256": info.sha256,
        "title": info.filename,
        "byteSize": info.size,
        "createdAt": info.added_at,
        "storage": {"type": "built-in"},
    }


async def upload(server: LaminaServer, request: web.Request) -> web.Response:
    """``POST /api/documents``: a raw ``application/pdf`` body, or multipart ``file``
    (with ``document_id``, ``title``)."""
    require_admin(server, request)
    document_id: str | None = None
    title: str | None = None
    filename = "document.pdf"
    if request.content_type == "multipart/form-data":
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise ApiError(400, "multipart upload needs a 'file' part with the PDF")
        data = upload.file.read()
        filename = upload.filename or filename
        raw_id = form.get("document_id")
        document_id = raw_id if isinstance(raw_id, str) and raw_id else None
        raw_title = form.get("title")
        title = raw_title if isinstance(raw_title, str) and raw_title else None
    elif request.content_type in ("application/pdf", "application/octet-stream"):
        data = await request.read()
        # Lamina: a raw upload may name its id and title in the query.
        document_id = request.query.get("document_id") or None
        title = request.query.get("title") or None
    else:
        raise ApiError(
            400,
            f"upload a PDF as application/pdf or multipart/form-data, not {request.content_type}",
        )
    if not data:
        raise ApiError(400, "the uploaded file is empty")
    info = await asyncio.to_thread(
        server.admin.add_document_bytes, data, title or filename, document_id
    )
    return web.json_response({"data": _created(info, title)})


async def list_documents(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET /api/documents``: ``page_size``, ``cursor``, ``title``, ``order_by``,
    ``order_direction`` as Document Engine's."""
    require_admin(server, request)
    query = request.query
    try:
        size = int(query.get("page_size", DEFAULT_PAGE_SIZE))
    except ValueError as exc:
        raise ApiError(400, "page_size must be a whole number") from exc
    if size < 1:
        raise ApiError(400, "page_size must be at least 1")
    order_by = query.get("order_by", "created_at")
    direction = query.get("order_direction", "desc")
    if order_by not in ("title", "created_at") or direction not in ("asc", "desc"):
        raise ApiError(400, "order_by is title|created_at, order_direction asc|desc")
    documents = await asyncio.to_thread(server.admin.documents)
    if "title" in query:
        wanted = query["title"].lower()
        documents = [d for d in documents if wanted in d.filename.lower()]
    key = (lambda d: d.filename.lower()) if order_by == "title" else (lambda d: d.added_at)
    documents.sort(key=key, reverse=direction == "desc")
    start = decode_cursor(query["cursor"]) if "cursor" in query else 0
    page = documents[start : start + size]
    after = start + len(page)
    return web.json_response(
        {
            "data": [properties(d) for d in page],
            "document_count": len(page),
            "next_cursor": encode_cursor(after) if after < len(documents) else None,
            "prev_cursor": encode_cursor(max(0, start - size)) if start > 0 else None,
            "prev_document_count": start,
            "next_document_count": len(documents) - after,
        }
    )


def _document_info(server: LaminaServer, document_id: str) -> dict[str, Any]:
    from lamina.pdf import open_pdf

    info = server.admin.document(document_id)
    source = server.store.read_asset(info.sha256)
    with open_pdf(source) as pdf:
        pages = []
        for index in range(pdf.page_count):
            page = pdf.page_info(index)
            pages.append(
                {
                    "pageIndex": index,
                    "width": page.width,
                    "height": page.height,
                    "rotation": page.rotation,
                }
            )
    return {
        "pageCount": len(pages),
        "pages": pages,
        "title": info.filename,
        "permissions": {"annotationAndForms": True, "fillForms": True, "print": True},
    }


async def document_info(server: LaminaServer, request: web.Request) -> web.Response:
    """``GET /api/documents/{id}/document_info``: pages, sizes, title."""
    require_admin(server, request)
    data = await asyncio.to_thread(_document_info, server, request.match_info["documentId"])
    return web.json_response({"data": data})


async def delete_document(server: LaminaServer, request: web.Request) -> web.Response:
    """``DELETE /api/documents/{id}``: the document, its layers, its live sessions."""
    require_admin(server, request)
    document_id = request.match_info["documentId"]
    await asyncio.to_thread(server.admin.document, document_id)
    server.end_sessions(document_id, None, f"document {document_id!r} was deleted by the host")
    await server.writer.submit_barrier()
    await asyncio.to_thread(server.admin.remove_document, document_id)
    return web.json_response({})


async def copy_document(server: LaminaServer, request: web.Request) -> web.Response:
    """``POST /api/copy_document``: ``{document_id, new_document_id}``, with every layer."""
    from lamina.server.api_layers import copy_layer_records

    require_admin(server, request)
    body = await json_body(request)
    source_id = body.get("document_id") or body.get("documentId")
    if not isinstance(source_id, str) or not source_id:
        raise ApiError(400, "copy_document needs document_id")
    new_id = body.get("new_document_id")
    if new_id is not None and not isinstance(new_id, str):
        raise ApiError(400, "new_document_id must be a string")
    admin = server.admin
    source = await asyncio.to_thread(admin.document, source_id)
    data = await asyncio.to_thread(server.store.read_asset, source.sha256)
    from ulid import ULID

    copy = await asyncio.to_thread(
        admin.add_document_bytes, data, source.filename, new_id or str(ULID())
    )
    if copy.document_id == source.document_id:
        raise ApiError(400, "new_document_id must differ from document_id")
    layers = await asyncio.to_thread(admin.layer_names, source_id)
    for layer in ["", *layers]:
        await copy_layer_records(server, source_id, layer, copy.document_id, layer)
        if layer:
            await asyncio.to_thread(admin.create_layer, copy.document_id, layer)
    return web.json_response({"data": {"document_id": copy.document_id}})


async def revoke(server: LaminaServer, request: web.Request) -> web.Response:
    """``POST /api/revoke``: ``{"jwts": [...]}``, tokens signed by this host, by their jti;
    also (Lamina, for ``lamina revoke --server``) ``{"jtis": [...]}``."""
    from lamina.auth import verify_token
    from lamina.auth.errors import AuthError, TokenExpired

    require_admin(server, request)
    body = await json_body(request)
    jtis = body.get("jtis")
    if isinstance(jtis, list) and jtis and all(isinstance(j, str) and j for j in jtis):
        for jti in jtis:
            await asyncio.to_thread(server.admin.revoke, jti)
        server.revoked = await asyncio.to_thread(server.store.revoked_jtis)
        server.end_revoked()
        return web.json_response({"result": "success", "status": 200, "data": jtis})
    jwts = body.get("jwts")
    if not isinstance(jwts, list) or not all(isinstance(j, str) for j in jwts):
        raise ApiError(400, "revoke needs {'jwts': [token, ...]}")
    revoked: list[str] = []
    failing: list[dict[str, str]] = []
    for index, token in enumerate(jwts):
        try:
            try:
                claims = verify_token(token, server.public_keys)
            except TokenExpired:
                continue  # an expired token opens nothing already
            if claims.jti is None:
                raise ApiError(400, "the token has no jti, so it cannot be revoked")
        except (AuthError, ApiError) as exc:
            failing.append({"path": f"$.jwts[{index}]", "details": str(exc)})
            continue
        await asyncio.to_thread(server.admin.revoke, claims.jti)
        revoked.append(token)
    server.revoked = await asyncio.to_thread(server.store.revoked_jtis)
    server.end_revoked()
    result = "success" if not failing else ("failure" if not revoked else "partial_failure")
    out: dict[str, Any] = {"result": result, "status": 200 if not failing else 400}
    out["data"] = revoked
    if failing:
        out["failingPaths"] = failing
    return web.json_response(out, status=200 if revoked or not failing else 400)


async def compact(server: LaminaServer, request: web.Request) -> web.Response:
    """``POST /api/compact[?retention=SECONDS]`` (Lamina, for ``lamina compact --server``):
    compact every layer's history now (lamina.server.compaction; default retention the
    server's ``history_retention``); the data lists what each layer dropped."""
    from lamina.server.compaction import compact_store, forget_in_rooms, server_retention

    require_admin(server, request)
    try:
        retention = float(request.query.get("retention", server_retention(server)))
    except ValueError as exc:
        raise ApiError(400, "retention must be a number of seconds") from exc
    done = await asyncio.to_thread(compact_store, server.store, retention)
    forget_in_rooms(server, done)
    data = [
        {
            "document_id": c.document_id,
            "layer": c.layer,
            "horizon": c.horizon,
            "tombstones": c.tombstones,
            "change_ids": c.change_ids,
        }
        for c in done
    ]
    return web.json_response({"result": "success", "status": 200, "data": data})
