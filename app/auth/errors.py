"""Errors of token verification, key files, permission strings and invites.

The tree::

    LaminaError
    ├── AuthError                      code: the sync close code of app/sync §7.1
    │   ├── TokenMissing               "unauthorized"
    │   ├── TokenMalformed             "unauthorized"
    │   ├── TokenInvalidSignature      "unauthorized"
    │   ├── TokenAlgorithmRejected     "unauthorized"
    │   ├── TokenClaimsInvalid         "unauthorized"
    │   ├── TokenExpired               "token-expired"
    │   ├── TokenNotYetValid           "token-expired"
    │   ├── TokenWrongDocument         "forbidden"
    │   ├── TokenRevoked               "forbidden"
    │   └── PermissionDenied           "forbidden" (carries ``reason``)
    ├── KeyFileError                   a key file is missing, unreadable or not a usable key
    ├── PermissionStringError          a malformed ``collaboration_permissions`` string
    ├── TtlError                       a malformed ``--ttl`` value
    └── InviteError                    a malformed invite link or server url

Messages are lowercase, carry the facts and say what to do.
"""

from __future__ import annotations

from typing import ClassVar

from lamina.model.errors import LaminaError

UNAUTHORIZED = "unauthorized"
TOKEN_EXPIRED = "token-expired"
FORBIDDEN = "forbidden"


class AuthError(LaminaError):
    """A token that does not open the document, or a change it does not allow.

    ``code`` is the error code the sync server sends before closing (app/sync §7.1).
    """

    code: ClassVar[str] = UNAUTHORIZED


class TokenMissing(AuthError):
    """No token was given."""

    def __init__(self, message: str = "no token given: open an invite from the host") -> None:
        super().__init__(message)


class TokenMalformed(AuthError):
    """The text is not a JWT (three base64url parts with a JSON header and payload)."""


class TokenInvalidSignature(AuthError):
    """The signature does not match any of the host's public keys."""


class TokenAlgorithmRejected(AuthError):
    """The token names an algorithm outside the fixed list (``none``, ``HS256``, ...)."""


class TokenClaimsInvalid(AuthError):
    """A required claim is missing, or a claim has a value of the wrong kind."""


class TokenExpired(AuthError):
    """The token's ``exp`` is in the past."""

    code: ClassVar[str] = TOKEN_EXPIRED


class TokenNotYetValid(AuthError):
    """The token's ``nbf`` is in the future."""

    code: ClassVar[str] = TOKEN_EXPIRED


class TokenWrongDocument(AuthError):
    """The token opens another document than the one asked for."""

    code: ClassVar[str] = FORBIDDEN


class TokenRevoked(AuthError):
    """The host revoked the token's ``jti``."""

    code: ClassVar[str] = FORBIDDEN


class PermissionDenied(AuthError):
    """The token does not allow an action; ``reason`` says which grant is missing."""

    code: ClassVar[str] = FORBIDDEN

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeyFileError(LaminaError):
    """A key file is missing, unreadable, or does not hold a usable key."""


class PermissionStringError(LaminaError, ValueError):
    """A collaboration permission string that is not ``content-type:action:scope``."""

    def __init__(self, text: str, problem: str) -> None:
        super().__init__(f"bad collaboration permission {text!r}: {problem}")
        self.text = text
        self.problem = problem


class TtlError(LaminaError, ValueError):
    """A token lifetime that is not a positive number followed by d, h, m or s."""


class InviteError(LaminaError, ValueError):
    """An invite link or server url that Lamina cannot read."""
