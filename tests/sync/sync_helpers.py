"""Helpers for the sync tests: annotation content and connected in-memory clients."""

from __future__ import annotations

from typing import Any

from lamina.sync.client_session import ClientSession

from tests.support.in_memory_server import InMemoryServer, Link


def ink(x: float = 10, color: str = "#ff0000") -> dict[str, Any]:
    """Return a minimal ink annotation's Instant JSON content."""
    return {
        "type": "pspdfkit/ink",
        "v": 2,
        "pageIndex": 0,
        "bbox": [x, 10, 20, 20],
        "strokeColor": color,
        "lines": {"points": [[[x, 10], [x + 20, 30]]], "intensities": [[0.5, 0.5]]},
    }


def connected(server: InMemoryServer, name: str) -> tuple[ClientSession, Link]:
    """Return a new client connected to ``server``, with its handshake done."""
    client = ClientSession.new(f"client-{name}")
    link = server.connect(client, presence={"name": name})
    link.pump()
    return client, link
