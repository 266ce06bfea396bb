"""Who an HTTP API request is: the host's backend (admin secret) or a reviewer (JWT).

The admin credential is Document Engine's ``Authorization: Token token="<secret>"``; it may do
everything. A reviewer's ``Authorization: Bearer <JWT>`` (the same token the sync socket
takes, checked the same way by :func:`lamina.auth.verify_token`) may read the layers its token
may view, through its view rules, and nothing else.
"""

from __future__ import annotations

import hmac
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from lamina.auth import verify_token
from lamina.auth.errors import AuthError
from lamina.auth.tokens import DOWNLOAD, READ_DOCUMENT, WRITE, TokenClaims
from lamina.server.access import Access
from lamina.server.api import ApiError

if TYPE_CHECKING:
    from lamina.server.app import LaminaServer

_TOKEN_HEADER = re.compile(r'^Token\s+token="?([^"]*)"?\s*$')
ADMIN_TTL = 3600
"""Seconds the admin's in-memory claims are valid (they are made per request)."""


@dataclass(frozen=True)
class Caller:
    """Who a request is: ``claims`` None for the admin; ``access`` what it may do."""

    access: Access
    claims: TokenClaims | None

    @property
    def is_admin(self) -> bool:
        """Whether the host's backend made the request."""
        return self.claims is None


def admin_access(document_id: str, layer: str) -> Access:
    """Return the access of the admin on one layer: every permission, no view rules."""
    claims = TokenClaims(
        document_id=document_id,
        permissions=frozenset({READ_DOCUMENT, WRITE, DOWNLOAD}),
        exp=int(time.time()) + ADMIN_TTL,
        layer=layer,
    )
    return Access(claims)


def _is_admin(server: LaminaServer, request: web.Request) -> bool:
    header = request.headers.get("Authorization", "")
    match = _TOKEN_HEADER.match(header)
    secret = server.api_token
    if match is None or not secret:
        return False
    return hmac.compare_digest(match.group(1).encode(), secret.encode())


def require_admin(server: LaminaServer, request: web.Request) -> None:
    """Refuse (401) a request without the admin secret."""
    if _is_admin(server, request):
        return
    if request.headers.get("Authorization", "").startswith("Bearer "):
        raise ApiError(403, "a reviewer's token may not do this: use the admin credential")
    raise ApiError(
        401,
        'missing or wrong credential: send Authorization: Token token="<API_AUTH_TOKEN>"',
    )


def caller_for_layer(
    server: LaminaServer, request: web.Request, document_id: str, layer: str
) -> Caller:
    """Return who may read ``layer``: the admin, or a reviewer whose token may view it.

    Raises:
        ApiError: 401 no or a bad credential (expired, revoked, another document's), 403 a
            token that may not view this layer or lacks ``read-document``.
    """
    if _is_admin(server, request):
        return Caller(admin_access(document_id, layer), None)
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise ApiError(
            401,
            'missing or wrong credential: send Authorization: Token token="<API_AUTH_TOKEN>" '
            "or Authorization: Bearer <JWT>",
        )
    try:
        claims = verify_token(
            header[len("Bearer ") :].strip(),
            server.public_keys,
            document_id=document_id,
            revoked_jtis=server.revoked,
        )
    except AuthError as exc:
        raise ApiError(401, f"token refused: {exc}") from exc
    if not claims.has(READ_DOCUMENT):
        raise ApiError(403, "token lacks the read-document permission")
    if not claims.may_view_layer(layer):
        raise ApiError(403, f"token may not view layer {layer!r}")
    return Caller(Access(claims), claims)
