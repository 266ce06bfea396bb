"""The phases of one sync connection on each side, as tables (h11's ``_state.py``).

Rules (the sessions cite them as ``P1``...):

P1  A connection is in exactly one phase. Only :meth:`PhaseMachine.advance` changes it, and
    only along a row of its side's transition table; any other step is our own caller's bug
    and raises :class:`~lamina.sync.errors.LocalProtocolError`. Steps that send data once the
    connection is open are rows too (``open --send--> open``), so "may I send this now?" is
    answered by the same table.
P2  Server: await-hello --hello received (§3.1)--> await-welcome --welcome sent (§3.2)-->
    await-catch-up --catch-up sent (§3.3)--> open. From every phase but closed an error
    (sent, or the peer's fault, §7.1) closes it. Closed is final.
P3  Client: disconnected --hello sent--> await-welcome --welcome--> await-catch-up, or
    behind when the welcome shows the server lost changes we saw (§3.4); behind --the user
    adopts the server's state (§6.6)--> await-catch-up --catch-up arrived--> open. An
    ``error`` frame closes it (§7.1); losing the socket goes back to disconnected from any
    phase. A new hello starts from disconnected or closed.
P4  What a side may *receive* in each phase is a table too (:attr:`SideRules.receives`). A
    frame outside it is the peer's fault (:class:`~lamina.sync.errors.RemoteProtocolError`,
    ``bad-message``): the peer's opening message a second time is "sent twice", anything
    else names what the phase expects. Receiving in a phase without a row (no connection,
    or closed) is our own bug.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from lamina.sync.errors import LocalProtocolError, RemoteProtocolError


class ServerPhase(StrEnum):
    """Where a connection is, as the server sees it (P2)."""

    AWAIT_HELLO = "await-hello"
    AWAIT_WELCOME = "await-welcome"
    AWAIT_CATCH_UP = "await-catch-up"
    OPEN = "open"
    CLOSED = "closed"


class ClientPhase(StrEnum):
    """Where a connection is, as the client sees it (P3)."""

    DISCONNECTED = "disconnected"
    AWAIT_WELCOME = "await-welcome"
    AWAIT_CATCH_UP = "await-catch-up"
    BEHIND = "behind"
    OPEN = "open"
    CLOSED = "closed"


class Step(StrEnum):
    """What moves a connection from one phase to the next."""

    HELLO = "hello"
    """Server: the hello arrived. Client: the hello was written."""
    WELCOME = "welcome"
    """Server: the welcome was sent. Client: it arrived, and the server is not behind."""
    BEHIND = "behind"
    """Client: the welcome shows the server lost changes this client saw (§3.4)."""
    ADOPT = "adopt"
    """Client: its user accepted the server's state (§6.6)."""
    CATCH_UP = "catch-up"
    """The catch-up ``snapshot`` or ``changes`` was sent (server) or arrived (client)."""
    SEND = "send"
    """Data on an open connection: records, acks, presence, the document, pushes."""
    ERROR = "error"
    """An ``error`` frame was sent (server) or arrived (client), §7.1."""
    LOST = "lost"
    """Client: the socket is gone."""


P = TypeVar("P", ServerPhase, ClientPhase)


@dataclass(frozen=True)
class SideRules(Generic[P]):
    """The phase tables of one side of the connection.

    Attributes:
        initial: the phase of a new session.
        transitions: ``phase -> step -> next phase`` (P1-P3).
        receives: ``phase -> message types`` the peer may send then (P4); a phase without a
            row may not receive at all.
        opening: the type of the peer's first message, whose repeat is "sent twice".
        expecting: ``phase -> why`` another frame is out of order then (P4).
    """

    initial: P
    transitions: Mapping[P, Mapping[Step, P]]
    receives: Mapping[P, frozenset[str]]
    opening: str
    expecting: Mapping[P, str]


_S = ServerPhase
SERVER_RULES: SideRules[ServerPhase] = SideRules(
    initial=_S.AWAIT_HELLO,
    transitions={
        _S.AWAIT_HELLO: {Step.HELLO: _S.AWAIT_WELCOME, Step.ERROR: _S.CLOSED},
        _S.AWAIT_WELCOME: {Step.WELCOME: _S.AWAIT_CATCH_UP, Step.ERROR: _S.CLOSED},
        _S.AWAIT_CATCH_UP: {Step.CATCH_UP: _S.OPEN, Step.ERROR: _S.CLOSED},
        _S.OPEN: {Step.SEND: _S.OPEN, Step.ERROR: _S.CLOSED},
        _S.CLOSED: {},
    },
    receives={
        _S.AWAIT_HELLO: frozenset({"hello"}),
        _S.AWAIT_WELCOME: frozenset(),
        _S.AWAIT_CATCH_UP: frozenset(),
        _S.OPEN: frozenset(
            {"push", "presence", "get_document", "view_layer", "list_layers", "unview_layer"}
        ),
    },
    opening="hello",
    expecting={
        _S.AWAIT_HELLO: "expected hello first",
        _S.AWAIT_WELCOME: "sent before the welcome and catch-up",
        _S.AWAIT_CATCH_UP: "sent before the welcome and catch-up",
        _S.OPEN: "unexpected from a client",
    },
)
"""The server's side (P2, P4)."""

_C = ClientPhase
_CATCHING_UP = frozenset({"snapshot", "changes", "presence", "error"})
CLIENT_RULES: SideRules[ClientPhase] = SideRules(
    initial=_C.DISCONNECTED,
    transitions={
        _C.DISCONNECTED: {Step.HELLO: _C.AWAIT_WELCOME, Step.LOST: _C.DISCONNECTED},
        _C.AWAIT_WELCOME: {
            Step.WELCOME: _C.AWAIT_CATCH_UP,
            Step.BEHIND: _C.BEHIND,
            Step.ERROR: _C.CLOSED,
            Step.LOST: _C.DISCONNECTED,
        },
        _C.AWAIT_CATCH_UP: {
            Step.CATCH_UP: _C.OPEN,
            Step.ERROR: _C.CLOSED,
            Step.LOST: _C.DISCONNECTED,
        },
        _C.BEHIND: {
            Step.ADOPT: _C.AWAIT_CATCH_UP,
            Step.ERROR: _C.CLOSED,
            Step.LOST: _C.DISCONNECTED,
        },
        _C.OPEN: {Step.SEND: _C.OPEN, Step.ERROR: _C.CLOSED, Step.LOST: _C.DISCONNECTED},
        _C.CLOSED: {Step.HELLO: _C.AWAIT_WELCOME, Step.LOST: _C.DISCONNECTED},
    },
    receives={
        _C.AWAIT_WELCOME: frozenset({"welcome", "error"}),
        _C.AWAIT_CATCH_UP: _CATCHING_UP,
        _C.BEHIND: _CATCHING_UP,
        _C.OPEN: _CATCHING_UP | {"ack", "document_chunk", "layers"},
    },
    opening="welcome",
    expecting={
        _C.AWAIT_WELCOME: "expected welcome first",
        _C.AWAIT_CATCH_UP: "expected the catch-up first",
        _C.BEHIND: "expected the catch-up first",
        _C.OPEN: "unexpected from a server",
    },
)
"""The client's side (P3, P4)."""


class PhaseMachine(Generic[P]):
    """The one place that changes a session's phase (P1)."""

    def __init__(self, rules: SideRules[P]) -> None:
        self._rules: SideRules[P] = rules
        self._phase: P = rules.initial

    @property
    def phase(self) -> P:
        """The current phase."""
        return self._phase

    def allows(self, step: Step) -> bool:
        """Whether ``step`` is legal now."""
        return step in self._rules.transitions[self._phase]

    def advance(self, step: Step, what: str | None = None) -> P:
        """Take ``step`` and return the new phase.

        Args:
            step: what happened.
            what: the caller's action, for the error message (default: the step).

        Raises:
            LocalProtocolError: ``step`` is not legal in the current phase (P1).
        """
        try:
            self._phase = self._rules.transitions[self._phase][step]
        except KeyError:
            legal = [str(p) for p, row in self._rules.transitions.items() if step in row]
            raise LocalProtocolError(
                f"{what or step} in phase {self._phase} (allowed in: {', '.join(legal)})"
            ) from None
        return self._phase

    def require_receiving(self) -> frozenset[str]:
        """Return the message types that may arrive now (P4).

        Raises:
            LocalProtocolError: this phase may not receive at all (no connection, closed).
        """
        allowed = self._rules.receives.get(self._phase)
        if allowed is None:
            raise LocalProtocolError(f"receive_text in phase {self._phase}")
        return allowed

    def check_receive(self, msg_type: str) -> None:
        """Raise unless a message of type ``msg_type`` may arrive now (P4).

        Raises:
            RemoteProtocolError: the peer sent it out of order.
            LocalProtocolError: this phase may not receive at all (no connection, closed).
        """
        allowed = self.require_receiving()
        if msg_type in allowed:
            return
        if msg_type == self._rules.opening:
            raise RemoteProtocolError(f"{msg_type}: sent twice")
        raise RemoteProtocolError(f"{msg_type}: {self._rules.expecting[self._phase]}")
