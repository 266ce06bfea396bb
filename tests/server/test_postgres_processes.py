"""Several `lamina serve --database` processes are one server: they share a port
(`--reuse-port`), a revocation made on one closes the token's sessions on the others, the
HTTP API and the change feed answer the same on any of them, and a layer created through one
is listed, served and announced by all (DESIGN §8)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.corpus import STAMPS, corpus_pdf
from tests.support.protocol_client import Client, create, join, run
from tests.support.server_process import ServerProcess

SECRET = "processes-secret"
ADMIN = {"Authorization": f'Token token="{SECRET}"'}
FORMAT = "https://pspdfkit.com/instant-json/v1"


@pytest.fixture
def pair(tmp_path: Path, postgres_url: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two processes on one PostgreSQL, each with a data directory of its own (as on two
    machines), given the same public key and admin secret."""
    one = ServerProcess(tmp_path / "one", database=postgres_url, args=["--api-auth-token", SECRET])
    key = tmp_path / "one.pub"
    key.write_bytes(one.keypair.public_pem)
    two = ServerProcess(
        tmp_path / "two",
        database=postgres_url,
        args=["--api-auth-token", SECRET, "--public-key", str(key)],
    )
    two.keypair = one.keypair  # tokens minted for either are signed with one's key
    one.start()
    two.start()
    try:
        yield one, two
    finally:
        one.stop()
        two.stop()


async def _sees(client: Client, record_ids: set[str], timeout: float = 30) -> None:
    """Read ``client``'s frames until every id in ``record_ids`` was relayed or acked to it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not record_ids <= {r["id"] for r in client.records_seen()}:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"records {record_ids} did not all reach the client")
        try:
            await client.recv(timeout=left)
        except TimeoutError:
            continue


async def _was_dropped(client: Client) -> bool:
    """Whether the server closed ``client``'s socket (read until it is quiet for a second:
    a killed process's sockets are closed by the kernel at once)."""
    try:
        while True:
            await client.recv(timeout=1.0)
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False


def test_processes_started_with_reuse_port_share_one_port_and_converge(
    tmp_path: Path, postgres_url: str
) -> None:
    one = ServerProcess(tmp_path / "data", database=postgres_url, args=["--reuse-port"])
    doc = one.add_document(STAMPS, "doc")
    one.start()
    two = ServerProcess(
        tmp_path / "data", port=one.port, database=postgres_url, args=["--reuse-port"]
    )
    try:
        two.start()
        assert two.port == one.port

        async def scenario() -> None:
            # The kernel spreads connections over both processes by their address and port;
            # with 16 of them, all landing on one process has a chance of 2 in 65,536.
            clients = [
                (await join(one.sync_url, one.token(doc, user_id=f"u{i}")))[0] for i in range(16)
            ]
            ids: set[str] = set()
            for client in clients:
                change = create()
                ack = await client.push(change)
                assert ack["results"][0]["status"] == "applied"
                ids.add(change["record_id"])
                for other in clients:
                    await _sees(other, {change["record_id"]})
            # Which process each client was on: SIGKILL one, and its clients are dropped.
            await asyncio.to_thread(one.kill)
            dropped = [client for client in clients if await _was_dropped(client)]
            kept = [c for c in clients if c not in dropped]
            assert dropped, "no client was served by the first process"
            assert kept, "no client was served by the second process"
            # The survivors' process still has every change, and serves new ones.
            last = create()
            await kept[0].push(last)
            for client in kept:
                await _sees(client, {last["record_id"]})
            ids.add(last["record_id"])
            stored = set(two.layer_records(doc))
            assert ids <= stored

        run(scenario())
    finally:
        two.stop()
        if one.proc is not None:
            one.stop()


def test_a_revocation_on_one_process_closes_the_token_on_another(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    one, two = pair
    doc = one.add_document(STAMPS, "doc")
    took: list[float] = []

    async def scenario() -> None:
        client, _, _ = await join(two.sync_url, two.token(doc, user_id="eve", jti="eve-1"))
        bystander, _, _ = await join(two.sync_url, two.token(doc, user_id="ann", jti="ann-1"))
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{one.port}", headers=ADMIN, timeout=60
        ) as http:
            started = time.monotonic()
            reply = await http.post("/api/revoke", json={"jtis": ["eve-1"]})
            assert reply.status_code == 200, reply.text
            _code, frames = await client.closed(timeout=30)
            took.append(time.monotonic() - started)
        assert frames[-1]["type"] == "error" and frames[-1]["code"] == "forbidden", frames
        assert "eve-1 was revoked" in frames[-1]["message"]
        # The bystander's session stays open and keeps working.
        ack = await bystander.push(create())
        assert ack["results"][0]["status"] == "applied"

    run(scenario())
    # Reported, not asserted (the machine is shared): see the README's PostgreSQL section.
    print(f"revocation reached the other process in {took[0] * 1000:.0f} ms")


def test_the_http_api_and_the_change_feed_work_on_any_process(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    one, two = pair
    a = httpx.Client(base_url=f"http://127.0.0.1:{one.port}", headers=ADMIN, timeout=60)
    b = httpx.Client(base_url=f"http://127.0.0.1:{two.port}", headers=ADMIN, timeout=60)
    with a, b:
        pdf = corpus_pdf(STAMPS).read_bytes()
        uploaded = a.post(
            "/api/documents",
            content=pdf,
            headers={"Content-Type": "application/pdf"},
            params={"document_id": "shared"},
        )
        assert uploaded.status_code == 200, uploaded.text
        doc = uploaded.json()["data"]["document_id"]
        assert b.get(f"/api/documents/{doc}/document_info").status_code == 200
        assert b.post(f"/api/documents/{doc}/layers", json={"name": "review"}).status_code in (
            200,
            201,
        )
        note = {
            "v": 2,
            "type": "pspdfkit/shape/rectangle",
            "id": "01HZZZZZZZZZZZZZZZZZZZZZZZ",
            "pageIndex": 0,
            "bbox": [10, 100, 40, 40],
            "createdAt": "2024-05-01T10:00:00Z",
            "updatedAt": "2024-05-01T10:00:00Z",
            "strokeColor": "#0000ff",
            "strokeWidth": 2,
            "opacity": 1,
        }
        applied = b.post(
            f"/api/documents/{doc}/layers/review/apply_instant_json",
            json={"format": FORMAT, "annotations": [note]},
        )
        assert applied.status_code == 200, applied.text
        # Process one serves the layer written through process two.
        listed = a.get(f"/api/documents/{doc}/layers")
        assert "review" in json.dumps(listed.json())
        exported = a.get(f"/api/documents/{doc}/layers/review/document.json")
        assert exported.status_code == 200, exported.text
        assert note["id"] in {x["id"] for x in exported.json()["annotations"]}

        # The change feed on process two sees a commit made through process one.
        seq = b.get(f"/api/documents/{doc}/layers/review/changes", params={"timeout": 0})
        since = seq.json()["seq"]
        moved = dict(note, bbox=[20, 120, 40, 40])

        async def feeds() -> tuple[dict[str, Any], dict[str, Any]]:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{two.port}", headers=ADMIN, timeout=60
            ) as http:
                poll = asyncio.create_task(
                    http.get(
                        f"/api/documents/{doc}/layers/review/changes",
                        params={"since": since, "timeout": 60},
                    )
                )
                stream = asyncio.create_task(_first_event(http, doc, since))
                await asyncio.sleep(0.5)  # both are waiting on process two
                assert not poll.done() and not stream.done()
                await asyncio.to_thread(
                    a.post,
                    f"/api/documents/{doc}/layers/review/apply_instant_json",
                    json={"format": FORMAT, "annotations": [moved]},
                )
                return (await poll).json(), await stream

        polled, streamed = asyncio.run(asyncio.wait_for(feeds(), 120))
        for batch in (polled, streamed):
            assert batch["seq"] > since
            changed = {c["id"]: c for c in batch["changes"]}
            assert changed[note["id"]]["content"]["bbox"] == [20, 120, 40, 40]


async def _first_event(http: httpx.AsyncClient, doc: str, since: int) -> dict[str, Any]:
    """Return the first ``changes`` event of the layer's event stream after ``since``."""
    async with http.stream(
        "GET",
        f"/api/documents/{doc}/layers/review/changes",
        params={"since": since},
        headers={"Accept": "text/event-stream"},
    ) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                data: dict[str, Any] = json.loads(line[len("data: ") :])
                return data
    raise AssertionError("the event stream ended without an event")


def test_reuse_port_without_a_database_is_refused(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", args=["--reuse-port"])
    with pytest.raises(RuntimeError, match="--reuse-port needs --database"):
        server.start()


def test_a_layer_created_on_one_process_is_listed_and_served_by_another(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    one, two = pair
    doc = one.add_document(STAMPS, "doc")
    a = httpx.Client(base_url=f"http://127.0.0.1:{one.port}", headers=ADMIN, timeout=60)
    b = httpx.Client(base_url=f"http://127.0.0.1:{two.port}", headers=ADMIN, timeout=60)
    with a, b:
        created = b.post(f"/api/documents/{doc}/layers", json={"name": "empty"})
        assert created.status_code in (200, 201), created.text
        # Nothing written to it yet: it exists only as a name, which process one knows too.
        assert "empty" in a.get(f"/api/documents/{doc}/layers").json()["data"]
        served = a.get(f"/api/documents/{doc}/layers/empty/document.json")
        assert served.status_code == 200, served.text
        assert a.delete(f"/api/documents/{doc}/layers/empty").status_code == 200
        assert "empty" not in b.get(f"/api/documents/{doc}/layers").json()["data"]


def test_a_client_learns_live_of_a_layer_created_through_another_process(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    one, two = pair
    doc = one.add_document(STAMPS, "doc")

    async def scenario() -> None:
        lead, _, _ = await join(one.sync_url, one.token(doc, layer="alice", view_layers=["*"]))
        await lead.send({"type": "list_layers"})
        assert (await lead.recv_type("layers"))["layers"] == ["", "alice"]
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{two.port}", headers=ADMIN, timeout=60
        ) as http:
            made = await http.post(f"/api/documents/{doc}/layers", json={"name": "carol"})
            assert made.status_code in (200, 201), made.text
        grown = await lead.recv_type("layers", timeout=30)
        assert grown["layers"] == ["", "alice", "carol"]

    run(scenario())
