"""What a running ``lamina serve`` holds in memory (issue 15, "server memory"): a laptop's
server carries neither PyMuPDF nor the PostgreSQL driver until a request needs one (a PDF
export or an Instant JSON diff against the PDF's own annotations reads the PDF). Against a
real server process; nothing here is timed."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.protocol_client import create, join, run
from tests.support.server_process import ServerProcess


def _mapped(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_a_sqlite_server_syncs_and_lists_records_without_loading_pymupdf_or_psycopg(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path / "data")
    server.add_document()
    server.start()
    try:
        token = server.token("doc", layer="notes", permissions=["all"])

        async def edit() -> str:
            client, _, _ = await join(server.sync_url, token)
            ack = await client.push(create())
            assert ack["results"][0]["status"] == "applied"
            await client.ws.close()
            return str(ack["results"][0]["record_id"])

        made = run(edit())
        got = httpx.get(
            f"http://127.0.0.1:{server.port}/api/documents/doc/layers/notes/annotations",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert got.status_code == 200
        assert made in [a["id"] for a in got.json()["data"]["annotations"]]
        assert server.proc is not None
        mapped = _mapped(server.proc.pid)
    finally:
        server.stop()
    assert "libmupdf" not in mapped, "PyMuPDF was loaded by a server that read no PDF"
    assert "_psycopg" not in mapped and "libpq" not in mapped, "psycopg loaded for SQLite"
