"""The ReviewDocument port: both kinds of LaminaDocument answer every member the UI uses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lamina.auth import mint_token
from lamina.auth.invite import Invite
from lamina.auth.keys import load_or_create_keypair
from lamina.client.document import LaminaDocument
from lamina.client.errors import LayerAccessError
from lamina.client.events import ConnectionState
from lamina.client.port import AutosaveMode, ReviewDocument

from tests.client.conftest import STAMPS, PymupdfBackend, async_test
from tests.conftest import corpus_pdf


@async_test
async def test_a_local_pdf_is_a_standalone_review_document(tmp_path: Path) -> None:
    pdf = tmp_path / "review.pdf"
    shutil.copyfile(corpus_pdf(STAMPS), pdf)
    doc: ReviewDocument = await LaminaDocument.open_local(
        pdf, pdf_backend=PymupdfBackend(), store_dir=tmp_path / "s"
    )
    try:
        assert isinstance(doc, ReviewDocument)
        assert doc.standalone and doc.pdf_path == pdf.resolve()
        assert doc.store_path.is_file() and doc.store_path.is_relative_to(tmp_path / "s")
        assert doc.layer == "" and doc.available_layers() == () and doc.viewed_layers() == []
        assert not doc.may_view_layer("other")
        with pytest.raises(LayerAccessError):
            await doc.view_layer("other")
        assert doc.connection_state is ConnectionState.OFFLINE and doc.peers == ()
        assert doc.conflicts() == [] and doc.autosave is AutosaveMode.DISABLED
        record = doc.records()[0]
        assert doc.record_flags(record.id).edit and doc.record_flags(record.id).delete
    finally:
        await doc.close()


@async_test
async def test_an_invite_opens_a_review_document_that_names_its_layer(tmp_path: Path) -> None:
    keys = load_or_create_keypair(tmp_path / "keys")
    token = mint_token(keys, document_id="doc", layer="legal", view_layers=["*"])
    doc: ReviewDocument = await LaminaDocument.open_invite(
        Invite("ws://127.0.0.1:9", token), store_dir=tmp_path / "s", connect=False
    )
    try:
        assert isinstance(doc, ReviewDocument)
        assert not doc.standalone and doc.pdf_path is None and doc.store_path.is_file()
        assert doc.layer == "legal" and doc.may_view_layer("other")
        assert not doc.may_view_layer("legal")  # its own layer is not "another" layer
        assert doc.autosave is AutosaveMode.IMMEDIATE and doc.pending_count == 0
    finally:
        await doc.close()
