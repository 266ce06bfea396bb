"""The HTTP API: Document Engine's paths and shapes on the sync server's port (DESIGN §9).

Every route is a row of :data:`ROUTES` (method, path, handler, summary); the same table adds
the routes to the aiohttp application and builds the OpenAPI document the server serves at
``/openapi.json`` (:func:`openapi_document`), so the two cannot disagree. Per-layer routes
also exist without ``/layers/{layerName}`` for the default layer ``""``.

Credentials (:mod:`lamina.server.api_auth`): the admin secret
(``Authorization: Token token="…"``) everywhere; on per-layer reads also the reviewer's JWT
(``Authorization: Bearer …``), limited to its document, the layers it may view and its view
rules. Writes go through the layer's room, as the sync socket's pushes do
(:mod:`lamina.server.api_layers`): connected reviewers see them at once, and a reply comes only
after the write is durable.

Errors are JSON ``{"details": "...", "status": N, "requestId": "..."}`` (Document Engine's
``ErrorResponse``) with its status codes: 400 malformed input, 401 a bad or missing credential,
403 a credential that may not do this, 404 an unknown document or layer, 409 a taken id, 422
an Instant JSON change the layer refused.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from lamina import __version__
from lamina.auth.errors import AuthError
from lamina.model.errors import InstantJsonError, LaminaError
from lamina.server.errors import DocumentExistsError, DocumentNotFoundError, InvalidNameError
from ulid import ULID

if TYPE_CHECKING:
    from lamina.server.app import LaminaServer

logger = logging.getLogger("lamina.server.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DOC = "/api/documents/{documentId}"
LAYER = DOC + "/layers/{layerName}"


class ApiError(LaminaError):
    """A request the API refuses, with its HTTP status."""

    def __init__(self, status: int, details: str) -> None:
        super().__init__(details)
        self.status = status
        self.details = details


def error_response(status: int, details: str) -> web.Response:
    """Return Document Engine's error body for ``status``."""
    return web.json_response(
        {"details": details, "status": status, "requestId": str(ULID())}, status=status
    )


def status_of(exc: LaminaError) -> int:
    """Return the HTTP status of one of the server's errors (the one mapping)."""
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, DocumentNotFoundError):
        return 404
    if isinstance(exc, DocumentExistsError):
        return 409
    if isinstance(exc, AuthError):
        return 403 if exc.code == "forbidden" else 401
    if isinstance(exc, (InstantJsonError, InvalidNameError, ValueError)) or _is_pdf_error(exc):
        return 400
    return 500


def _is_pdf_error(exc: LaminaError) -> bool:
    """Whether ``exc`` is a :class:`lamina.pdf.errors.PdfError` (a bad upload), without
    importing the PDF bridge: it loads PyMuPDF, which a server needs only for the requests
    that read or write a PDF, and none of those can have raised it before importing it."""
    errors = sys.modules.get("lamina.pdf.errors")
    return errors is not None and isinstance(exc, errors.PdfError)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except LaminaError as exc:
        status = status_of(exc)
        if status >= 500:
            logger.error("%s %s failed: %s", request.method, request.path, exc)
        return error_response(status, str(exc))


@dataclass(frozen=True)
class Route:
    """One row of the API: what it answers and where it is documented."""

    method: str
    path: str
    handler: Callable[[LaminaServer, web.Request], Awaitable[web.StreamResponse]]
    summary: str
    admin_only: bool = True
    tag: str = "lamina"


def _layer_forms(path: str) -> list[str]:
    """The per-layer path and its default-layer form (without ``/layers/{layerName}``)."""
    return [path, path.replace("/layers/{layerName}", "")]


def routes() -> list[Route]:
    """Return every route of the API, in the reference's order."""
    from lamina.server import api_documents as d
    from lamina.server import api_feed as feed
    from lamina.server import api_layers as la
    from lamina.server import api_records as rec

    table = [
        Route("GET", "/healthcheck", d.healthcheck, "200 when the server can serve", False),
        Route("GET", "/openapi.json", d.openapi, "this API's OpenAPI document", False),
        Route("POST", "/api/documents", d.upload, "upload a PDF (raw or multipart)"),
        Route("GET", "/api/documents", d.list_documents, "list documents, cursor paging"),
        Route("GET", DOC + "/document_info", d.document_info, "pages, sizes, title"),
        Route("DELETE", DOC, d.delete_document, "delete a document with all its layers"),
        Route("POST", "/api/copy_document", d.copy_document, "copy a document with its layers"),
        Route("GET", DOC + "/layers", la.list_layers, "the document's layers"),
        Route("POST", DOC + "/layers", la.create_layer, "create a layer (copy or Instant JSON)"),
        Route("DELETE", LAYER, la.delete_layer, "delete a layer"),
    ]
    per_layer = [
        Route(
            "GET", LAYER + "/document.json", la.document_json, "the layer as Instant JSON", False
        ),
        Route("POST", LAYER + "/apply_instant_json", la.apply_instant_json, "apply Instant JSON"),
        Route("GET", LAYER + "/pdf", la.layer_pdf, "the layer's PDF", False),
        Route("POST", LAYER + "/pdf", la.layer_pdf, "the layer's PDF", False),
        Route(
            "POST",
            LAYER + "/pdf_with_instant_json",
            la.pdf_with_instant_json,
            "the layer's PDF with more Instant JSON, not stored",
            False,
        ),
        Route("GET", LAYER + "/document.xfdf", la.document_xfdf, "the layer as XFDF", False),
        Route("GET", LAYER + "/annotations", rec.list_annotations, "annotations", False),
        Route("POST", LAYER + "/annotations", rec.create_annotations, "create annotations"),
        Route("GET", LAYER + "/annotations/{annotationId}", rec.get_annotation, "one", False),
        Route("PUT", LAYER + "/annotations/{annotationId}", rec.update_annotation, "update one"),
        Route("DELETE", LAYER + "/annotations/{annotationId}", rec.delete_annotation, "delete"),
        Route("GET", LAYER + "/form-field-values", rec.form_field_values, "values", False),
        Route("POST", LAYER + "/form-field-values", rec.set_form_field_values, "set values"),
        Route("POST", LAYER + "/comments", rec.create_comments, "create comments"),
        Route(
            "GET",
            LAYER + "/annotations/{annotationId}/comments",
            rec.thread_comments,
            "a thread's comments",
            False,
        ),
        Route(
            "POST",
            LAYER + "/annotations/{annotationId}/comments",
            rec.reply_comments,
            "add comments to a thread",
        ),
        Route(
            "GET",
            LAYER + "/changes",
            feed.changes,
            "change feed (Lamina): long-poll JSON or text/event-stream",
            False,
        ),
    ]
    for route in per_layer:
        for path in _layer_forms(route.path):
            table.append(Route(route.method, path, route.handler, route.summary, route.admin_only))
    table.append(Route("POST", "/api/revoke", d.revoke, "revoke tokens by their jti"))
    table.append(Route("POST", "/api/compact", d.compact, "compact every layer's history"))
    return table


def add_api_routes(app: web.Application, server: LaminaServer) -> None:
    """Add the API's routes to ``app``, and its error middleware."""
    app.middlewares.append(_errors)
    for route in routes():
        # A coroutine function: aiohttp deprecates plain functions as handlers.
        async def bound(request: web.Request, route: Route = route) -> web.StreamResponse:
            return await route.handler(server, request)

        app.router.add_route(route.method, route.path, bound)


def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of :func:`routes` (what ``/openapi.json`` serves)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes():
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in ("documentId", "layerName", "annotationId")
            if "{" + name + "}" in route.path
        ]
        security: list[dict[str, list[str]]] = [{"Token": []}]
        if not route.admin_only and route.path.startswith("/api/"):
            security.append({"Bearer": []})
        elif not route.admin_only:
            security = []
        paths.setdefault(route.path, {})[route.method.lower()] = {
            "summary": route.summary,
            "operationId": f"{route.method.lower()}:{route.path}",
            "parameters": params,
            "security": security,
            "responses": {
                "200": {"description": "done"},
                "default": {"$ref": "#/components/responses/Error"},
            },
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Lamina server (Document Engine compatible)",
            "version": __version__,
            "description": "Paths and shapes of Nutrient Document Engine API 1.9.0.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "Token": {"type": "apiKey", "in": "header", "name": "Authorization"},
                "Bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
            "responses": {
                "Error": {
                    "description": "an error",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["details", "status"],
                                "properties": {
                                    "details": {"type": "string"},
                                    "status": {"type": "integer"},
                                    "requestId": {"type": "string"},
                                },
                            }
                        }
                    },
                }
            },
        },
    }


# --- request helpers --------------------------------------------------------------------


async def json_body(request: web.Request) -> dict[str, Any]:
    """Return the request's JSON object body; 400 when it is not one."""
    try:
        body = await request.json(loads=json.loads)
    except ValueError as exc:
        raise ApiError(400, f"the request body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def encode_cursor(offset: int) -> str:
    """Return an opaque paging cursor for ``offset``."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """Return the offset of a cursor made by :func:`encode_cursor`; 400 for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("o:"):
            raise ValueError(text)
        return max(0, int(text[2:]))
    except ValueError as exc:
        raise ApiError(400, f"cursor {cursor!r} is not one this server made") from exc
