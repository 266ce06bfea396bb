"""Shared fixtures: where the corpus is, and a Qt platform that needs no screen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CORPUS_PDFS = SHARED / "corpus" / "pdfs"
CORPUS_INSTANT_JSON = SHARED / "corpus" / "instant-json"


def corpus_pdf(prefix: str) -> Path:
    """Return the corpus PDF whose name starts with ``prefix``."""
    matches = sorted(CORPUS_PDFS.glob(f"{prefix}*.pdf"))
    if len(matches) != 1:
        raise LookupError(f"{len(matches)} corpus files start with {prefix!r}")
    return matches[0]


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
