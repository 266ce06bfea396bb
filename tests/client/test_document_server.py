"""The client against a real `lamina serve` on loopback, with real stores in tmp_path."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest
from lamina.auth import mint_token
from lamina.auth.invite import Invite
from lamina.client.document import LaminaDocument
from lamina.client.errors import AccessLostError, ChangeRejectedError
from lamina.client.events import (
    ChangeRejected,
    ConnectionState,
    Event,
    RecordsChanged,
    ServerBehind,
    SyncStateChanged,
)

from tests.client.conftest import FAST, ServerProcess, async_test, eventually, note


@async_test
async def test_open_invite_create_and_ensure_saved(server: ServerProcess, tmp_path: Path) -> None:
    doc = await LaminaDocument.open_invite(server.invite(), store_dir=tmp_path / "a", backoff=FAST)
    events: list[Event] = []
    doc.subscribe(events.append)
    await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
    # The base layer (five stamps of the PDF) arrives with the snapshot.
    assert len(doc.records()) == 5
    edit = doc.create(note("first"))
    assert edit.before is None and edit.after is not None
    assert any(isinstance(e, RecordsChanged) and e.origin == "local" for e in events)
    (saved,) = await asyncio.wait_for(doc.ensure_changes_saved([edit.record_id]), 30)
    assert saved is not None and saved.text.value == "first"  # type: ignore[attr-defined]
    assert server.layer_records()[edit.record_id]["text"]["value"] == "first"
    assert doc.pending_count == 0
    assert any(isinstance(e, SyncStateChanged) and e.all_saved for e in events)
    await doc.close()


@async_test
async def test_edits_made_while_server_is_down_sync_in_order_exactly_once(
    stopped_server: ServerProcess, tmp_path: Path
) -> None:
    doc = await LaminaDocument.open_invite(
        stopped_server.invite(), store_dir=tmp_path / "a", backoff=FAST
    )
    await eventually(lambda: doc.connection_state is ConnectionState.RECONNECTING)
    first = doc.create(note("one"))
    doc.update(first.record_id, {"color": "#ff0000"})
    second = doc.create(note("two"))
    doc.update(first.record_id, {"text": {"format": "plain", "value": "one, edited"}})
    doc.delete(second.record_id)
    third = doc.create(note("three"))
    assert doc.pending_count >= 3

    stopped_server.start()
    await asyncio.wait_for(doc.save(), 60)
    server_side = stopped_server.layer_records()
    assert server_side[first.record_id]["text"]["value"] == "one, edited"
    assert server_side[first.record_id]["color"] == "#ff0000"
    assert second.record_id not in server_side
    assert server_side[third.record_id]["text"]["value"] == "three"
    # Exactly once: five base stamps plus the two live notes, and nothing twice.
    assert len(server_side) == 7
    await doc.close()

    # A second replica sees the same thing.
    other = await LaminaDocument.open_invite(
        stopped_server.invite(), store_dir=tmp_path / "b", backoff=FAST
    )
    await asyncio.wait_for(other.wait_for_state(ConnectionState.ONLINE), 30)
    assert {r.id for r in other.records()} == set(server_side)
    await other.close()


@async_test
async def test_expired_token_stops_retrying_and_says_so(
    server: ServerProcess, tmp_path: Path
) -> None:
    token = mint_token(server.keypair, document_id="doc", now=time.time() - 30 * 24 * 3600)
    doc = await LaminaDocument.open_invite(
        Invite(server.url, token), store_dir=tmp_path / "a", backoff=FAST
    )
    await asyncio.wait_for(doc.wait_for_state(ConnectionState.STOPPED), 30)
    assert "new invite" in doc.connection_reason
    assert doc.connection_reason.count("new invite") == 1  # the advice is given once
    # Editing offline still works; the edit stays pending in the local store.
    doc.create(note("kept"))
    assert doc.pending_count == 1
    with pytest.raises(AccessLostError, match="new invite") as info:
        await doc.save()
    assert str(info.value).count("new invite") == 1
    await doc.close()


@pytest.mark.parametrize("with_reconnect", [False, True])
@async_test
async def test_server_restored_from_old_backup_is_reported_not_merged(
    server: ServerProcess, tmp_path: Path, with_reconnect: bool
) -> None:
    doc = await LaminaDocument.open_invite(server.invite(), store_dir=tmp_path / "a", backoff=FAST)
    events: list[Event] = []
    doc.subscribe(events.append)
    await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
    doc.create(note("in the backup"))
    await doc.save()
    await asyncio.to_thread(server.stop)
    backup = tmp_path / "server-backup"
    shutil.copytree(server.data_dir, backup)
    await asyncio.to_thread(server.start)
    later = doc.create(note("after the backup"))
    await doc.save()
    await asyncio.to_thread(server.stop)
    shutil.rmtree(server.data_dir)
    shutil.copytree(backup, server.data_dir)
    await asyncio.to_thread(server.start)

    await asyncio.wait_for(doc.wait_for_state(ConnectionState.STOPPED), 30)
    (behind,) = [e for e in events if isinstance(e, ServerBehind)]
    assert behind.client_seq > behind.server_seq
    assert "older backup" in doc.connection_reason
    # Nothing was merged: the note the server lost is still here.
    assert doc.record(later.record_id) is not None

    # The user decides to take the server's state (even after going offline meanwhile).
    if with_reconnect:
        await doc.disconnect()
    doc.adopt_server_state()
    await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
    assert doc.record(later.record_id) is None
    assert doc.instant_json_records() == server.layer_records()
    await doc.close()


@async_test
async def test_presence_shows_who_is_connected(server: ServerProcess, tmp_path: Path) -> None:
    ann = await LaminaDocument.open_invite(
        server.invite(user_id="ann"),
        store_dir=tmp_path / "ann",
        backoff=FAST,
        presence={"name": "Ann", "color": "#ff0000"},
    )
    ben = await LaminaDocument.open_invite(
        server.invite(user_id="ben"),
        store_dir=tmp_path / "ben",
        backoff=FAST,
        presence={"name": "Ben", "color": "#0000ff"},
    )
    await eventually(lambda: [p.name for p in ann.peers] == ["Ben"], what="ann sees ben")
    # Ben's own presence list travels on his socket: it may land after Ann's update.
    await eventually(lambda: [p.name for p in ben.peers] == ["Ann"], what="ben sees ann")
    await ben.close()
    await eventually(lambda: ann.peers == (), what="ben leaves")
    await ann.close()


@async_test
async def test_rejected_change_fails_ensure_saved_and_rolls_back(
    server: ServerProcess, tmp_path: Path
) -> None:
    reader = await LaminaDocument.open_invite(
        server.invite(permissions=["read-document"]), store_dir=tmp_path / "r", backoff=FAST
    )
    events: list[Event] = []
    reader.subscribe(events.append)
    await asyncio.wait_for(reader.wait_for_state(ConnectionState.ONLINE), 30)
    edit = reader.create(note("not allowed"))
    with pytest.raises(ChangeRejectedError, match=edit.record_id):
        await asyncio.wait_for(reader.ensure_changes_saved([edit.record_id]), 30)
    assert reader.record(edit.record_id) is None  # back to the committed state
    assert any(isinstance(e, ChangeRejected) for e in events)
    assert edit.record_id not in server.layer_records()
    await reader.close()


@async_test
async def test_a_reconnect_and_the_frames_after_it_never_read_the_cached_pdf(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: checking the cached PDF against the server's hash read the whole PDF (56 ms
    for 50 MB) on every connection; the hash alone is enough."""
    from lamina.client.store import LocalStore

    doc = await LaminaDocument.open_invite(server.invite(), store_dir=tmp_path / "a", backoff=FAST)
    other = await LaminaDocument.open_invite(server.invite(), store_dir=tmp_path / "b")
    await asyncio.wait_for(doc.pdf_bytes(), 30)  # downloaded and cached once
    reads: list[int] = []
    original = LocalStore.document

    def counting(self: LocalStore) -> tuple[bytes, str] | None:
        reads.append(1)
        return original(self)

    monkeypatch.setattr(LocalStore, "document", counting)
    await doc.disconnect()
    doc.connect()
    await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
    await asyncio.wait_for(other.wait_for_state(ConnectionState.ONLINE), 30)
    edits = [other.create(note(f"n{i}")) for i in range(10)]
    await asyncio.wait_for(other.ensure_changes_saved([e.record_id for e in edits]), 30)
    await eventually(lambda: all(doc.record(e.record_id) for e in edits), what="edits arrive")
    assert reads == []
    await other.close()
    await doc.close()
