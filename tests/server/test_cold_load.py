"""Loading a room from the store (issue 15, "Server memory and cold load"), against a real
server: remembered change results are read when their change id comes again, and the bulk
load runs with Python's cyclic collector paused. Nothing here is timed."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from lamina.server.store import LoadedLayer, Store, StoredJson

from tests.server.conftest import ServerThread, create, join, run
from tests.server.test_hostile import _token, docs
from tests.support.server_thread import serve_store

__all__ = ["docs"]


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
    from lamina.server.store import LazyJsonObject
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
