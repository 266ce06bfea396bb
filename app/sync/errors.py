"""Errors of the sync protocol, split by whose fault they are (spec §1.4, §7).

::

    LaminaError
     └── SyncError
          ├── RemoteProtocolError   the peer sent something bad: answer ``error``, close
          ├── LocalProtocolError    our caller misused a session (a bug; also AssertionError)
          └── ChangeTooLargeError   a local change cannot fit in one frame
"""

from __future__ import annotations

from lamina.model.errors import LaminaError

CLOSE_CODES: dict[str, int] = {
    "unauthorized": 4401,
    "token-expired": 4403,
    "forbidden": 4403,
    "bad-message": 4400,
    "too-large": 1009,
    "rate-limited": 4429,
    "limit-exceeded": 4413,
    "server-error": 1011,
    "shutting-down": 1001,
}
"""WebSocket close code for each ``error`` code (§7.1)."""

FINAL_CODES = frozenset({"token-expired", "unauthorized", "forbidden"})
"""Error codes after which a client stops retrying (§7.2)."""


def close_code_for(code: str) -> int:
    """Return the WebSocket close code for an ``error`` code (1011 for unknown codes)."""
    return CLOSE_CODES.get(code, 1011)


class SyncError(LaminaError):
    """Base class of the sync protocol's errors."""


class RemoteProtocolError(SyncError):
    """The peer sent something that breaks the protocol.

    Attributes:
        code: the §7.1 error code to answer with (``bad-message``, ``too-large``, ...).
        close_code: the WebSocket close code that goes with ``code``.
    """

    def __init__(self, message: str, code: str = "bad-message") -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    @property
    def close_code(self) -> int:
        """The WebSocket close code of §7.1 for :attr:`code`."""
        return close_code_for(self.code)


class LocalProtocolError(SyncError, AssertionError):
    """Our own caller used a session or a layer in a way the protocol forbids (a bug)."""


class ChangeTooLargeError(SyncError, ValueError):
    """A local change is larger than one frame may carry (§1.2)."""
