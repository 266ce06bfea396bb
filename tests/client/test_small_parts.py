"""Small parts of the client: backoff, bad input."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from lamina.auth.errors import InviteError
from lamina.client.backoff import Backoff
from lamina.client.document import LaminaDocument
from lamina.client.errors import StoreError

from tests.client.conftest import async_test


def test_backoff_grows_then_caps_and_is_jittered() -> None:
    backoff = Backoff(initial=0.5, maximum=8.0)
    rng = random.Random(1)
    delays = [backoff.delay(n, rng) for n in range(12) for _ in range(50)]
    assert all(0 <= d <= 8.0 for d in delays)
    first = [backoff.delay(0, rng) for _ in range(100)]
    assert max(first) <= 0.5
    assert len({round(d, 6) for d in first}) > 90  # jitter: clients do not retry in lockstep


@async_test
async def test_bad_invite_and_missing_store_give_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(InviteError, match="not a lamina invite link"):
        await LaminaDocument.open_invite("https://example.org", store_dir=tmp_path)
    with pytest.raises(StoreError, match="no local store"):
        await LaminaDocument.open_store(tmp_path / "missing.sqlite3")
