"""The in-memory server and its links: delivery under the test's control, nothing hidden."""

from __future__ import annotations

import json

from lamina.sync.client_session import ClientSession, RecordsChanged

from tests.support.in_memory_server import InMemoryServer

NOTE = {"type": "pspdfkit/note", "v": 2, "pageIndex": 0, "bbox": [10, 10, 32, 32], "text": "n"}


def note() -> dict[str, object]:
    return dict(NOTE)


def test_frames_move_only_when_delivered_one_at_a_time() -> None:
    server = InMemoryServer()
    alice = ClientSession.new()
    link = server.connect(alice)
    assert link.pending() == 1  # the hello, queued towards the server
    assert link.deliver_to_server() == 1
    assert [json.loads(f)["type"] for f in link.to_client] == ["welcome", "snapshot", "presence"]
    assert link.deliver_to_client() == 1 and alice.phase == "await-catch-up"
    link.pump()
    assert alice.is_open and link.pending() == 0


def test_every_commit_is_recorded_and_relayed_to_the_others() -> None:
    server = InMemoryServer()
    alice, bob = ClientSession.new(), ClientSession.new()
    alink, blink = server.connect(alice), server.connect(bob)
    server.pump()
    rid = alice.create("annotation", note()).record_id
    alice.flush()
    server.pump()
    assert [c.records[0].id for c in server.commits] == [rid]
    remote = [e for e in blink.client_events if isinstance(e, RecordsChanged) and e.records]
    assert remote[-1].records[0].id == rid and remote[-1].origin == "remote"
    assert not any(  # the pusher gets an ack, not a relay of its own change
        isinstance(e, RecordsChanged) and e.origin == "remote" and e.records
        for e in alink.client_events
    )


def test_a_disconnect_loses_what_is_in_transit() -> None:
    server = InMemoryServer()
    alice = ClientSession.new()
    link = server.connect(alice)
    link.pump()
    alice.create("annotation", note())
    alice.flush()
    assert link.pending() == 1
    link.disconnect()
    assert link.pending() == 0 and server.commits == [] and link not in server.links
    assert alice.phase == "disconnected" and alice.pending_count == 1  # it goes again later
