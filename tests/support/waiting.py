"""Waiting in async tests without asserting a time: poll a condition, bound a whole test."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

TEST_LIMIT = 240.0
"""Seconds an :func:`async_test` may run before it fails (generous: the machine is shared)."""


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 30, what: str = "condition"
) -> None:
    """Poll ``check`` until it holds (never asserting a time, only a generous limit).

    ``check`` may return a bool or an awaitable of one.

    Raises:
        AssertionError: ``check`` did not hold within ``timeout`` seconds (names ``what``).
    """
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
        asyncio.run(asyncio.wait_for(fn(*args, **kwargs), TEST_LIMIT))

    return wrapper
