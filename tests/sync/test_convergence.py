"""Property tests: random edits, deliveries and disconnects of three clients converge (§4, §6).

Each example runs a random schedule against :class:`InMemoryServer`: clients create, update and
delete a small pool of records (so they collide), flush, and frames are delivered one at a
time in random order per link; links drop (losing frames in transit) and reconnect. Then
everyone reconnects and syncs, and the test checks convergence, that no acknowledged change
was lost, and that no change id was applied twice.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina.sync.client_session import ClientSession
from lamina.sync.state import Change, ChangeResult, CreateChange, UpdateChange, change_from_wire

from tests.support.in_memory_server import InMemoryServer, Link
from tests.sync.sync_helpers import ink

IDS = ["A", "B", "C"]
FIELDS = ["customOne", "customTwo", "opacity"]  # any number is a valid value of each

op = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 2), st.sampled_from(IDS)),
    st.tuples(
        st.just("update"),
        st.integers(0, 2),
        st.sampled_from(IDS),
        st.sampled_from(FIELDS),
        st.integers(0, 5),
    ),
    st.tuples(st.just("unset"), st.integers(0, 2), st.sampled_from(IDS), st.sampled_from(FIELDS)),
    st.tuples(st.just("delete"), st.integers(0, 2), st.sampled_from(IDS)),
    st.tuples(st.just("flush"), st.integers(0, 2)),
    st.tuples(st.just("to_server"), st.integers(0, 2)),
    st.tuples(st.just("to_client"), st.integers(0, 2)),
    st.tuples(st.just("to_server"), st.integers(0, 2)),
    st.tuples(st.just("to_client"), st.integers(0, 2)),
    st.tuples(st.just("disconnect"), st.integers(0, 2)),
    st.tuples(st.just("reconnect"), st.integers(0, 2)),
)


class World:
    """Three (or n) clients on one in-memory server, driven by a list of actions."""

    def __init__(self, n: int) -> None:
        self.server = InMemoryServer()
        self.clients = [ClientSession.new(f"client-{i}") for i in range(n)]
        self.links: list[Link | None] = [self.server.connect(c) for c in self.clients]
        self.sent: dict[str, Change] = {}
        handle = self.server.handle

        def recording_handle(link: Link, text: str) -> None:
            obj = json.loads(text)
            if obj.get("type") == "push":
                for c in obj["changes"]:
                    change = change_from_wire(c, "change")
                    self.sent.setdefault(change.change_id, change)
            handle(link, text)

        self.server.handle = recording_handle  # type: ignore[method-assign]

    def run(self, action: tuple[Any, ...]) -> None:
        kind, i = action[0], action[1]
        client, link = self.clients[i], self.links[i]
        view = client.view()
        if kind == "create" and action[2] not in view:
            client.create("annotation", {**ink(), "id": action[2]})
        elif kind == "update" and action[2] in view:
            client.update(action[2], {action[3]: action[4]})
        elif kind == "unset" and action[2] in view:
            client.update(action[2], unset=[action[3]])
        elif kind == "delete" and action[2] in view:
            client.delete(action[2])
        elif kind == "flush":
            client.flush()
        elif kind == "to_server" and link is not None:
            link.deliver_to_server()
        elif kind == "to_client" and link is not None:
            link.deliver_to_client()
        elif kind == "disconnect" and link is not None:
            link.disconnect()
            self.links[i] = None
        elif kind == "reconnect" and link is None:
            self.links[i] = self.server.connect(client)

    def settle(self) -> None:
        for _ in range(50):
            for i, client in enumerate(self.clients):
                if self.links[i] is None:
                    self.links[i] = self.server.connect(client)
                client.flush()
            self.server.pump()
            if not any(c.has_pending() for c in self.clients):
                return
        raise AssertionError("outboxes never drained")

    def check(self) -> None:
        layer = self.server.layer
        truth = {r.id: dict(r.content or {}) for r in layer.snapshot()}
        for client in self.clients:
            assert client.view() == truth  # converged, and equal to the server
            assert client.state.last_seq == layer.seq
        # §4.2: every change id was applied at most once
        applied = [r.change_id for c in self.server.commits for r in c.remembered]
        assert len(applied) == len(set(applied))
        # §4.3/§4.5: an applied value stays unless a later commit changed that field
        for commit in self.server.commits:
            for result in commit.remembered:
                if result.made_rev is not None:
                    self._check_kept(result, self.sent[result.change_id])

    def _check_kept(self, result: ChangeResult, change: Change) -> None:
        assert result.made_rev is not None
        rid, made_rev = result.record_id, result.made_rev
        final = self.server.layer.get(rid)
        assert final is not None
        deleted_after = any(
            r.id == rid and r.deleted and r.rev > made_rev
            for c in self.server.commits
            for r in c.records
        )
        if final.deleted or deleted_after:
            return  # §4.6: a later delete wins
        content = final.content or {}
        if isinstance(change, UpdateChange):
            for key, value in change.set.items():
                if key not in result.lost and final.field_revs.get(key, 0) <= made_rev:
                    assert content.get(key) == value, (rid, key)
            for key in change.unset:
                if key not in result.lost_unset and final.field_revs.get(key, 0) <= made_rev:
                    assert key not in content, (rid, key)
        elif isinstance(change, CreateChange):
            for key, value in change.content.items():
                if final.field_revs.get(key, 0) <= made_rev:
                    assert content.get(key) == value, (rid, key)


@settings(max_examples=120, deadline=None)
@given(st.lists(op, max_size=60))
def test_three_clients_converge_without_losing_acked_changes_4_5_6_3(
    actions: list[tuple[Any, ...]],
) -> None:
    world = World(3)
    for action in actions:
        world.run(action)
    world.settle()
    world.check()


@settings(max_examples=60, deadline=None)
@given(st.lists(op.filter(lambda a: a[1] == 0), max_size=60))
def test_a_lone_client_never_conflicts_with_itself_6_2(actions: list[tuple[Any, ...]]) -> None:
    world = World(1)
    for action in actions:
        world.run(action)
    world.settle()
    world.check()
    assert world.clients[0].state.conflicts == []
    statuses = {r.status for c in world.server.commits for r in c.results}
    assert statuses <= {"applied"}


def _random_action(rnd: random.Random, clients: int) -> tuple[Any, ...]:
    kind = rnd.choice(
        ["create", "update", "update", "unset", "delete", "flush", "flush"]
        + ["to_server", "to_client"] * 3
        + ["disconnect", "reconnect"]
    )
    i = rnd.randrange(clients)
    if kind == "create" or kind == "delete":
        return (kind, i, rnd.choice(IDS))
    if kind == "update":
        return (kind, i, rnd.choice(IDS), rnd.choice(FIELDS), rnd.randrange(6))
    if kind == "unset":
        return (kind, i, rnd.choice(IDS), rnd.choice(FIELDS))
    return (kind, i)


@pytest.mark.parametrize("seed", range(40))
def test_long_random_schedules_converge_4_5_4_6_6_3(seed: int) -> None:
    """Longer schedules than hypothesis tends to draw, with many more collisions."""
    rnd = random.Random(seed)
    world = World(3)
    for _ in range(150):
        world.run(_random_action(rnd, 3))
    world.settle()
    world.check()
