"""The phase tables (P1-P4): legal steps, illegal ones as our bug, out-of-order frames as theirs."""

from __future__ import annotations

import pytest
from lamina.sync.errors import LocalProtocolError, RemoteProtocolError
from lamina.sync.message_decoder import _FROM_CLIENT, _FROM_SERVER
from lamina.sync.phases import (
    CLIENT_RULES,
    SERVER_RULES,
    ClientPhase,
    PhaseMachine,
    ServerPhase,
    Step,
)


def test_server_goes_hello_welcome_catch_up_open_p2() -> None:
    machine = PhaseMachine(SERVER_RULES)
    assert machine.phase == "await-hello"
    for step, phase in [
        (Step.HELLO, ServerPhase.AWAIT_WELCOME),
        (Step.WELCOME, ServerPhase.AWAIT_CATCH_UP),
        (Step.CATCH_UP, ServerPhase.OPEN),
        (Step.SEND, ServerPhase.OPEN),
        (Step.ERROR, ServerPhase.CLOSED),
    ]:
        assert machine.advance(step) is phase


@pytest.mark.parametrize("phase", list(ServerPhase))
def test_server_closed_is_final_and_every_other_phase_can_close_p2(phase: ServerPhase) -> None:
    row = SERVER_RULES.transitions[phase]
    if phase is ServerPhase.CLOSED:
        assert row == {}
    else:
        assert row[Step.ERROR] is ServerPhase.CLOSED


def test_illegal_step_is_our_bug_and_an_assertion_error_p1() -> None:
    machine = PhaseMachine(SERVER_RULES)
    with pytest.raises(LocalProtocolError, match="send_ack in phase await-hello") as info:
        machine.advance(Step.SEND, "send_ack")
    assert isinstance(info.value, AssertionError)
    assert "allowed in: open" in str(info.value)
    assert machine.phase is ServerPhase.AWAIT_HELLO  # an illegal step changes nothing


def test_client_goes_behind_then_adopts_then_opens_p3() -> None:
    machine = PhaseMachine(CLIENT_RULES)
    assert machine.phase == "disconnected"
    machine.advance(Step.HELLO)
    assert machine.advance(Step.BEHIND) is ClientPhase.BEHIND
    with pytest.raises(LocalProtocolError):
        machine.advance(Step.CATCH_UP)  # nothing merges until the user decides (§3.4)
    assert machine.advance(Step.ADOPT) is ClientPhase.AWAIT_CATCH_UP
    assert machine.advance(Step.CATCH_UP) is ClientPhase.OPEN


@pytest.mark.parametrize("phase", list(ClientPhase))
def test_client_losing_the_socket_disconnects_from_every_phase_p3(phase: ClientPhase) -> None:
    assert CLIENT_RULES.transitions[phase][Step.LOST] is ClientPhase.DISCONNECTED


def test_client_says_hello_only_without_a_connection_p3() -> None:
    can_hello = {p for p, row in CLIENT_RULES.transitions.items() if Step.HELLO in row}
    assert can_hello == {ClientPhase.DISCONNECTED, ClientPhase.CLOSED}


def test_receive_tables_name_only_messages_the_peer_sends_p4() -> None:
    assert set().union(*SERVER_RULES.receives.values()) <= set(_FROM_CLIENT)
    assert set().union(*CLIENT_RULES.receives.values()) <= set(_FROM_SERVER)
    # Every phase that receives says what it expects instead.
    assert set(SERVER_RULES.receives) <= set(SERVER_RULES.expecting)
    assert set(CLIENT_RULES.receives) <= set(CLIENT_RULES.expecting)


def test_out_of_order_frames_are_the_peers_fault_p4() -> None:
    server = PhaseMachine(SERVER_RULES)
    server.check_receive("hello")
    with pytest.raises(RemoteProtocolError, match="push: expected hello first"):
        server.check_receive("push")
    server.advance(Step.HELLO)
    with pytest.raises(RemoteProtocolError, match="hello: sent twice"):
        server.check_receive("hello")
    client = PhaseMachine(CLIENT_RULES)
    with pytest.raises(LocalProtocolError, match="receive_text in phase disconnected"):
        client.check_receive("welcome")
    client.advance(Step.HELLO)
    with pytest.raises(RemoteProtocolError, match="ack: expected welcome first"):
        client.check_receive("ack")
    client.advance(Step.WELCOME)
    with pytest.raises(RemoteProtocolError, match="ack: expected the catch-up first"):
        client.check_receive("ack")
    client.check_receive("presence")


def test_phases_compare_equal_to_their_wire_names() -> None:
    # Callers that kept the string form keep working until they switch to the properties.
    assert ServerPhase.OPEN == "open" and ClientPhase.AWAIT_CATCH_UP == "await-catch-up"
