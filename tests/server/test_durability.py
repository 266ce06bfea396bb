"""Acknowledged changes survive kill -9 of a `lamina serve` subprocess, each exactly once."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path
from typing import Any

import pytest
from lamina.auth import mint_token
from lamina.auth.keys import load_or_create_keypair
from lamina.server.documents import add_document_file
from lamina.server.store import SqliteStore
from websockets.exceptions import ConnectionClosed

from tests.conftest import corpus_pdf
from tests.server.conftest import create, join
from tests.support.server_process import ServerProcess


def _start(data: Path, fsync: bool = False) -> tuple[ServerProcess, str]:
    server = ServerProcess(data, args=["--fsync"] if fsync else [])
    server.start()
    return server, server.sync_url


@pytest.mark.slow
def test_acked_changes_survive_sigkill_exactly_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    keypair = load_or_create_keypair(data)
    store = SqliteStore(data)
    add_document_file(store, corpus_pdf("annot-stamps"), "stamps")
    store.close()
    rng = random.Random(7)
    acked: set[str] = set()
    current: dict[str, Any] = {"url": None}

    async def writer(user: str, stop: asyncio.Event) -> None:
        token = mint_token(keypair, document_id="stamps", user_id=user)
        pending: dict[str, Any] | None = None
        while not stop.is_set():
            url = current["url"]
            if url is None:
                await asyncio.sleep(0.02)
                continue
            try:
                client, _, _ = await join(url, token, name=user)
                while not stop.is_set():
                    if pending is None:
                        pending = create()
                    # A change whose ack was lost is sent again with the same change id.
                    ack = await client.push(pending)
                    assert ack["results"][0]["status"] == "applied", ack
                    acked.add(pending["record_id"])
                    pending = None
                await client.ws.close()
            except (OSError, ConnectionClosed, TimeoutError, AssertionError) as exc:
                if isinstance(exc, AssertionError) and "applied" not in str(exc):
                    raise
                await asyncio.sleep(0.02)

    async def scenario() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(writer(f"user{i}", stop)) for i in range(4)]
        for i in range(4):
            # Both durability modes: commits in the WAL (default) and fsynced (--fsync).
            server, url = await asyncio.to_thread(_start, data, i % 2 == 1)
            current["url"] = url
            await asyncio.sleep(rng.uniform(0.3, 1.0))
            current["url"] = None
            await asyncio.to_thread(server.kill)
        server, url = await asyncio.to_thread(_start, data)
        current["url"] = url
        await asyncio.sleep(0.5)  # let every writer resend what it had in flight
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(server.proc.wait, 30) == 0
        server.stop()

    asyncio.run(scenario())
    assert len(acked) > 20
    store = SqliteStore(data)
    layer = store.load_layer("stamps", "")
    store.close()
    created = [r for r in layer.records if not r.id.isdigit()]
    ids = [r.id for r in created]
    assert acked <= set(ids)
    assert len(ids) == len(set(ids))
    # Each create was applied once: one sequence number per record, no replays.
    assert layer.seq == len(created)
    assert all(r.rev == 1 for r in created)
