"""Minting and verifying client tokens: JWTs compatible with Document Engine (DESIGN §5).

Claims (``../shared/reference/nutrient-spec.md`` §3):

- ``exp`` (required): expiry, Unix seconds. ``nbf`` is honoured when present.
- ``document_id`` (required): the one document the token opens.
- ``permissions`` (required): a list of ``read-document``, ``write``, ``download`` and
  ``cover-image``. The legacy catch-all ``all`` (older Document Engine guides) is accepted when
  verifying and expands to all four; :func:`mint_token` writes the expanded list, since the
  current Document Engine enum no longer has ``all``.
- ``layer``: the Instant layer, default ``""``; no ``*``, at most 256 characters.
- ``user_id``, ``creator_name``, ``default_group``, ``jti``: as Document Engine.
- ``collaboration_permissions``: ``content-type:action:scope`` strings
  (:mod:`lamina.auth.permissions`); absent and ``[]`` mean different things.
- ``view_layers`` (Lamina's extension): other layers of the same document this token may
  view read-only (app/sync §5.3); ``["*"]`` means every layer. Document Engine ignores it.

Signatures are RS256, RS512, ES256 or ES512 only. The accepted list is fixed in code and
never read from the token, so ``alg: none`` and the HS256 key-confusion attack (an HMAC
signature keyed with the public PEM) are rejected before any key is used.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
import secrets
import time
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lamina.auth.errors import (
    PermissionStringError,
    TokenAlgorithmRejected,
    TokenClaimsInvalid,
    TokenExpired,
    TokenInvalidSignature,
    TokenMalformed,
    TokenMissing,
    TokenNotYetValid,
    TokenRevoked,
    TokenWrongDocument,
    TtlError,
)
from lamina.auth.keys import (
    ALGORITHMS,
    KeyPair,
    algorithms_for_key,
    check_algorithm,
    keypair_from_private_pem,
    public_key_from_pem,
)
from lamina.auth.permissions import CollaborationPermission

READ_DOCUMENT = "read-document"
WRITE = "write"
DOWNLOAD = "download"
COVER_IMAGE = "cover-image"
PERMISSIONS: tuple[str, ...] = (READ_DOCUMENT, WRITE, DOWNLOAD, COVER_IMAGE)
"""Every value the ``permissions`` claim may hold (besides the legacy alias ``all``)."""
ALL_ALIAS = "all"
DEFAULT_PERMISSIONS: tuple[str, ...] = (READ_DOCUMENT, WRITE, DOWNLOAD)

ALL_LAYERS = "*"
MAX_LAYER_NAME = 256
DEFAULT_TTL = timedelta(days=7)
DEFAULT_LEEWAY = 30.0
"""Seconds of clock difference tolerated between the host and the machine checking ``exp``."""

MAX_TOKEN_LENGTH = 65536
"""Longer text is refused before any decoding (a token with 100 permission strings is ~8 KB)."""

_ASK = "ask the host for a new invite"


@dataclass(frozen=True)
class TokenClaims:
    """The verified claims of a token.

    ``collaboration_permissions`` is None when the claim is absent (no restrictions beyond
    ``permissions``) and ``()`` when it is an empty list (nothing is visible).
    """

    document_id: str
    permissions: frozenset[str]
    exp: int
    layer: str = ""
    user_id: str | None = None
    collaboration_permissions: tuple[str, ...] | None = None
    default_group: str | None = None
    creator_name: str | None = None
    jti: str | None = None
    nbf: int | None = None
    iat: int | None = None
    view_layers: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def has(self, permission: str) -> bool:
        """Return whether ``permissions`` grants ``permission`` (``write``, ...)."""
        return permission in self.permissions

    def may_view_layer(self, layer: str) -> bool:
        """Return whether this token may see ``layer``: its own, or one in ``view_layers``."""
        if layer == self.layer:
            return True
        return ALL_LAYERS in self.view_layers or layer in self.view_layers


def format_utc(timestamp: float) -> str:
    """Return ``2026-11-21 10:00 UTC`` for a Unix time (the number itself when out of range)."""
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, ValueError, OSError):
        return f"unix time {timestamp:.0f}"


def check_layer_name(name: str, what: str = "layer") -> str:
    """Return ``name`` if it is a valid layer name (no ``*``, at most 256 characters)."""
    if ALL_LAYERS in name:
        raise TokenClaimsInvalid(f"{what} name {name!r} contains '*', which layer names may not")
    if len(name) > MAX_LAYER_NAME:
        raise TokenClaimsInvalid(
            f"{what} name is {len(name)} characters long (at most {MAX_LAYER_NAME})"
        )
    return name


_TTL = re.compile(r"\s*(\d+)\s*([dhms])\s*", re.IGNORECASE)
_TTL_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_ttl(text: str) -> timedelta:
    """Return the lifetime written as ``7d``, ``12h``, ``30m`` or ``3600s``."""
    match = _TTL.fullmatch(text)
    if match is None:
        raise TtlError(f"bad token lifetime {text!r}: write a number and d, h, m or s, like 7d")
    seconds = int(match.group(1)) * _TTL_UNITS[match.group(2).lower()]
    if seconds <= 0:
        raise TtlError(f"bad token lifetime {text!r}: it must be longer than zero")
    return timedelta(seconds=seconds)


# --- claims -------------------------------------------------------------------------------


def _optional_string(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TokenClaimsInvalid(f"claim {name} must be a string, got {type(value).__name__}")
    return value


def _numeric_date(payload: Mapping[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenClaimsInvalid(f"claim {name} must be a number of seconds since 1970")
    return int(value)


def _string_list(payload: Mapping[str, Any], name: str) -> list[str] | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TokenClaimsInvalid(f"claim {name} must be a list of strings")
    return value


def expand_permissions(values: Iterable[str]) -> frozenset[str]:
    """Return the permission set named by ``values``; ``all`` expands to every permission.

    Raises:
        TokenClaimsInvalid: a value is not a known permission.
    """
    result: set[str] = set()
    for value in values:
        if value == ALL_ALIAS:
            result.update(PERMISSIONS)
        elif value in PERMISSIONS:
            result.add(value)
        else:
            raise TokenClaimsInvalid(
                f"unknown permission {value!r}: use {', '.join(PERMISSIONS)} (or all)"
            )
    return frozenset(result)


def claims_from_payload(payload: Mapping[str, Any]) -> TokenClaims:
    """Return the claims of a decoded JWT payload, checking every claim Lamina reads.

    Raises:
        TokenClaimsInvalid: a required claim is missing or a claim is of the wrong kind.
    """
    exp = _numeric_date(payload, "exp")
    if exp is None:
        raise TokenClaimsInvalid("token has no exp claim: ask the host for a token that expires")
    document_id = payload.get("document_id")
    if not isinstance(document_id, str) or not document_id:
        raise TokenClaimsInvalid("token has no document_id claim (a non-empty string)")
    permission_values = _string_list(payload, "permissions")
    if permission_values is None:
        raise TokenClaimsInvalid("token has no permissions claim (a list of strings)")
    permissions = expand_permissions(permission_values)
    layer = _optional_string(payload, "layer") or ""
    check_layer_name(layer)
    view_layers = tuple(_string_list(payload, "view_layers") or ())
    for name in view_layers:
        if name != ALL_LAYERS:
            check_layer_name(name, "view_layers")
    collaboration = _string_list(payload, "collaboration_permissions")
    if collaboration is not None:
        for text in collaboration:
            try:
                CollaborationPermission.parse(text)
            except PermissionStringError as exc:
                raise TokenClaimsInvalid(f"claim collaboration_permissions: {exc}") from exc
    return TokenClaims(
        document_id=document_id,
        permissions=permissions,
        exp=exp,
        layer=layer,
        user_id=_optional_string(payload, "user_id"),
        collaboration_permissions=None if collaboration is None else tuple(collaboration),
        default_group=_optional_string(payload, "default_group"),
        creator_name=_optional_string(payload, "creator_name"),
        jti=_optional_string(payload, "jti"),
        nbf=_numeric_date(payload, "nbf"),
        iat=_numeric_date(payload, "iat"),
        view_layers=view_layers,
        raw=MappingProxyType(dict(payload)),
    )


# --- minting ------------------------------------------------------------------------------


def mint_token(
    keypair_or_private_pem: KeyPair | bytes,
    *,
    document_id: str,
    permissions: Iterable[str] = DEFAULT_PERMISSIONS,
    layer: str = "",
    user_id: str | None = None,
    creator_name: str | None = None,
    collaboration_permissions: Iterable[str] | None = None,
    default_group: str | None = None,
    view_layers: Iterable[str] = (),
    ttl: timedelta = DEFAULT_TTL,
    jti: str | None = None,
    nbf: float | None = None,
    now: float | None = None,
    algorithm: str | None = None,
) -> str:
    """Return a signed token for one document.

    Args:
        keypair_or_private_pem: the host's key pair, or a PEM private key.
        document_id: the document the token opens.
        permissions: ``read-document``, ``write``, ``download``, ``cover-image``; ``all`` is
            written out as all four.
        layer: the layer changes go to.
        user_id: stored as the creator of records.
        creator_name: forced creator name of created records.
        collaboration_permissions: permission strings; None leaves the claim out (no
            restrictions beyond ``permissions``), an empty list restricts everything.
        default_group: the group of created records.
        view_layers: layers the token may view read-only (``"*"``: all).
        ttl: lifetime from ``now``.
        jti: the token id the host can revoke; a fresh random id when None.
        nbf: not valid before this Unix time (claim left out when None).
        now: the current Unix time (tests); the clock when None.
        algorithm: RS256, RS512, ES256 or ES512; the key pair's (or key's own) when None.

    Raises:
        PermissionStringError: a collaboration permission string is malformed.
        TokenClaimsInvalid: another claim is invalid (unknown permission, bad layer name).
        KeyFileError: the key cannot sign ``algorithm``.
    """
    if isinstance(keypair_or_private_pem, KeyPair):
        keypair = keypair_or_private_pem
        if algorithm is not None and algorithm != keypair.algorithm:
            keypair = keypair_from_private_pem(keypair.private_pem, algorithm)
    else:
        keypair = keypair_from_private_pem(keypair_or_private_pem, algorithm)
    check_algorithm(keypair.algorithm)
    issued = time.time() if now is None else now
    if ttl.total_seconds() <= 0:
        raise TtlError("token lifetime must be longer than zero")
    payload: dict[str, Any] = {
        "document_id": document_id,
        "permissions": sorted(expand_permissions(permissions), key=PERMISSIONS.index),
        "iat": int(issued),
        "exp": int(issued + ttl.total_seconds()),
        "jti": jti if jti is not None else secrets.token_urlsafe(16),
    }
    if nbf is not None:
        payload["nbf"] = int(nbf)
    if layer:
        payload["layer"] = layer
    optional = {"user_id": user_id, "creator_name": creator_name, "default_group": default_group}
    payload.update({name: value for name, value in optional.items() if value is not None})
    if collaboration_permissions is not None:
        strings = list(collaboration_permissions)
        for text in strings:
            CollaborationPermission.parse(text)
        payload["collaboration_permissions"] = strings
    layers = list(view_layers)
    if layers:
        payload["view_layers"] = layers
    claims_from_payload(payload)
    return jwt.encode(payload, keypair.private_pem, algorithm=keypair.algorithm)


# --- verifying ----------------------------------------------------------------------------


def _b64_json(part: str, what: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise TokenMalformed(
            f"token {what} is not base64url json: copy the whole invite again"
        ) from exc


def _jwt_parts(token: str) -> list[str]:
    """Return the three dot-separated parts of a JWT, refusing overlong text first."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenMalformed(
            f"token is {len(token)} characters long (at most {MAX_TOKEN_LENGTH}): "
            "ask the host for a shorter token"
        )
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenMalformed(
            f"token is not a jwt (expected 3 dot-separated parts, got {len(parts)}): "
            "copy the whole invite again"
        )
    return parts


def _payload_object(part: str) -> dict[str, Any]:
    payload = _b64_json(part, "payload")
    if not isinstance(payload, dict):
        raise TokenMalformed("token payload is not a json object: copy the whole invite again")
    return payload


def unverified_payload(token: str) -> dict[str, Any]:
    """Return a JWT's payload without checking its signature (only a server can check it).

    A client reads it to name its local store and to grey out what the server would refuse;
    it trusts none of it. Use :func:`verify_token` wherever the claims grant anything.

    Raises:
        TokenMalformed: the text is not a JWT, or its payload is not a JSON object.
    """
    return _payload_object(_jwt_parts(token.strip())[1])


def unverified_claims(token: str) -> TokenClaims:
    """Return a JWT's claims without checking its signature, expiry or revocation.

    See :func:`unverified_payload` for what they may be used for.

    Raises:
        TokenMalformed: the text is not a JWT.
        TokenClaimsInvalid: a claim Lamina reads is missing or of the wrong kind.
    """
    return claims_from_payload(unverified_payload(token))


@functools.lru_cache(maxsize=64)
def _public_key(pem: bytes) -> tuple[rsa.RSAPublicKey | ec.EllipticCurvePublicKey, tuple[str, ...]]:
    key = public_key_from_pem(pem)
    # public_key_from_pem only lets through keys that verify an accepted algorithm.
    assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    return key, algorithms_for_key(key)


def verify_token(
    token: str | None,
    public_keys: Sequence[bytes] | bytes,
    *,
    document_id: str | None = None,
    revoked_jtis: Container[str] = (),
    now: float | None = None,
    leeway: float | timedelta = DEFAULT_LEEWAY,
) -> TokenClaims:
    """Return the claims of ``token`` after checking everything a server must check.

    Checks, in order: present; a JWT; an accepted algorithm; signed by one of
    ``public_keys``; required claims valid; not expired; not before ``nbf``; for
    ``document_id`` when given; ``jti`` not in ``revoked_jtis``.

    Raises:
        AuthError: one subclass per failure; its ``code`` is the sync close code (app/sync
            §7.1).
        KeyFileError: a public key given is not usable (a server configuration mistake).
    """
    if token is None or not token.strip():
        raise TokenMissing()
    token = token.strip()
    parts = _jwt_parts(token)
    header = _b64_json(parts[0], "header")
    if not isinstance(header, dict):
        raise TokenMalformed("token header is not a json object: copy the whole invite again")
    if "alg" not in header:
        raise TokenMalformed("token header names no algorithm: copy the whole invite again")
    _payload_object(parts[1])
    if "kid" in header and not isinstance(header["kid"], str):
        raise TokenMalformed("token header kid is not a string: copy the whole invite again")
    if "crit" in header:
        # RFC 7515 §4.1.11: a verifier must refuse extensions it does not understand, and
        # lamina understands none.
        raise TokenMalformed("token header names critical extensions lamina does not support")
    algorithm = header["alg"]
    if algorithm not in ALGORITHMS:
        raise TokenAlgorithmRejected(
            f"token is signed with {algorithm!r}, which lamina does not accept "
            f"(only {', '.join(ALGORITHMS)}): {_ASK}"
        )
    keys = [public_keys] if isinstance(public_keys, bytes) else list(public_keys)
    candidates = [key for key, usable in map(_public_key, keys) if algorithm in usable]
    payload_bytes: bytes | None = None
    for key in candidates:
        try:
            payload_bytes = jwt.PyJWS().decode(token, key=key, algorithms=[algorithm])
        except jwt.InvalidSignatureError:
            continue
        except (jwt.InvalidKeyError, jwt.InvalidAlgorithmError):
            continue
        except (jwt.DecodeError, jwt.InvalidTokenError) as exc:
            # Any other header PyJWT refuses is the token's fault, never a server error.
            raise TokenMalformed(
                f"token cannot be decoded ({exc}): copy the whole invite again"
            ) from exc
        break
    if payload_bytes is None:
        raise TokenInvalidSignature(
            f"token signature ({algorithm}) does not match this server's key: "
            f"the invite was made for another server, or the host's key changed; {_ASK}"
        )
    try:
        payload = json.loads(payload_bytes)
    except (ValueError, RecursionError) as exc:
        raise TokenMalformed("token payload is not json: copy the whole invite again") from exc
    if not isinstance(payload, dict):
        raise TokenMalformed("token payload is not a json object: copy the whole invite again")
    claims = claims_from_payload(payload)
    current = time.time() if now is None else now
    slack = leeway.total_seconds() if isinstance(leeway, timedelta) else float(leeway)
    if claims.exp <= current - slack:
        raise TokenExpired(f"token expired at {format_utc(claims.exp)}: {_ASK}")
    if claims.nbf is not None and claims.nbf > current + slack:
        raise TokenNotYetValid(
            f"token is not valid before {format_utc(claims.nbf)} (this machine's clock says "
            f"{format_utc(current)}): wait, or check the clock"
        )
    if document_id is not None and claims.document_id != document_id:
        raise TokenWrongDocument(
            f"token opens document {claims.document_id!r}, not {document_id!r}: "
            f"ask the host for an invite to {document_id!r}"
        )
    if claims.jti is not None and claims.jti in revoked_jtis:
        raise TokenRevoked(f"token {claims.jti!r} was revoked by the host: {_ASK}")
    return claims
