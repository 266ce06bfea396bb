"""A fake at the edge: a real SQLite store whose disk fills up when the test says so."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from lamina.server.store import LayerWrite, SqliteStore


class FillingDisk(SqliteStore):
    """A real SQLite store whose file can be capped at its current size on demand.

    ``PRAGMA max_page_count`` makes SQLite itself fail the next growing write with
    SQLITE_FULL ("database or disk is full"), exactly as a full disk does.

    Attributes:
        fail_next: how many of the next commits fail (each then resets the cap).
        entered: set when a failing commit starts (before it waits for ``gate``).
        gate: a failing commit waits for it (up to 10 s), so a test can queue writes behind
            it; set by default.
    """

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, synchronous="FULL")
        self.fail_next = 0
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.gate.set()

    def commit(self, writes: Sequence[LayerWrite]) -> None:
        """Commit as SQLite does, or, while ``fail_next`` counts, fail as a full disk does."""
        if self.fail_next <= 0:
            super().commit(writes)
            return
        self.fail_next -= 1
        self.entered.set()
        self.gate.wait(10)
        db = self._db()
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
        try:
            super().commit(writes)
        finally:
            db.execute("PRAGMA max_page_count = 4294967294")
