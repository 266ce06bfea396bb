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


def test_a_write_behind_runs_on_the_stores_thread_and_the_store_waits_for_it(
    tmp_path: Path,
) -> None:
    import threading

    path = tmp_path / "store.sqlite"
    store = LocalStore.open(path)
    state, times = load_state(store)
    session = ClientSession(state)
    writer = StateWriter(store, state, times)
    gate, started = threading.Event(), threading.Event()
    ran_on: list[int] = []

    def blocked(_w: object) -> None:
        ran_on.append(threading.get_ident())
        started.set()
        gate.wait(30)

    store.write_behind(blocked)  # the store's thread is busy until the gate opens
    assert started.wait(30)
    edit = session.create("annotation", note("behind"))
    future = writer.persist_behind(session.state)  # returns at once, not durable yet
    assert future is not None and not future.done()
    assert ran_on and ran_on[0] != threading.get_ident()
    other = LocalStore.open(path)  # a second connection sees only committed data
    assert other.load().outbox == ()
    other.close()
    gate.set()
    assert len(store.load().outbox) == 1  # a read waits for the writes behind
    assert future.done() and future.exception() is None
    store.close()

    again = LocalStore.open(path)
    loaded, _ = load_state(again)
    assert [c.change_id for c in loaded.outbox] == [edit.change_id]
    assert edit.record_id in ClientSession(loaded).view()
    again.close()


def test_a_failed_write_behind_is_written_whole_by_the_next(tmp_path: Path) -> None:
    from lamina.client.errors import StoreError

    path = tmp_path / "store.sqlite"
    store = LocalStore.open(path)
    state, times = load_state(store)
    session = ClientSession(state)
    writer = StateWriter(store, state, times)
    kept = session.create("annotation", note("kept"))
    writer.persist(session.state)
    conn = store._conn
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")  # a full disk, as SQLite reports it
    big = session.create("annotation", note("x" * 20000))
    future = writer.persist_behind(session.state)
    assert future is not None
    assert isinstance(future.exception(timeout=30), StoreError)
    conn.execute("PRAGMA max_page_count = 1073741823")
    small = session.create("annotation", note("small"))
    later = writer.persist_behind(session.state)  # rewrites what the failed one had
    assert later is not None and later.result(timeout=30) is None
    store.close()

    again = LocalStore.open(path)
    loaded, _ = load_state(again)
    assert [c.change_id for c in loaded.outbox] == [
        kept.change_id,
        big.change_id,
        small.change_id,
    ]
    assert ClientSession(loaded).view() == session.view()
    again.close()


def test_a_waiter_that_gives_up_never_cancels_a_write_behind(tmp_path: Path) -> None:
    # The send loop awaits a write behind through asyncio.wrap_future, which cancels the
    # future it wraps when the loop's task is cancelled (the connection drops, the window
    # closes). A write still queued was then cancelled: never written, yet counted as saved,
    # and its edit was gone after a restart.
    import asyncio
    import threading

    path = tmp_path / "store.sqlite"
    store = LocalStore.open(path)
    state, times = load_state(store)
    session = ClientSession(state)
    writer = StateWriter(store, state, times)
    gate, started = threading.Event(), threading.Event()

    def blocked(_w: object) -> None:
        started.set()
        gate.wait(30)

    store.write_behind(blocked)
    assert started.wait(30)
    edit = session.create("annotation", note("queued behind"))
    future = writer.persist_behind(session.state)
    assert future is not None and not future.done()

    async def send_loop_cancelled() -> None:
        waiting = asyncio.ensure_future(asyncio.wrap_future(future))
        await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.sleep(0)

    asyncio.run(send_loop_cancelled())
    assert not future.cancelled()
    gate.set()
    store.close()

    again = LocalStore.open(path)
    loaded, _ = load_state(again)
    assert [c.change_id for c in loaded.outbox] == [edit.change_id]
    again.close()
