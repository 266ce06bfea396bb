"""A headless client holds each record once and builds no model object it is not asked for.

Issue 15: a client joining 100,000 records took 1.2 GB, because the view copied every
record's content and every record was parsed into a model ``Record`` for the change event,
though nobody listened for it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lamina.client import replica as replica_module
from lamina.client.document import LaminaDocument
from lamina.client.events import ConnectionState, RecordsChanged

from tests.client.conftest import ServerProcess, async_test, note


@async_test
async def test_a_joining_headless_client_shares_content_and_parses_nothing_until_asked(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = await LaminaDocument.open_invite(server.invite(), store_dir=tmp_path / "w")
    edits = [writer.create(note(f"n{i}")) for i in range(30)]
    await asyncio.wait_for(writer.ensure_changes_saved([e.record_id for e in edits]), 30)
    await writer.close()

    parsed: list[object] = []
    original = replica_module.parse_record

    def counting(content: object) -> object:
        parsed.append(content)
        return original(content)  # type: ignore[arg-type]

    monkeypatch.setattr(replica_module, "parse_record", counting)
    doc = await LaminaDocument.open_invite(server.invite(), store_dir=tmp_path / "r")
    try:
        await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
        rid = edits[0].record_id
        assert doc.instant_json_records()[rid]["text"]["value"] == "n0"
        assert parsed == []  # waiting for ONLINE is no reason to build 30 Records
        view = doc._replica.view
        assert view[rid] is doc.session.state.replica[rid].content  # one copy, not two
        assert len(doc.records()) >= 30 and len(parsed) >= 30  # asked for: parsed then

        heard: list[RecordsChanged] = []
        doc.subscribe(lambda e: heard.append(e) if isinstance(e, RecordsChanged) else None)
        doc.update(rid, {"color": "#00ff00"})
        assert heard and heard[-1].records[0].id == rid  # a listener still gets Records
    finally:
        await doc.close()
