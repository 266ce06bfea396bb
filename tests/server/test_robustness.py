"""Rooms under pressure: many joiners of an unloaded room, writes outliving connections."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lamina.server.app import EVICTIONS_KEPT
from lamina.server.documents import add_document_file
from lamina.server.store import SqliteStore

from tests.conftest import corpus_pdf
from tests.server.conftest import STAMPS, ServerThread, create, join, run
from tests.support.waiting import eventually


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
        store = server.open_store()
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


@pytest.fixture
def tight(tmp_path: Path) -> Iterator[ServerThread]:
    running = ServerThread(tmp_path / "data", max_write_buffer=256 * 1024)
    yield running
    running.stop()


def test_a_client_that_stops_reading_is_dropped_and_the_others_carry_on(
    tight: ServerThread,
) -> None:
    store = SqliteStore(tight.data_dir)
    try:
        doc = add_document_file(store, corpus_pdf(STAMPS), "slow").document_id
    finally:
        store.close()

    async def scenario() -> None:
        fast, _, _ = await join(tight.url, tight.token(doc, user_id="fast"), name="fast")
        slow, _, _ = await join(tight.url, tight.token(doc, user_id="slow"), name="slow")
        watcher, _, _ = await join(tight.url, tight.token(doc, user_id="w"), name="watcher")
        assert slow.ws.transport is not None
        slow.ws.transport.pause_reading()  # the slow client's app hangs
        big = "x" * 200_000
        dropped = False
        for _ in range(80):  # up to 80 MB for the slow client, past any socket buffer
            ack = await fast.push(*(create(note=big) for _ in range(2)))  # under push_bytes
            assert all(r["status"] == "applied" for r in ack["results"])
            presence = [m for m in watcher.received if m["type"] == "presence"]
            if presence and "slow" not in {c["name"] for c in presence[-1]["clients"]}:
                dropped = True
                break
            while True:  # the watcher keeps up
                try:
                    await watcher.recv(timeout=0.05)
                except TimeoutError:
                    break
        assert dropped, "the slow client was never dropped"
        # Every change still reached the watcher, and the fast writer was acked throughout.
        late = (await fast.push(create()))["results"][0]
        assert late["status"] == "applied"
        changes = await watcher.recv_type("changes")
        while late["record_id"] not in {r["id"] for r in changes["records"]}:
            changes = await watcher.recv_type("changes")
        # When the slow client reads again, the backlog ends with the reason.
        slow.ws.transport.resume_reading()
        code, frames = await slow.closed(timeout=30)
        assert code == 1011
        assert frames[-1]["code"] == "server-error" and "too slow" in frames[-1]["message"]

    run(scenario())


def test_a_client_found_too_slow_while_presence_goes_out_is_dropped_cleanly_8_1(
    tight: ServerThread,
) -> None:
    # Dropping a member takes it out of the room while the presence list goes out to the
    # members: the room must not be iterating its live member set then (an exception in
    # the presence timer is logged as an ERROR, which fails this test).
    store = SqliteStore(tight.data_dir)
    try:
        doc = add_document_file(store, corpus_pdf(STAMPS), "slowp").document_id
    finally:
        store.close()

    async def scenario() -> None:
        fast, _, _ = await join(tight.url, tight.token(doc, user_id="fast"), name="fast")
        slow, _, _ = await join(tight.url, tight.token(doc, user_id="slow"), name="slow")
        assert slow.ws.transport is not None
        slow.ws.transport.pause_reading()
        big = "x" * 120_000  # two strings: a ~240 KB record, under the record limit
        for page in range(80):  # each relay is followed by a presence list, never by another
            await fast.push(create(note=big, subject=big))
            await fast.send({"type": "presence", "state": {"name": "fast", "page": page}})
            listed = await fast.recv_type("presence")
            while _page_of("fast", listed) != page:
                listed = await fast.recv_type("presence")
            if "slow" not in {c["name"] for c in listed["clients"]}:
                break
        else:
            raise AssertionError("the slow client was never dropped")
        assert tight.server.connections  # the server carries on
        slow.ws.transport.resume_reading()
        code, frames = await slow.closed(timeout=30)
        assert code == 1011 and "too slow" in frames[-1]["message"]

    run(scenario())


def _page_of(name: str, presence: dict[str, Any]) -> Any:
    return next((c["state"].get("page") for c in presence["clients"] if c["name"] == name), None)


def test_a_long_running_server_remembers_only_its_last_evictions(
    server: ServerThread, doc: str
) -> None:
    """Every room forgotten used to add an entry for as long as the server ran."""
    layers = [f"passing-{i}" for i in range(EVICTIONS_KEPT + 6)]

    async def scenario() -> None:
        for layer in layers:
            client, _, _ = await join(server.url, server.token(doc, layer=layer))
            await client.ws.close()
            await eventually(
                lambda layer=layer: (doc, layer) in server.server.evictions, what="evicted"
            )
        assert len(server.server.evictions) == EVICTIONS_KEPT
        assert list(server.server.evictions)[-1] == (doc, layers[-1])
        assert (doc, layers[0]) not in server.server.evictions

    run(scenario())
