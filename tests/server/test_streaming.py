"""Snapshots streamed as the client reads (§3.7) and resumed after a drop (§3.8), against a
real server on both stores.

The layers here are seeded straight into the store (a 40 MiB layer pushed through the socket
would spend minutes in the byte budget of DESIGN §10); everything after that goes through
the socket: the server loads the room, streams the snapshot, relays and acks.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from lamina.auth.invite import Invite
from lamina.client.document import LaminaDocument
from lamina.client.events import ConnectionState
from lamina.server.store import LayerWrite
from lamina.sync import ClientSession
from lamina.sync.messages import MAX_FRAME_BYTES
from lamina.sync.state import RecordState
from ulid import ULID
from websockets.asyncio.client import connect

from tests.server.conftest import ServerThread, create, join, run
from tests.server.test_hostile import _token, docs

__all__ = ["docs"]

BIG = "x" * 100_000


def _record(seq: int) -> RecordState:
    rid = str(ULID())
    content = {
        "type": "pspdfkit/shape/rectangle",
        "v": 2,
        "id": rid,
        "pageIndex": 0,
        "bbox": [10, 10, 50, 50],
        "strokeColor": "#ff0000",
        "note": BIG,
        "subject": BIG,
    }
    return RecordState(rid, "annotation", 1, seq, content, False, "seeder", None)


def _seed(server: ServerThread, doc: str, megabytes: int) -> tuple[list[str], int]:
    """Write a layer of about ``megabytes`` MiB of records into the store (no room loaded
    yet); return the ids of its live records and its seq."""
    count = megabytes * 1024 * 1024 // (2 * len(BIG)) + 1
    records = [_record(i + 1) for i in range(count)]
    store = server.open_store()
    try:
        epoch = store.load_layer(doc, "").epoch
        store.commit([LayerWrite(doc, "", epoch, count, records, base_seq=0)])
        live = [r.id for r in store.load_layer(doc, "").records if not r.deleted]
    finally:
        store.close()
    assert {r.id for r in records} <= set(live)
    return live, count


async def _frames_until_open(ws, session: ClientSession) -> int:  # type: ignore[no-untyped-def]
    """Feed ``session`` until its catch-up is complete; return the bytes read."""
    read = 0
    while not session.is_open:
        text = await asyncio.wait_for(ws.recv(), 60)
        read += len(text)
        session.receive_text(text)
    return read


def test_a_joiner_that_reads_late_gets_every_part(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    """The write path bug: several big parts written while the transport is paused (the
    client has not read yet) raised ``await wasn't used with future`` on the server."""
    doc, _ = docs
    ids, _seq = _seed(server, doc, 12)

    async def scenario() -> None:
        session = ClientSession.new()
        async with connect(server.url, compression=None, max_size=MAX_FRAME_BYTES) as ws:
            await ws.send(session.hello_frame(_token(server, doc, "late")))
            await asyncio.sleep(1.0)  # the server writes into a full socket meanwhile
            await _frames_until_open(ws, session)
        assert set(ids) <= set(session.state.replica)

    run(scenario())


def test_a_real_client_joins_a_layer_ten_times_the_frame_limit_and_converges(
    server: ServerThread, docs: tuple[str, str], tmp_path: Path
) -> None:
    doc, _ = docs
    ids, _seq = _seed(server, doc, 10 * MAX_FRAME_BYTES // (1024 * 1024))

    async def scenario() -> None:
        invite = Invite(server.url, _token(server, doc, "reader"))
        client = await LaminaDocument.open_invite(invite, store_dir=tmp_path / "client")
        try:
            await asyncio.wait_for(client.wait_for_state(ConnectionState.ONLINE), 120)
            assert set(ids) <= {r.id for r in client.records()}
            # Live: a change made elsewhere reaches it, one made here reaches the others.
            writer, _, _ = await join(server.url, _token(server, doc, "writer"))
            while writer.received[-1].get("more"):
                await writer.recv()
            ack = await writer.push(create())
            remote_id = ack["results"][0]["record_id"]
            for _ in range(600):
                if client.record(remote_id) is not None:
                    break
                await asyncio.sleep(0.05)
            assert client.record(remote_id) is not None
        finally:
            await client.close()

    run(scenario())


def test_a_connection_dropped_mid_snapshot_resumes_where_it_stopped(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, _ = docs
    ids, seq = _seed(server, doc, 8)
    token = _token(server, doc, "resumer")

    async def scenario() -> None:
        writer, _, _ = await join(server.url, _token(server, doc, "writer"))
        # Read the first parts, then drop the connection.
        first, welcome, part = await join(server.url, token)
        parts = [part]
        while len(parts) < 3:
            parts.append(await first.recv_type("snapshot"))
        assert all(p.get("more") for p in parts)
        await first.ws.close()
        held = {r["id"]: r for p in parts for r in p["records"]}
        after = max(held)
        assert [r["id"] for p in parts for r in p["records"]] == sorted(held), "id order"
        # Meanwhile: one record already held changes, one is deleted, one is created.
        changed, gone = sorted(held)[0], sorted(held)[1]
        await writer.push({**_update(changed, 1), "set": {"strokeColor": "#00ff00"}})
        await writer.push(
            {"change_id": str(ULID()), "op": "delete", "record_id": gone, "base_rev": 1}
        )
        ack = await writer.push(create())
        created = ack["results"][0]["record_id"]

        resumed, _, part = await join(
            server.url,
            token,
            layer_epoch=welcome["layer_epoch"],
            resume={"seq": seq, "after": after},
        )
        rest = [part]
        while rest[-1].get("more"):
            rest.append(await resumed.recv_type("snapshot"))
        assert all(p.get("resumed_after") == after for p in rest)
        resent = sum(len(json.dumps(p)) for p in rest)
        # The replica: what was held, with the resumed snapshot applied over it.
        replica = dict(held)
        for p in rest:
            for r in p["records"]:
                if r["deleted"]:
                    replica.pop(r["id"], None)
                else:
                    replica[r["id"]] = r
        assert set(replica) == (set(ids) - {gone}) | {created}
        assert replica[changed]["content"]["strokeColor"] == "#00ff00"
        assert replica[changed]["rev"] == 2
        again = {r["id"] for p in rest for r in p["records"]} & set(held)
        assert again == {changed, gone}, "only the held records that changed come again"
        full = sum(len(json.dumps(p)) for p in await _whole_snapshot(server, token))
        held_bytes = sum(len(json.dumps(p)) for p in parts)
        # What was held is not sent again: only the rest, plus the three records that changed
        # (the deleted one twice: in the held count and as a tombstone with its last content).
        record_bytes = 2 * len(BIG) + 1024
        assert resent < full - held_bytes + 3 * record_bytes, (resent, full, held_bytes)
        assert resent < full - 2 * 1024 * 1024

    run(scenario())


def _update(record_id: str, base_rev: int) -> dict:
    return {
        "change_id": str(ULID()),
        "op": "update",
        "record_id": record_id,
        "base_rev": base_rev,
        "set": {},
        "unset": [],
    }


async def _whole_snapshot(server: ServerThread, token: str) -> list[dict]:
    client, _, part = await join(server.url, token)
    parts = [part]
    while parts[-1].get("more"):
        parts.append(await client.recv_type("snapshot"))
    await client.ws.close()
    return parts
