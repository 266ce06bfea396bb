"""The SQLite store's schema versions and its side of history compaction.

Schema versions: ``PRAGMA user_version`` counts the steps of :data:`UPGRADES` a database has
had (0: the first schema, which ``CREATE TABLE IF NOT EXISTS`` still makes). :func:`upgrade`
applies the missing ones in one ``BEGIN IMMEDIATE`` transaction, so two processes opening the
same data directory at once never apply a step twice; a database of a newer Lamina is
refused rather than misread (as :mod:`lamina.server.migrate_schema` does for PostgreSQL).

Compaction (:mod:`lamina.server.compaction`, where the rule lives): :class:`SqliteHistory`
is the part of :class:`~lamina.server.store_sqlite.SqliteStore` that reads a layer's
history facts and drops tombstones and change ids in batches, and reads what a layer
committed after a ``seq`` (:meth:`SqliteHistory.changes_after`, a cold catch-up's read).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from lamina.model.timestamps import utc_now_iso
from lamina.server.compaction import LayerHistory
from lamina.server.errors import StoreError
from lamina.server.store import LayerChanges, stored_record

UPGRADES: tuple[tuple[str, str], ...] = (
    (
        "applied change ids remember the seq and time they committed at, layers their "
        "compaction horizon; the replicas of each layer and the seq each acknowledged",
        """
        ALTER TABLE applied_changes ADD COLUMN seq INTEGER;
        ALTER TABLE applied_changes ADD COLUMN committed_at TEXT;
        UPDATE applied_changes SET seq = (SELECT l.seq FROM layers l
            WHERE l.document_id = applied_changes.document_id
            AND l.name = applied_changes.layer), committed_at = '{now}';
        CREATE INDEX applied_changes_by_seq ON applied_changes (document_id, layer, seq);
        CREATE INDEX records_tombstones ON records (document_id, layer, seq) WHERE deleted = 1;
        ALTER TABLE layers ADD COLUMN compacted_seq INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE replicas (
            document_id TEXT NOT NULL,
            layer TEXT NOT NULL,
            client_id TEXT NOT NULL,
            epoch TEXT NOT NULL,
            seq INTEGER NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (document_id, layer, client_id)
        );
        """,
    ),
)
"""Schema steps after the first, oldest first (step i makes ``user_version`` i + 1).
Append; never edit one that has shipped. Rows older than a step get the most cautious
values (a change id counts as committed at its layer's ``seq`` at the upgrade, now)."""
SCHEMA_VERSION = len(UPGRADES)


def upgrade(db: sqlite3.Connection, path: object) -> int:
    """Apply the steps of :data:`UPGRADES` the database lacks; return its version.

    Raises:
        StoreError: the database was made by a newer Lamina, or a step failed.
    """
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return SCHEMA_VERSION  # the usual case: a read, no write lock
        db.execute("BEGIN IMMEDIATE")
        try:
            current = int(db.execute("PRAGMA user_version").fetchone()[0])
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"the store {path} has schema version {current}, newer than this "
                    f"lamina's {SCHEMA_VERSION}: upgrade lamina"
                )
            for version in range(current, SCHEMA_VERSION):
                for statement in UPGRADES[version][1].format(now=utc_now_iso()).split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise StoreError(f"cannot upgrade the store {path}: {exc}") from exc
    return SCHEMA_VERSION


class SqliteHistory:
    """History compaction for :class:`~lamina.server.store_sqlite.SqliteStore`
    (:class:`lamina.server.compaction.CompactingStore`)."""

    _busy: threading.Lock
    _closed: bool
    path: Path

    def _db(self) -> sqlite3.Connection:  # pragma: no cover - the store's
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:  # pragma: no cover
        raise NotImplementedError

    @contextmanager
    def _open(self) -> Iterator[None]:
        # These run on worker threads: close() must not pull a connection from under them.
        with self._busy:
            if self._closed:
                raise StoreError(f"the store {self.path} is closed")
            try:
                yield
            except sqlite3.Error as exc:
                raise StoreError(f"store read failed: {exc}") from exc

    def note_replica(
        self, document_id: str, layer: str, epoch: str, client_id: str, seq: int
    ) -> None:
        """Remember that replica ``client_id`` of the layer has acknowledged ``seq``."""
        with self._open(), self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO replicas VALUES (?, ?, ?, ?, ?, ?)",
                (document_id, layer, client_id, epoch, seq, utc_now_iso()),
            )

    def changes_after(self, document_id: str, layer: str, seq: int) -> LayerChanges | None:
        """Return what a materialized layer committed after ``seq`` (None: not
        materialized), read in one snapshot by ``seq`` (the indexes ``records_by_seq`` and
        ``applied_changes_by_seq``: O(changes), never O(records))."""
        with self._open():
            db = self._db()
            db.execute("BEGIN")  # one snapshot: a commit never shows half
            try:
                row = db.execute(
                    "SELECT epoch, seq, compacted_seq FROM layers "
                    "WHERE document_id = ? AND name = ?",
                    (document_id, layer),
                ).fetchone()
                if row is None:
                    return None
                rows = db.execute(
                    "SELECT record_id, kind, rev, seq, content, deleted, creator_id, grp, "
                    "created_at, updated_at, field_revs FROM records "
                    "WHERE document_id = ? AND layer = ? AND seq > ? ORDER BY seq, rowid",
                    (document_id, layer, seq),
                ).fetchall()
                results = db.execute(
                    "SELECT change_id, result FROM applied_changes "
                    "WHERE document_id = ? AND layer = ? AND seq > ?",
                    (document_id, layer, seq),
                ).fetchall()
            finally:
                db.execute("COMMIT")
        return LayerChanges(
            epoch=row[0],
            seq=int(row[1]),
            records=tuple(
                stored_record(r[0], r[1], r[2], r[3], r[4], bool(r[5]), *r[6:11]) for r in rows
            ),
            change_results={cid: json.loads(result) for cid, result in results},
            history_from=int(row[2]),
        )

    def compactable_layers(self) -> list[tuple[str, str]]:
        """Return ``(document_id, layer)`` of every materialized layer."""
        with self._open():
            return [(d, n) for d, n in self._db().execute("SELECT document_id, name FROM layers")]

    def layer_history(self, document_id: str, layer: str, cutoff: str) -> LayerHistory | None:
        """Return the layer's history facts (replicas seen before ``cutoff`` left out)."""
        with self._open():
            return self._layer_history(self._db(), document_id, layer, cutoff)

    @staticmethod
    def _layer_history(
        db: sqlite3.Connection, document_id: str, layer: str, cutoff: str
    ) -> LayerHistory | None:
        db.execute("BEGIN")  # one snapshot for the facts
        try:
            row = db.execute(
                "SELECT epoch, seq, compacted_seq FROM layers WHERE document_id = ? AND name = ?",
                (document_id, layer),
            ).fetchone()
            if row is None:
                return None
            epoch, seq, compacted = row
            replicas = tuple(
                s
                for (s,) in db.execute(
                    "SELECT seq FROM replicas WHERE document_id = ? AND layer = ? AND epoch = ? "
                    "AND seen_at >= ?",
                    (document_id, layer, epoch, cutoff),
                )
            )
            # Walked from the newest seq down (the seq indexes): what it reads is what
            # was committed within the retention, not the whole layer.
            (expired,) = db.execute(
                "SELECT max(coalesce((SELECT seq FROM records WHERE document_id = ?1 "
                "AND layer = ?2 AND updated_at < ?3 ORDER BY seq DESC LIMIT 1), 0), "
                "coalesce((SELECT seq FROM applied_changes WHERE document_id = ?1 "
                "AND layer = ?2 AND committed_at < ?3 ORDER BY seq DESC LIMIT 1), 0))",
                (document_id, layer, cutoff),
            ).fetchone()
        finally:
            db.execute("COMMIT")
        return LayerHistory(epoch, int(seq), int(compacted), replicas, int(expired))

    def drop_history(
        self, document_id: str, layer: str, epoch: str, horizon: int, limit: int
    ) -> tuple[int, int]:
        """Drop up to ``limit`` tombstones and change ids at or below ``horizon`` and raise
        the layer's ``compacted_seq`` to it, in one transaction."""
        with self._open(), self._transaction() as db:
            moved = db.execute(
                "UPDATE layers SET compacted_seq = max(compacted_seq, ?) "
                "WHERE document_id = ? AND name = ? AND epoch = ?",
                (horizon, document_id, layer, epoch),
            ).rowcount
            if moved == 0:
                return 0, 0  # reset or removed since the facts were read
            key = (document_id, layer, horizon, limit)
            tombstones = db.execute(
                "DELETE FROM records WHERE rowid IN (SELECT rowid FROM records "
                "WHERE document_id = ? AND layer = ? AND deleted = 1 AND seq <= ? LIMIT ?)",
                key,
            ).rowcount
            change_ids = db.execute(
                "DELETE FROM applied_changes WHERE rowid IN (SELECT rowid FROM applied_changes "
                "WHERE document_id = ? AND layer = ? AND seq <= ? LIMIT ?)",
                key,
            ).rowcount
        return tombstones, change_ids

    def forget_replicas(self, cutoff: str) -> int:
        """Forget replicas last seen before ``cutoff``; return how many."""
        with self._open(), self._transaction() as db:
            return db.execute("DELETE FROM replicas WHERE seen_at < ?", (cutoff,)).rowcount

    def reclaim_space(self) -> None:
        """Truncate the file by the pages compaction freed (stores made since auto_vacuum
        was set: older files reuse their free pages instead)."""
        with self._open():
            # executescript steps it to the end (execute() would free one page).
            self._db().executescript("PRAGMA incremental_vacuum;")
