"""Two servers on one PostgreSQL: a client on each, same layer, each sees the other's changes
live (LISTEN/NOTIFY), and a server that missed notifications catches up from the store."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from lamina.server import fanout_postgres
from lamina.server.documents import add_document_file
from lamina.server.presence_postgres import PRESENCE_CHANNEL
from lamina.server.store_postgres import PostgresStore, commit_channel

from tests.conftest import corpus_pdf
from tests.server.conftest import STAMPS, ServerThread, create, join, run, update
from tests.support.server_process import ServerProcess
from tests.support.waiting import eventually


@contextmanager
def _two_servers(
    tmp_path: Path, postgres_url: str
) -> Iterator[tuple[ServerThread, ServerThread, str]]:
    """Two servers on one PostgreSQL (one data directory: the same keys) and a document."""
    data = tmp_path / "data"
    with (
        ServerThread(data, database=postgres_url) as one,
        ServerThread(data, database=postgres_url) as two,
    ):
        yield one, two, one.add_document()


async def _relayed_from_one_to_two(
    one: ServerThread,
    two: ServerThread,
    doc: str,
    meanwhile: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Ann on server one and Bob on server two join layer ``a``; once ``meanwhile`` is done,
    Ann's push reaches Bob."""
    ann, _, _ = await join(one.url, one.token(doc, user_id="ann", layer="a"))
    bob, _, _ = await join(two.url, two.token(doc, user_id="bob", layer="a"))
    if meanwhile is not None:
        await meanwhile()
    ack = await ann.push(create())
    relayed = await bob.recv_type("changes")
    assert relayed["seq"] == ack["seq"]
    await ann.ws.close()
    await bob.ws.close()


def test_a_client_on_each_of_two_servers_sees_the_others_changes_live(
    tmp_path: Path, postgres_url: str
) -> None:
    with _two_servers(tmp_path, postgres_url) as (one, two, doc):

        async def scenario() -> None:
            ann, _, _ = await join(one.url, one.token(doc, user_id="ann"))
            bob, _, _ = await join(two.url, two.token(doc, user_id="bob"))
            first = create()
            ack = await ann.push(first)
            relayed = await bob.recv_type("changes")
            assert [r["id"] for r in relayed["records"]] == [first["record_id"]]
            assert relayed["seq"] == ack["seq"]
            # Bob's server now knows the layer at that seq: his edit commits on top of it.
            moved = await bob.push(update(first["record_id"], 1, bbox=[5, 5, 9, 9]))
            assert moved["results"][0]["status"] == "applied"
            assert moved["seq"] == ack["seq"] + 1
            back = await ann.recv_type("changes")
            assert back["seq"] == moved["seq"]
            assert back["records"][0]["content"]["bbox"] == [5, 5, 9, 9]
            # A new joiner on either server gets the same layer.
            for server in (one, two):
                _, _, snap = await join(server.url, server.token(doc, user_id="cy"))
                ids = {r["id"] for r in snap["records"] if not r.get("deleted")}
                assert first["record_id"] in ids
            await ann.ws.close()
            await bob.ws.close()

        run(scenario())
        assert two.fanout is not None and two.fanout.remote_commits >= 1
        assert one.fanout is not None and one.fanout.remote_commits >= 1


def test_missed_notifications_are_caught_up_from_the_store(
    tmp_path: Path, postgres_url: str
) -> None:
    with _two_servers(tmp_path, postgres_url) as (one, two, doc):

        async def scenario() -> None:
            ann, _, _ = await join(one.url, one.token(doc, user_id="ann"))
            bob, _, _ = await join(two.url, two.token(doc, user_id="bob"))
            # Cut server two's listening connection, then commit on server one meanwhile.
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'lamina-listen'"
                )
            change = create()
            ack = await ann.push(change)
            relayed = await bob.recv_type("changes", timeout=15)
            assert relayed["seq"] == ack["seq"]
            assert [r["id"] for r in relayed["records"]] == [change["record_id"]]
            await asyncio.sleep(0)
            await ann.ws.close()
            await bob.ws.close()

        run(scenario())


def test_notifications_are_handled_on_the_event_loop_with_no_listening_thread(
    tmp_path: Path, postgres_url: str
) -> None:
    # A listening thread handed every notification to the event loop: a wake-up and a
    # fight for the GIL (up to its 5 ms switch interval) on the way of every cross-process
    # change. The LISTEN connection is now driven by the loop itself (pq_loop).
    with _two_servers(tmp_path, postgres_url) as (one, two, doc):
        fanout = two.fanout
        assert fanout is not None
        received_on: list[int] = []
        received = fanout._received

        def watched(payload: str) -> None:
            received_on.append(threading.get_ident())
            received(payload)

        fanout._received = watched  # type: ignore[method-assign]

        run(_relayed_from_one_to_two(one, two, doc))
        assert received_on, "server two heard no notification"
        assert set(received_on) == {two.thread.ident}, "a notification was handled off the loop"
        assert "lamina-listen" not in {t.name for t in threading.enumerate()}


def test_hostile_notifications_are_refused_in_a_line_and_the_fan_out_goes_on(
    tmp_path: Path, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Anyone who may connect to the database may NOTIFY on Lamina's channels: what is not a
    # notification of ours is refused with one warning, and the next commit still arrives.
    with _two_servers(tmp_path, postgres_url) as (one, two, doc):

        async def hostile() -> None:
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                for channel, payload in (
                    (commit_channel(doc, "a"), "not json"),
                    (commit_channel(doc, "a"), '["only", "three", 3]'),
                    (commit_channel(doc, "a"), '[1, 2, "not a seq", 4]'),
                    (PRESENCE_CHANNEL, "{"),
                ):
                    admin.execute("SELECT pg_notify(%s, %s)", (channel, payload))
            await eventually(
                lambda: caplog.text.count("ignored a malformed") >= 8,
                what="the four notifications refused by both servers (both have the room)",
            )

        run(_relayed_from_one_to_two(one, two, doc, meanwhile=hostile))
        refused = [r for r in caplog.records if "ignored a malformed" in r.getMessage()]
        assert len(refused) == 8
        assert all(r.levelname == "WARNING" and "\n" not in r.getMessage() for r in refused)


def test_two_lamina_serve_processes_on_one_postgres_relay_to_each_other(
    tmp_path: Path, postgres_url: str
) -> None:
    data = tmp_path / "data"
    store = PostgresStore(postgres_url)
    try:
        doc = add_document_file(store, corpus_pdf(STAMPS), "doc").document_id
    finally:
        store.close()
    one = ServerProcess(data, args=["--database", postgres_url])
    two = ServerProcess(data, args=["--database", postgres_url])
    one.start()
    two.start()
    try:

        async def scenario() -> None:
            ann, _, _ = await join(one.sync_url, one.token(doc, user_id="ann"))
            bob, _, _ = await join(two.sync_url, two.token(doc, user_id="bob"))
            for sender, receiver in ((ann, bob), (bob, ann), (ann, bob)):
                change = create()
                ack = await sender.push(change)
                assert ack["results"][0]["status"] == "applied"
                relayed = await receiver.recv_type("changes")
                assert relayed["seq"] == ack["seq"]
                assert [r["id"] for r in relayed["records"]] == [change["record_id"]]
            await ann.ws.close()
            await bob.ws.close()

        run(scenario())
    finally:
        one.stop()
        two.stop()
    assert not list(data.glob("*.sqlite3"))  # everything went to PostgreSQL


def test_a_server_hears_only_the_layers_it_has_rooms_for(tmp_path: Path, postgres_url: str) -> None:
    # Every process heard every commit of every process (4 processes each parsed every
    # change: more processes, fewer changes/s). Now each layer has its own channel, listened
    # to while the process has a room for it.
    with _two_servers(tmp_path, postgres_url) as (one, two, doc):
        fanout = two.fanout
        assert fanout is not None
        handled: list[tuple[str, str, int | None]] = []
        advanced = fanout._advanced

        def counting(document_id: str, layer: str, seq: int | None) -> None:
            handled.append((document_id, layer, seq))
            advanced(document_id, layer, seq)

        fanout._advanced = counting  # type: ignore[method-assign]

        async def scenario() -> None:
            ann, _, _ = await join(one.url, one.token(doc, user_id="ann", layer="a"))
            cyd, _, _ = await join(one.url, one.token(doc, user_id="cyd", layer="b"))
            dan, _, _ = await join(two.url, two.token(doc, user_id="dan", layer="b"))
            for _ in range(5):
                await ann.push(create())
            # After a's five commits, one on b, which server two has a room for.
            probe = await cyd.push(create())
            assert (await dan.recv_type("changes"))["seq"] == probe["seq"]
            assert fanout.notes_heard == 1
            assert [(layer, seq) for _, layer, seq in handled if seq is not None] == [("b", 1)]
            # Now a client on server two for layer a: its commits are heard there.
            bob, _, _ = await join(two.url, two.token(doc, user_id="bob", layer="a"))
            last = await ann.push(create())
            relayed = await bob.recv_type("changes")
            assert relayed["seq"] == last["seq"]
            for client in (ann, bob, cyd, dan):
                await client.ws.close()

        run(scenario())
        assert any(layer == "a" for _, layer, _ in handled)


def test_a_commit_made_before_a_new_room_listens_still_reaches_its_clients(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A room loads the layer, then its channel is listened to: a commit in between has no
    # notification here. The room catches up once it listens (not at the next poll).
    monkeypatch.setattr(fanout_postgres, "POLL_INTERVAL", 3600.0)
    with _two_servers(tmp_path, postgres_url) as (one, two, doc):
        fanout = two.fanout
        assert fanout is not None
        release = threading.Event()
        subscribe = fanout._subscribe

        async def held(conn: Any, listening: dict[str, Any]) -> None:
            assert await asyncio.to_thread(release.wait, 30)
            await subscribe(conn, listening)

        fanout._subscribe = held  # type: ignore[method-assign]

        async def scenario() -> None:
            ann, _, _ = await join(one.url, one.token(doc, user_id="ann", layer="a"))
            await ann.push(create())
            bob, _, _ = await join(two.url, two.token(doc, user_id="bob", layer="a"))
            missed = await ann.push(create())  # two is not listening to layer a yet
            release.set()
            relayed = await bob.recv_type("changes")
            assert relayed["seq"] == missed["seq"]
            await ann.ws.close()
            await bob.ws.close()

        run(scenario())


def _listeners(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {(c, o) for c, o in conn.execute("SELECT channel, origin FROM layer_listeners")}


def test_a_layer_no_other_process_has_a_room_for_is_committed_without_announcement(
    tmp_path: Path, postgres_url: str
) -> None:
    # Each commit's NOTIFY woke every listening backend of the database (a transaction
    # each), and the process's own listening thread: per-commit work that grew with the
    # number of processes, for layers no other process had a room for. A process now says
    # which layers it listens to (layer_listeners), for as long as it has their rooms.
    with _two_servers(tmp_path, postgres_url) as (one, two, doc):
        assert one.fanout is not None and two.fanout is not None
        heard = {one: 0, two: 0}
        for server in (one, two):
            fanout = server.fanout
            assert fanout is not None
            received = fanout._received

            def counting(payload: str, server: ServerThread = server, received: Any = received):
                heard[server] += 1
                received(payload)

            fanout._received = counting  # type: ignore[method-assign]
        a, b = commit_channel(doc, "a"), commit_channel(doc, "b")

        async def scenario() -> None:
            ann, _, _ = await join(one.url, one.token(doc, user_id="ann", layer="a"))
            await ann.push(create())  # the layer's first commit: announced to every process
            bob, _, _ = await join(two.url, two.token(doc, user_id="bob", layer="b"))
            await bob.push(create())
            await eventually(
                lambda: (
                    _listeners(postgres_url)
                    == {(a, one.fanout.store.origin), (b, two.fanout.store.origin)}
                ),
                what="each server's row for its room",
            )
            before = dict(heard)
            for _ in range(5):
                await ann.push(create())
                await bob.push(create())
            # Now server two has a room for layer a too: a's commits are announced to it.
            cyd, _, _ = await join(two.url, two.token(doc, user_id="cyd", layer="a"))
            await eventually(
                lambda: (a, two.fanout.store.origin) in _listeners(postgres_url),
                what="server two's row for its new room",
            )
            last = await ann.push(create())
            assert (await cyd.recv_type("changes"))["seq"] == last["seq"]
            # Both hear it now (the sender its own too, which it skips).
            await eventually(lambda: heard == {one: before[one] + 1, two: before[two] + 1})
            assert before == {one: 0, two: 0}
            for client in (ann, bob, cyd):
                await client.ws.close()
            await eventually(
                lambda: _listeners(postgres_url) == set(), what="rows gone with the rooms"
            )

        run(scenario())


def test_the_listener_rows_of_a_killed_process_are_swept_by_the_others(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A killed process left its layer_listeners rows until some process reconnected its
    # listener: meanwhile every commit to those layers was announced to nobody.
    monkeypatch.setattr(fanout_postgres, "LISTENER_SWEEP", 0.3)
    data = tmp_path / "data"
    with ServerThread(data, database=postgres_url) as survivor:
        doc = survivor.add_document()
        victim = ServerProcess(data, args=["--database", postgres_url])
        victim.start()
        try:
            channel = commit_channel(doc, "a")

            async def scenario() -> None:
                ann, _, _ = await join(victim.sync_url, victim.token(doc, layer="a"))
                await ann.push(create())
                await eventually(
                    lambda: channel in {c for c, _ in _listeners(postgres_url)},
                    what="the victim's row for its room",
                )
                victim.kill()
                await eventually(
                    lambda: channel not in {c for c, _ in _listeners(postgres_url)},
                    timeout=10,
                    what="the killed process's row swept",
                )
                # Nothing made the survivor's listener reconnect: its sweep removed the row.
                bob, _, _ = await join(survivor.url, survivor.token(doc, layer="a"))
                ack = await bob.push(create())
                assert ack["results"][0]["status"] == "applied"
                await bob.ws.close()

            run(scenario())
        finally:
            victim.stop()
