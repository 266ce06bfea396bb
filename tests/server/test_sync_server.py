"""The sync server end to end: handshake, durable acks, relay, layers, catch-up."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

from lamina.server.documents import add_document_file
from lamina.server.store import SqliteStore

from tests.conftest import corpus_pdf
from tests.server.conftest import ServerThread, create, join, run


def test_healthz_answers_plain_http(server: ServerThread) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5) as resp:
        assert resp.status == 200
        body = json.loads(resp.read())
    assert body["status"] == "ok"


def test_change_is_acked_after_commit_and_relayed_to_others(server: ServerThread, doc: str) -> None:
    async def scenario() -> None:
        token = server.token(doc, user_id="ann")
        a, welcome, snap = await join(server.url, token)
        b, _, _ = await join(server.url, server.token(doc, user_id="bob"))
        assert welcome["document"]["page_count"] == 1
        assert snap["type"] == "snapshot"
        assert len(snap["records"]) == 5  # the PDF's stamps: the base layer
        change = create()
        ack = await a.push(change)
        [result] = ack["results"]
        assert result["status"] == "applied"
        assert result["record"]["creator_id"] == "ann"
        # Durable before the ack: another connection to the file sees it.
        store = server.open_store()
        layer = store.load_layer(doc, "")
        store.close()
        assert change["record_id"] in {r.id for r in layer.records}
        relayed = await b.recv_type("changes")
        assert [r["id"] for r in relayed["records"]] == [change["record_id"]]
        assert relayed["seq"] == ack["seq"]
        # Sending the same change again changes nothing (§4.2).
        again = await a.push(change)
        assert again["results"][0]["status"] == "applied"
        assert again["seq"] == ack["seq"]
        await a.ws.close()
        await b.ws.close()

    run(scenario())


def test_shutdown_commits_then_closes_with_1001(tmp_path: Path) -> None:
    running = ServerThread(tmp_path / "data")
    store = SqliteStore(running.data_dir)
    add_document_file(store, corpus_pdf("annot-stamps"), "d")
    store.close()

    async def scenario() -> None:
        client, _, _ = await join(running.url, running.token("d"))
        ack = await client.push(create())
        await asyncio.to_thread(running.stop)
        code, frames = await client.closed()
        assert code == 1001
        assert frames[-1]["code"] == "shutting-down"
        reopened = SqliteStore(running.data_dir)
        assert reopened.load_layer("d", "").seq == ack["seq"]
        reopened.close()

    run(scenario())


def test_presence_names_everyone_connected_and_follows_cursor_moves(
    server: ServerThread, doc: str
) -> None:
    async def scenario() -> None:
        joined = await asyncio.gather(
            *(join(server.url, server.token(doc, user_id=f"u{i}"), name=f"n{i}") for i in range(6))
        )
        clients = [c for c, _, _ in joined]
        everyone = {f"n{i}" for i in range(6)}
        for client in clients:
            while True:  # lists may be merged while people join; the last one names all
                msg = await client.recv_type("presence")
                if {c["name"] for c in msg["clients"]} == everyone:
                    break
        await clients[0].send({"type": "presence", "state": {"name": "n0", "page": 3}})
        msg = await clients[1].recv_type("presence")
        while next(c for c in msg["clients"] if c["name"] == "n0")["state"].get("page") != 3:
            msg = await clients[1].recv_type("presence")
        await clients[5].ws.close()
        msg = await clients[0].recv_type("presence")
        while "n5" in {c["name"] for c in msg["clients"]}:
            msg = await clients[0].recv_type("presence")
        assert {c["name"] for c in msg["clients"]} == everyone - {"n5"}

    run(scenario())


def test_pushes_are_acknowledged_while_a_layer_pdf_builds(server: ServerThread, doc: str) -> None:
    """The read loop goes on while ``get_document`` builds the layer PDF (off the loop): a push
    sent after the request is acknowledged before the PDF arrives, and the client's pings are
    answered meanwhile (a big layer's build once outlasted the client's ping timeout)."""

    async def scenario() -> None:
        client, _, _ = await join(server.url, server.token(doc, layer="busy"))
        ack = await client.push(*(create(note="n" * 200) for _ in range(400)))
        assert {r["status"] for r in ack["results"]} == {"applied"}
        await client.send({"type": "get_document", "with_layer": True})
        await client.send({"type": "push", "changes": [create()]})
        order: list[str] = []
        while "document_chunk" not in order or "ack" not in order:
            frame = await client.recv(timeout=60)
            order.append(frame["type"])
            if frame["type"] == "document_chunk":
                assert frame["count"] >= 1
        assert order.index("ack") < order.index("document_chunk"), order
        await client.ws.close()

    run(scenario())
