"""wait_for_state returns or raises: it never hangs once the connection stopped for good.

README's review_layers.py waited for ONLINE forever when the server refused the invite
(issue 14 defect 11).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from lamina.auth import mint_token
from lamina.auth.invite import Invite
from lamina.client.document import LaminaDocument
from lamina.client.errors import ConnectionFailedError
from lamina.client.events import ConnectionState

from tests.client.conftest import FAST, ServerProcess, async_test


@async_test
async def test_waiting_for_online_raises_when_the_server_refuses_the_invite(
    server: ServerProcess, tmp_path: Path
) -> None:
    token = mint_token(server.keypair, document_id="doc", now=time.time() - 30 * 24 * 3600)
    doc = await LaminaDocument.open_invite(
        Invite(server.url, token), store_dir=tmp_path / "a", backoff=FAST
    )
    try:
        with pytest.raises(ConnectionFailedError, match=r"stopped: .*new invite"):
            await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
        await asyncio.wait_for(doc.wait_for_state(ConnectionState.STOPPED), 5)  # returns
    finally:
        await doc.close()


@async_test
async def test_waiting_for_online_still_returns_on_a_good_invite(
    server: ServerProcess, tmp_path: Path
) -> None:
    doc = await LaminaDocument.open_invite(server.invite(), store_dir=tmp_path / "b", backoff=FAST)
    try:
        await asyncio.wait_for(doc.wait_for_state(ConnectionState.ONLINE), 30)
    finally:
        await doc.close()
