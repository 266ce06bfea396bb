"""Fail a test that logs an unexpected record at ERROR or above (qutebrowser's rule).

Every test runs under a :class:`LogGuard` (the autouse fixture ``fail_on_error_log``, which
``tests/conftest.py`` takes from here). Any record at ERROR or CRITICAL that reaches the root
logger while the test runs -- from any thread, including the server's loop thread and the
records :class:`~tests.support.server_process.ServerProcess` reads back from its child --
fails the test, with the record's text and traceback. In particular a subscriber exception
that ``LaminaDocument._emit`` catches and logs with ``logger.exception`` fails the test that
caused it, instead of scrolling past.

A test that expects an error log says so, with a regular expression searched (``re.search``)
in the record's text (``"LEVEL logger: message"`` followed by the traceback, if any)::

    @pytest.mark.expect_error_log(r"event subscriber .* failed")
    def test_a_broken_subscriber_does_not_stop_sync(...): ...

    def test_store_failure(expect_error_log):
        expect_error_log(r"lamina\\.server: commit failed")
        ...

Declared patterns allow matching records; they do not require them (a race may or may not
log). Records logged during the test's call fail it as a test failure; records logged while
fixtures tear down fail it as an error at teardown.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator

import pytest

MARKER = "expect_error_log"


def record_text(record: logging.LogRecord) -> str:
    """Return ``"LEVEL logger: message"`` and, if the record carries one, its traceback."""
    text = f"{record.levelname} {record.name}: {record.getMessage()}"
    if record.exc_info:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    elif record.exc_text:
        text += "\n" + record.exc_text
    if record.stack_info:
        text += "\n" + record.stack_info
    return text


class LogGuard(logging.Handler):
    """Collect ERROR and CRITICAL records from the root logger; report the unexpected ones.

    Install with :meth:`install`, declare what a test expects with :meth:`expect`, then ask
    :meth:`take_failure` for the text of every record no pattern matched (``None`` if none).
    Thread-safe: servers and workers log from their own threads.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self._patterns: list[re.Pattern[str]] = []
        self._unexpected: list[str] = []
        self._seen_lock = threading.Lock()

    def expect(self, pattern: str) -> None:
        """Allow records whose text matches ``pattern`` (a regular expression, ``re.search``)."""
        with self._seen_lock:
            self._patterns.append(re.compile(pattern))

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record's text unless an expected pattern matches it."""
        text = record_text(record)
        with self._seen_lock:
            if not any(p.search(text) for p in self._patterns):
                self._unexpected.append(text)

    def install(self) -> None:
        """Start collecting from the root logger."""
        logging.getLogger().addHandler(self)

    def uninstall(self) -> None:
        """Stop collecting."""
        logging.getLogger().removeHandler(self)

    def take_failure(self) -> str | None:
        """Return the report of the unexpected records so far and forget them (or ``None``)."""
        with self._seen_lock:
            found, self._unexpected = self._unexpected, []
        if not found:
            return None
        shown = "\n\n".join(found)
        return (
            f"{len(found)} unexpected log record(s) at ERROR or above (declare an expected one "
            f"with @pytest.mark.{MARKER}(PATTERN) or the {MARKER} fixture):\n\n{shown}"
        )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (``--strict-markers`` knows it)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*patterns): the test may log records at ERROR or above whose text matches "
        "one of the regular expressions (tests/support/log_guard.py)",
    )


@pytest.fixture(autouse=True)
def fail_on_error_log(request: pytest.FixtureRequest) -> Iterator[LogGuard]:
    """Fail the test if it logs an unexpected record at ERROR or above (see the module)."""
    guard = LogGuard()
    for mark in request.node.iter_markers(MARKER):
        for pattern in mark.args:
            guard.expect(pattern)
    guard.install()
    try:
        yield guard
    finally:
        guard.uninstall()
    failure = guard.take_failure()
    if failure is not None:
        pytest.fail(f"while tearing down: {failure}", pytrace=False)


@pytest.fixture
def expect_error_log(fail_on_error_log: LogGuard) -> Callable[[str], None]:
    """Return the function that declares an expected error log: ``expect_error_log(PATTERN)``."""
    return fail_on_error_log.expect


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test that passed but logged an unexpected error (as a failure, not an error)."""
    result = yield
    guard = getattr(item, "funcargs", {}).get("fail_on_error_log")
    if isinstance(guard, LogGuard):
        failure = guard.take_failure()
        if failure is not None:
            pytest.fail(failure, pytrace=False)
    return result
