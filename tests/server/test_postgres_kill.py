"""SIGKILL of one of two ``lamina serve --database`` processes under three writers, 10 times:
no acknowledged change is lost, none is applied twice, every ``seq`` is handed out once, and
the writers continue on the other process."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psycopg
import pytest
from lamina.server.documents import add_document_file
from lamina.server.store_postgres import PostgresStore
from websockets.exceptions import WebSocketException

from tests.conftest import corpus_pdf
from tests.server.conftest import STAMPS, ServerThread, create, join, run
from tests.support.postgres import terminate_lock_waiter
from tests.support.server_process import ServerProcess

ROUNDS = 10
WRITERS = 3


def test_killing_one_of_two_processes_loses_and_doubles_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    store = PostgresStore(postgres_url)
    try:
        doc = add_document_file(store, corpus_pdf(STAMPS), "doc").document_id
    finally:
        store.close()
    data = tmp_path / "data"
    servers = [ServerProcess(data, args=["--database", postgres_url]) for _ in range(2)]
    for server in servers:
        server.start()
    acked: list[set[str]] = [set() for _ in range(WRITERS)]
    moves = [0] * WRITERS

    async def scenario() -> None:
        stop = asyncio.Event()

        async def writer(i: int) -> None:
            target = i % 2
            pending: dict[str, Any] | None = None
            while not stop.is_set():
                server = servers[target]
                try:
                    client, _, _ = await join(server.sync_url, server.token(doc, layer=f"w{i}"))
                    while not stop.is_set():
                        # Unacknowledged: sent again, same change id (applied once, §4.2).
                        pending = pending or create()
                        ack = await client.push(pending)
                        assert ack["results"][0]["status"] == "applied", ack
                        acked[i].add(pending["record_id"])
                        pending = None
                    await client.ws.close()
                except (WebSocketException, OSError, TimeoutError, RuntimeError):
                    # Its server was killed (or is starting): continue on the other one.
                    target = 1 - target
                    moves[i] += 1
                    await asyncio.sleep(0.05)

        tasks = [asyncio.create_task(writer(i)) for i in range(WRITERS)]
        for round_ in range(ROUNDS):
            await asyncio.sleep(0.4)
            victim = servers[round_ % 2]
            await asyncio.to_thread(victim.kill)
            await asyncio.sleep(0.4)
            await asyncio.to_thread(victim.start)
        await asyncio.sleep(0.4)
        stop.set()
        await asyncio.gather(*tasks)

    try:
        run(scenario())
    finally:
        for server in servers:
            server.stop()
    assert all(moves), f"every writer moved to the other process at least once: {moves}"
    check = PostgresStore(postgres_url)
    try:
        for i in range(WRITERS):
            layer = check.load_layer(doc, f"w{i}")
            created = {r.id: r for r in layer.records if r.kind == "annotation" and r.seq > 0}
            assert acked[i] <= set(created), "an acknowledged change was lost"
            assert all(r.rev == 1 for r in created.values()), "a change was applied twice"
            assert sorted(r.seq for r in created.values()) == list(range(1, layer.seq + 1))
            assert len(acked[i]) > ROUNDS
    finally:
        check.close()


@pytest.mark.expect_error_log(
    r"lamina\.server: commit of \d+ layer writes failed: store write failed",
    r"lamina\.server: room doc/'' closed: store write failed",
)
def test_a_backend_terminated_mid_commit_sends_no_ack(tmp_path: Path, postgres_url: str) -> None:
    with ServerThread(tmp_path / "data", database=postgres_url) as server:
        doc = server.add_document(STAMPS, "doc")

        async def scenario() -> None:
            client, _, _ = await join(server.url, server.token(doc))
            first = await client.push(create())
            with psycopg.connect(postgres_url) as blocker:
                # Hold the layer's row: the server's commit of the next push waits on it.
                blocker.execute("SELECT 1 FROM layers WHERE name = '' FOR UPDATE")
                change = create()
                await client.send({"type": "push", "changes": [change]})
                await terminate_lock_waiter(postgres_url)
                _code, frames = await client.closed()
                blocker.rollback()
            assert [f for f in frames if f["type"] == "ack"] == []
            assert frames[-1]["code"] == "server-error"
            # Reconnected: the layer is where the last ack left it; the change is resent.
            again, _, _ = await join(
                server.url, server.token(doc), last_seq=first["seq"], layer_epoch=None
            )
            ack = await again.push(change)
            assert ack["seq"] == first["seq"] + 1
            await again.ws.close()

        run(scenario())
