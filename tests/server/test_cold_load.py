"""Loading a room from the store (issue 15, "Server memory and cold load"), against a real
server: remembered change results are read when their change id comes again, and the bulk
load runs with Python's cyclic collector paused. Nothing here is timed."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path
from typing import Any

from lamina.model.ids import RecordId
from lamina.server.store import LayerWrite, LoadedLayer, Store, StoredJson, stored_record
from lamina.sync.layer import AllowAll, LayerState
from lamina.sync.state import Actor, Change, RecordState, UpdateChange, dumps

from tests.conftest import corpus_pdf
from tests.server.conftest import STAMPS, ServerThread, create, join, run
from tests.server.test_hostile import _token, docs
from tests.server.test_store import OpenStore, open_store
from tests.support.server_thread import serve_store

__all__ = ["docs", "open_store"]


def test_a_cold_load_parses_remembered_results_only_when_their_change_id_comes_again(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    doc, _ = docs
    token = _token(server, doc, "writer")
    changes = [create() for _ in range(30)]

    async def first() -> list[dict[str, Any]]:
        writer, _, _ = await join(server.url, token)
        acks = [await writer.push(change) for change in changes]
        await writer.ws.close()
        return acks

    acks = run(first())
    server.stop()
    with ServerThread(server.data_dir, database=server.database) as again:

        async def second() -> tuple[dict[str, Any], Any]:
            writer, _, _ = await join(again.url, token)
            ack = await writer.push(changes[7])  # a repeat after the restart (§4.2)
            room = again.server.rooms.get((doc, ""))  # read while the room is open
            assert room is not None and room.info is not None
            await writer.ws.close()
            return ack, room.info.change_results

        ack, stored = run(second())
        assert isinstance(stored, StoredJson) and len(stored) >= 30
        assert stored.parsed == 1, "only the repeated change id's result was read"
    (repeat,) = ack["results"]
    (original,) = acks[7]["results"]
    assert repeat["status"] == "applied" and repeat["record_id"] == original["record_id"]
    assert repeat["made_rev"] == original["made_rev"] == 1


class _WatchedStore:
    """The server's real store, noting whether the collector ran during each load."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.collector_during_load: list[bool] = []

    def load_layer(self, document_id: str, layer: str) -> LoadedLayer:
        self.collector_during_load.append(gc.isenabled())
        return self._store.load_layer(document_id, layer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_the_bulk_load_pauses_the_cyclic_collector_and_restarts_it(tmp_path: Path) -> None:
    watched: list[_WatchedStore] = []

    def factory(data_dir: Path) -> Store:
        store = _WatchedStore(serve_store(data_dir))
        watched.append(store)
        return store  # type: ignore[return-value]

    assert gc.isenabled()
    with ServerThread(tmp_path / "data", store_factory=factory) as running:
        doc = running.add_document()

        async def scenario() -> None:
            client, _, snapshot = await join(running.url, running.token(doc))
            assert snapshot["type"] == "snapshot"
            await client.ws.close()

        run(scenario())
        assert watched[0].collector_during_load == [False]
        assert gc.isenabled()


def test_a_loaded_record_keeps_its_stored_text_and_reads_field_revisions_on_demand(
    server: ServerThread, docs: tuple[str, str]
) -> None:
    """A cold join used to encode every loaded record's content again for its snapshot, and
    the load parsed every record's field revisions, which only an update reads."""
    from lamina.sync.json_text import LazyJsonObject
    from lamina.sync.state import dumps

    doc, _ = docs

    async def scenario() -> str:
        writer, _, _ = await join(server.url, _token(server, doc, "writer"))
        ack = await writer.push(create(note='é and "quotes"'))
        await writer.ws.close()
        return str(ack["results"][0]["record_id"])

    rid = run(scenario())
    store = server.open_store()
    try:
        loaded = store.load_layer(doc, "")
    finally:
        store.close()
    (record,) = [r for r in loaded.records if r.id == rid]
    assert "content_text" in record.__dict__, "the stored text is the cached encoding"
    assert record.content_text == dumps(record.content)
    assert record.wire_text == dumps(record.wire)
    revs = record.field_revs
    assert isinstance(revs, LazyJsonObject) and revs._text is not None  # not parsed yet
    assert revs["note"] == 1 and dict(revs) == {k: 1 for k in revs}


def _rectangle(i: int) -> RecordState:
    rid = RecordId(f"01J{i:023d}")
    stamp = f"2024-05-01T10:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z"
    content = {
        "v": 2,
        "type": "pspdfkit/shape/rectangle",
        "id": rid,
        "pageIndex": i % 50,
        "bbox": [40 + i % 10 * 50, 40 + i % 7 * 75, 40, 30],
        "strokeColor": "#ff0000",
        "strokeWidth": 2,
        "opacity": 0.8,
        "creatorName": "alice",
        "createdAt": stamp,
        "updatedAt": stamp,
        "name": rid,
    }
    return RecordState(
        rid, "annotation", 1, i + 1, content, creator_id="alice", created_at=stamp, updated_at=stamp
    )


def test_a_loaded_layer_holds_at_most_three_times_its_records_json(open_store: OpenStore) -> None:
    """Issue 15: a room held ~15 KB per record (20x its JSON). Measured as the Python
    memory a cold load and a join's encoding of every record leave allocated (13.4x before
    records were kept as their stored text, 2.7x after)."""
    store = open_store()
    pdf = corpus_pdf(STAMPS).read_bytes()
    info = store.add_document("doc", pdf, page_count=1, filename="x.pdf", base_records=[])
    records = [_rectangle(i) for i in range(2_000)]
    store.commit([LayerWrite("doc", "big", info.epoch, len(records), records)])
    json_bytes = sum(len(dumps(r.content)) for r in records)
    del records
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        loaded = store.load_layer("doc", "big")
        state = LayerState.from_records(loaded.records, loaded.seq, loaded.epoch)
        del loaded
        sent = sum(len(r.wire_text) for r in state.snapshot())  # as a join encodes them
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(state.snapshot()) == 2_000 and sent > json_bytes
    assert held <= 3 * json_bytes, f"{held / json_bytes:.1f}x the records' JSON"
    first = state.snapshot()[0]
    assert first.content == _rectangle(0).content  # what is read back is the record


def test_a_layer_stays_compact_as_its_records_change() -> None:
    """A room keeps what its commits leave (each record's new state, each remembered
    result's record) as compactly as a cold load does: a layer loaded from stored rows whose
    every record was then updated once holds at most 3x the JSON of its records and remembered
    results."""
    rows = [(r, r.content_text) for r in (_rectangle(i) for i in range(2_000))]
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        loaded = [
            stored_record(
                r.id,
                r.kind,
                1,
                r.seq,
                text,
                False,
                r.creator_id,
                None,
                r.created_at,
                r.updated_at,
                "{}",
            )
            for r, text in rows
        ]
        state = LayerState.from_records(loaded, 2_000, "e1")
        del loaded
        for start in range(0, 2_000, 100):
            changes: list[Change] = [
                UpdateChange(f"c{i}", RecordId(f"01J{i:023d}"), 1, {"strokeWidth": 3})
                for i in range(start, start + 100)
            ]
            state.apply(changes, Actor("alice"), AllowAll(), "2024-05-02T10:00:00Z")
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    remembered = [state.known_result(f"c{i}") for i in range(2_000)]
    assert all(r is not None and r.record is not None and r.record.rev == 2 for r in remembered)
    assert all(r.rev == 2 and (r.content or {})["strokeWidth"] == 3 for r in state.snapshot())
    # The JSON of what the layer holds: its records, and its remembered results (each
    # with the record it made, which is the layer's record: counted once).
    json_bytes = sum(len(r.content_text) for r in state.snapshot()) + sum(
        len(dumps(r.to_wire(record=False))) for r in remembered if r is not None
    )
    del remembered
    assert held <= 3 * json_bytes, f"{held / json_bytes:.1f}x the records' JSON"
