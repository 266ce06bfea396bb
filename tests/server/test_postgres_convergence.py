"""The convergence property with the clients spread over two ``lamina serve --database``
processes on one PostgreSQL: three clients (two on one process, one on the other), random
edits and disconnects; every replica ends equal to what either process serves and to what
PostgreSQL holds."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lamina.client.backoff import Backoff
from lamina.client.document import LaminaDocument
from lamina.client.events import ConnectionState
from lamina.server.documents import add_document_file
from lamina.server.store_postgres import PostgresStore

from tests.conftest import corpus_pdf
from tests.server.conftest import STAMPS
from tests.support.edit_fuzz import OPS, play
from tests.support.server_process import ServerProcess
from tests.support.waiting import eventually

FAST = Backoff(initial=0.05, maximum=0.3)
EXAMPLES = int(os.environ.get("LAMINA_FUZZ_EXAMPLES", "4"))

_examples = itertools.count()


def _note(text: str) -> dict[str, Any]:
    return {
        "v": 2,
        "type": "pspdfkit/note",
        "pageIndex": 0,
        "bbox": [10, 10, 20, 20],
        "text": {"format": "plain", "value": text},
        "color": "#ffd83f",
    }


@pytest.fixture
def two_servers(tmp_path: Path, postgres_url: str) -> Iterator[tuple[list[ServerProcess], str]]:
    servers = [ServerProcess(tmp_path / "data", args=["--database", postgres_url])]
    servers.append(ServerProcess(tmp_path / "data", args=["--database", postgres_url]))
    for server in servers:
        server.start()
    yield servers, postgres_url
    for server in servers:
        server.stop()


async def _run(servers: list[ServerProcess], url: str, tmp: Path, ops: list[Any]) -> None:
    n = next(_examples)
    document_id = f"prop{n}"
    store = PostgresStore(url)
    try:
        add_document_file(store, corpus_pdf(STAMPS), document_id)
    finally:
        store.close()
    clients = [
        await LaminaDocument.open_invite(
            servers[i % 2].invite(document_id), store_dir=tmp / f"ex{n}" / str(i), backoff=FAST
        )
        for i in range(3)
    ]
    for doc in clients:
        await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
    await play(clients, ops, _note)
    served = []
    for i, server in enumerate(servers):
        fresh = await LaminaDocument.open_invite(
            server.invite(document_id), store_dir=tmp / f"ex{n}" / f"fresh{i}", backoff=FAST
        )
        await asyncio.wait_for(fresh.wait_for_state(ConnectionState.ONLINE), 30)
        served.append(fresh)
    on_server = served[0].instant_json_records()

    def converged() -> bool:
        return all(d.instant_json_records() == on_server for d in (*clients, *served))

    await eventually(converged, what="every replica equals what both processes serve")
    for doc in (*clients, *served):
        await doc.close()
    store = PostgresStore(url)
    try:
        layer = store.load_layer(document_id, "")
    finally:
        store.close()
    stored = {r.id: r.content for r in layer.records if not r.deleted}
    assert set(stored) == set(on_server), "PostgreSQL differs from what the servers serve"


# Two processes writing one layer at the same instant: the later commit is refused whole
# (LayerAdvancedError) and its room prepares those pushes again (README, Hosting on
# PostgreSQL): no room closes, nothing is logged at ERROR.
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(OPS, min_size=5, max_size=30))
def test_random_edits_over_two_processes_converge(
    two_servers: tuple[list[ServerProcess], str], tmp_path: Path, ops: list[Any]
) -> None:
    servers, url = two_servers
    asyncio.run(asyncio.wait_for(_run(servers, url, tmp_path, ops), 120))
