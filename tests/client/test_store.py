"""The local store: atomic, durable writes; a crash at any point leaves a store that opens."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lamina.client.errors import StoreError
from lamina.client.store import LocalStore, StoredConflict, store_path_for


def _change(n: int) -> dict[str, object]:
    return {
        "change_id": f"c{n:06d}",
        "op": "create",
        "record_id": f"r{n}",
        "kind": "annotation",
        "content": {"type": "pspdfkit/note", "n": n},
    }


def test_store_keeps_replica_outbox_and_conflicts_across_reopen(tmp_path: Path) -> None:
    path = store_path_for(tmp_path, "ws://h:1", "doc", "")
    store = LocalStore.open(path)
    with store.write() as w:
        w.set_meta("last_seq", 7)
        w.put_records([{"id": "a", "rev": 1, "content": {"x": 1}}])
        w.put_changes([_change(1), _change(2), _change(1)])
        w.add_conflict(StoredConflict("k1", "a", {"mine": {"x": 2}}))
    store.close()

    snap = LocalStore.open(path).load()
    assert snap.meta["last_seq"] == 7
    assert snap.records["a"]["content"] == {"x": 1}
    assert [c["change_id"] for c in snap.outbox] == ["c000001", "c000002"]
    # The change put again replaced the first in place (a merged edit keeps its turn).
    assert snap.outbox[0]["content"] == {"type": "pspdfkit/note", "n": 1}
    assert snap.conflicts[0].value == {"mine": {"x": 2}}


def test_a_failed_write_keeps_nothing_of_it(tmp_path: Path) -> None:
    store = LocalStore.open(tmp_path / "s.sqlite3")
    with store.write() as w:
        w.put_changes([_change(1)])
    with pytest.raises(RuntimeError), store.write() as w:
        w.put_changes([_change(2)])
        w.set_meta("last_seq", 9)
        raise RuntimeError("crash in the middle")
    snap = store.load()
    assert [c["change_id"] for c in snap.outbox] == ["c000001"]
    assert "last_seq" not in snap.meta


def test_document_bytes_are_checked_against_their_hash(tmp_path: Path) -> None:
    store = LocalStore.open(tmp_path / "s.sqlite3")
    data = b"%PDF-1.7 fake but hashed"
    with pytest.raises(StoreError, match="hash mismatch"), store.write() as w:
        w.put_document(data, "0" * 64)
    assert store.document() is None
    with store.write() as w:
        w.put_document(data, hashlib.sha256(data).hexdigest())
    assert store.document() == (data, hashlib.sha256(data).hexdigest())


def test_a_file_that_is_not_a_store_gives_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable local store"):
        LocalStore.open(bad)


def test_an_existing_store_opens_while_another_process_holds_its_write_lock(
    tmp_path: Path,
) -> None:
    # A window writing without pause must not keep a second opener (another window, `lamina
    # pull`) out: opening an existing store only reads. Before, it waited 5 s and failed
    # with "database is locked" (seen in CI behind the SIGKILL writer below).
    path = tmp_path / "s.sqlite3"
    first = LocalStore.open(path)
    with first.write() as w:
        w.put_changes([{"change_id": "c1", "record_id": "r1", "op": "delete"}])
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA busy_timeout=0")
    holder.execute("BEGIN IMMEDIATE")
    try:
        second = LocalStore.open(path)
        assert second.outbox_size() == 1
        second.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        first.close()


_WRITER = """
import sys
from pathlib import Path
from lamina.client.store import LocalStore
store = LocalStore.open(Path(sys.argv[1]))
n = 0
print("ready", flush=True)
while True:
    n += 1
    with store.write() as w:
        w.put_changes([{"change_id": f"c{n:06d}", "record_id": f"r{n}", "op": "delete"}])
        w.set_meta("last", n)
"""


def test_sigkill_during_writes_leaves_a_store_that_opens_with_a_prefix(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while LocalStore.open(path).outbox_size() < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    snap = LocalStore.open(path).load()
    ids = [c["change_id"] for c in snap.outbox]
    assert len(ids) >= 50
    # Every transaction is all-or-nothing: the outbox is exactly changes 1..last, in order.
    assert ids == [f"c{n:06d}" for n in range(1, snap.meta["last"] + 1)]
