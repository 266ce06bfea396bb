"""The log guard: an unexpected ERROR log fails the test; an expected one is declared."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

import pytest

from tests.support.corpus import STAMPS, corpus_pdf
from tests.support.log_guard import LogGuard
from tests.support.waiting import async_test

log = logging.getLogger("tests.support.example")


def _collect(guard: LogGuard) -> None:
    guard.install()
    try:
        log.warning("only a warning")
        log.error("disk %s is full", "sda")
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            log.exception("callback failed")
        worker = threading.Thread(target=log.critical, args=("from a worker",))
        worker.start()
        worker.join()
    finally:
        guard.uninstall()
    log.error("after uninstall")


def test_errors_from_any_thread_are_reported_with_their_traceback(
    fail_on_error_log: LogGuard,
) -> None:
    guard = LogGuard()
    _collect(guard)
    failure = guard.take_failure()
    assert failure is not None
    assert failure.startswith("3 unexpected log record(s) at ERROR or above")
    assert "ERROR tests.support.example: disk sda is full" in failure
    assert "ERROR tests.support.example: callback failed\nTraceback" in failure
    assert "ZeroDivisionError: division by zero" in failure
    assert "CRITICAL tests.support.example: from a worker" in failure
    assert "only a warning" not in failure and "after uninstall" not in failure
    assert guard.take_failure() is None  # reported once
    # This test's own guard saw them too; they were this test's point.
    assert fail_on_error_log.take_failure() is not None


def test_expected_patterns_let_matching_records_through(fail_on_error_log: LogGuard) -> None:
    guard = LogGuard()
    guard.expect(r"disk \w+ is full")
    guard.expect(r"ZeroDivisionError")  # searched in the traceback too
    _collect(guard)
    failure = guard.take_failure()
    assert failure is not None and failure.startswith("1 unexpected")
    assert "from a worker" in failure
    fail_on_error_log.take_failure()


@pytest.mark.expect_error_log(r"tests\.support\.example: declared by marker")
def test_the_marker_declares_an_expected_error(expect_error_log: object) -> None:
    log.error("declared by marker")


def test_the_fixture_declares_an_expected_error(expect_error_log: object) -> None:
    assert callable(expect_error_log)
    expect_error_log(r"declared by fixture")
    log.error("declared by fixture")


INNER = """
import logging
import pytest

def test_logs_an_error():
    logging.getLogger("inner").error("nobody expected this")

@pytest.mark.expect_error_log("expected here")
def test_logs_an_expected_error():
    logging.getLogger("inner").error("expected here")

def test_logs_a_warning():
    logging.getLogger("inner").warning("just a warning")

@pytest.fixture
def noisy_teardown():
    yield
    logging.getLogger("inner").error("while tearing down")

def test_teardown_logs(noisy_teardown):
    pass
"""


def test_a_test_that_logs_an_unexpected_error_fails(
    pytester: pytest.Pytester, expect_error_log: object
) -> None:
    # The inner session logs into this process's root logger too: this test expects it.
    assert callable(expect_error_log)
    expect_error_log(r"inner: (nobody expected this|expected here|while tearing down)")
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_inprocess(
        "-p", "tests.support.log_guard", "-p", "no:cacheprovider", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=3, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*FAILED test_inner.py::test_logs_an_error*",
            "*ERROR test_inner.py::test_teardown_logs*while tearing down*",
        ]
    )
    assert "ERROR inner: nobody expected this" in result.stdout.str()


@async_test
async def test_a_subscriber_exception_swallowed_by_the_document_is_reported(
    tmp_path: Path, fail_on_error_log: LogGuard
) -> None:
    from lamina.client.document import LaminaDocument
    from lamina.pdf.backend import PdfBackendImpl

    pdf = tmp_path / "review.pdf"
    shutil.copyfile(corpus_pdf(STAMPS), pdf)
    doc = await LaminaDocument.open_local(
        pdf, pdf_backend=PdfBackendImpl(), store_dir=tmp_path / "store"
    )
    try:

        def broken(event: object) -> None:
            raise RuntimeError("the UI bridge crashed")

        doc.subscribe(broken)
        doc.create(
            {
                "type": "pspdfkit/note",
                "v": 2,
                "pageIndex": 0,
                "bbox": [10, 10, 32, 32],
                "text": {"format": "plain", "value": "hello"},
            }
        )
    finally:
        await doc.close()
    failure = fail_on_error_log.take_failure()
    assert failure is not None
    assert "event subscriber" in failure
    assert "RuntimeError: the UI bridge crashed" in failure
