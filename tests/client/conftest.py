"""Real parts for client tests: a `lamina serve` process on loopback, the PDF bridge, helpers."""

from __future__ import annotations

import asyncio
import functools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lamina.auth import mint_token
from lamina.auth.invite import Invite
from lamina.auth.keys import KeyPair, load_or_create_keypair
from lamina.client.backoff import Backoff
from lamina.pdf.backend import PdfBackendImpl
from lamina.server.documents import add_document_file
from lamina.server.store import SqliteStore

from tests.conftest import corpus_pdf

STAMPS = "annot-stamps"
"""A one-page corpus PDF with five stamp annotations (the base layer)."""

FAST = Backoff(initial=0.05, maximum=0.3)
"""Reconnect quickly in tests (the real default waits up to 30 s)."""

NOTE: dict[str, Any] = {
    "type": "pspdfkit/note",
    "v": 2,
    "pageIndex": 0,
    "bbox": [10, 10, 32, 32],
    "text": {"format": "plain", "value": "hello"},
    "color": "#ffd700",
}


def note(text: str, **extra: Any) -> dict[str, Any]:
    """Return a sticky note record (no id: the client mints one)."""
    return {**NOTE, "text": {"format": "plain", "value": text}, **extra}


# The real PDF bridge behind the client's PdfBackend port: the one the desktop app uses.
PymupdfBackend = PdfBackendImpl


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`lamina serve` in a child process on a fixed loopback port; can be SIGKILLed."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.url = f"ws://127.0.0.1:{port}"
        self.keypair: KeyPair = load_or_create_keypair(data_dir)
        self.proc: subprocess.Popen[str] | None = None

    def add_document(self, prefix: str = STAMPS, document_id: str = "doc") -> str:
        store = SqliteStore(self.data_dir)
        try:
            return add_document_file(store, corpus_pdf(prefix), document_id).document_id
        finally:
            store.close()

    def start(self) -> None:
        assert self.proc is None
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "lamina.cli", "serve", "--data", str(self.data_dir)),
                *("--host", "127.0.0.1", "--port", str(self.port)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("lamina serve exited before listening")
            if re.search(r"listening on ws://", line):
                return
        raise RuntimeError("lamina serve did not start")

    def kill(self) -> None:
        """SIGKILL the server: no shutdown, no flush."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def invite(self, document_id: str = "doc", **claims: Any) -> Invite:
        return Invite(self.url, mint_token(self.keypair, document_id=document_id, **claims))

    def layer_records(self, document_id: str = "doc", layer: str = "") -> dict[str, Any]:
        """Read the live records of a layer straight from the server's SQLite store."""
        store = SqliteStore(self.data_dir)
        try:
            loaded = store.load_layer(document_id, layer)
            return {r.id: r.content for r in loaded.records if not r.deleted}
        finally:
            store.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A started server with the stamps PDF as document ``doc``."""
    running = ServerProcess(tmp_path / "server", free_port())
    running.add_document()
    running.start()
    yield running
    running.stop()


@pytest.fixture
def stopped_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server that is not running yet (its document is added)."""
    running = ServerProcess(tmp_path / "server", free_port())
    running.add_document()
    yield running
    running.stop()


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 30, what: str = "condition"
) -> None:
    """Poll ``check`` until it holds (never asserting a time, only a generous limit)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        await asyncio.sleep(0.02)


def async_test(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test function on a fresh event loop (no pytest-asyncio here)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(fn(*args, **kwargs), 240))

    return wrapper
