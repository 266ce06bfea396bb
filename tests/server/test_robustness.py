"""Rooms under pressure: many joiners of an unloaded room, writes outliving connections."""

from __future__ import annotations

import asyncio

from app.server.store import SqliteStore
from tests.server.conftest import ServerThread, create, join, run


def test_twenty_clients_joining_an_unloaded_room_are_all_served(
    server: ServerThread, doc: str
) -> None:
    async def scenario() -> None:
        assert server.server.rooms == {}
        token = server.token(doc, layer="crowd")
        joined = await asyncio.gather(*(join(server.url, token) for _ in range(20)))
        for _, welcome, catch_up in joined:
            # Nobody is answered before the room loaded: everyone gets the base layer.
            assert welcome["seq"] == 0
            assert catch_up["type"] == "snapshot" and len(catch_up["records"]) == 5
        assert list(server.server.rooms) == [(doc, "crowd")]
        first = joined[0][0]
        ack = await first.push(create())
        for other, _, _ in joined[1:]:
            changes = await other.recv_type("changes")
            assert changes["seq"] == ack["seq"]

    run(scenario())


def test_room_is_not_evicted_before_its_writes_commit(server: ServerThread, doc: str) -> None:
    async def scenario() -> None:
        client, _, _ = await join(server.url, server.token(doc, layer="gone"))
        changes = [create() for _ in range(50)]
        for change in changes:
            await client.send({"type": "push", "changes": [change]})
        await client.ws.close()  # leave before any ack can arrive
        for _ in range(100):
            if (doc, "gone") in server.server.evictions:
                break
            await asyncio.sleep(0.05)
        assert (doc, "gone") in server.server.evictions
        store = SqliteStore(server.data_dir)
        layer = store.load_layer(doc, "gone")
        store.close()
        assert {c["record_id"] for c in changes} <= {r.id for r in layer.records}
        assert layer.seq == 50
        _again, welcome, snap = await join(server.url, server.token(doc, layer="gone"))
        assert welcome["seq"] == 50
        assert len(snap["records"]) == 55

    run(scenario())


def test_reconnect_with_last_seq_gets_exactly_what_it_missed(
    server: ServerThread, doc: str
) -> None:
    async def scenario() -> None:
        token = server.token(doc)
        a, welcome, _ = await join(server.url, token)
        seen = welcome["seq"]
        epoch = welcome["layer_epoch"]
        await a.ws.close()
        b, _, _ = await join(server.url, token)
        missed = [(await b.push(create()))["results"][0]["record_id"] for _ in range(3)]
        _back, _, catch_up = await join(server.url, token, last_seq=seen, layer_epoch=epoch)
        assert catch_up["type"] == "changes" and catch_up["catch_up"] is True
        assert [r["id"] for r in catch_up["records"]] == missed

    run(scenario())
