"""Autosave modes of server documents (INTELLIGENT, DISABLED) against a real server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lamina.client.document import AutosaveMode, LaminaDocument
from lamina.client.events import ConnectionState
from lamina.client.store import store_path_for

from tests.client.conftest import FAST, ServerProcess, async_test, eventually, note


def _nothing_sent(doc: LaminaDocument) -> bool:
    """Whether no change of the outbox ever went to the server (the session marks each one)."""
    return not doc.session.state.sent_change_ids and not doc.session.push_in_flight


@async_test
async def test_intelligent_autosave_sends_a_gesture_when_it_ends(
    server: ServerProcess, tmp_path: Path
) -> None:
    doc = await LaminaDocument.open_invite(
        server.invite(), store_dir=tmp_path / "a", backoff=FAST, autosave=AutosaveMode.INTELLIGENT
    )
    other = await LaminaDocument.open_invite(server.invite(), store_dir=tmp_path / "b")
    await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
    await asyncio.wait_for(other.wait_for_state(ConnectionState.ONLINE), 30)

    with doc.gesture():  # a drag: create, then move step by step
        rid = doc.create(note("dragged")).record_id
        for x in range(20, 120, 20):
            doc.update(rid, {"bbox": [x, x, 32, 32]})
        assert _nothing_sent(doc) and doc.pending_count == 1
        assert rid not in server.layer_records()
    (saved,) = await asyncio.wait_for(doc.ensure_changes_saved([rid]), 30)
    assert saved is not None and list(saved.bbox) == [100, 100, 32, 32]  # type: ignore[attr-defined]
    # The whole gesture went as one change: the record's first committed version is final.
    assert doc.session.state.replica[rid].rev == 1
    assert server.layer_records()[rid]["bbox"] == [100, 100, 32, 32]
    await eventually(lambda: other.record(rid) is not None, what="the other client sees it")

    # A gesture started while the previous one is being saved holds its own changes.
    rid2 = doc.create(note("second")).record_id  # outside a gesture: saved at once
    await asyncio.wait_for(doc.ensure_changes_saved([rid2]), 30)
    with doc.gesture():
        doc.update(rid, {"color": "#ff0000"})
    with doc.gesture():  # the first gesture's push is in flight now
        held = doc.update(rid2, {"color": "#0000ff"})
        await asyncio.wait_for(doc.ensure_changes_saved([rid]), 30)
        assert held.change_id not in doc.session.state.sent_change_ids
        assert doc.pending_count == 1
    await asyncio.wait_for(doc.ensure_changes_saved([rid2]), 30)
    assert server.layer_records()[rid]["color"] == "#ff0000"
    assert server.layer_records()[rid2]["color"] == "#0000ff"

    # Outside a gesture an edit is saved at once.
    doc.update(rid, {"color": "#00ff00"})
    await asyncio.wait_for(doc.ensure_changes_saved([rid]), 30)
    assert server.layer_records()[rid]["color"] == "#00ff00"
    await doc.close()
    await other.close()


@async_test
async def test_disabled_autosave_sends_nothing_until_save_even_after_reconnect(
    server: ServerProcess, tmp_path: Path
) -> None:
    doc = await LaminaDocument.open_invite(
        server.invite(), store_dir=tmp_path / "a", backoff=FAST, autosave=AutosaveMode.DISABLED
    )
    await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
    first = doc.create(note("one")).record_id
    assert _nothing_sent(doc) and first not in server.layer_records()

    await doc.disconnect()
    second = doc.create(note("two")).record_id
    doc.update(first, {"color": "#ff0000"})
    doc.connect()
    # The catch-up would send the outbox (sync §3.6); with autosave disabled it must not.
    await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
    assert _nothing_sent(doc) and doc.pending_count == 2
    await doc.close()

    # Nor after reopening the store.
    path = store_path_for(tmp_path / "a", server.url, "doc", "")
    doc = await LaminaDocument.open_store(path, backoff=FAST, autosave=AutosaveMode.DISABLED)
    await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
    assert _nothing_sent(doc) and doc.pending_count == 2
    on_server = server.layer_records()
    assert first not in on_server and second not in on_server

    await asyncio.wait_for(doc.save(), 30)
    on_server = server.layer_records()
    assert on_server[first]["color"] == "#ff0000"
    assert on_server[second]["text"]["value"] == "two"
    assert doc.pending_count == 0

    # After the save the mode holds again.
    doc.update(second, {"color": "#0000ff"})
    assert _nothing_sent(doc) and doc.pending_count == 1
    doc.set_autosave(AutosaveMode.IMMEDIATE)  # switching to immediate saves what is pending
    await asyncio.wait_for(doc.ensure_changes_saved([second]), 30)
    assert server.layer_records()[second]["color"] == "#0000ff"
    await doc.close()
