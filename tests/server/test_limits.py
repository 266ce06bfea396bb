"""Limits and quotas (DESIGN §10) and snapshots in parts (§3.7), against a real server.

Each refusal names its limit; after each, bystanders on the layer and on another document
are served (``_bystanders_served`` of the hostile-client module).
"""

from __future__ import annotations

import json

from lamina.sync import ClientSession
from lamina.sync.messages import MAX_FRAME_BYTES
from lamina.sync.validation import Limits
from ulid import ULID
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.server.conftest import ServerThread, create, join, run
from tests.server.test_hostile import _acked, _bystanders_served, _token, docs

__all__ = ["docs"]

BIG = "x" * 110_000


def _big_record() -> dict:
    """A create of a record of about 220 KB (under the record limit)."""
    return create(note=BIG, subject=BIG)


async def _session_join(server: ServerThread, token: str) -> ClientSession:
    """Join as the real client does (frames of at most 4 MiB); return the open session."""
    session = ClientSession.new()
    async with connect(server.url, compression=None, max_size=MAX_FRAME_BYTES) as ws:
        await ws.send(session.hello_frame(token))
        while not session.is_open:
            session.receive_text(await ws.recv())
    return session


def test_a_layer_over_4_mib_is_joined_and_caught_up_in_parts_4(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, other = docs

    async def scenario() -> None:
        writer, _, _ = await join(server.url, _token(server, doc, "writer"))
        ids = []
        for _ in range(22):
            ack = await writer.push(_big_record())
            assert ack["results"][0]["status"] == "applied"
            ids.append(ack["results"][0]["record_id"])
        session = await _session_join(server, _token(server, doc, "joiner"))
        assert set(ids) <= set(session.state.replica)
        # A catch-up of everything after seq 0 is more than one frame too.
        session.connection_lost()
        session.state.last_seq = 0
        again = await _session_join_with(server, session, _token(server, doc, "joiner"))
        assert set(ids) <= set(again.state.replica)
        await writer.ws.close()
        await _bystanders_served(server, doc, other, ids)

    run(scenario())


async def _session_join_with(
    server: ServerThread, session: ClientSession, token: str
) -> ClientSession:
    async with connect(server.url, compression=None, max_size=MAX_FRAME_BYTES) as ws:
        await ws.send(session.hello_frame(token))
        while not session.is_open:
            session.receive_text(await ws.recv())
    return session


def test_a_presence_state_past_its_limit_is_refused_and_members_stay_5(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, other = docs

    async def scenario() -> None:
        acked = await _acked(server, doc)
        member, _, _ = await join(server.url, _token(server, doc, "member"))
        reader = _token(server, doc, "reader", permissions=["read-document"])
        huge = "n" * 2_200_000
        for _ in range(2):
            attacker, _, _ = await join(server.url, reader)
            await attacker.send({"type": "presence", "state": {"name": huge}})
            _code, frames = await attacker.closed()
            assert frames[-1]["code"] == "limit-exceeded", frames[-1]
            assert frames[-1]["limit"] == "presence_bytes"
        ack = await member.push(create())
        assert ack["results"][0]["status"] == "applied"
        await member.ws.close()
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


def test_pushes_past_the_per_push_and_per_second_limits_are_refused_by_name_7(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, other = docs
    server.server.limits = Limits(  # type: ignore[attr-defined]
        bytes_per_second=1_000_000, bytes_burst=2_000_000, throttle_seconds=1.0
    )

    async def scenario() -> None:
        acked = await _acked(server, doc)
        many, _, _ = await join(server.url, _token(server, doc, "many"))
        await many.send({"type": "push", "changes": [create() for _ in range(1001)]})
        _code, frames = await many.closed()
        assert frames[-1]["code"] == "limit-exceeded" and frames[-1]["limit"] == "changes_per_push"
        fast, _, _ = await join(server.url, _token(server, doc, "fast"))
        try:
            for _ in range(40):
                await fast.send({"type": "push", "changes": [_big_record()]})
        except ConnectionClosed:
            pass  # the server closed mid-flood
        _code, frames = await fast.closed()
        errors = [f for f in frames if f["type"] == "error"]
        assert errors[-1]["code"] == "rate-limited" and errors[-1]["limit"] == "bytes_per_second"
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


def test_a_writer_briefly_over_its_byte_budget_is_slowed_down_not_refused_7(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    """Refusing makes the client reconnect and be sent its snapshot again (a flooder's
    reconnects cost the server more than its pushes): within ``throttle_seconds`` the
    server reads it more slowly instead."""
    doc, other = docs
    server.server.limits = Limits(  # type: ignore[attr-defined]
        bytes_per_second=1_000_000, bytes_burst=1_000_000, throttle_seconds=30.0
    )

    async def scenario() -> None:
        acked = await _acked(server, doc)
        eager, _, _ = await join(server.url, _token(server, doc, "eager"))
        for _ in range(8):  # 1.8 MB, at once: past the budget for about a second
            await eager.send({"type": "push", "changes": [_big_record()]})
        for _ in range(8):
            ack = await eager.recv_type("ack", timeout=30)
            assert ack["results"][0]["status"] == "applied"
            acked.append(ack["results"][0]["record_id"])
        assert not [f for f in eager.received if f["type"] == "error"]
        await eager.ws.close()
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


def test_records_per_layer_layers_per_document_and_connections_per_token_7(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, other = docs

    async def scenario() -> None:
        acked = await _acked(server, doc)
        writer, _, snapshot = await join(server.url, _token(server, doc, "writer"))
        present = len(snapshot["records"])
        server.server.limits = Limits(  # type: ignore[attr-defined]
            records_per_layer=present + 1, layers_per_document=1, connections_per_token=2
        )
        ack = await writer.push(create(), create())
        first_result, last = ack["results"]
        assert first_result["status"] == "applied"
        assert last["status"] == "rejected" and last["limit"] == "records_per_layer"
        second, _, _ = await join(server.url, _token(server, doc, "second", layer="review-2"))
        ack = await second.push(create())
        result = ack["results"][0]
        assert result["status"] == "rejected" and result["limit"] == "layers_per_document"
        token = _token(server, other, "twice")
        first, _, _ = await join(server.url, token)
        also, _, _ = await join(server.url, token)
        third, _, _ = await join(server.url, token)
        _code, frames = await third.closed()
        assert frames[-1]["code"] == "limit-exceeded"
        assert "connections_per_token" in frames[-1]["message"]
        for client in (writer, second, first, also):
            await client.ws.close()
        server.server.limits = Limits()  # type: ignore[attr-defined]
        await _bystanders_served(server, doc, other, acked)

    run(scenario())


def test_an_ack_of_big_records_comes_in_parts_that_each_fit_a_frame_4(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, _ = docs

    async def scenario() -> None:
        writer, _, _ = await join(server.url, _token(server, doc, "writer"))
        ids = []
        for _ in range(6):
            ack = await writer.push(_big_record())
            ids.append(ack["results"][0]["record_id"])
        # Six small updates of big records: the ack carries the six big records.
        changes = [
            {
                "change_id": str(ULID()),
                "op": "update",
                "record_id": rid,
                "base_rev": 1,
                "set": {"strokeColor": "#00ff00"},
                "unset": [],
            }
            for rid in ids
        ]
        await writer.send({"type": "push", "changes": changes})
        parts = [await writer.recv_type("ack")]
        while parts[-1].get("more"):
            parts.append(await writer.recv_type("ack"))
        assert len(parts) > 1
        assert all(len(json.dumps(p)) < MAX_FRAME_BYTES for p in parts)
        results = [r for p in parts for r in p["results"]]
        assert [r["status"] for r in results] == ["applied"] * 6
        await writer.ws.close()

    run(scenario())


def test_reconnecting_never_refills_a_tokens_budget_7(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    from lamina.sync.validation import configure_limits

    doc, other = docs

    async def scenario() -> None:
        acked = await _acked(server, doc)
        token = _token(server, doc, "again-and-again")
        configure_limits(Limits(joins_per_second=0.01, joins_burst=3))
        for _ in range(3):
            client, _, _ = await join(server.url, token)
            await client.ws.close()
        ws = await connect(server.url, compression=None, max_size=None)
        session = ClientSession.new()
        await ws.send(session.hello_frame(token))
        error = json.loads(await ws.recv())
        assert error["type"] == "error" and error["code"] == "rate-limited"
        assert error["limit"] == "joins_per_second"
        await ws.close()
        configure_limits(Limits())
        await _bystanders_served(server, doc, other, acked)

    try:
        run(scenario())
    finally:
        configure_limits(Limits())


def test_lamina_serve_reads_every_limit_from_its_flags() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    Limits.add_arguments(parser)
    args = parser.parse_args(
        [
            "--limit-records-per-layer",
            "7",
            "--limit-token-leeway",
            "2.5",
            "--limit-messages-per-second",
            "250",
            "--limit-messages-burst",
            "9",
        ]
    )
    limits = Limits.from_args(args)
    assert (limits.records_per_layer, limits.token_leeway) == (7, 2.5)
    assert (limits.messages_per_second, limits.messages_burst) == (250.0, 9.0)
    assert limits.push_bytes == Limits().push_bytes


def test_the_message_rate_is_a_limit_and_its_refusal_names_it_7_3(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    # Before, the 100 messages/s of §7.3 was a constant no flag could change, and its refusal
    # named no limit.
    from lamina.sync.validation import configure_limits

    doc, other = docs

    async def scenario() -> None:
        acked = await _acked(server, doc)
        configure_limits(Limits(messages_per_second=1.0, messages_burst=5))
        client, _, _ = await join(server.url, _token(server, doc, "chatty"))
        presence = json.dumps({"type": "presence", "state": {"page": 1}})
        for _ in range(8):
            try:
                await client.ws.send(presence)
            except ConnectionClosed:
                break
        code, frames = await client.closed()
        assert code == 4429
        assert frames[-1]["code"] == "rate-limited"
        assert frames[-1]["limit"] == "messages_per_second"
        configure_limits(Limits())
        await _bystanders_served(server, doc, other, acked)

    try:
        run(scenario())
    finally:
        configure_limits(Limits())
