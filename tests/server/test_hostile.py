"""Hostile clients (issue 11): each attack against a real server, then the bystanders.

After every attack :func:`_bystanders_served` checks that a client on another document and
one on the attacked layer are still served (join, push, ack, relay), and that every change
acknowledged before the attack is still there.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from ulid import ULID

from tests.server.conftest import STAMPS, Client, ServerThread, create, join, run, update

TEACHER = ["annotations:view:all", "comments:view:all", "form-fields:view:all"]
# A student sees annotations, its own comments and its own form fields (DESIGN §5).
STUDENT = [
    "annotations:view:all",
    "annotations:edit:self",
    "comments:view:self",
    "form-fields:view:self",
    "form-fields:fill:self",
    "form-fields:edit:self",
]


@pytest.fixture
def docs(server: ServerThread) -> tuple[str, str]:
    """Two documents: the attacked one and another one."""
    return server.add_document(STAMPS, "attacked"), server.add_document(STAMPS, "other")


def _token(
    server: ServerThread, doc: str, user: str, cp: list[str] | None = None, **kw: Any
) -> str:
    perms = kw.pop("permissions", ["read-document", "write", "download"])
    return server.token(doc, user_id=user, collaboration_permissions=cp, permissions=perms, **kw)


async def _acked(server: ServerThread, doc: str) -> list[str]:
    """Push one record as an honest writer; return the ids acknowledged."""
    honest, _, _ = await join(server.url, _token(server, doc, "honest"))
    ack = await honest.push(create())
    assert ack["results"][0]["status"] == "applied"
    await honest.ws.close()
    return [ack["results"][0]["record_id"]]


async def _bystanders_served(server: ServerThread, doc: str, other: str, acked: list[str]) -> None:
    """A client on ``other`` and two on ``doc`` are served; ``acked`` is all still there."""
    far, _, far_snapshot = await join(server.url, _token(server, other, "far"))
    assert far_snapshot["type"] == "snapshot"
    ack = await far.push(create())
    assert ack["results"][0]["status"] == "applied"
    near, _, near_snapshot = await join(server.url, _token(server, doc, "near"))
    assert near_snapshot["type"] == "snapshot"
    ids = {r["id"] for r in near_snapshot["records"]}
    while near_snapshot.get("more"):  # a snapshot in parts (§3.7)
        near_snapshot = await near.recv_type("snapshot")
        ids |= {r["id"] for r in near_snapshot["records"]}
    assert set(acked) <= ids, "an acknowledged change was lost"
    watcher, _, _ = await join(server.url, _token(server, doc, "watcher"))
    ack = await near.push(create())
    assert ack["results"][0]["status"] == "applied"
    relayed = await watcher.recv_type("changes")
    assert relayed["records"][0]["id"] == ack["results"][0]["record_id"]
    for client in (far, near, watcher):
        await client.ws.close()


async def _raw_push(client: Client, text_changes: str) -> None:
    await client.ws.send('{"type":"push","changes":[' + text_changes + "]}")


def _create_text(record_id: str, content_text: str, kind: str = "annotation") -> str:
    return (
        f'{{"change_id":"{ULID()}","op":"create","record_id":"{record_id}",'
        f'"kind":"{kind}","content":{content_text},"group":null}}'
    )


def _rect_text(record_id: str, bbox: str) -> str:
    return (
        f'{{"type":"pspdfkit/shape/rectangle","v":2,"id":"{record_id}","pageIndex":0,'
        f'"bbox":{bbox},"strokeColor":"#ff0000"}}'
    )


# --- defect 1 and 8: numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    "bbox",
    ["[0,0,1e309,10]", "[0,0,-1e309,10]", "[0,0," + "9" * 4000 + ",10]", "[0,0,1e300,10]"],
    ids=["1e309", "-1e309", "4000-digit integer", "1e300"],
)
def test_a_number_outside_json_range_never_bricks_a_layer_1_8(
    server: ServerThread, docs: tuple[str, str], bbox: str
) -> None:
    doc, other = docs

    async def scenario() -> None:
        acked = await _acked(server, doc)
        attacker, _, _ = await join(server.url, _token(server, doc, "mallory"))
        rid = str(ULID())
        await _raw_push(attacker, _create_text(rid, _rect_text(rid, bbox)))
        answer = await attacker.recv()
        while answer["type"] not in ("ack", "error"):
            answer = await attacker.recv()
        if answer["type"] == "error":
            code, _ = await attacker.closed()
            assert answer["code"] == "bad-message" and code == 4400
        else:
            assert answer["results"][0]["status"] == "rejected"
            await attacker.ws.close()
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


def test_a_4000_digit_integer_from_a_server_is_a_protocol_error_in_the_client_8() -> None:
    from lamina.sync import ClientSession, RemoteProtocolError

    session = ClientSession.new()
    session.hello_frame("t")
    frame = '{"type":"welcome","protocol":1,"document_id":"d","layer":"","layer_epoch":"e",'
    frame += '"seq":' + "9" * 4000 + "}"
    with pytest.raises(RemoteProtocolError):
        session.receive_text(frame)


# --- defect 3 and 8: kinds and schemas -----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        (
            "annotation",
            {"type": "pspdfkit/form-field-value", "v": 1, "name": "grade", "value": "A"},
        ),
        ("annotation", {"type": "pspdfkit/comment", "v": 2, "rootId": "x", "text": "hi"}),
        (
            "comment",
            {"type": "pspdfkit/shape/rectangle", "v": 2, "pageIndex": 0, "bbox": [0, 0, 1, 1]},
        ),
        (
            "annotation",
            {"type": "pspdfkit/shape/rectangle", "v": 2, "pageIndex": "zero", "bbox": [0, 0, 1, 1]},
        ),
        (
            "annotation",
            {"type": "pspdfkit/ink", "v": 2, "pageIndex": 0, "bbox": [0, 0, 1, 1], "lines": 5},
        ),
    ],
    ids=[
        "value as annotation",
        "comment as annotation",
        "annotation as comment",
        "bad pageIndex",
        "bad lines",
    ],
)
def test_a_record_that_breaks_its_schema_or_kind_is_rejected_3_8(
    server: ServerThread, docs: tuple[str, str], kind: str, content: dict[str, Any]
) -> None:
    doc, other = docs

    async def scenario() -> None:
        acked = await _acked(server, doc)
        attacker, _, _ = await join(
            server.url, _token(server, doc, "mallory", ["annotations:view:all"])
        )
        rid = str(ULID())
        change = {
            "change_id": str(ULID()),
            "op": "create",
            "record_id": rid,
            "kind": kind,
            "content": {"id": rid, **content},
            "group": None,
        }
        ack = await attacker.push(change)
        assert ack["results"][0]["status"] == "rejected", ack
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


def test_a_record_of_an_unknown_type_is_kept_and_the_layer_pdf_still_builds_8(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, other = docs

    async def scenario() -> None:
        acked = await _acked(server, doc)
        client, _, _ = await join(server.url, _token(server, doc, "odd"))
        rid = str(ULID())
        ack = await client.push(create(rid, type="vendor/strange", customData={"a": [1, 2, 3]}))
        assert ack["results"][0]["status"] == "applied"
        await client.send({"type": "get_document", "with_layer": True})
        chunk = await client.recv_type("document_chunk", timeout=60)
        assert chunk["count"] >= 1
        await client.ws.close()
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


def test_a_record_over_the_size_limits_is_rejected_with_the_limit_named_8(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, other = docs

    async def scenario() -> None:
        acked = await _acked(server, doc)
        client, _, _ = await join(server.url, _token(server, doc, "big"))
        long = create(note="x" * 300_000)
        points = [[[1, 1]] * 26_000 for _ in range(2)]
        ink = create(
            type="pspdfkit/ink",
            lines={"points": points, "intensities": [[1] * 26_000] * 2},
            lineWidth=2,
            isDrawnNaturally=False,
        )
        huge = create(note="y" * 200_000, subject="z" * 200_000, title="w" * 200_000)
        results = [(await client.push(c))["results"][0] for c in (long, ink, huge)]
        assert [r["status"] for r in results] == ["rejected"] * 3
        assert [r.get("limit") for r in results] == [
            "string_chars",
            "points_per_ink",
            "record_bytes",
        ]
        await client.ws.close()
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


# --- defect 2: form field names ------------------------------------------------------------


def test_a_student_cannot_create_a_form_field_named_like_the_teachers_2(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, other = docs

    def field(name: str) -> dict[str, Any]:
        rid = str(ULID())
        return {
            "change_id": str(ULID()),
            "op": "create",
            "record_id": rid,
            "kind": "form-field",
            "content": {
                "type": "pspdfkit/form-field/text",
                "v": 1,
                "id": rid,
                "name": name,
                "label": name,
                "annotationIds": [],
            },
            "group": None,
        }

    async def scenario() -> None:
        acked = await _acked(server, doc)
        teacher, _, _ = await join(server.url, _token(server, doc, "teacher", None))
        ack = await teacher.push(field("secret-grade"))
        assert ack["results"][0]["status"] == "applied"
        student, _, _ = await join(server.url, _token(server, doc, "student", STUDENT))
        ack = await student.push(field("secret-grade"))
        result = ack["results"][0]
        assert result["status"] == "rejected" and "taken" in result["reason"]
        # Two fields of one name in one push: the second is refused too.
        ack = await student.push(field("mine"), field("mine"))
        assert [r["status"] for r in ack["results"]] == ["applied", "rejected"]
        for client in (teacher, student):
            await client.ws.close()
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


# --- defect 6: replies ----------------------------------------------------------------------


def _comment(root_id: str, text: str = "hi") -> dict[str, Any]:
    rid = str(ULID())
    return {
        "change_id": str(ULID()),
        "op": "create",
        "record_id": rid,
        "kind": "comment",
        "content": {"type": "pspdfkit/comment", "v": 2, "id": rid, "rootId": root_id, "text": text},
        "group": None,
    }


def test_a_reply_needs_comments_reply_on_a_visible_root_6(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, other = docs

    async def scenario() -> None:
        acked = await _acked(server, doc)
        teacher, _, _ = await join(server.url, _token(server, doc, "teacher", None))
        root = create()
        ack = await teacher.push(root, _comment(root["record_id"], "first"))
        assert [r["status"] for r in ack["results"]] == ["applied", "applied"]
        blind, _, _ = await join(server.url, _token(server, doc, "blind", []))
        ack = await blind.push(_comment(root["record_id"], "sneaky"))
        assert ack["results"][0]["status"] == "rejected"
        # Two comments in one push on a visible root without a thread: the second one is
        # a reply, and this token may not reply.
        viewer = _token(server, doc, "viewer", ["annotations:view:all", "comments:view:all"])
        mute, _, _ = await join(server.url, viewer)
        fresh = create()
        await teacher.push(fresh)
        ack = await mute.push(_comment(fresh["record_id"]), _comment(fresh["record_id"]))
        assert [r["status"] for r in ack["results"]] == ["applied", "rejected"]
        for client in (teacher, blind, mute):
            await client.ws.close()
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


# --- defect 10: catch-up --------------------------------------------------------------------


def test_catch_up_never_names_records_the_token_may_not_view_10(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, other = docs

    async def scenario() -> None:
        acked = await _acked(server, doc)
        student_token = _token(server, doc, "student", ["comments:view:self"])
        student, welcome, _ = await join(server.url, student_token)
        await student.ws.close()
        teacher, _, _ = await join(server.url, _token(server, doc, "teacher", None))
        root = create()
        hidden = _comment(root["record_id"], "for teachers")
        await teacher.push(root, hidden)
        await teacher.ws.close()
        again, _, catch_up = await join(
            server.url, student_token, last_seq=welcome["seq"], layer_epoch=welcome["layer_epoch"]
        )
        text = json.dumps(catch_up)
        assert hidden["record_id"] not in text and root["record_id"] not in text
        await again.ws.close()
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


# --- defect 11: token headers ---------------------------------------------------------------


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "header",
    [{"alg": "ES256", "typ": "JWT", "kid": 123}, {"alg": "ES256", "typ": "JWT", "crit": ["x"]}],
    ids=["kid 123", "unknown crit"],
)
def test_odd_token_headers_are_a_clean_auth_error_11(
    server: ServerThread, docs: tuple[str, str], header: dict[str, Any]
) -> None:
    doc, other = docs
    payload = {"document_id": doc, "permissions": ["read-document"], "exp": time.time() + 600}
    token = f"{_b64(header)}.{_b64(payload)}.{_b64({'garbage': 1})}"

    async def scenario() -> None:
        from websockets.asyncio.client import connect

        acked = await _acked(server, doc)
        ws = await connect(server.url, compression=None)
        client = Client(ws)
        await client.send(
            {
                "type": "hello",
                "protocol": 1,
                "token": token,
                "client_id": str(ULID()),
                "last_seq": None,
                "layer_epoch": None,
                "presence": {},
            }
        )
        code, frames = await client.closed()
        assert code == 4401 and frames[-1]["code"] == "unauthorized", frames
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


# --- defect 12: change ids and base_rev -----------------------------------------------------


def test_another_users_change_id_gets_nothing_of_their_result_12(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, other = docs

    async def scenario() -> None:
        acked = await _acked(server, doc)
        alice, _, _ = await join(server.url, _token(server, doc, "alice", None))
        change = create()
        await alice.push(change)
        first = update(change["record_id"], 1, strokeColor="#00ff00")
        second = update(change["record_id"], 1, strokeColor="#0000ff")
        ack = await alice.push(first, second)
        assert ack["results"][1]["status"] == "conflict"
        eve, _, _ = await join(server.url, _token(server, doc, "eve", []))
        ack = await eve.push(dict(second))
        result = ack["results"][0]
        assert result["status"] == "rejected" and "conflict" not in result
        assert "#0000ff" not in json.dumps(ack)
        # The author itself still gets its stored result (§4.2).
        ack = await alice.push(dict(second))
        assert ack["results"][0]["status"] == "conflict"
        for client in (alice, eve):
            await client.ws.close()
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


def test_a_base_rev_from_the_future_is_rejected_12(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, other = docs

    async def scenario() -> None:
        acked = await _acked(server, doc)
        alice, _, _ = await join(server.url, _token(server, doc, "alice"))
        change = create()
        await alice.push(change)
        await alice.push(update(change["record_id"], 1, strokeColor="#00ff00"))
        ack = await alice.push(update(change["record_id"], 99, strokeColor="#0000ff"))
        assert ack["results"][0]["status"] == "rejected"
        assert "ahead" in ack["results"][0]["reason"]
        await alice.ws.close()
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


# --- defect 13: the creator ----------------------------------------------------------------


def test_creator_id_null_with_creator_id_in_camel_case_is_rejected_13(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, other = docs

    async def scenario() -> None:
        acked = await _acked(server, doc)
        student, _, _ = await join(server.url, _token(server, doc, "student"))
        ack = await student.push(create(creator_id=None, creatorId="teacher"))
        assert ack["results"][0]["status"] == "rejected"
        assert "teacher" in ack["results"][0]["reason"]
        await student.ws.close()
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


# --- defect 9: expiry on an open connection -------------------------------------------------


def test_an_open_connection_is_closed_when_its_token_expires_9(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    from lamina.sync.validation import Limits

    doc, other = docs
    server.server.limits = Limits(token_leeway=0.0)  # type: ignore[attr-defined]

    async def scenario() -> None:
        acked = await _acked(server, doc)
        token = _token(server, doc, "brief", ttl=timedelta(seconds=2))
        client, _, _ = await join(server.url, token)
        code, frames = await client.closed(timeout=20)
        assert code == 4403 and frames[-1]["code"] == "token-expired", frames
        assert "expired" in frames[-1]["message"]
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


# --- the fuzzer: valid-looking records ------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_TYPES = [
    "pspdfkit/shape/rectangle",
    "pspdfkit/shape/ellipse",
    "pspdfkit/shape/line",
    "pspdfkit/ink",
    "pspdfkit/text",
    "pspdfkit/note",
    "pspdfkit/markup/highlight",
    "pspdfkit/stamp",
    "pspdfkit/link",
    "pspdfkit/widget",
    "pspdfkit/comment",
    "pspdfkit/form-field-value",
    "pspdfkit/form-field/text",
    "pspdfkit/bookmark",
    "vendor/unknown",
]
_NUMBERS = st.one_of(
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 1e15, 2**53, 2**53 + 1, -(2**53) - 1, 1e-300, 5e-324]),
)
_SCALARS = st.one_of(st.none(), st.booleans(), _NUMBERS, st.text(max_size=40))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "pageIndex": st.one_of(st.integers(-3, 10), _VALUES),
        "bbox": st.one_of(st.lists(_NUMBERS, min_size=4, max_size=4), _VALUES),
        "strokeColor": st.one_of(st.sampled_from(["#ff0000", "#FFF", "red"]), _VALUES),
        "lines": st.one_of(
            st.fixed_dictionaries(
                {"points": st.lists(st.lists(st.lists(_NUMBERS, min_size=2, max_size=2)))}
            ),
            _VALUES,
        ),
        "text": st.one_of(st.text(max_size=50), _VALUES),
        "rootId": st.one_of(st.text(max_size=30), _VALUES),
        "name": st.one_of(st.text(max_size=30), _VALUES),
        "value": _VALUES,
        "v": st.one_of(st.sampled_from([1, 2]), _VALUES),
        "customData": _VALUES,
        "creatorName": st.one_of(st.text(max_size=20), _VALUES),
    },
)
_KINDS = st.sampled_from(["annotation", "comment", "form-field", "form-field-value", "bookmark"])


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(kind=_KINDS, type_=st.sampled_from(_TYPES), fields=_FIELDS)
def test_fuzzed_records_never_break_the_layer_for_anyone_else(
    server: ServerThread, docs: tuple[str, str], kind: str, type_: str, fields: dict[str, Any]
) -> None:
    from lamina.sync import ClientSession
    from lamina.sync.messages import MAX_FRAME_BYTES
    from websockets.asyncio.client import connect

    doc, other = docs

    async def scenario() -> None:
        acked = await _acked(server, doc)
        client, _, _ = await join(server.url, _token(server, doc, "fuzz"))
        rid = str(ULID())
        content = {"type": type_, "id": rid, **fields}
        change = {
            "change_id": str(ULID()),
            "op": "create",
            "record_id": rid,
            "kind": kind,
            "content": content,
            "group": None,
        }
        await client.send({"type": "push", "changes": [change]})
        answer = await client.recv()
        while answer["type"] not in ("ack", "error"):
            answer = await client.recv()
        if answer["type"] == "error":  # refused as a whole frame (numbers past ±2^53)
            assert answer["code"] == "bad-message"
        else:
            result = answer["results"][0]
            assert result["status"] in ("applied", "rejected")
            if result["status"] == "applied":
                acked.append(rid)
        await client.ws.close()
        # The real client session joins and takes every record in.
        session = ClientSession.new()
        async with connect(server.url, compression=None, max_size=MAX_FRAME_BYTES) as ws:
            await ws.send(session.hello_frame(_token(server, doc, "joiner")))
            while not session.is_open:
                session.receive_text(await ws.recv())
        assert set(acked) <= set(session.state.replica)
        await _bystanders_served(server, doc, other, acked)

    run(scenario())
