"""A commit that fails (disk full): nothing half-written, nothing acked, other documents live."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from lamina.server.documents import add_document_file
from lamina.server.store import SqliteStore

from tests.conftest import corpus_pdf
from tests.server.conftest import STAMPS, ServerThread, create, join, run
from tests.support.filling_disk import FillingDisk


@pytest.fixture
def failing(tmp_path: Path) -> Iterator[ServerThread]:
    # The writer thread (``lamina serve --fsync``) lets the test hold a commit while another
    # write queues behind it.
    running = ServerThread(tmp_path / "data", store_factory=FillingDisk, inline_commits=False)
    yield running
    running.stop()


def _add(server: ServerThread, document_id: str) -> str:
    store = SqliteStore(server.data_dir)
    try:
        return add_document_file(store, corpus_pdf(STAMPS), document_id).document_id
    finally:
        store.close()


BIG = "x" * 200_000  # needs new pages, so the capped file cannot take it

# The full disk is the point of these tests: the server logs the failed commit and the room
# it closes (and nothing else).
DISK_FULL_LOGS = pytest.mark.expect_error_log(
    r"lamina\.server: commit of \d+ layer writes failed: store write failed: database or disk",
    r"lamina\.server: room review/'' closed: store write failed",
)


@DISK_FULL_LOGS
def test_a_failed_commit_fails_the_writes_queued_behind_it_and_the_server_keeps_serving(
    failing: ServerThread,
) -> None:
    doc = _add(failing, "review")
    other = _add(failing, "other")
    store = failing.server.store
    assert isinstance(store, FillingDisk)

    async def scenario() -> None:
        ann, _, _ = await join(failing.url, failing.token(doc, user_id="ann"))
        bob, _, snap = await join(failing.url, failing.token(doc, user_id="bob"))
        cat, _, _ = await join(failing.url, failing.token(other, user_id="cat"))
        seq_before = snap["seq"]

        store.fail_next = 1
        store.gate.clear()
        first = create(note=BIG)
        await ann.send({"type": "push", "changes": [first]})
        await asyncio.to_thread(store.entered.wait, 10)
        # Bob's change is prepared on top of Ann's and waits behind it.
        second = create(note="small")
        await bob.send({"type": "push", "changes": [second]})
        for _ in range(200):
            if failing.server.writer.pending >= 2:
                break
            await asyncio.sleep(0.01)
        assert failing.server.writer.pending >= 2
        store.gate.set()

        for client in (ann, bob):
            code, frames = await client.closed()
            assert code == 1011
            assert frames[-1]["type"] == "error" and frames[-1]["code"] == "server-error"
            assert not any(f["type"] == "ack" for f in frames)  # nothing acknowledged

        # Other documents are served as before.
        ok = (await cat.push(create()))["results"][0]
        assert ok["status"] == "applied"

        # Neither change reached the store: the layer is where it was, so the clients'
        # outboxes (which still hold both) resend them and both apply.
        ann2, _, snap2 = await join(failing.url, failing.token(doc, user_id="ann"))
        assert snap2["seq"] == seq_before
        ids = {r["id"] for r in snap2["records"]}
        assert first["record_id"] not in ids and second["record_id"] not in ids
        again = await ann2.push(first, second)
        assert [r["status"] for r in again["results"]] == ["applied", "applied"]
        assert again["seq"] == seq_before + 2

    run(scenario())


@pytest.fixture
def failing_inline(tmp_path: Path) -> Iterator[ServerThread]:
    running = ServerThread(tmp_path / "data", store_factory=FillingDisk)
    yield running
    running.stop()


@DISK_FULL_LOGS
def test_a_failed_commit_on_the_event_loop_acks_nothing_and_loses_nothing(
    failing_inline: ServerThread,
) -> None:
    server = failing_inline
    doc = _add(server, "review")
    other = _add(server, "other")
    store = server.server.store
    assert isinstance(store, FillingDisk)

    async def scenario() -> None:
        ann, _, snap = await join(server.url, server.token(doc, user_id="ann"))
        cat, _, _ = await join(server.url, server.token(other, user_id="cat"))
        store.fail_next = 1
        change = create(note=BIG)
        await ann.send({"type": "push", "changes": [change]})
        code, frames = await ann.closed()
        assert code == 1011 and frames[-1]["code"] == "server-error"
        assert not any(f["type"] == "ack" for f in frames)
        assert (await cat.push(create()))["results"][0]["status"] == "applied"
        ann2, _, snap2 = await join(server.url, server.token(doc, user_id="ann"))
        assert snap2["seq"] == snap["seq"]
        again = (await ann2.push(change))["results"][0]
        assert again["status"] == "applied" and again["record"]["content"]["note"] == BIG

    run(scenario())
