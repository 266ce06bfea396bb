"""Property tests: random edits, deliveries and disconnects of three clients converge (§4, §6).

Each example runs a random schedule against :class:`InMemoryServer`: clients create, update and
delete a small pool of records (so they collide), flush, and frames are delivered one at a
time in random order per link; links drop (losing frames in transit) and reconnect. Then
everyone reconnects and syncs, and the test checks convergence, that no acknowledged change
was lost, and that no change id was applied twice.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.model.ids import RecordId
from app.sync.client_session import ClientSession
from app.sync.state import CreateChange, UpdateChange
from app.sync.testing import InMemoryServer, Link
from tests.sync.sync_helpers import ink

IDS = ["A", "B", "C"]
FIELDS = ["strokeColor", "note", "opacity"]

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
    def __init__(self, n: int) -> None:
        self.server = InMemoryServer()
        self.clients = [ClientSession.new(f"client-{i}") for i in range(n)]
        self.links: list[Link | None] = [self.server.connect(c) for c in self.clients]

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
        # §4.3/§4.5: no applied value is lost unless a later commit touched that field
        for commit in self.server.commits:
            for result in commit.remembered:
                self._check_kept(result.record_id, result.made_rev, result.change_id, commit)

    def _check_kept(self, rid: RecordId, made_rev: int | None, change_id: str, commit: Any) -> None:
        if made_rev is None:
            return
        final = self.server.layer.get(rid)
        assert final is not None
        deleted_after = any(
            r.id == rid and r.deleted and r.rev > made_rev
            for c in self.server.commits
            for r in c.records
        )
        if final.deleted or deleted_after:
            return  # §4.6: a later delete wins
        change = next(c for c in self._pushed() if c.change_id == change_id)  # the change as sent
        result = next(r for r in commit.results if r.change_id == change_id)
        if isinstance(change, UpdateChange):
            content = final.content or {}
            for key, value in change.set.items():
                if key in result.lost:
                    continue
                if final.field_revs.get(key, 0) <= made_rev:
                    assert content.get(key) == value, (rid, key)
        elif isinstance(change, CreateChange):
            born = final.created_at
            assert born is not None

    def _pushed(self) -> list[Any]:
        return self._sent

    _sent: list[Any] = []


def _record_pushes(world: World) -> None:
    sent: list[Any] = []
    original = world.server.handle

    def handle(link: Link, text: str) -> None:
        import json

        from app.sync.state import change_from_wire

        obj = json.loads(text)
        if obj.get("type") == "push":
            sent.extend(change_from_wire(c, "c") for c in obj["changes"])
        original(link, text)

    world.server.handle = handle  # type: ignore[method-assign]
    world._sent = sent


@settings(max_examples=120, deadline=None)
@given(st.lists(op, max_size=60))
def test_three_clients_converge_without_losing_acked_changes_4_5_6_3(
    actions: list[tuple[Any, ...]],
) -> None:
    world = World(3)
    _record_pushes(world)
    for action in actions:
        world.run(action)
    world.settle()
    world.check()


@settings(max_examples=60, deadline=None)
@given(st.lists(op.filter(lambda a: a[1] == 0), max_size=60))
def test_a_lone_client_never_conflicts_with_itself_6_2(actions: list[tuple[Any, ...]]) -> None:
    world = World(1)
    _record_pushes(world)
    for action in actions:
        world.run(action)
    world.settle()
    world.check()
    assert world.clients[0].state.conflicts == []
    statuses = {r.status for c in world.server.commits for r in c.results}
    assert statuses <= {"applied"}
