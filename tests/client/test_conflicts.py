"""Concurrent offline edits of one annotation: DESIGN §4 rule 4, with a real server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lamina.client.document import LaminaDocument
from lamina.client.events import ConflictAdded, ConnectionState, Event

from tests.client.conftest import FAST, ServerProcess, async_test, eventually, note


async def _online(server: ServerProcess, store: Path) -> LaminaDocument:
    doc = await LaminaDocument.open_invite(server.invite(), store_dir=store, backoff=FAST)
    await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
    return doc


async def _shared_note(server: ServerProcess, tmp_path: Path) -> tuple[LaminaDocument, ...]:
    alice = await _online(server, tmp_path / "alice")
    bob = await _online(server, tmp_path / "bob")
    edit = alice.create(note("shared", id="01JSHARED0000000000000000A"))
    await alice.ensure_changes_saved([edit.record_id])
    await eventually(lambda: bob.record(edit.record_id) is not None, what="bob sees the note")
    return alice, bob


@async_test
async def test_same_field_first_wins_other_fields_merge_loser_can_reapply(
    server: ServerProcess, tmp_path: Path
) -> None:
    alice, bob = await _shared_note(server, tmp_path)
    rid = "01JSHARED0000000000000000A"
    bob_events: list[Event] = []
    bob.subscribe(bob_events.append)
    await alice.disconnect()
    await bob.disconnect()

    alice.update(rid, {"color": "#ff0000", "text": {"format": "plain", "value": "alice"}})
    bob.update(rid, {"color": "#0000ff", "bbox": [100, 100, 32, 32]})

    alice.connect()
    await asyncio.wait_for(alice.save(), 30)
    bob.connect()
    await asyncio.wait_for(bob.save(), 30)

    # Alice's color came first and wins; Bob's bbox and Alice's text both survive.
    stored = server.layer_records()[rid]
    assert stored["color"] == "#ff0000"
    assert stored["bbox"] == [100, 100, 32, 32]
    assert stored["text"]["value"] == "alice"
    record = bob.record(rid)
    assert record is not None and record.color == "#ff0000"  # type: ignore[attr-defined]

    # Bob finds his losing color in the conflict list, with both versions and the time.
    (conflict,) = bob.conflicts()
    assert conflict.record_id == rid and conflict.reason == "conflict"
    assert conflict.lost == {"color": "#0000ff"}
    assert conflict.mine is not None and conflict.mine["color"] == "#0000ff"
    assert conflict.theirs is not None and conflict.theirs["color"] == "#ff0000"
    assert conflict.at.endswith("Z")
    assert any(isinstance(e, ConflictAdded) for e in bob_events)
    assert alice.conflicts() == []

    # Re-applying makes Bob's color the current one, for everybody.
    bob.reapply_conflict(conflict.conflict_id)
    assert bob.conflicts() == []
    await asyncio.wait_for(bob.save(), 30)
    assert server.layer_records()[rid]["color"] == "#0000ff"
    await eventually(
        lambda: getattr(alice.record(rid), "color", None) == "#0000ff", what="alice sees blue"
    )
    await alice.close()
    await bob.close()


@async_test
async def test_conflict_list_survives_a_restart_and_can_be_dismissed(
    server: ServerProcess, tmp_path: Path
) -> None:
    alice, bob = await _shared_note(server, tmp_path)
    rid = "01JSHARED0000000000000000A"
    await bob.disconnect()
    alice.update(rid, {"color": "#00ff00"})
    await alice.save()
    bob.update(rid, {"color": "#123456"})
    bob.connect()
    await bob.save()
    assert len(bob.conflicts()) == 1
    await bob.close()

    reopened = await LaminaDocument.open_invite(
        server.invite(), store_dir=tmp_path / "bob", backoff=FAST, connect=False
    )
    (conflict,) = reopened.conflicts()
    assert conflict.lost == {"color": "#123456"}
    reopened.dismiss_conflict(conflict.conflict_id)
    assert reopened.conflicts() == []
    await reopened.close()
    again = await LaminaDocument.open_invite(
        server.invite(), store_dir=tmp_path / "bob", backoff=FAST, connect=False
    )
    assert again.conflicts() == []
    await again.close()
    await alice.close()


@async_test
async def test_delete_wins_over_edit_and_the_editor_can_restore(
    server: ServerProcess, tmp_path: Path
) -> None:
    alice, bob = await _shared_note(server, tmp_path)
    rid = "01JSHARED0000000000000000A"
    await alice.disconnect()
    await bob.disconnect()
    alice.delete(rid)
    bob.update(rid, {"text": {"format": "plain", "value": "bob's careful edit"}})

    alice.connect()
    await alice.save()
    bob.connect()
    await bob.save()

    # The delete won: the note is gone for both and on the server.
    assert rid not in server.layer_records()
    assert bob.record(rid) is None
    (conflict,) = bob.conflicts()
    assert conflict.reason == "deleted"
    assert conflict.mine is not None and conflict.mine["text"]["value"] == "bob's careful edit"

    # Bob restores his version; it comes back for everyone.
    bob.reapply_conflict(conflict.conflict_id)
    await bob.save()
    assert server.layer_records()[rid]["text"]["value"] == "bob's careful edit"
    await eventually(lambda: alice.record(rid) is not None, what="alice sees the restored note")
    await alice.close()
    await bob.close()
