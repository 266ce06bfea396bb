"""Tokens and Collaboration Permissions (DESIGN §5).

- :mod:`lamina.auth.keys`: the host's signing key pair in the data directory.
- :mod:`lamina.auth.tokens`: :func:`mint_token`, :func:`verify_token`, :class:`TokenClaims`.
- :mod:`lamina.auth.permissions`: :class:`PermissionEvaluator`, what a token may do with records.
- :mod:`lamina.auth.ownership`: :func:`record_meta`, the one way to describe a record to it.
- :mod:`lamina.auth.invite`: ``lamina://join?...`` links.
- :mod:`lamina.auth.errors`: the error tree; ``AuthError.code`` is the sync close code.

May import ``lamina.model``, PyJWT and cryptography only.
"""

from lamina.auth.errors import (
    AuthError,
    InviteError,
    KeyFileError,
    PermissionDenied,
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
from lamina.auth.invite import Invite, make_invite_link, parse_invite_link
from lamina.auth.keys import KeyPair, load_or_create_keypair, load_public_key
from lamina.auth.ownership import form_field_name, record_meta
from lamina.auth.permissions import (
    UNCHANGED,
    CollaborationPermission,
    PermissionEvaluator,
    RecordMeta,
    RecordPermissions,
    content_type_of,
)
from lamina.auth.tokens import (
    TokenClaims,
    mint_token,
    parse_ttl,
    unverified_claims,
    unverified_payload,
    verify_token,
)

__all__ = [
    "UNCHANGED",
    "AuthError",
    "CollaborationPermission",
    "Invite",
    "InviteError",
    "KeyFileError",
    "KeyPair",
    "PermissionDenied",
    "PermissionEvaluator",
    "PermissionStringError",
    "RecordMeta",
    "RecordPermissions",
    "TokenAlgorithmRejected",
    "TokenClaims",
    "TokenClaimsInvalid",
    "TokenExpired",
    "TokenInvalidSignature",
    "TokenMalformed",
    "TokenMissing",
    "TokenNotYetValid",
    "TokenRevoked",
    "TokenWrongDocument",
    "TtlError",
    "content_type_of",
    "form_field_name",
    "load_or_create_keypair",
    "load_public_key",
    "make_invite_link",
    "mint_token",
    "parse_invite_link",
    "parse_ttl",
    "record_meta",
    "unverified_claims",
    "unverified_payload",
    "verify_token",
]
