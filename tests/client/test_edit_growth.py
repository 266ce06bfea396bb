"""A local edit of an open document is O(1) in the number of records (DESIGN §7).

The edit goes through the whole client: the session, the durable write to the local store
(sync §6.1), the view and the event. Counted, not timed: the Python lines run in lamina
(:mod:`tests.support.work_counter`) with N and with 10 N records in the replica. Before the
fix, the persist scanned and copied the whole replica for every edit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lamina.auth import mint_token
from lamina.auth.invite import Invite
from lamina.auth.keys import load_or_create_keypair
from lamina.client.document import LaminaDocument
from lamina.client.events import Event
from lamina.client.review import review_store_path
from lamina.client.store import LocalStore

from tests.client.conftest import async_test, note
from tests.support.work_counter import growth, lines_run

N = 300
FLAT = 1.5


def _seeded(tmp_path: Path, count: int) -> tuple[Invite, Path]:
    """An invite to an unreachable server whose local store already holds ``count`` records."""
    token = mint_token(load_or_create_keypair(tmp_path / "keys"), document_id="doc")
    invite = Invite("ws://127.0.0.1:9", token)
    store_dir = tmp_path / f"client{count}"
    store = LocalStore.open(review_store_path(invite, store_dir))
    with store.write() as w:
        w.set_meta("last_seq", count)
        w.put_records(
            {
                "id": f"r{i}",
                "kind": "annotation",
                "rev": 1,
                "seq": i + 1,
                "content": {**note(f"record {i}"), "id": f"r{i}"},
                "deleted": False,
            }
            for i in range(count)
        )
    store.close()
    return invite, store_dir


async def _edit_work(tmp_path: Path, count: int, edit: Callable[[LaminaDocument], object]) -> int:
    invite, store_dir = _seeded(tmp_path, count)
    doc = await LaminaDocument.open_invite(invite, store_dir=store_dir, connect=False)
    heard: list[Event] = []
    doc.subscribe(heard.append)
    try:
        doc.create(note("warm up"))  # first-use costs (parsing, caches) are not the edit's
        work, _ = lines_run(lambda: edit(doc))
    finally:
        await doc.close()
    assert heard, "the edit was reported"
    again = LocalStore.open(review_store_path(invite, store_dir))
    try:
        assert again.outbox_size() >= 2, "the edit reached the store before returning"
    finally:
        again.close()
    return work


async def _growth(tmp_path: Path, edit: Callable[[LaminaDocument], object]) -> float:
    return growth(await _edit_work(tmp_path, N, edit), await _edit_work(tmp_path, 10 * N, edit))


@async_test
async def test_one_create_costs_the_same_with_ten_times_the_records(tmp_path: Path) -> None:
    assert await _growth(tmp_path, lambda d: d.create(note("new"))) < FLAT


@async_test
async def test_one_update_and_one_delete_cost_the_same_with_ten_times_the_records(
    tmp_path: Path,
) -> None:
    def edit(doc: LaminaDocument) -> object:
        doc.update("r7", {"color": "#ff0000"})
        return doc.delete("r8")

    assert await _growth(tmp_path, edit) < FLAT
