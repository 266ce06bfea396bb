"""Layers in the sync protocol (DESIGN §4.8): list what a token may view, learn of new layers
live, stop viewing one; `lamina layers` and `lamina layer-pdf --layers a,b`."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest

from tests.support.corpus import STAMPS
from tests.support.protocol_client import join
from tests.support.server_process import REPO, ServerProcess
from tests.support.waiting import async_test

SECRET = "layers-secret"
ADMIN = {"Authorization": f'Token token="{SECRET}"'}
FORMAT = "https://pspdfkit.com/instant-json/v1"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    running = ServerProcess(tmp_path / "data", args=["--api-auth-token", SECRET])
    running.add_document(STAMPS, "doc")
    running.start()
    yield running
    running.stop()


def square(record_id: str, x: float) -> dict[str, Any]:
    return {
        "v": 2,
        "type": "pspdfkit/shape/rectangle",
        "id": record_id,
        "pageIndex": 0,
        "bbox": [x, 100, 40, 40],
        "createdAt": "2024-05-01T10:00:00Z",
        "updatedAt": "2024-05-01T10:00:00Z",
        "strokeColor": "#0000ff",
        "strokeWidth": 2,
        "opacity": 1,
    }


def _apply(http: httpx.AsyncClient | httpx.Client, layer: str, record: dict[str, Any]) -> Any:
    return http.post(
        f"/api/documents/doc/layers/{layer}/apply_instant_json",
        json={"format": FORMAT, "annotations": [record]},
    )


@async_test
async def test_a_client_lists_its_layers_learns_new_ones_live_and_stops_viewing_one(
    server: ServerProcess,
) -> None:
    base = f"http://127.0.0.1:{server.port}"
    async with httpx.AsyncClient(base_url=base, headers=ADMIN, timeout=60) as http:
        for name in ("alice", "bob"):
            await http.post("/api/documents/doc/layers", json={"name": name})
        lead, _, _ = await join(
            server.sync_url, server.token("doc", layer="alice", view_layers=["*"])
        )
        await lead.send({"type": "list_layers"})
        listed = await lead.recv_type("layers")
        assert listed["layers"] == ["", "alice", "bob"]
        narrow, _, _ = await join(server.sync_url, server.token("doc", layer="bob"))
        await narrow.send({"type": "list_layers"})
        assert (await narrow.recv_type("layers"))["layers"] == ["bob"]

        await http.post("/api/documents/doc/layers", json={"name": "carol"})
        grown = await lead.recv_type("layers")
        assert grown["layers"] == ["", "alice", "bob", "carol"]

        await lead.send({"type": "view_layer", "layer": "bob"})
        snapshot = await lead.recv_type("snapshot")
        assert snapshot["layer"] == "bob"
        await lead.send({"type": "unview_layer", "layer": "bob"})
        # After unviewing, a change of bob is not relayed; alice's next change is.
        assert (
            await _apply(http, "bob", square("01J00000000000000000000B0B", 50))
        ).status_code == 200
        assert (
            await _apply(http, "alice", square("01J0000000000000000000A11C", 90))
        ).status_code == 200
        relayed = await lead.recv_type("changes")
        assert relayed.get("layer") is None
        assert [r["id"] for r in relayed["records"]] == ["01J0000000000000000000A11C"]
        await lead.ws.close()
        await narrow.ws.close()


def lamina(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lamina.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_lamina_layers_and_layer_pdf_of_chosen_layers_merged(
    server: ServerProcess, tmp_path: Path
) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", headers=ADMIN, timeout=60) as h:
        for name, rid, x in (
            ("alice", "01J0000000000000000000A11C", 50),
            ("bob", "01J00000000000000000000B0B", 200),
        ):
            h.post("/api/documents/doc/layers", json={"name": name})
            assert _apply(h, name, square(rid, x)).status_code == 200
        h.post("/api/documents/doc/layers", json={"name": "carol"})
    token = server.token(
        "doc", layer="alice", view_layers=["bob"], permissions=["read-document", "download"]
    )
    listed = lamina("layers", "--server", server.url, "--token", token)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["alice", "bob"]
    out = tmp_path / "merged.pdf"
    merged = lamina(
        "layer-pdf",
        "--server",
        server.url,
        "--token",
        token,
        "--layers",
        "alice,bob",
        "-o",
        str(out),
    )
    assert merged.returncode == 0, merged.stderr
    annots = pypdf.PdfReader(io.BytesIO(out.read_bytes())).pages[0].get("/Annots") or []
    squares = [a.get_object() for a in annots if a.get_object().get("/Subtype") == "/Square"]
    assert len(squares) == 2
    refused = lamina(
        "layer-pdf", "--server", server.url, "--token", token, "--layers", "carol", "-o", str(out)
    )
    assert refused.returncode == 1 and "carol" in refused.stderr


@async_test
async def test_a_client_document_lists_the_layers_and_hears_of_a_new_one(
    server: ServerProcess, tmp_path: Path
) -> None:
    from lamina.auth.invite import Invite
    from lamina.client.document import LaminaDocument
    from lamina.client.events import ConnectionState

    from tests.support.waiting import eventually

    base = f"http://127.0.0.1:{server.port}"
    async with httpx.AsyncClient(base_url=base, headers=ADMIN, timeout=60) as http:
        for name in ("alice", "bob"):
            await http.post("/api/documents/doc/layers", json={"name": name})
        lead = await LaminaDocument.open_invite(
            Invite(server.url, server.token("doc", layer="alice", view_layers=["*"])),
            store_dir=tmp_path / "lead",
        )
        try:
            await asyncio.wait_for(lead.wait_for_state(ConnectionState.ONLINE), 30)
            await eventually(
                lambda: lead.listed_layers() == ("", "alice", "bob"), what="the layer list"
            )
            await http.post("/api/documents/doc/layers", json={"name": "dora"})
            await eventually(
                lambda: "dora" in (lead.listed_layers() or ()), what="the new layer, live"
            )
        finally:
            await lead.close()
