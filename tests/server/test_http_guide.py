"""Document Engine's guide flow, live delivery of API writes, the change feed, /openapi.json.

The guide script is README's text (the block after ``<!-- guide-script -->``), run unchanged
with ``BASE_URL`` pointing at a real `lamina serve`.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest
from lamina.auth.invite import Invite
from lamina.client.document import LaminaDocument
from lamina.client.events import ConnectionState
from lamina.server.api import routes

from tests.support.corpus import STAMPS, corpus_pdf
from tests.support.openapi import validate_response
from tests.support.protocol_client import create, join
from tests.support.server_process import ServerProcess
from tests.support.waiting import async_test, eventually

REPO = Path(__file__).resolve().parents[2]
SECRET = "guide-secret"
ADMIN = {"Authorization": f'Token token="{SECRET}"'}
FORMAT = "https://pspdfkit.com/instant-json/v1"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    running = ServerProcess(tmp_path / "data", args=["--api-auth-token", SECRET])
    running.start()
    yield running
    running.stop()


def _base(server: ServerProcess) -> str:
    return f"http://127.0.0.1:{server.port}"


def guide_script() -> str:
    """Return the guide script exactly as README shows it."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- guide-script -->\n```python\n(.*?)```", text, re.S)
    assert found is not None, "README lost its guide script"
    return found.group(1)


def _run_guide(server: ServerProcess, tmp_path: Path, *args: str) -> str:
    script = tmp_path / "guide.py"
    script.write_text(guide_script(), encoding="utf-8")
    env = {
        **os.environ,
        "BASE_URL": _base(server),
        "API_AUTH_TOKEN": SECRET,
        "JWT_PRIVATE_KEY": str(server.data_dir / "keys" / "private.pem"),
    }
    done = subprocess.run(
        [sys.executable, str(script), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def note(text: str) -> dict[str, Any]:
    return {
        "type": "pspdfkit/note",
        "v": 2,
        "pageIndex": 0,
        "bbox": [10, 10, 32, 32],
        "text": {"format": "plain", "value": text},
        "color": "#ffd700",
        "createdAt": "2024-05-01T10:00:00Z",
        "updatedAt": "2024-05-01T10:00:00Z",
    }


@async_test
async def test_the_readme_guide_script_runs_unchanged_against_lamina_serve(
    server: ServerProcess, tmp_path: Path
) -> None:
    setup = json.loads(_run_guide(server, tmp_path, "setup", str(corpus_pdf(STAMPS)), "alice"))
    document_id, token = setup["document_id"], setup["tokens"]["alice"]
    # The reviewer works in between, over the sync socket, with the minted token.
    client, _, _ = await join(server.sync_url, token)
    ack = await client.push(create(note="from alice"))
    assert ack["results"][0]["status"] == "applied"
    await client.ws.close()
    _run_guide(server, tmp_path, "collect", document_id, "alice", str(tmp_path))
    instant = json.loads((tmp_path / "alice.json").read_text())
    validate_response(
        instant, "/api/documents/{documentId}/layers/{layerName}/document.json", "get"
    )
    assert "from alice" in json.dumps(instant)
    pdf = pypdf.PdfReader(io.BytesIO((tmp_path / "alice.pdf").read_bytes()))
    annots = [a.get_object() for a in pdf.pages[0].get("/Annots") or []]
    assert any(a.get("/Contents") == "from alice" for a in annots)


@async_test
async def test_apply_instant_json_reaches_a_connected_client_document_live(
    server: ServerProcess, tmp_path: Path
) -> None:
    http = httpx.AsyncClient(base_url=_base(server), headers=ADMIN, timeout=60)
    pdf = corpus_pdf(STAMPS).read_bytes()
    up = await http.post("/api/documents", content=pdf, headers={"Content-Type": "application/pdf"})
    doc = up.json()["data"]["document_id"]
    await http.post(f"/api/documents/{doc}/layers", json={"name": "alice"})
    reviewer = await LaminaDocument.open_invite(
        Invite(server.url, server.token(doc, layer="alice", user_id="alice")),
        store_dir=tmp_path / "client",
    )
    try:
        await asyncio.wait_for(reviewer.wait_for_state(ConnectionState.ONLINE), 30)
        record = {**note("pushed by the backend"), "id": "01J000000000000000000LIVE1"}
        reply = await http.post(
            f"/api/documents/{doc}/layers/alice/apply_instant_json",
            json={"format": FORMAT, "annotations": [record]},
        )
        assert reply.status_code == 200, reply.text
        await eventually(
            lambda: reviewer.record("01J000000000000000000LIVE1") is not None,
            what="the client document shows the backend's annotation",
        )
    finally:
        await reviewer.close()
        await http.aclose()


@async_test
async def test_a_change_made_by_a_client_appears_in_the_change_feed(
    server: ServerProcess, tmp_path: Path
) -> None:
    http = httpx.AsyncClient(base_url=_base(server), headers=ADMIN, timeout=60)
    pdf = corpus_pdf(STAMPS).read_bytes()
    up = await http.post("/api/documents", content=pdf, headers={"Content-Type": "application/pdf"})
    doc = up.json()["data"]["document_id"]
    await http.post(f"/api/documents/{doc}/layers", json={"name": "alice"})
    feed = f"/api/documents/{doc}/layers/alice/changes"
    start = (await http.get(feed, params={"since": 0, "timeout": 0})).json()["seq"]
    reviewer = await LaminaDocument.open_invite(
        Invite(server.url, server.token(doc, layer="alice", user_id="alice")),
        store_dir=tmp_path / "client",
    )
    events: list[str] = []
    try:
        # A long-poll waiting before the change is made returns with it.
        waiting = asyncio.ensure_future(http.get(feed, params={"since": start, "timeout": 60}))
        stream_ready = asyncio.Event()

        async def read_stream() -> None:
            async with http.stream(
                "GET", feed, params={"since": start}, headers={"Accept": "text/event-stream"}
            ) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                stream_ready.set()
                async for line in response.aiter_lines():
                    events.append(line)
                    if line.startswith("data:") and "by the app" in line:
                        return

        streaming = asyncio.ensure_future(read_stream())
        await asyncio.wait_for(stream_ready.wait(), 30)
        await asyncio.wait_for(reviewer.wait_for_state(ConnectionState.ONLINE), 30)
        rid = reviewer.create(note("made by the app")).record_id
        await asyncio.wait_for(reviewer.ensure_changes_saved([rid]), 30)
        polled = (await asyncio.wait_for(waiting, 30)).json()
        assert polled["seq"] > start
        assert [c["id"] for c in polled["changes"]] == [rid]
        assert polled["changes"][0]["createdBy"] == "alice"
        await asyncio.wait_for(streaming, 30)
        assert any(line.startswith("event: changes") for line in events)
        assert any(line.startswith("id: ") for line in events)
    finally:
        await reviewer.close()
        await http.aclose()


def test_openapi_json_lists_exactly_the_routes_the_server_answers(
    server: ServerProcess,
) -> None:
    served = httpx.get(f"{_base(server)}/openapi.json", timeout=30).json()
    documented = {(m.upper(), p) for p, ops in served["paths"].items() for m in ops}
    implemented = {(r.method, r.path) for r in routes()}
    assert documented == implemented
    # and every route of the table answers (not 404/405) with the admin credential
    with httpx.Client(base_url=_base(server), headers=ADMIN, timeout=60) as http:
        for method, path in sorted(implemented):
            concrete = (
                path.replace("{documentId}", "nodoc")
                .replace("{layerName}", "nolayer")
                .replace("{annotationId}", "noannot")
            )
            reply = http.request(method, concrete, params={"timeout": 0})
            assert reply.status_code not in (405,), (method, path, reply.status_code)
            if reply.status_code == 404:
                assert "details" in reply.json(), (method, path)


def test_feed_waiting_requests_end_when_the_server_stops(
    server: ServerProcess,
) -> None:
    with httpx.Client(base_url=_base(server), headers=ADMIN, timeout=60) as http:
        pdf = corpus_pdf(STAMPS).read_bytes()
        doc = http.post(
            "/api/documents", content=pdf, headers={"Content-Type": "application/pdf"}
        ).json()["data"]["document_id"]
        result: dict[str, Any] = {}

        def poll() -> None:
            try:
                result["reply"] = http.get(
                    f"/api/documents/{doc}/changes", params={"since": 10, "timeout": 120}
                )
            except httpx.HTTPError as exc:
                result["error"] = exc

        waiter = threading.Thread(target=poll)
        waiter.start()
        import time

        time.sleep(0.5)
        server.stop()  # logs an error (test fails) if shutdown hangs past 10 s
        waiter.join(30)
        assert not waiter.is_alive()
