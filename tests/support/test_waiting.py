"""Waiting helpers: ``eventually`` polls until a condition holds or fails naming it."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.waiting import async_test, eventually


def test_eventually_returns_once_a_plain_or_awaitable_check_holds() -> None:
    calls: list[int] = []

    def plain() -> bool:
        calls.append(1)
        return len(calls) >= 3

    async def awaitable() -> bool:
        await asyncio.sleep(0)
        return True

    async def scenario() -> None:
        await eventually(plain)
        await eventually(awaitable)

    asyncio.run(scenario())
    assert len(calls) == 3


def test_eventually_fails_naming_what_did_not_happen() -> None:
    with pytest.raises(AssertionError, match=r"the moon did not happen within 0\.05 s"):
        asyncio.run(eventually(lambda: False, timeout=0.05, what="the moon"))


def test_async_test_runs_the_coroutine_and_lets_its_failure_through() -> None:
    ran: list[str] = []

    @async_test
    async def passing(word: str) -> None:
        await asyncio.sleep(0)
        ran.append(word)

    @async_test
    async def failing() -> None:
        raise AssertionError("inside")

    passing("hello")
    assert ran == ["hello"]
    assert passing.__name__ == "passing"
    with pytest.raises(AssertionError, match="inside"):
        failing()
