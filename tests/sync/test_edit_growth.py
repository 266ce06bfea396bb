"""Offline editing and ``lamina push`` do O(1) work per change (DESIGN §7), counted, not timed.

Each test builds the same situation with N and with 10 N pending changes and counts the
Python lines the next operation runs in lamina (:mod:`tests.support.work_counter`). A scan of
the outbox per change (the O(N²) push of issue 15) makes the count grow about tenfold.
"""

from __future__ import annotations

from collections.abc import Callable

from lamina.model.ids import RecordId
from lamina.sync.client_session import ClientSession
from lamina.sync.local_replica import ClientState
from lamina.sync.state import RecordState

from tests.support.in_memory_server import InMemoryServer
from tests.support.work_counter import growth, lines_run
from tests.sync.sync_helpers import ink

N = 400
FLAT = 1.5


def _offline(pending: int) -> ClientSession:
    """A session with ``pending`` unsent creates, half of them already sent once."""
    state = ClientState("c")
    for i in range(pending):
        rid = RecordId(f"synced{i}")
        state.replica[rid] = RecordState(rid, "annotation", 1, i + 1, {"id": rid, **ink()})
    session = ClientSession(state)
    for i in range(pending):
        session.create("annotation", ink(), record_id=f"new{i}")
    for i in range(pending // 2):
        session.update(f"synced{i}", {"note": "offline"})
    session.state.sent_change_ids.update(c.change_id for c in list(session.state.outbox)[::2])
    return session


def _work(action: Callable[[ClientSession], object]) -> float:
    small, large = _offline(N), _offline(10 * N)
    at_n, _ = lines_run(lambda: action(small))
    at_10n, _ = lines_run(lambda: action(large))
    return growth(at_n, at_10n)


def test_one_create_is_flat_in_the_outbox_size() -> None:
    assert _work(lambda s: s.create("annotation", ink(), record_id="another")) < FLAT


def test_an_edit_merged_into_an_unsent_change_is_flat() -> None:
    # new1 is an unsent create (odd positions are unsent): the update coalesces into it.
    assert _work(lambda s: s.update("new1", {"note": "again"})) < FLAT


def test_an_edit_of_a_synced_record_and_its_view_are_flat() -> None:
    def edit(s: ClientSession) -> object:
        s.update(f"synced{N - 1}", {"note": "x"})
        return s.view_record(f"synced{N - 1}")

    assert _work(edit) < FLAT


def test_a_delete_and_pending_checks_are_flat() -> None:
    def delete(s: ClientSession) -> object:
        s.delete("synced3")
        return s.has_pending(["synced3", "nothing"])

    assert _work(delete) < FLAT


def test_the_rebase_an_ack_makes_is_flat() -> None:
    # §6.2: the ack of a record's change moves the base_rev of its later changes.
    assert _work(lambda s: s.rebase(RecordId("synced2"), 2)) < FLAT


def test_a_whole_push_of_an_offline_outbox_is_linear_not_quadratic() -> None:
    def push_all(pending: int) -> int:
        server = InMemoryServer()
        session = ClientSession.new("offline")

        def edit_then_sync() -> None:
            for i in range(pending):
                session.create("annotation", ink(), record_id=f"r{i}")
            for i in range(0, pending, 3):  # coalesced into the unsent creates
                session.update(f"r{i}", {"note": "later"})
            link = server.connect(session, presence={"name": "offline"})
            link.pump()  # the catch-up sends the outbox, push by push, each ack rebases
            assert not session.state.outbox and len(session.view()) == pending

        return lines_run(edit_then_sync)[0]

    # Linear work grows tenfold; the O(N^2) outbox scans made it ~60-fold here.
    assert growth(push_all(N), push_all(10 * N)) < 10 * FLAT
