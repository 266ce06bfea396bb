"""Presence spans `lamina serve --database` processes (DESIGN §8, protocol §8.1): a client on
one process sees who is on the same layer through another, sees them change, leave, and go
when their process dies (within the expiry bound)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lamina.server.presence_postgres import LOST_WITHIN

from tests.support.corpus import STAMPS
from tests.support.protocol_client import Client, join, run
from tests.support.server_process import ServerProcess

Names = Callable[[dict[str, dict[str, Any]]], bool]


async def _presence_until(client: Client, holds: Names, timeout: float = 30) -> None:
    """Read ``client``'s frames until a presence list (by name) satisfies ``holds``."""
    for frame in reversed(client.received):
        if frame["type"] == "presence":
            if holds({c["name"]: c for c in frame["clients"]}):
                return
            break
    while True:
        frame = await client.recv_type("presence", timeout=timeout)
        if holds({c["name"]: c for c in frame["clients"]}):
            return


def test_presence_spans_processes_and_leaves_with_the_client_or_its_process(
    tmp_path: Path, postgres_url: str
) -> None:
    one = ServerProcess(tmp_path / "data", database=postgres_url)
    doc = one.add_document(STAMPS, "doc")
    two = ServerProcess(tmp_path / "data", database=postgres_url)
    one.start()
    two.start()
    gone_after: list[float] = []
    try:

        async def scenario() -> None:
            ann, _, _ = await join(one.sync_url, one.token(doc, user_id="ann"), name="Ann")
            bob, _, _ = await join(two.sync_url, two.token(doc, user_id="bob"), name="Bob")
            both = {"Ann", "Bob"}
            await _presence_until(ann, lambda c: set(c) == both)
            await _presence_until(bob, lambda c: set(c) == both)
            # A change of presence on process two reaches process one.
            await bob.send({"type": "presence", "state": {"name": "Bob", "page": 3}})
            await _presence_until(ann, lambda c: c.get("Bob", {}).get("state", {}).get("page") == 3)
            # Another layer's presence stays on its layer.
            other, _, _ = await join(
                two.sync_url, two.token(doc, user_id="dee", layer="other"), name="Dee"
            )
            # A client that joins and leaves process two comes and goes on process one.
            cy, _, _ = await join(two.sync_url, two.token(doc, user_id="cy"), name="Cy")
            await _presence_until(ann, lambda c: set(c) == {"Ann", "Bob", "Cy"})
            await cy.ws.close()
            await _presence_until(ann, lambda c: set(c) == both)
            assert not any(
                "Dee" in {c["name"] for c in f["clients"]}
                for f in ann.received
                if f["type"] == "presence"
            )
            await other.ws.close()
            # Process two dies: its clients leave process one's list within the expiry.
            killed = time.monotonic()
            two.kill()
            await _presence_until(ann, lambda c: set(c) == {"Ann"}, timeout=LOST_WITHIN * 3)
            gone_after.append(time.monotonic() - killed)

        run(scenario())
    finally:
        one.stop()
        two.stop()
    print(f"a killed process's clients left the presence list after {gone_after[0]:.1f} s")
