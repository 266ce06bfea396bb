"""ServerSession: message order, errors and closes, rate limit, filtering, chunks (§3-§8)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from typing import Any

import pytest
from lamina.model.ids import RecordId
from lamina.sync.errors import LocalProtocolError, RemoteProtocolError
from lamina.sync.layer import AllowAll, LayerState
from lamina.sync.messages import (
    DOCUMENT_CHUNK_BYTES,
    Hello,
    Push,
    SnapshotResume,
    Welcome,
    encode_message,
)
from lamina.sync.relays import ChangesRelay, PresenceRelay
from lamina.sync.server_session import (
    DocumentRequested,
    HelloReceived,
    PushReceived,
    ServerSession,
    ViewLayerRequested,
    catch_up_for,
)
from lamina.sync.state import Actor, ChangeResult, CreateChange, DeleteChange, RecordState

from tests.sync.sync_helpers import ink

HELLO = encode_message(Hello("tok", "client-1", None, None, {"name": "Ann"}))
WELCOME = Welcome("doc", "", "e1", 0)


def rec(rid: str, group: str | None = None, deleted: bool = False, seq: int = 1) -> RecordState:
    return RecordState(
        RecordId(rid), "annotation", 1, seq, {"id": rid, **ink()}, deleted, None, group
    )


def opened() -> ServerSession:
    session = ServerSession()
    session.receive_text(HELLO)
    session.send_welcome(WELCOME)
    session.send_snapshot([], 0)
    session.frames_to_send()
    return session


def frames(session: ServerSession) -> list[dict[str, Any]]:
    return [json.loads(f) for f in session.frames_to_send()]


def test_hello_then_welcome_then_catch_up_3_1_3_2() -> None:
    session = ServerSession()
    events = session.receive_text(HELLO)
    assert isinstance(events[0], HelloReceived) and events[0].hello.client_id == "client-1"
    session.send_welcome(WELCOME)
    session.send_changes([rec("a")], 1, catch_up=True)
    sent = frames(session)
    assert [f["type"] for f in sent] == ["welcome", "changes"]
    assert sent[1]["catch_up"] is True and session.state == "open"


def test_first_frame_must_be_hello_7_1() -> None:
    session = ServerSession()
    with pytest.raises(RemoteProtocolError, match="expected hello first") as info:
        session.receive_text('{"type":"get_document"}')
    assert info.value.close_code == 4400
    error = frames(session)[0]
    assert error == {
        "type": "error",
        "code": "bad-message",
        "message": "get_document: expected hello first",
    }
    assert session.state == "closed"


def test_second_hello_is_bad_message_3_1() -> None:
    session = opened()
    with pytest.raises(RemoteProtocolError, match="sent twice"):
        session.receive_text(HELLO)


def test_push_before_catch_up_is_bad_message_3_6() -> None:
    session = ServerSession()
    session.receive_text(HELLO)
    with pytest.raises(RemoteProtocolError, match="before the welcome"):
        session.receive_text('{"type":"push","changes":[]}')


def test_records_cannot_be_relayed_before_catch_up_3_5() -> None:
    session = ServerSession()
    session.receive_text(HELLO)
    with pytest.raises(LocalProtocolError):
        session.relay(ChangesRelay([rec("a")], 1))
    with pytest.raises(LocalProtocolError):
        session.send_snapshot([], 0)  # before welcome


def test_events_after_open_7_1() -> None:
    session = opened()
    push = Push((DeleteChange("c", RecordId("r"), 1),))
    assert session.receive_text(encode_message(push)) == [PushReceived(push)]
    assert session.receive_text('{"type":"get_document"}') == [DocumentRequested()]
    assert session.receive_text('{"type":"view_layer","layer":"b"}') == [ViewLayerRequested("b")]


def test_send_error_returns_close_code_and_closes_7_1() -> None:
    session = ServerSession()
    session.receive_text(HELLO)
    assert session.send_error("token-expired", "token expired at 2026-01-01") == 4403
    assert frames(session)[0]["code"] == "token-expired"
    with pytest.raises(LocalProtocolError):
        session.receive_text(HELLO)


def test_flood_is_rate_limited_with_4429_7_3() -> None:
    session = opened()
    presence = '{"type":"presence","state":{}}'
    with pytest.raises(RemoteProtocolError) as info:
        for _ in range(1000):
            session.receive_text(presence, now=10.0)  # all in the same instant
    assert info.value.code == "rate-limited" and info.value.close_code == 4429
    assert frames(session)[-1]["code"] == "rate-limited"


def test_steady_rate_below_limit_is_fine_7_3() -> None:
    session = opened()
    for i in range(2000):
        session.receive_text('{"type":"presence","state":{}}', now=i * 0.02)  # 50/s
    assert session.state == "open"


def test_snapshot_leaves_out_invisible_records_and_tombstones_3_3() -> None:
    session = ServerSession()
    session.receive_text(HELLO)
    session.send_welcome(WELCOME)
    session.send_snapshot(
        [rec("a", "mine"), rec("b", "theirs"), rec("c", "mine", deleted=True)],
        3,
        visible=lambda r: r.group == "mine",
    )
    snap = frames(session)[1]
    assert [r["id"] for r in snap["records"]] == ["a"] and snap["seq"] == 3


def test_relay_filters_per_viewer_4_9() -> None:
    before = rec("a", "mine")
    after = RecordState(RecordId("a"), "annotation", 2, 2, {"id": "a"}, False, None, "theirs")
    new_hidden = rec("b", "theirs", seq=2)
    relay = ChangesRelay([after, new_hidden], 2, previous={after.id: before, new_hidden.id: None})
    session = opened()
    assert session.relay(relay, lambda r: r.group == "mine")
    sent = frames(session)[0]
    # could view "a" before, not now: content-less tombstone; never saw "b": left out
    assert sent["records"] == [after.hidden().to_wire()]
    assert sent["records"][0]["content"] is None and sent["records"][0]["deleted"] is True
    other = opened()
    assert not other.relay(relay, lambda r: False)
    none_visible = ChangesRelay([new_hidden], 2, previous={new_hidden.id: None})
    assert not other.relay(none_visible, lambda r: r.group == "mine")
    assert other.frames_to_send() == []


def test_relay_encodes_once_per_visibility_4_9() -> None:
    relay = ChangesRelay([rec("a"), rec("b")], 2, previous={})
    sessions = [opened() for _ in range(3)]
    for s in sessions:
        s.relay(relay)
    texts = [s.frames_to_send()[0] for s in sessions]
    assert texts[0] is texts[1] is texts[2]  # the same string object, not three encodings


def test_ack_hides_records_the_client_may_not_view_4_4() -> None:
    session = opened()
    results = [
        ChangeResult("c1", RecordId("a"), "applied", rec("a", "mine"), made_rev=1),
        ChangeResult("c2", RecordId("b"), "applied", rec("b", "theirs"), made_rev=1),
    ]
    session.send_ack(results, 7, visible=lambda r: r.group == "mine")
    ack = frames(session)[0]
    assert ack["seq"] == 7
    assert ack["results"][0]["record"]["id"] == "a" and ack["results"][1]["record"] is None


def test_document_goes_in_256_kib_chunks_5_4() -> None:
    session = opened()
    data = bytes(range(256)) * (DOCUMENT_CHUNK_BYTES // 256 * 2 + 10)
    digest = hashlib.sha256(data).hexdigest()
    session.send_document_chunks(data, digest)
    chunks = frames(session)
    assert [c["index"] for c in chunks] == [0, 1, 2] and {c["count"] for c in chunks} == {3}
    assert b"".join(base64.b64decode(c["data"]) for c in chunks) == data
    assert all(len(base64.b64decode(c["data"])) <= DOCUMENT_CHUNK_BYTES for c in chunks)


def test_other_layer_snapshot_then_relay_5_3() -> None:
    session = opened()
    with pytest.raises(LocalProtocolError):
        session.relay(ChangesRelay([rec("a")], 1, layer="bob"))
    session.send_snapshot([rec("a")], 1, layer="bob")
    assert session.relay(ChangesRelay([rec("a")], 2, layer="bob"))
    snap, changes = frames(session)
    assert snap["layer"] == changes["layer"] == "bob"


def _layer_with_history() -> LayerState:
    layer = LayerState("e1")
    for x in range(3):
        layer.apply(
            [CreateChange(f"c{x}", RecordId(f"r{x}"), "annotation", {"id": f"r{x}", **ink()})],
            Actor(),
            AllowAll(),
            "t",
        )
    return layer


@pytest.mark.parametrize(
    ("last_seq", "epoch", "snapshot", "ids"),
    [
        (None, None, True, ["r0", "r1", "r2"]),  # first sync
        (1, "e1", False, ["r1", "r2"]),  # exactly what it missed
        (3, "e1", False, []),  # nothing missed: an empty catch-up, not a snapshot
        (1, "e0", True, ["r0", "r1", "r2"]),  # another epoch: history was reset
        (9, "e1", True, ["r0", "r1", "r2"]),  # a future the server lost (§3.4)
    ],
)
def test_catch_up_is_what_was_missed_or_a_snapshot_3_3(
    last_seq: int | None, epoch: str | None, snapshot: bool, ids: list[str]
) -> None:
    layer = _layer_with_history()
    decision = catch_up_for(Hello("t", "c", last_seq, epoch), layer)
    assert (decision.snapshot, [r.id for r in decision.records], decision.seq) == (snapshot, ids, 3)
    session = ServerSession()
    session.receive_text(encode_message(Hello("t", "c", last_seq, epoch)))
    session.send_welcome(WELCOME)
    assert session.send_catch_up(layer) == decision
    sent = frames(session)[1]
    assert sent["type"] == ("snapshot" if snapshot else "changes")
    assert [r["id"] for r in sent["records"]] == ids and session.is_open


def test_presence_entry_follows_hello_and_presence_messages_8_1() -> None:
    session = ServerSession()
    session.receive_text(HELLO)
    session.send_welcome(Welcome("doc", "", "e1", 0, user_id="ann-id"))
    session.send_snapshot([], 0)
    entry = session.presence_client
    assert (entry.client_id, entry.user_id, entry.name) == ("client-1", "ann-id", "Ann")
    session.receive_text('{"type":"presence","state":{"name":"Ann B","color":"#00ff00"}}')
    assert (session.presence_client.name, session.presence_client.color) == ("Ann B", "#00ff00")
    session.receive_text('{"type":"presence","state":{"name":7}}')
    assert session.presence_client.name is None  # only strings are names


def test_presence_list_is_encoded_once_for_every_member_8_1() -> None:
    sessions = []
    for name in ("zed", "amy"):
        s = ServerSession()
        s.receive_text(encode_message(Hello("t", f"client-{name}", presence={"name": name})))
        s.send_welcome(WELCOME)
        s.send_snapshot([], 0)
        s.frames_to_send()
        sessions.append(s)
    relay = PresenceRelay(sessions)
    for s in sessions:
        s.relay_presence(relay)
    texts = [s.frames_to_send()[0] for s in sessions]
    assert texts[0] is texts[1]
    assert [c["name"] for c in json.loads(texts[0])["clients"]] == ["amy", "zed"]
    before_open = ServerSession()
    before_open.receive_text(HELLO)
    with pytest.raises(LocalProtocolError):
        before_open.relay_presence(relay)


def test_document_request_carries_its_options_5_4() -> None:
    session = opened()
    events = session.receive_text('{"type":"get_document","with_layer":true,"flatten":true}')
    assert events == [DocumentRequested(with_layer=True, flatten=True)]


def _resuming(seq: int, after: str, epoch: str = "e1") -> Hello:
    return Hello("t", "c", None, epoch, resume=SnapshotResume(seq, after))


def test_a_resumed_snapshot_is_the_rest_plus_what_changed_in_what_is_held_3_8() -> None:
    layer = _layer_with_history()  # r0, r1, r2 at seq 1, 2, 3
    # The client held r0 and r1 of the snapshot at seq 3; then r0 is deleted, r3 created.
    layer.apply([DeleteChange("d0", RecordId("r0"), 1)], Actor(), AllowAll(), "t")
    layer.apply(
        [CreateChange("c3", RecordId("r3"), "annotation", {"id": "r3", **ink()})],
        Actor(),
        AllowAll(),
        "t",
    )
    decision = catch_up_for(_resuming(3, "r1"), layer)
    assert decision.snapshot and decision.resumed_after == "r1" and decision.seq == 5
    assert [(r.id, r.deleted) for r in decision.records] == [
        ("r0", True),
        ("r2", False),
        ("r3", False),
    ]
    session = ServerSession()
    session.receive_text(encode_message(_resuming(3, "r1")))
    session.send_welcome(WELCOME)
    session.send_catch_up(layer)
    sent = frames(session)[1]
    assert sent["resumed_after"] == "r1"
    assert [(r["id"], r["deleted"]) for r in sent["records"]] == [
        ("r0", True),
        ("r2", False),
        ("r3", False),
    ]


@pytest.mark.parametrize(
    ("hello", "why"),
    [
        (_resuming(1, "r1", epoch="e0"), "another epoch"),
        (_resuming(9, "r1"), "a seq the server never had"),
    ],
)
def test_a_resume_that_cannot_be_exact_gets_a_whole_snapshot_3_8(hello: Hello, why: str) -> None:
    decision = catch_up_for(hello, _layer_with_history())
    assert decision.snapshot and decision.resumed_after is None, why
    assert [r.id for r in decision.records] == ["r0", "r1", "r2"]


def test_a_resume_naming_a_hidden_change_gets_a_whole_snapshot_3_8() -> None:
    layer = _layer_with_history()
    hidden = {"r0"}
    layer.apply([DeleteChange("d0", RecordId("r0"), 1)], Actor(), AllowAll(), "t")
    decision = catch_up_for(_resuming(3, "r1"), layer, lambda r: r.id not in hidden)
    assert decision.resumed_after is None
    assert "r0" not in [r.id for r in decision.records if not r.deleted]


def test_snapshot_parts_are_made_as_they_are_taken_3_7() -> None:
    session = opened()
    big = [rec(f"r{i:02d}") for i in range(40)]
    session.limits = dataclasses.replace(session.limits, chunk_bytes=200)
    session.send_snapshot(big, 1, layer="bob")
    (stream,) = session.output()
    assert not isinstance(stream, str)
    first = json.loads(next(stream))
    assert first["more"] and first["records"][0]["id"] == "r00"
    rest = [json.loads(f) for f in stream]
    ids = [r["id"] for p in [first, *rest] for r in p["records"]]
    assert ids == [r.id for r in big] and "more" not in rest[-1]
