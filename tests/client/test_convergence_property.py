"""Property: three clients, random edits, random disconnects; all replicas end equal to the server.

Runs against a real `lamina serve` on loopback; each example uses a fresh document and fresh
local stores.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.client.document import LaminaDocument
from app.client.events import ConnectionState
from tests.client.conftest import FAST, ServerProcess, eventually, note

COLORS = ("#ff0000", "#00ff00", "#0000ff")

_op = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 2), st.integers(0, 99)),
    st.tuples(st.just("color"), st.integers(0, 2), st.integers(0, 99), st.sampled_from(COLORS)),
    st.tuples(st.just("move"), st.integers(0, 2), st.integers(0, 99), st.integers(0, 400)),
    st.tuples(st.just("delete"), st.integers(0, 2), st.integers(0, 99)),
    st.tuples(st.just("disconnect"), st.integers(0, 2)),
    st.tuples(st.just("reconnect"), st.integers(0, 2)),
    st.tuples(st.just("pause"), st.integers(0, 2)),
)

_examples = itertools.count()


async def _run(server: ServerProcess, tmp: Path, ops: list[tuple[Any, ...]]) -> None:
    n = next(_examples)
    document_id = f"prop{n}"
    await asyncio.to_thread(server.add_document, document_id=document_id)
    clients = [
        await LaminaDocument.open_invite(
            server.invite(document_id), store_dir=tmp / f"ex{n}" / str(i), backoff=FAST
        )
        for i in range(3)
    ]
    for doc in clients:
        await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
    online = [True, True, True]
    for op in ops:
        action, who = op[0], op[1]
        doc = clients[who]
        ids = sorted(doc.instant_json_records())
        target = ids[op[2] % len(ids)] if len(op) > 2 and ids else None
        if action == "create":
            doc.create(note(f"c{who}-{op[2]}"))
        elif action == "color" and target is not None:
            doc.update(target, {"color": op[3]})
        elif action == "move" and target is not None:
            doc.update(target, {"bbox": [op[3], op[3], 20, 20]})
        elif action == "delete" and target is not None:
            doc.delete(target)
        elif action == "disconnect" and online[who]:
            await doc.disconnect()
            online[who] = False
        elif action == "reconnect" and not online[who]:
            doc.connect()
            online[who] = True
        elif action == "pause":
            await asyncio.sleep(0.05)
    for doc in clients:
        doc.connect()
    for doc in clients:
        await asyncio.wait_for(doc.save(), 60)

    # The server's state as it serves it: a replica that has never seen this document.
    fresh = await LaminaDocument.open_invite(
        server.invite(document_id), store_dir=tmp / f"ex{n}" / "fresh", backoff=FAST
    )
    await asyncio.wait_for(fresh.wait_for_state(ConnectionState.ONLINE), 30)
    on_server = fresh.instant_json_records()

    def converged() -> bool:
        return all(doc.instant_json_records() == on_server for doc in clients)

    await eventually(converged, what="every replica equals the server")
    assert all(doc.pending_count == 0 for doc in clients)
    for doc in (*clients, fresh):
        await doc.close()


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(_op, min_size=5, max_size=40))
def test_random_edits_and_disconnects_converge(
    server: ServerProcess, tmp_path: Path, ops: list[tuple[Any, ...]]
) -> None:
    asyncio.run(asyncio.wait_for(_run(server, tmp_path, ops), 120))
