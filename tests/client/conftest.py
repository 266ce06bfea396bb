"""Real parts for client tests: a `lamina serve` process on loopback, the PDF bridge, helpers.

The harness (:class:`~tests.support.server_process.ServerProcess`) and the waiting helpers
live in :mod:`tests.support`; they are re-exported here for the tests that import them from
this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lamina.client.backoff import Backoff
from lamina.pdf.backend import PdfBackendImpl

from tests.support.corpus import STAMPS
from tests.support.server_process import ServerProcess, free_port
from tests.support.waiting import async_test, eventually

__all__ = ["STAMPS", "ServerProcess", "async_test", "eventually", "free_port"]

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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A started server with the stamps PDF as document ``doc`` (restarts keep its port)."""
    running = ServerProcess(tmp_path / "server")
    running.add_document()
    running.start()
    yield running
    running.stop()


@pytest.fixture
def stopped_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server that is not running yet (its document is added; its port is chosen)."""
    running = ServerProcess(tmp_path / "server", free_port())
    running.add_document()
    yield running
    running.stop()
