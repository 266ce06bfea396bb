"""Property: three clients, random edits, random disconnects; all replicas end equal to the server.

Runs against a real `lamina serve` on loopback; each example uses a fresh document and fresh
local stores. "The server" is checked three ways: what it serves a replica that never saw the
document, what its SQLite store holds, and what it serves after a SIGKILL and restart.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lamina.client.document import LaminaDocument
from lamina.client.events import ConnectionState

from tests.client.conftest import FAST, ServerProcess, eventually, note
from tests.support.edit_fuzz import OPS, play

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
    await play(clients, ops, note)

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

    # What the server serves must also be what it has durably stored: every change above was
    # acknowledged, so it survives a SIGKILL (sync §4.3). Reading the store catches a commit
    # that was acked and relayed but written wrongly (an acked delete of a base record
    # coming back, fixed in app/sync/layer.py); a restart then serves that store.
    await asyncio.to_thread(server.kill)
    stored = await asyncio.to_thread(server.layer_records, document_id)
    assert stored == on_server, "the durable store differs from what the server served"
    await asyncio.to_thread(server.start)
    after = await LaminaDocument.open_invite(
        server.invite(document_id), store_dir=tmp / f"ex{n}" / "after", backoff=FAST
    )
    await asyncio.wait_for(after.wait_for_state(ConnectionState.ONLINE), 30)
    assert after.instant_json_records() == on_server, "the restarted server lost acked changes"
    await after.close()


# A longer fuzz run: LAMINA_FUZZ_EXAMPLES=60 pytest ... --hypothesis-seed=17
EXAMPLES = int(os.environ.get("LAMINA_FUZZ_EXAMPLES", "8"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(OPS, min_size=5, max_size=40))
def test_random_edits_and_disconnects_converge(
    server: ServerProcess, tmp_path: Path, ops: list[tuple[Any, ...]]
) -> None:
    asyncio.run(asyncio.wait_for(_run(server, tmp_path, ops), 120))


CLIENTS = 5


async def _first_changes_at_once(server: ServerProcess, tmp: Path, rounds: int) -> None:
    served: dict[str, dict[str, Any]] = {}
    for n in range(rounds):
        layer = f"burst{n}"  # a fresh layer: its first commit copies the base in (§5.1)
        clients = [
            await LaminaDocument.open_invite(
                server.invite(layer=layer), store_dir=tmp / layer / str(i), backoff=FAST
            )
            for i in range(CLIENTS)
        ]
        for doc in clients:
            await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
        stamps = sorted(clients[0].instant_json_records())
        # The layer's first changes, sent in the same loop tick by several clients, so the
        # server may prepare them on top of each other and write them in one group commit
        # (§4.3). Whether it does depends on timing: the rounds make it likely.
        clients[0].delete(stamps[0])
        clients[1].delete(stamps[1])
        clients[2].update(stamps[2], {"opacity": 0.5})
        for i, doc in enumerate(clients[3:]):
            doc.create(note(f"new {i}"))
        for doc in clients:
            await asyncio.wait_for(doc.save(), 30)
        first = clients[0]

        def agree(first: LaminaDocument = first, clients: list[LaminaDocument] = clients) -> bool:
            return all(d.instant_json_records() == first.instant_json_records() for d in clients)

        await eventually(agree, what="the replicas agree")
        served[layer] = first.instant_json_records()
        assert stamps[0] not in served[layer] and stamps[1] not in served[layer]
        for doc in clients:
            await doc.close()
    await asyncio.to_thread(server.kill)
    for layer, records in served.items():
        stored = await asyncio.to_thread(server.layer_records, "doc", layer)
        assert stored == records, f"layer {layer}: the store lost an acknowledged change"
    await asyncio.to_thread(server.start)
    for layer, records in served.items():
        after = await LaminaDocument.open_invite(
            server.invite(layer=layer), store_dir=tmp / layer / "after", backoff=FAST
        )
        await asyncio.wait_for(after.wait_for_state(ConnectionState.ONLINE), 30)
        assert after.instant_json_records() == records, f"layer {layer}: lost after a restart"
        await after.close()


def test_first_changes_of_a_layer_in_one_group_commit_survive_a_kill(
    server: ServerProcess, tmp_path: Path
) -> None:
    # With the fix of commit 2f72280 reverted (an acked delete of a base record came back
    # after a restart), this failed in 3 of 11 runs: the group commit needs the pushes to
    # reach the server in the same loop iteration, which only timing decides.
    asyncio.run(asyncio.wait_for(_first_changes_at_once(server, tmp_path, rounds=12), 200))
