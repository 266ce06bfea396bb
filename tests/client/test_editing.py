"""Local edits: durable before anyone hears of them, refused on records that are not there."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from lamina.client.document import LaminaDocument
from lamina.client.errors import ClientError
from lamina.client.events import Event, RecordsChanged
from lamina.client.store import LocalStore

from tests.client.conftest import FAST, STAMPS, PymupdfBackend, ServerProcess, async_test, note
from tests.conftest import corpus_pdf


@async_test
async def test_an_edit_is_in_the_store_before_subscribers_hear_of_it(tmp_path: Path) -> None:
    pdf = tmp_path / "review.pdf"
    shutil.copyfile(corpus_pdf(STAMPS), pdf)
    doc = await LaminaDocument.open_local(pdf, pdf_backend=PymupdfBackend(), store_dir=tmp_path)
    outbox_when_heard: list[int] = []

    def on_event(event: Event) -> None:
        if isinstance(event, RecordsChanged):
            other = LocalStore.open(doc.store_path)  # a second connection sees committed data
            outbox_when_heard.append(len(other.load().outbox))
            other.close()

    doc.subscribe(on_event)
    edit = doc.create(note("durable first"))
    doc.update(edit.record_id, {"color": "#00ff00"})
    assert outbox_when_heard == [1, 1]  # the update merged into the unsent create
    with pytest.raises(ClientError, match="does not exist"):
        doc.delete("no-such-record")
    with pytest.raises(ClientError, match="id and type cannot change"):
        doc.update(edit.record_id, {"type": "pspdfkit/ink"})
    await doc.close()


@async_test
async def test_edits_written_behind_reach_the_server_with_no_outbox_write_on_the_loop(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A GUI's document: neither the edit's outbox row nor its sent mark (each an fsync) is
    # written on the event loop's thread; the change still reaches the server once durable.
    import threading

    import lamina.client.store
    from lamina.client.events import ConnectionState

    doc = await LaminaDocument.open_invite(server.invite(), store_dir=tmp_path, backoff=FAST)
    await doc.wait_for_state(ConnectionState.ONLINE)
    doc.write_edits_behind()
    loop_thread = threading.get_ident()
    outbox_writes: list[tuple[str, bool]] = []  # (what, on the loop's thread?)
    for name in ("put_change_rows", "mark_sent"):
        real = getattr(lamina.client.store.StoreWriter, name)

        def spy(self, rows, _real=real, _name=name):  # type: ignore[no-untyped-def]
            outbox_writes.append((_name, threading.get_ident() == loop_thread))
            return _real(self, rows)

        monkeypatch.setattr(lamina.client.store.StoreWriter, name, spy)
    edit = doc.create(note("behind"))
    saved = await asyncio.wait_for(doc.ensure_changes_saved([edit.record_id]), 60)
    assert saved[0] is not None and saved[0].id == edit.record_id
    assert edit.record_id in server.layer_records()
    assert ("put_change_rows", False) in outbox_writes and ("mark_sent", False) in outbox_writes
    assert not any(on_loop for _, on_loop in outbox_writes)
    await doc.close()
