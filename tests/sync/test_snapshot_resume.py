"""A joining client takes this layer's snapshot part by part and resumes a dropped one (§3.7, §3.8).

In memory (:mod:`tests.support.in_memory_server`), with parts of ~2 KB so a few hundred
records make many parts; the connection drops after a chosen number of frames.
"""

from __future__ import annotations

import dataclasses
import json

from lamina.sync.client_session import ClientSession, RecordsChanged

from tests.support.in_memory_server import InMemoryServer, Link
from tests.sync.sync_helpers import connected, ink

RECORDS = 300
PART_BYTES = 2000


def _small_parts(link: Link) -> None:
    link.session.limits = dataclasses.replace(link.session.limits, chunk_bytes=PART_BYTES)


def _server_with_records() -> tuple[InMemoryServer, ClientSession, Link]:
    server = InMemoryServer()
    writer, link = connected(server, "writer")
    for i in range(RECORDS):
        writer.create("annotation", ink(x=i), record_id=f"r{i:04d}")
    writer.flush()
    server.pump()
    assert len(writer.view()) == RECORDS and not writer.state.outbox
    return server, writer, link


def _join_and_drop(server: InMemoryServer, joiner: ClientSession, frames: int) -> Link:
    """Connect, deliver the welcome and ``frames`` snapshot parts, then drop the link."""
    link = server.connect(joiner)
    _small_parts(link)
    link.deliver_to_server()
    link.deliver_to_client(1 + frames)
    assert link.to_client, "the snapshot was not over yet"
    link.disconnect()
    return link


def _edits_meanwhile(server: InMemoryServer, writer: ClientSession, link: Link) -> None:
    writer.delete("r0003")  # in the part the joiner holds
    writer.update("r0010", {"note": "changed while away"})
    writer.delete("r0290")  # in the part it never got
    writer.create("annotation", ink(), record_id="r0000a")  # sorts among the held ones
    writer.flush()
    link.pump()


def test_parts_are_shown_as_they_arrive_and_a_dropped_snapshot_resumes_where_it_stopped() -> None:
    server, writer, wlink = _server_with_records()
    joiner = ClientSession.new("joiner")
    first = _join_and_drop(server, joiner, frames=4)
    shown = [e for e in first.client_events if isinstance(e, RecordsChanged)]
    assert shown and 0 < len(joiner.state.replica) < RECORDS  # shown before the end
    assert joiner.state.last_seq is None  # not the snapshot until it is whole
    held = max(joiner.state.replica)
    _edits_meanwhile(server, writer, wlink)

    again = server.connect(joiner)
    _small_parts(again)
    hello = json.loads(again.to_server[0])
    assert hello["resume"]["after"] == held and hello["resume"]["seq"] == RECORDS
    again.pump()
    frames = [e for e in again.client_events if isinstance(e, RecordsChanged)]
    sent = sum(len(e.records) for e in frames)
    assert joiner.is_open
    assert joiner.view() == writer.view()
    assert joiner.state.last_seq == server.layer.seq
    # Only the rest came again (and the changes to what it held), not the whole layer.
    assert sent < RECORDS - len([r for r in joiner.state.replica if r <= held]) + 10


def test_a_resumed_snapshot_dropped_again_still_converges() -> None:
    server, writer, wlink = _server_with_records()
    joiner = ClientSession.new("joiner")
    _join_and_drop(server, joiner, frames=3)
    _edits_meanwhile(server, writer, wlink)
    _join_and_drop(server, joiner, frames=1)  # only the changes of what it held, maybe
    writer.delete("r0200")
    writer.flush()
    wlink.pump()
    _join_and_drop(server, joiner, frames=5)
    last = server.connect(joiner)
    last.pump()
    assert joiner.is_open and joiner.view() == writer.view()
    assert "r0200" not in joiner.state.replica and "r0290" not in joiner.state.replica


def test_a_whole_snapshot_after_a_drop_replaces_what_was_held() -> None:
    server, writer, wlink = _server_with_records()
    joiner = ClientSession.new("joiner")
    _join_and_drop(server, joiner, frames=4)
    # Another epoch (a reset layer) cannot be resumed: the server sends it whole.
    joiner._resume.epoch = "another-epoch"
    _edits_meanwhile(server, writer, wlink)
    again = server.connect(joiner)
    again.pump()
    assert joiner.view() == writer.view()
