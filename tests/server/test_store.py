"""The SQLite store: assets stored once, copy-on-write layers, durable commits, revocation."""

from __future__ import annotations

from pathlib import Path

import pytest
from lamina.model.ids import RecordId
from lamina.server.errors import DocumentExistsError, DocumentNotFoundError, InvalidNameError
from lamina.server.store import LayerWrite, SqliteStore
from lamina.sync.state import RecordState

from tests.conftest import corpus_pdf

BASE = RecordState(
    RecordId("12"), "annotation", 1, 0, {"type": "pspdfkit/note", "id": "12", "pdfObjectId": 12}
)


def _record(rid: str, seq: int, rev: int = 1, deleted: bool = False) -> RecordState:
    return RecordState(
        RecordId(rid),
        "annotation",
        rev,
        seq,
        {"type": "pspdfkit/shape/rectangle", "id": rid, "pageIndex": 0, "bbox": [1, 2, 3, 4]},
        deleted=deleted,
        creator_id="alice",
        group="students",
        field_revs={"bbox": rev},
    )


def test_same_pdf_is_stored_once_and_removed_with_its_last_document(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    data = corpus_pdf("annot-stamps").read_bytes()
    a = store.add_document("a", data, page_count=1, filename="x.pdf", base_records=[BASE])
    b = store.add_document("b", data, page_count=1, filename="y.pdf", base_records=[])
    assert a.sha256 == b.sha256
    assert [p.name for p in (tmp_path / "assets").iterdir()] == [a.sha256]
    assert store.read_asset(a.sha256) == data
    with pytest.raises(DocumentExistsError):
        store.add_document("a", data, page_count=1, filename="x.pdf", base_records=[])
    store.remove_document("a")
    assert store.read_asset(a.sha256) == data
    store.remove_document("b")
    assert not (tmp_path / "assets" / a.sha256).exists()
    with pytest.raises(DocumentNotFoundError):
        store.remove_document("b")
    with pytest.raises(InvalidNameError):
        store.add_document("../x", data, page_count=1, filename="x.pdf", base_records=[])


def test_layer_mirrors_base_until_first_commit_then_copies_it(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    data = corpus_pdf("annot-stamps").read_bytes()
    store.add_document("d", data, page_count=1, filename="x.pdf", base_records=[BASE])
    fresh = store.load_layer("d", "review")
    assert not fresh.materialized
    assert [r.id for r in fresh.records] == ["12"]
    assert store.list_layers("d") == []

    store.commit(
        [LayerWrite("d", "review", fresh.epoch, 1, [_record("A", 1)], [("c1", {"status": "x"})])]
    )
    store.close()

    reopened = SqliteStore(tmp_path)
    loaded = reopened.load_layer("d", "review")
    assert loaded.materialized
    assert loaded.epoch == fresh.epoch
    assert loaded.seq == 1
    by_id = {r.id: r for r in loaded.records}
    assert set(by_id) == {"12", "A"}
    assert by_id["A"] == _record("A", 1)
    assert by_id["A"].field_revs == {"bbox": 1}
    assert loaded.change_results == {"c1": {"status": "x"}}
    # Other layers still mirror the base layer only.
    assert [r.id for r in reopened.load_layer("d", "").records] == ["12"]
    assert [(layer.name, layer.seq) for layer in reopened.list_layers("d")] == [("review", 1)]


def test_one_commit_holds_several_layers(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    data = corpus_pdf("annot-stamps").read_bytes()
    store.add_document("d", data, page_count=1, filename="x.pdf", base_records=[])
    epoch = store.load_layer("d", "a").epoch
    store.commit(
        [
            LayerWrite("d", "a", epoch, 1, [_record("A", 1)]),
            LayerWrite("d", "b", epoch, 1, [_record("B", 1)]),
            LayerWrite("d", "a", epoch, 2, [_record("A", 2, rev=2, deleted=True)]),
        ]
    )
    a = store.load_layer("d", "a")
    assert a.seq == 2
    assert [(r.id, r.rev, r.deleted) for r in a.records] == [("A", 2, True)]
    assert [r.id for r in store.load_layer("d", "b").records] == ["B"]


def test_revoked_jtis_are_visible_to_another_connection(tmp_path: Path) -> None:
    writer = SqliteStore(tmp_path)
    reader = SqliteStore(tmp_path)
    assert writer.revoke("t-1") is True
    assert writer.revoke("t-1") is False
    assert reader.revoked_jtis() == frozenset({"t-1"})
