"""Local edits: durable before anyone hears of them, refused on records that are not there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lamina.client.document import LaminaDocument
from lamina.client.errors import ClientError
from lamina.client.events import Event, RecordsChanged
from lamina.client.store import LocalStore

from tests.client.conftest import STAMPS, PymupdfBackend, async_test, note
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
