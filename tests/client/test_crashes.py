"""Crashes: the client killed with a full outbox, the server killed while clients edit."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from lamina.auth.invite import make_invite_link
from lamina.client.document import LaminaDocument
from lamina.client.events import ConnectionState
from lamina.client.store import LocalStore, store_path_for

from tests.client.conftest import FAST, ServerProcess, async_test, eventually, note

_CHILD = """
import asyncio, sys
from pathlib import Path
from lamina.client.backoff import Backoff
from lamina.client.document import AutosaveMode, LaminaDocument

async def main():
    doc = await LaminaDocument.open_invite(
        sys.argv[1], store_dir=Path(sys.argv[2]), backoff=Backoff(0.05, 0.3)
    )
    for i in range(30):
        edit = doc.create({"type": "pspdfkit/note", "pageIndex": 0, "bbox": [i, i, 20, 20],
                           "text": {"format": "plain", "value": f"note {i}"}})
        print(edit.record_id, flush=True)
        await asyncio.sleep(0.005)
    doc.set_autosave(AutosaveMode.DISABLED)
    for i in range(30, 40):
        edit = doc.create({"type": "pspdfkit/note", "pageIndex": 0, "bbox": [i, i, 20, 20],
                           "text": {"format": "plain", "value": f"note {i}"}})
        print(edit.record_id, flush=True)
    print("ready", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@async_test
async def test_client_killed_with_pending_outbox_syncs_everything_after_restart(
    server: ServerProcess, tmp_path: Path
) -> None:
    invite = server.invite()
    link = make_invite_link(invite.server_url, invite.token)
    store_dir = tmp_path / "client"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, link, str(store_dir)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    created = []
    while (line := await asyncio.to_thread(child.stdout.readline)).strip() != "ready":
        assert line, "the client process died"
        created.append(line.strip())
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert len(created) == 40

    store_path = store_path_for(store_dir, server.url, "doc", "")
    probe = LocalStore.open(store_path)
    assert probe.outbox_size() >= 10  # the ten made with autosave off at least
    probe.close()

    doc = await LaminaDocument.open_store(store_path, backoff=FAST)
    assert {r.id for r in doc.records()} >= set(created)  # all there offline, at once
    await asyncio.wait_for(doc.save(), 60)
    on_server = server.layer_records()
    assert set(created) <= set(on_server)
    assert len(on_server) == 5 + 40  # base stamps + every note exactly once
    await doc.close()


@async_test
async def test_server_killed_while_three_clients_edit_all_converge(
    server: ServerProcess, tmp_path: Path
) -> None:
    clients = []
    for name in ("a", "b", "c"):
        doc = await LaminaDocument.open_invite(
            server.invite(), store_dir=tmp_path / name, backoff=FAST
        )
        await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
        clients.append(doc)
    acknowledged: set[str] = set()
    rng = random.Random(4)

    async def edit_loop(doc: LaminaDocument, tag: str, count: int) -> None:
        mine: list[str] = []
        for i in range(count):
            if mine and rng.random() < 0.3:
                rid = rng.choice(mine)
                if doc.record(rid) is not None:
                    doc.update(rid, {"bbox": [i, i, 10, 10]})
            else:
                rid = doc.create(note(f"{tag}{i}")).record_id
                mine.append(rid)
            if rng.random() < 0.3:
                task = asyncio.ensure_future(doc.ensure_changes_saved([rid]))
                task.add_done_callback(
                    lambda t, rid=rid: acknowledged.add(rid) if not t.exception() else None
                )
            await asyncio.sleep(0.01)

    editing = [
        asyncio.ensure_future(edit_loop(doc, tag, 60))
        for doc, tag in zip(clients, "abc", strict=True)
    ]
    await eventually(lambda: len(acknowledged) >= 5, what="some acks")
    await asyncio.to_thread(server.kill)
    seen_acked_before_kill = set(acknowledged)
    await asyncio.sleep(0.3)
    await asyncio.to_thread(server.start)
    await asyncio.gather(*editing)
    for doc in clients:
        await asyncio.wait_for(doc.save(), 60)

    on_server = server.layer_records()
    # Every change a client saw acknowledged survived the kill.
    assert seen_acked_before_kill <= set(on_server)
    assert acknowledged <= set(on_server)

    def converged() -> bool:
        views = [doc.instant_json_records() for doc in clients]
        return all(v == on_server for v in views)

    await eventually(converged, what="all replicas equal the server")
    for doc in clients:
        await doc.close()
