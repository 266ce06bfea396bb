"""The full-disk fake: a commit fails as SQLite fails on a full disk, and leaves nothing behind."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from lamina.server.errors import StoreError
from lamina.server.store import LayerWrite

from tests.support.filling_disk import FillingDisk
from tests.support.server_thread import add_corpus_document


def _growing_write(store: FillingDisk, document_id: str) -> LayerWrite:
    """A write of the base layer that needs new pages (a 200 kB note on the first record)."""
    layer = store.load_layer(document_id, "")
    first = layer.records[0]
    big = dataclasses.replace(
        first,
        rev=first.rev + 1,
        seq=layer.seq + 1,
        content={**(first.content or {}), "note": "x" * 200_000},
    )
    return LayerWrite(document_id, "", layer.epoch, layer.seq + 1, [big])


def test_a_commit_fails_like_a_full_disk_then_the_disk_has_room_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    doc = add_corpus_document(data)
    store = FillingDisk(data)
    try:
        seq = store.load_layer(doc, "").seq
        store.fail_next = 1
        with pytest.raises(StoreError, match="database or disk is full"):
            store.commit([_growing_write(store, doc)])
        assert store.entered.is_set()
        assert store.load_layer(doc, "").seq == seq  # nothing half-written
        store.commit([_growing_write(store, doc)])
        assert store.load_layer(doc, "").seq == seq + 1
    finally:
        store.close()


def test_a_failing_commit_waits_at_the_gate(tmp_path: Path) -> None:
    data = tmp_path / "data"
    doc = add_corpus_document(data)
    store = FillingDisk(data)
    errors: list[BaseException] = []

    def commit() -> None:
        try:
            store.commit([_growing_write(store, doc)])
        except StoreError as exc:
            errors.append(exc)

    try:
        store.fail_next = 1
        store.gate.clear()
        worker = threading.Thread(target=commit)
        worker.start()
        assert store.entered.wait(10)
        assert worker.is_alive() and errors == []  # held until the test opens the gate
        store.gate.set()
        worker.join(10)
        assert len(errors) == 1
    finally:
        store.close()
