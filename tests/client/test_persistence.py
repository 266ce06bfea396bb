"""The write-through from a session to its local store, and loading it back."""

from __future__ import annotations

from pathlib import Path

from lamina.client.persistence import StateWriter, load_state
from lamina.client.store import LocalStore
from lamina.sync.client_session import ClientSession

from tests.client.conftest import note


def test_what_a_session_changed_comes_back_from_the_store(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    store = LocalStore.open(path)
    state, times = load_state(store)
    session = ClientSession(state)
    writer = StateWriter(store, state, times)
    first = session.create("annotation", note("first"))
    second = session.create("annotation", note("second"))
    writer.persist(session.state)
    session.delete(second.record_id)
    writer.persist(session.state)
    store.close()

    again = LocalStore.open(path)
    loaded, _ = load_state(again)
    assert loaded.client_id == state.client_id  # a new store's id was written at once
    assert [c.change_id for c in loaded.outbox] == [c.change_id for c in session.state.outbox]
    assert len(loaded.outbox) == 3  # the delete is a change of its own, after the create
    assert ClientSession(loaded).view() == session.view()
    assert second.record_id not in session.view() and first.record_id in session.view()
    again.close()


def test_a_failed_write_is_written_by_the_next_persist(tmp_path: Path) -> None:
    import pytest
    from lamina.client.errors import StoreError

    path = tmp_path / "store.sqlite"
    store = LocalStore.open(path)
    state, times = load_state(store)
    session = ClientSession(state)
    writer = StateWriter(store, state, times)
    kept = session.create("annotation", note("kept"))
    writer.persist(session.state)
    # A full disk, as SQLite itself reports it: the database may not grow any more.
    conn = store._conn
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")
    big = session.create("annotation", note("x" * 20000))
    with pytest.raises(StoreError):
        writer.persist(session.state)
    conn.execute("PRAGMA max_page_count = 1073741823")
    writer.persist(session.state)  # nothing was forgotten by the failed write
    store.close()

    again = LocalStore.open(path)
    loaded, _ = load_state(again)
    assert [c.change_id for c in loaded.outbox] == [kept.change_id, big.change_id]
    again.close()


def test_an_outbox_or_replica_assigned_anew_is_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    store = LocalStore.open(path)
    state, times = load_state(store)
    session = ClientSession(state)
    writer = StateWriter(store, state, times)
    first = session.create("annotation", note("first"))
    second = session.create("annotation", note("second"))
    writer.persist(session.state)
    session.state.outbox = [c for c in session.state.outbox if c.change_id != first.change_id]
    writer.persist(session.state)
    store.close()

    again = LocalStore.open(path)
    loaded, _ = load_state(again)
    assert [c.change_id for c in loaded.outbox] == [second.change_id]
    again.close()
