"""ClientSession: optimistic view, outbox, rebasing, conflicts, catch-up, errors (§3-§7)."""

from __future__ import annotations

import hashlib
import json

import pytest
from lamina.sync.client_session import (
    ChangeRejected,
    ClientSession,
    ConflictDetected,
    DocumentReceived,
    ServerBehind,
    ServerError,
)
from lamina.sync.errors import LocalProtocolError, RemoteProtocolError
from lamina.sync.layer import LayerState
from lamina.sync.state import Actor, Change, RecordState, UpdateChange

from tests.support.in_memory_server import InMemoryServer
from tests.sync.sync_helpers import connected, ink


def pushed(frames: list[str]) -> list[dict[str, object]]:
    return [c for f in frames for c in json.loads(f)["changes"]]


def test_local_edits_show_at_once_and_wait_in_outbox_6_1() -> None:
    client = ClientSession.new()
    rid = client.create("annotation", ink()).record_id
    client.update(rid, {"note": "n"})
    assert client.view()[rid]["note"] == "n"
    assert client.pending_count == 1  # the unsent update merged into the create
    assert client.frames_to_send() == []  # not connected: nothing goes out


def test_one_push_in_flight_and_later_edits_use_the_acked_rev_6_2() -> None:
    server = InMemoryServer()
    alice, link = connected(server, "alice")
    rid = alice.create("annotation", ink()).record_id
    alice.flush()
    link.pump()
    alice.update(rid, {"note": "1"})
    alice.flush()
    link.deliver_to_server()  # the first update is in flight, not yet acked
    alice.update(rid, {"note": "2"})  # not merged: the first one was sent
    alice.update(rid, {"strokeColor": "#000000"})  # merged into the unsent second one
    alice.flush()
    assert alice.frames_to_send() == []  # at most one push in flight
    assert alice.pending_count == 2
    assert alice.state.outbox[1].base_rev == 1  # type: ignore[union-attr]
    link.deliver_to_client(10)  # ack: our update made rev 2; the queued one moves to 2
    second = alice.state.outbox[0]
    assert isinstance(second, UpdateChange) and second.base_rev == 2
    link.pump()
    state = server.layer.get(rid)
    assert state is not None and state.content is not None
    assert (state.content["note"], state.content["strokeColor"]) == ("2", "#000000")
    assert alice.state.conflicts == []  # our own earlier edit is not a conflict


def test_a_push_holds_one_change_per_record_6_2() -> None:
    server = InMemoryServer()
    alice, link = connected(server, "alice")
    rid = alice.create("annotation", ink()).record_id
    alice.flush()
    link.pump()
    alice.update(rid, {"note": "1"})
    alice.flush()
    link.deliver_to_server()
    link.disconnect()
    alice.update(rid, {"note": "2"})
    link = server.connect(alice)
    link.deliver_to_server()  # hello
    link.deliver_to_client(3)  # welcome, catch-up; the outbox goes out (§3.6)
    changes = pushed(list(link.to_server))
    assert [c["record_id"] for c in changes] == [rid]


def test_duplicate_push_after_reconnect_applies_once_4_2() -> None:
    server = InMemoryServer()
    alice, link = connected(server, "alice")
    change = alice.create("annotation", ink())
    alice.flush()
    link.deliver_to_server()  # applied on the server...
    link.disconnect()  # ...but the ack is lost
    assert alice.pending_count == 1
    link = server.connect(alice)
    link.pump()  # catch-up brings the record; the create is sent again
    assert server.layer.seq == 1
    assert not alice.has_pending()
    assert alice.view()[change.record_id]["strokeColor"] == "#ff0000"
    assert alice.state.conflicts == []


def test_remote_changes_update_replica_under_pending_edits_6_3() -> None:
    server = InMemoryServer()
    alice, _alink = connected(server, "alice")
    bob, _blink = connected(server, "bob")
    rid = alice.create("annotation", ink()).record_id
    alice.flush()
    server.pump()
    bob.update(rid, {"note": "bob's"})  # pending on bob
    alice.update(rid, {"strokeColor": "#00ff00"})
    alice.flush()
    server.pump()
    view = bob.view()[rid]
    assert (view["strokeColor"], view["note"]) == ("#00ff00", "bob's")


def test_rejected_change_reverts_and_reports_reason_6_4() -> None:
    class ReadOnly:
        def check(self, change: Change, current: RecordState | None, actor: Actor) -> str | None:
            return "token lacks write permission"

    server = InMemoryServer(policy=ReadOnly())
    alice, link = connected(server, "alice")
    rid = alice.create("annotation", ink()).record_id
    alice.flush()
    link.pump()
    rejected = [e for e in link.client_events if isinstance(e, ChangeRejected)]
    assert rejected[0].reason == "token lacks write permission"
    assert rid not in alice.view() and not alice.has_pending()


def test_update_of_deleted_record_keeps_my_version_to_recreate_4_6_6_4() -> None:
    server = InMemoryServer()
    alice, alink = connected(server, "alice")
    bob, blink = connected(server, "bob")
    rid = alice.create("annotation", ink()).record_id
    alice.flush()
    server.pump()
    bob.update(rid, {"note": "mine"})
    alice.delete(rid)
    alice.flush()
    alink.deliver_to_server()
    bob.flush()
    server.pump()
    conflict = next(e for e in blink.client_events if isinstance(e, ConflictDetected)).conflict
    assert conflict.status == "deleted" and conflict.mine is not None
    assert conflict.mine["note"] == "mine"
    assert rid not in bob.view()
    bob.reapply_conflict(conflict.change_id)  # re-create with the user's version (§4.7)
    bob.flush()
    server.pump()
    assert alice.view()[rid]["note"] == "mine"
    assert bob.state.conflicts == []


def test_lost_field_can_be_reapplied_6_4() -> None:
    server = InMemoryServer()
    alice, alink = connected(server, "alice")
    bob, _blink = connected(server, "bob")
    rid = alice.create("annotation", ink()).record_id
    alice.flush()
    server.pump()
    alice.update(rid, {"note": "first"})
    bob.update(rid, {"note": "second"})
    alice.flush()
    alink.deliver_to_server()
    bob.flush()
    server.pump()
    assert bob.view()[rid]["note"] == "first"
    bob.reapply_conflict(bob.state.conflicts[0].change_id)
    bob.flush()
    server.pump()
    assert alice.view()[rid]["note"] == bob.view()[rid]["note"] == "second"


def test_server_behind_is_reported_and_nothing_merged_3_4_6_6() -> None:
    server = InMemoryServer()
    alice, link = connected(server, "alice")
    for _ in range(3):
        alice.create("annotation", ink())
    alice.flush()
    server.pump()
    alice.flush()
    server.pump()
    link.disconnect()
    restored = LayerState("epoch-1")  # the server restored from an empty backup
    server.layer = restored
    replica_before = dict(alice.state.replica)
    link = server.connect(alice)
    link.pump()
    behind = [e for e in link.client_events if isinstance(e, ServerBehind)]
    assert behind == [ServerBehind(alice.state.last_seq or 0, 0)]
    assert alice.state.replica == replica_before  # kept until the user decides
    alice.adopt_server_state()
    assert alice.view() == {} and alice.state.last_seq == 0


def test_new_epoch_gets_a_snapshot_that_replaces_the_replica_3_3_3_4() -> None:
    server = InMemoryServer()
    alice, link = connected(server, "alice")
    alice.create("annotation", ink())
    alice.flush()
    link.pump()
    link.disconnect()
    server.layer = LayerState("epoch-2")
    link = server.connect(alice)
    link.pump()
    assert alice.view() == {} and alice.state.layer_epoch == "epoch-2"


def test_document_arrives_whole_and_verified_5_4() -> None:
    data = b"%PDF-1.7\n" + bytes(600_000)
    server = InMemoryServer(document=data)
    alice, link = connected(server, "alice")
    alice.request_document()
    link.pump()
    got = [e for e in link.client_events if isinstance(e, DocumentReceived)]
    assert got[0].data == data and got[0].sha256 == hashlib.sha256(data).hexdigest()


def test_document_with_the_layer_written_in_is_asked_for_by_options_5_4() -> None:
    server = InMemoryServer()
    alice, _link = connected(server, "alice")
    alice.request_document(with_layer=True, flatten=True)
    sent = json.loads(alice.frames_to_send()[0])
    assert sent == {"type": "get_document", "with_layer": True, "flatten": True}
    offline = ClientSession.new()
    with pytest.raises(LocalProtocolError):
        offline.request_document()


def test_document_with_wrong_hash_is_a_protocol_error_5_4() -> None:
    alice = ClientSession.new()
    alice.hello_frame("t")
    alice.receive_text(
        '{"type":"welcome","protocol":1,"document_id":"d","layer":"","layer_epoch":"e","seq":0}'
    )
    alice.receive_text('{"type":"snapshot","seq":0,"records":[]}')
    with pytest.raises(RemoteProtocolError, match="sha256 mismatch"):
        alice.receive_text(
            '{"type":"document_chunk","sha256":"00","index":0,"count":1,"data":"AA=="}'
        )


def test_final_errors_stop_retrying_7_2() -> None:
    alice = ClientSession.new()
    alice.hello_frame("t")
    events = alice.receive_text('{"type":"error","code":"token-expired","message":"expired"}')
    assert events == [ServerError("token-expired", "expired", True)]
    alice.connection_lost()
    alice.hello_frame("t")
    events = alice.receive_text('{"type":"error","code":"shutting-down","message":"bye"}')
    assert events == [ServerError("shutting-down", "bye", False)]


def test_messages_out_of_order_are_protocol_errors_7_1() -> None:
    alice = ClientSession.new()
    alice.hello_frame("t")
    with pytest.raises(RemoteProtocolError, match="expected welcome first"):
        alice.receive_text('{"type":"snapshot","seq":0,"records":[]}')


def test_ack_that_does_not_match_the_push_is_a_protocol_error_4_4() -> None:
    server = InMemoryServer()
    alice, _link = connected(server, "alice")
    alice.create("annotation", ink())
    alice.flush()
    alice.frames_to_send()
    with pytest.raises(RemoteProtocolError, match="expected 1 results, got 0"):
        alice.receive_text('{"type":"ack","seq":1,"results":[]}')


def test_local_misuse_is_a_local_protocol_error_1_4() -> None:
    alice = ClientSession.new()
    with pytest.raises(LocalProtocolError):
        alice.update("nope", {"note": "x"})
    with pytest.raises(LocalProtocolError):
        alice.receive_text("{}")  # no connection
    rid = alice.create("annotation", ink()).record_id
    with pytest.raises(LocalProtocolError):
        alice.create("annotation", ink(), record_id=rid)


def test_state_survives_a_restart_of_the_client_6_1() -> None:
    server = InMemoryServer()
    alice, link = connected(server, "alice")
    rid = alice.create("annotation", ink()).record_id
    alice.flush()
    link.pump()
    link.disconnect()
    alice.delete(rid)
    restarted = ClientSession(alice.state)  # what the shell restores from its store
    link = server.connect(restarted)
    link.pump()
    assert server.layer.snapshot() == [] and not restarted.has_pending()
    assert server.commits[-1].results[0].status == "applied"


def test_a_paused_session_holds_its_outbox_even_after_a_catch_up_3_6_6_2() -> None:
    server = InMemoryServer()
    alice, link = connected(server, "alice")
    alice.paused = True
    rid = alice.create("annotation", ink()).record_id
    alice.flush()
    link.pump()
    assert server.layer.get(rid) is None  # nothing was pushed
    link.disconnect()
    link = server.connect(alice)
    link.pump()  # the catch-up would send the outbox (§3.6), but the session is paused
    assert alice.phase == "open" and server.layer.get(rid) is None
    assert alice.state.sent_change_ids == set()
    alice.paused = False
    alice.flush()
    link.pump()
    assert server.layer.get(rid) is not None and alice.pending_count == 0
