"""The frame codec: round trips, precise errors, and no exception but RemoteProtocolError."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina.model.ids import RecordId
from lamina.sync.errors import RemoteProtocolError
from lamina.sync.message_decoder import decode_message
from lamina.sync.messages import (
    MAX_FRAME_BYTES,
    Ack,
    Changes,
    DocumentChunk,
    DocumentInfo,
    Error,
    GetDocument,
    Hello,
    Message,
    Presence,
    PresenceClient,
    PresenceList,
    Push,
    Snapshot,
    ViewLayer,
    Welcome,
    encode_message,
)
from lamina.sync.state import ChangeResult, CreateChange, DeleteChange, RecordState, UpdateChange

from tests.sync.sync_helpers import ink

REC = RecordState(
    RecordId("01J"), "annotation", 2, 5, {"id": "01J", **ink()}, False, "alice", "g", "t0", "t1"
)

CLIENT_MESSAGES: list[Message] = [
    Hello("tok", "client-1", 41, "e1", {"name": "Ann", "color": "#ff0000"}),
    Hello("tok", "client-1"),
    Push(
        (
            CreateChange("c1", RecordId("r1"), "annotation", {"id": "r1"}, None),
            UpdateChange("c2", RecordId("r1"), 3, {"bbox": [1, 2, 3, 4]}, ("note",), "g"),
            DeleteChange("c3", RecordId("r1"), 4),
        )
    ),
    Presence({"page": 3}),
    GetDocument(),
    GetDocument(with_layer=True),
    GetDocument(with_layer=True, flatten=True),
    ViewLayer("bob"),
]
SERVER_MESSAGES: list[Message] = [
    Welcome("doc", "", "e1", 57, "alice", ("write",), None, "g", ("*",), DocumentInfo("ab", 3, 1)),
    Snapshot((REC,), 5),
    Snapshot((REC,), 5, layer="bob"),
    Changes((REC, REC.hidden()), 6, catch_up=True),
    Ack(
        9,
        (
            ChangeResult("c1", REC.id, "applied", REC, made_rev=2),
            ChangeResult("c2", REC.id, "conflict", REC, None, {"note": "x"}, ("a",), "g2", 3),
            ChangeResult("c3", REC.id, "rejected", None, "no write permission"),
        ),
    ),
    PresenceList((PresenceClient("c", "u", "Ann", "#ff0000", {"page": 1}),)),
    DocumentChunk("ab", 0, 2, "AAAA"),
    Error("forbidden", "token is for another document"),
]


@pytest.mark.parametrize("msg", CLIENT_MESSAGES, ids=lambda m: type(m).__name__)
def test_client_messages_round_trip_1_1(msg: Message) -> None:
    text = encode_message(msg)
    assert ", " not in text and ": " not in text  # compact separators
    assert decode_message(text, from_client=True) == msg


@pytest.mark.parametrize("msg", SERVER_MESSAGES, ids=lambda m: type(m).__name__)
def test_server_messages_round_trip_1_1(msg: Message) -> None:
    assert decode_message(encode_message(msg), from_client=False) == msg


def _push(**change: Any) -> str:
    base = {"change_id": "c", "op": "update", "record_id": "r", "base_rev": 1, "set": {}}
    return json.dumps({"type": "push", "changes": [base, base, {**base, **change}]})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "frame: malformed JSON"),
        ("[]", "frame: expected a JSON object, got a list"),
        ('{"type": 3}', "type: expected a string, got a number"),
        ('{"type": "welcome"}', "type: unknown message type 'welcome' from a client"),
        ('{"type": "push"}', "push.changes: is required"),
        (_push(op="move"), "push.changes[2].op: expected create, update or delete, got 'move'"),
        (_push(base_rev=-1), "push.changes[2].base_rev: expected an integer >= 0, got -1"),
        (_push(base_rev=True), "push.changes[2].base_rev: expected an integer, got a boolean"),
        (_push(set=[1]), "push.changes[2].set: expected an object, got a list"),
        (_push(unset=["a"], set={"a": 1}), "push.changes[2].unset: 'a' is also in set"),
        (_push(record_id=""), "push.changes[2].record_id: expected a non-empty string"),
        (_push(op="create"), "push.changes[2].kind: is required"),
        (_push(op="create", kind="ink", content={}), "push.changes[2].kind: expected annotation"),
        ('{"type":"hello","protocol":2,"token":"t","client_id":"c"}', "unsupported protocol 2"),
        ('{"type":"hello","protocol":1,"token":"t","client_id":"c","last_seq":NaN}', "NaN"),
        ('{"type":"presence","state":"x"}', "presence.state: expected an object, got a string"),
        ('{"type":"hello","protocol":1,"token":"\\ud800","client_id":"c"}', "surrogate"),
    ],
)
def test_malformed_frames_get_precise_errors_1_4_7_1(text: str, message: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_message(text, from_client=True)
    assert message in str(info.value)
    assert info.value.code == "bad-message" and info.value.close_code == 4400


def test_deep_nesting_is_a_protocol_error_not_a_crash_1_4() -> None:
    text = '{"type":"presence","state":' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(RemoteProtocolError, match=r"nested too deeply|expected an object"):
        decode_message(text, from_client=True)


def test_oversized_frame_is_too_large_with_1009_1_2() -> None:
    text = json.dumps({"type": "presence", "state": {"x": "a" * MAX_FRAME_BYTES}})
    with pytest.raises(RemoteProtocolError) as info:
        decode_message(text, from_client=True)
    assert info.value.code == "too-large" and info.value.close_code == 1009


def test_server_side_record_errors_name_the_path_2_2() -> None:
    bad = {"type": "changes", "seq": 1, "records": [REC.to_wire(), {**REC.to_wire(), "rev": "7"}]}
    with pytest.raises(RemoteProtocolError, match=r"changes.records\[1\].rev: expected an integer"):
        decode_message(json.dumps(bad), from_client=False)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
TYPES = st.sampled_from(
    [
        "hello",
        "push",
        "presence",
        "get_document",
        "view_layer",
        "welcome",
        "snapshot",
        "changes",
        "ack",
        "document_chunk",
        "error",
        "x",
    ]
)
KEYS = st.sampled_from(
    [
        "protocol",
        "token",
        "client_id",
        "last_seq",
        "layer_epoch",
        "presence",
        "changes",
        "state",
        "layer",
        "records",
        "seq",
        "results",
        "clients",
        "sha256",
        "index",
        "count",
        "data",
        "code",
        "message",
        "document_id",
        "document",
        "catch_up",
        "op",
        "record_id",
    ]
)


@st.composite
def frames(draw: st.DrawFn) -> str:
    """Frames that look like messages: a known type, known keys, random values."""
    obj: dict[str, Any] = {"type": draw(TYPES)}
    obj.update(draw(st.dictionaries(KEYS, JSON_VALUES, max_size=6)))
    if draw(st.booleans()):
        change = draw(
            st.dictionaries(
                KEYS
                | st.sampled_from(["kind", "content", "base_rev", "set", "unset", "change_id"]),
                JSON_VALUES,
                max_size=7,
            )
        )
        obj["changes"] = [change]
    return json.dumps(obj)


@settings(max_examples=150, deadline=None)
@given(frames(), st.booleans())
def test_fuzzed_frames_decode_or_raise_remote_protocol_error_1_4(
    text: str, from_client: bool
) -> None:
    try:
        decode_message(text, from_client=from_client)
    except RemoteProtocolError as exc:
        assert str(exc) and exc.code == "bad-message"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.booleans())
def test_fuzzed_text_decodes_or_raises_remote_protocol_error_1_4(
    text: str, from_client: bool
) -> None:
    try:
        decode_message(text, from_client=from_client)
    except RemoteProtocolError as exc:
        assert str(exc)


def test_get_document_options_5_4() -> None:
    assert encode_message(GetDocument()) == '{"type":"get_document"}'  # the plain form
    decoded = decode_message(
        '{"type":"get_document","with_layer":true,"flatten":true}', from_client=True
    )
    assert decoded == GetDocument(with_layer=True, flatten=True)
    assert decode_message('{"type":"get_document"}', from_client=True) == GetDocument()


def test_hello_resume_and_resumed_snapshot_round_trip_3_8() -> None:
    from lamina.sync.messages import Hello, Snapshot, SnapshotResume

    hello = Hello("t", "c", None, "e1", resume=SnapshotResume(40, "01J"))
    assert decode_message(encode_message(hello), from_client=True) == hello
    plain = Hello("t", "c")
    assert "resume" not in json.loads(encode_message(plain))
    assert decode_message(encode_message(plain), from_client=True) == plain
    snap = Snapshot((), 41, resumed_after="01J")
    assert decode_message(encode_message(snap), from_client=False) == snap
    for bad in ({"seq": -1, "after": "x"}, {"seq": 1, "after": ""}, {"seq": 1}, [1]):
        frame = json.loads(encode_message(plain))
        frame["resume"] = bad
        with pytest.raises(RemoteProtocolError):
            decode_message(json.dumps(frame), from_client=True)
