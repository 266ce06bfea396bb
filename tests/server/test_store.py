"""Both stores (SQLite and PostgreSQL): assets stored once, copy-on-write layers, durable
commits, revocation. Each test runs against each store through ``open_store`` (which opens a
new store object on the same data each time it is called)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lamina.model.ids import RecordId
from lamina.server.errors import DocumentExistsError, DocumentNotFoundError, InvalidNameError
from lamina.server.store import LayerWrite, SqliteStore, Store
from lamina.server.store_postgres import PostgresStore
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


OpenStore = Callable[[], Store]


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> OpenStore:
    """Open a store on this test's data: SQLite in ``tmp_path``, or a fresh PostgreSQL
    database of the session's cluster."""
    opened: list[Store] = []
    if request.param == "sqlite":

        def factory() -> Store:
            opened.append(SqliteStore(tmp_path))
            return opened[-1]
    else:
        url = request.getfixturevalue("postgres_url")

        def factory() -> Store:
            opened.append(PostgresStore(url))
            return opened[-1]

    request.addfinalizer(lambda: [s.close() for s in opened])
    return factory


def _asset_hashes(store: Store) -> list[str]:
    if isinstance(store, SqliteStore):
        return sorted(p.name for p in store.assets_dir.iterdir())
    assert isinstance(store, PostgresStore)
    return sorted(row[0] for row in store._query("SELECT sha256 FROM assets"))


def test_same_pdf_is_stored_once_and_removed_with_its_last_document(
    open_store: OpenStore,
) -> None:
    store = open_store()
    data = corpus_pdf("annot-stamps").read_bytes()
    a = store.add_document("a", data, page_count=1, filename="x.pdf", base_records=[BASE])
    b = store.add_document("b", data, page_count=1, filename="y.pdf", base_records=[])
    assert a.sha256 == b.sha256
    assert _asset_hashes(store) == [a.sha256]
    assert store.read_asset(a.sha256) == data
    with pytest.raises(DocumentExistsError):
        store.add_document("a", data, page_count=1, filename="x.pdf", base_records=[])
    store.remove_document("a")
    assert store.read_asset(a.sha256) == data
    store.remove_document("b")
    assert _asset_hashes(store) == []
    with pytest.raises(DocumentNotFoundError):
        store.remove_document("b")
    with pytest.raises(InvalidNameError):
        store.add_document("../x", data, page_count=1, filename="x.pdf", base_records=[])


def test_layer_mirrors_base_until_first_commit_then_copies_it(open_store: OpenStore) -> None:
    store = open_store()
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

    reopened = open_store()
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


def test_one_commit_holds_several_layers(open_store: OpenStore) -> None:
    store = open_store()
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


def test_revoked_jtis_are_visible_to_another_connection(open_store: OpenStore) -> None:
    writer = open_store()
    reader = open_store()
    assert writer.revoke("t-1") is True
    assert writer.revoke("t-1") is False
    assert reader.revoked_jtis() == frozenset({"t-1"})
