"""Files that hold tokens or records are 0600 in 0700 directories (issue 11 defect 16)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lamina.client.store import LocalStore
from lamina.server.store_sqlite import SqliteStore


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_server_database_is_0600_in_a_0700_data_directory_16(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        store = SqliteStore(tmp_path / "data")
        store.revoke("some-jti")  # a write: the WAL file exists now
        files = [store.path, *store.path.parent.glob(store.path.name + "-*")]
        modes = {p.name: _mode(p) for p in files}
        store.close()
    finally:
        os.umask(old)
    assert _mode(tmp_path / "data") == 0o700
    assert modes and set(modes.values()) == {0o600}, modes


def test_the_client_store_with_the_bearer_token_is_0600_in_a_0700_directory_16(
    tmp_path: Path,
) -> None:
    old = os.umask(0o022)
    try:
        store = LocalStore.open(tmp_path / "client" / "review.sqlite")
        files = list((tmp_path / "client").iterdir())
        modes = {p.name: _mode(p) for p in files}
        store.close()
    finally:
        os.umask(old)
    assert _mode(tmp_path / "client") == 0o700
    assert set(modes.values()) == {0o600}, modes
