"""Shared fixtures: where the corpus is, a home of its own, and no unexpected error logs.

The harnesses and fakes themselves live in :mod:`tests.support` (with their own tests); the
conftest files only wrap them in fixtures.
"""

from __future__ import annotations

import os

import pytest

from tests.support.corpus import CORPUS_INSTANT_JSON, CORPUS_PDFS, REPO, SHARED, corpus_pdf

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# pytester runs the log guard's own tests; log_guard fails a test on an unexpected ERROR log
# (fixtures ``fail_on_error_log`` and ``expect_error_log``, marker ``expect_error_log``).
# tests.support.postgres: fixtures ``postgres_cluster`` (one throw-away cluster a session) and
# ``postgres_url`` (a fresh database a test).
pytest_plugins = ("pytester", "tests.support.log_guard", "tests.support.postgres")

__all__ = ["CORPUS_INSTANT_JSON", "CORPUS_PDFS", "REPO", "SHARED", "corpus_pdf"]


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep every test's user data, config and logs out of the real home directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
