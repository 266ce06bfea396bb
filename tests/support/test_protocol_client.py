"""The raw protocol client: the changes it builds and the connections it cleans up."""

from __future__ import annotations

from pathlib import Path

from websockets.protocol import State

from tests.support.protocol_client import Client, create, delete, join, run, update
from tests.support.server_thread import ServerThread


def test_changes_are_shaped_as_the_protocol_says() -> None:
    made = create(group="g1", strokeColor="#00ff00")
    assert made["op"] == "create" and made["kind"] == "annotation"
    assert made["record_id"] == made["content"]["id"]
    assert made["group"] == "g1" and "group" not in made["content"]
    assert made["content"]["strokeColor"] == "#00ff00"
    assert create()["change_id"] != create()["change_id"]
    changed = update("r1", 3, note="hi")
    assert {k: v for k, v in changed.items() if k != "change_id"} == {
        "op": "update",
        "record_id": "r1",
        "base_rev": 3,
        "set": {"note": "hi"},
        "unset": [],
    }
    removed = delete("r1", 4)
    assert (removed["op"], removed["record_id"], removed["base_rev"]) == ("delete", "r1", 4)


def test_join_pushes_and_run_closes_what_the_scenario_left_open(tmp_path: Path) -> None:
    with ServerThread(tmp_path / "data") as server:
        doc = server.add_document()
        left_open = _push_once(server, doc)
    assert left_open.ws.state is State.CLOSED


def _push_once(server: ServerThread, doc: str) -> Client:
    left_open: list[Client] = []

    async def scenario() -> None:
        client, welcome, catch_up = await join(server.url, server.token(doc, user_id="ann"))
        assert welcome["type"] == "welcome"
        assert catch_up["type"] in ("snapshot", "changes")
        ack = await client.push(create())
        assert ack["type"] == "ack"
        assert ack in client.received
        left_open.append(client)

    run(scenario())
    return left_open[0]
