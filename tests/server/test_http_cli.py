"""`lamina doc add|list|layers|remove` and `lamina revoke` against a running server's HTTP API
(`--server URL`), as separate `lamina` processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.corpus import STAMPS, corpus_pdf
from tests.support.server_process import REPO, ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    # No --api-auth-token: the server generates DATA/api-auth-token, which the verbs read.
    running = ServerProcess(tmp_path / "data")
    running.start()
    yield running
    running.stop()


def lamina(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lamina.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_host_verbs_work_through_the_api_of_a_running_server(
    server: ServerProcess, tmp_path: Path
) -> None:
    secret_file = server.data_dir / "api-auth-token"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    remote = ["--server", server.url, "--data", str(server.data_dir)]
    added = lamina("doc", "add", str(corpus_pdf(STAMPS)), "--id", "c1", *remote)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "c1"
    listed = lamina("doc", "list", *remote)
    assert listed.returncode == 0 and listed.stdout.startswith("c1\t")
    admin = {"Authorization": f'Token token="{secret_file.read_text().strip()}"'}
    base = f"http://127.0.0.1:{server.port}"
    httpx.post(f"{base}/api/documents/c1/layers", json={"name": "alice"}, headers=admin)
    layers = lamina("doc", "layers", "c1", *remote)
    assert layers.stdout.split() == ["alice"]

    token = server.token("c1", jti="jti-7")
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{base}/api/documents/c1/document.json", headers=bearer).status_code == 200
    revoked = lamina("revoke", "jti-7", "--server", f"http://127.0.0.1:{server.port}",
                     "--api-auth-token", secret_file.read_text().strip())  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    assert httpx.get(f"{base}/api/documents/c1/document.json", headers=bearer).status_code == 401

    removed = lamina("doc", "remove", "c1", *remote)
    assert removed.returncode == 0, removed.stderr
    gone = lamina("doc", "layers", "c1", *remote)
    assert gone.returncode == 1 and "404" in gone.stderr and "c1" in gone.stderr
    wrong = lamina("doc", "list", "--server", server.url, "--api-auth-token", "nope")
    assert wrong.returncode == 1 and "401" in wrong.stderr
