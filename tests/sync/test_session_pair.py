"""End-to-end behaviour of client and server sessions wired in memory (§3, §4, §6, §8)."""

from __future__ import annotations

from lamina.sync.client_session import (
    ChangesAcked,
    ConflictDetected,
    PresenceChanged,
    RecordsChanged,
    Welcomed,
)

from tests.support.in_memory_server import InMemoryServer
from tests.sync.sync_helpers import connected, ink


def test_handshake_gives_welcome_then_snapshot_3_2_3_3() -> None:
    server = InMemoryServer()
    alice, link = connected(server, "alice")
    kinds = [type(e) for e in link.client_events]
    assert kinds[0] is Welcomed
    assert RecordsChanged in kinds
    assert alice.phase == "open"
    assert alice.state.last_seq == 0
    assert alice.state.layer_epoch == "epoch-1"


def test_create_reaches_other_client_4_9() -> None:
    server = InMemoryServer()
    alice, _ = connected(server, "alice")
    bob, _ = connected(server, "bob")
    change = alice.create("annotation", ink())
    assert change.record_id in alice.view()  # §6.1 optimistic
    alice.flush()
    server.pump()
    assert bob.view()[change.record_id]["strokeColor"] == "#ff0000"
    assert not alice.has_pending()
    assert server.layer.get(change.record_id) is not None
    assert alice.state.last_seq == bob.state.last_seq == server.layer.seq == 1


def test_concurrent_same_field_first_come_wins_and_loser_keeps_value_4_5_6_4() -> None:
    server = InMemoryServer()
    alice, alink = connected(server, "alice")
    bob, blink = connected(server, "bob")
    rid = alice.create("annotation", ink()).record_id
    alice.flush()
    server.pump()
    alice.update(rid, {"strokeColor": "#00ff00"})
    bob.update(rid, {"strokeColor": "#0000ff"})
    alice.flush()
    bob.flush()
    alink.deliver_to_server()  # alice's push reaches the server first
    blink.deliver_to_server()
    server.pump()
    assert alice.view()[rid]["strokeColor"] == bob.view()[rid]["strokeColor"] == "#00ff00"
    conflicts = [e for e in blink.client_events if isinstance(e, ConflictDetected)]
    assert len(conflicts) == 1
    assert conflicts[0].conflict.lost == {"strokeColor": "#0000ff"}
    assert bob.state.conflicts[0].mine is not None
    assert bob.state.conflicts[0].mine["strokeColor"] == "#0000ff"


def test_offline_edits_sync_on_reconnect_3_6() -> None:
    server = InMemoryServer()
    alice, alink = connected(server, "alice")
    bob, _ = connected(server, "bob")
    alink.disconnect()
    rid = alice.create("annotation", ink()).record_id
    alice.update(rid, {"note": "offline"})
    assert alice.pending_count == 1  # coalesced into the unsent create
    alink = server.connect(alice)
    server.pump()
    assert bob.view()[rid]["note"] == "offline"
    assert not alice.has_pending()
    assert any(isinstance(e, ChangesAcked) for e in alink.client_events)


def test_presence_lists_connected_clients_8_1() -> None:
    server = InMemoryServer()
    connected(server, "alice")
    _, blink = connected(server, "bob")
    server.pump()
    last = [e for e in blink.client_events if isinstance(e, PresenceChanged)][-1]
    assert sorted(c.name or "" for c in last.clients) == ["alice", "bob"]
