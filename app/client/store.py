"""The local store: one SQLite file per server + document + layer (or per standalone PDF).

It holds what a replica needs to open and be edited with no server (DESIGN §4 rule 6):

- ``meta``: the replica's identity and sync position (client id, last seq, layer epoch, server
  address, document id, layer, token, document hash, ...), one JSON value per key;
- ``records``: the last synced state of every record, in its wire form (sync §2.2);
- ``outbox``: unacknowledged changes in wire form (sync §4.1), in the order they were made;
- ``conflicts``: the user's losing versions (sync §6.4), with the winning version and the time;
- ``document``: the cached PDF bytes, verified by SHA-256 before they are stored.

Every write is one SQLite transaction in WAL mode with ``synchronous=FULL``, so a crash at any
point (``kill -9``, power loss) leaves either the state before or after the write, and the file
always opens. A write may run on the store's own thread (:meth:`LocalStore.write_behind`), so
that its fsync does not hold a GUI thread; every other use of the store waits for it first.
Values stay plain JSON here; :mod:`lamina.client.document` maps them to the sync core's types.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from lamina.auth.keys import private_sqlite_file
from lamina.client.errors import StoreError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id TEXT NOT NULL UNIQUE,
    record_id TEXT NOT NULL,
    change TEXT NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS conflicts (
    conflict_id TEXT PRIMARY KEY,
    record_id TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS document (sha256 TEXT PRIMARY KEY, data BLOB NOT NULL);
"""


def _schema_row(conn: sqlite3.Connection) -> tuple[str] | None:
    """Return the store's schema row, or None when the file has none yet (a new file)."""
    if (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        is None
    ):
        return None
    row: tuple[str] | None = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    return row


def default_store_dir() -> Path:
    """Return the directory of the client's local stores (in the user data directory)."""
    return Path(platformdirs.user_data_dir("lamina", appauthor=False)) / "client"


def store_path_for(store_dir: Path, *parts: str) -> Path:
    """Return the store file for a replica named by ``parts`` (server, document, layer).

    The name is a hash, so any server address or layer name gives a valid file name, and the
    same replica always maps to the same file.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
    return store_dir / f"{digest}.sqlite3"


@dataclass(frozen=True)
class StoredConflict:
    """One entry of the conflict list as stored: its id, record id, and JSON value."""

    conflict_id: str
    record_id: str
    value: Mapping[str, Any]


@dataclass(frozen=True)
class StoreSnapshot:
    """Everything a store holds except the PDF bytes, as loaded at open."""

    meta: Mapping[str, Any]
    records: Mapping[str, Mapping[str, Any]]
    outbox: tuple[Mapping[str, Any], ...]
    sent_change_ids: frozenset[str]
    conflicts: tuple[StoredConflict, ...]


_COMPACT = json.JSONEncoder(separators=(",", ":"))
"""The one encoder of stored rows (``json.dumps`` with options builds a new one per call)."""


def record_rows(states: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Return record states (wire form) as the rows :meth:`StoreWriter.put_record_rows`
    stores: encoded now, on the caller's thread, so the values may change afterwards."""
    return [(s["id"], _COMPACT.encode(s)) for s in states]


def change_rows(changes: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """Return changes (wire form) as the rows :meth:`StoreWriter.put_change_rows` stores."""
    return [(c["change_id"], c["record_id"], _COMPACT.encode(c)) for c in changes]


class StoreWriter:
    """The writes of one transaction (see :meth:`LocalStore.write`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def set_meta(self, key: str, value: Any) -> None:
        """Set one meta value (any JSON value)."""
        self._conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def put_records(self, states: Iterable[Mapping[str, Any]]) -> None:
        """Insert or replace synced record states (wire form, keyed by their ``id``)."""
        self.put_record_rows(record_rows(states))

    def put_record_rows(self, rows: Iterable[tuple[str, str]]) -> None:
        """Insert or replace records already encoded by :func:`record_rows`."""
        self._conn.executemany(
            "INSERT INTO records(id, state) VALUES(?, ?) "
            "ON CONFLICT(id) DO UPDATE SET state = excluded.state",
            rows,
        )

    def replace_records(self, states: Iterable[Mapping[str, Any]]) -> None:
        """Replace the whole synced replica (a snapshot, sync §3.3)."""
        self.replace_record_rows(record_rows(states))

    def replace_record_rows(self, rows: Iterable[tuple[str, str]]) -> None:
        """Replace the whole synced replica with records encoded by :func:`record_rows`."""
        self._conn.execute("DELETE FROM records")
        self.put_record_rows(rows)

    def put_changes(self, changes: Iterable[Mapping[str, Any]]) -> None:
        """Append changes to the outbox; a change id already there is replaced in place.

        Replacing keeps the change's position: the sync core merges an edit of an unsent
        change into it, and the merged change must still go out in the original order.
        """
        self.put_change_rows(change_rows(changes))

    def put_change_rows(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Append (or replace in place) changes already encoded by :func:`change_rows`."""
        self._conn.executemany(
            "INSERT INTO outbox(change_id, record_id, change) VALUES(?, ?, ?) "
            "ON CONFLICT(change_id) DO UPDATE SET change = excluded.change",
            rows,
        )

    def remove_changes(self, change_ids: Iterable[str]) -> None:
        """Remove acknowledged changes from the outbox."""
        self._conn.executemany("DELETE FROM outbox WHERE change_id = ?", [(c,) for c in change_ids])

    def mark_sent(self, change_ids: Iterable[str]) -> None:
        """Remember that these changes went to the server at least once (never merge them)."""
        self._conn.executemany(
            "UPDATE outbox SET sent = 1 WHERE change_id = ?", [(c,) for c in change_ids]
        )

    def delete_records(self, record_ids: Iterable[str]) -> None:
        """Remove records from the synced replica."""
        self._conn.executemany("DELETE FROM records WHERE id = ?", [(r,) for r in record_ids])

    def clear_outbox(self) -> None:
        """Remove every change from the outbox."""
        self._conn.execute("DELETE FROM outbox")

    def add_conflict(self, conflict: StoredConflict) -> None:
        """Add (or replace) an entry of the conflict list."""
        self._conn.execute(
            "INSERT OR REPLACE INTO conflicts(conflict_id, record_id, value) VALUES(?, ?, ?)",
            (conflict.conflict_id, conflict.record_id, json.dumps(conflict.value)),
        )

    def remove_conflict(self, conflict_id: str) -> None:
        """Remove an entry of the conflict list."""
        self._conn.execute("DELETE FROM conflicts WHERE conflict_id = ?", (conflict_id,))

    def put_document(self, data: bytes, sha256: str) -> None:
        """Store the PDF bytes, after checking them against ``sha256``.

        Raises:
            StoreError: the bytes do not have that hash (nothing is stored).
        """
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise StoreError(f"document hash mismatch: expected {sha256}, got {actual}")
        self._conn.execute("DELETE FROM document")
        self._conn.execute("INSERT INTO document(sha256, data) VALUES(?, ?)", (sha256, data))


class LocalStore:
    """One replica's SQLite store. Use :meth:`open`; close with :meth:`close`."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        # The connection is used by the caller's thread and the store's own thread (writes
        # behind), one at a time.
        self._lock = threading.RLock()
        self._behind: concurrent.futures.ThreadPoolExecutor | None = None
        self._last_behind: concurrent.futures.Future[None] | None = None

    @classmethod
    def open(cls, path: Path) -> LocalStore:
        """Open (creating if needed) the store at ``path``.

        Raises:
            StoreError: the file is not a Lamina store, or is from a newer version.
        """
        try:
            # DESIGN §5: the store holds the bearer token: 0600 in a 0700 directory.
            private_sqlite_file(path)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open local store {path}: {exc}") from exc
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL makes each commit durable in WAL mode, not only consistent.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=5000")
            row = _schema_row(conn)
            if row is None:
                # A new file: create it in one write transaction. An existing store is only
                # read here, so opening never waits for (or starves behind) another writer.
                # OR IGNORE: another window or process may be creating the same store now.
                conn.executescript(
                    f"BEGIN IMMEDIATE;{_SCHEMA}INSERT OR IGNORE INTO meta(key, value) "
                    f"VALUES('schema', '{SCHEMA_VERSION}');COMMIT;"
                )
                row = _schema_row(conn)
            if row is None:
                raise StoreError(f"{path} is not a usable local store: it has no schema row")
            if json.loads(row[0]) > SCHEMA_VERSION:
                raise StoreError(
                    f"local store {path} is from a newer lamina (schema {row[0]}, "
                    f"this one reads {SCHEMA_VERSION})"
                )
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"{path} is not a usable local store: {exc}") from exc
        except StoreError:
            conn.close()
            raise
        return cls(path, conn)

    def close(self) -> None:
        """Close the file once the writes behind have ended; every committed write is on disk."""
        self.drain()
        if self._behind is not None:
            self._behind.shutdown(wait=True)
            self._behind = None
        with self._lock:
            self._conn.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[StoreWriter]:
        """Group writes into one atomic, durable transaction (after the writes behind).

        Raises:
            StoreError: the write failed (disk full, I/O error); nothing of it is kept.
        """
        self.drain()
        with self._transaction() as writer:
            yield writer

    def write_behind(self, fill: Callable[[StoreWriter], None]) -> concurrent.futures.Future[None]:
        """Run ``fill`` in one transaction, as :meth:`write`, on the store's own thread.

        Returns at once; the future is done when the transaction is durable, or failed with
        its :class:`StoreError`, and cannot be cancelled. Writes behind run in the order
        given, and every other use of the store (a write, a read, closing) waits for those
        given before it. ``fill`` runs on that thread: it must only write values it owns
        (see :func:`record_rows`).
        """
        if self._behind is None:
            self._behind = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="lamina-store"
            )

        # Handed out already running, so nobody can cancel it: a waiter that gives up
        # (asyncio.wrap_future cancels what it wraps when its task is cancelled) must not
        # take back a write the caller counts as given. The executor's own future stays here.
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        done.set_running_or_notify_cancel()

        def run() -> None:
            try:
                with self._transaction() as writer:
                    fill(writer)
            except BaseException as exc:
                done.set_exception(exc)
            else:
                done.set_result(None)

        self._behind.submit(run)
        self._last_behind = done
        return done

    def drain(self) -> None:
        """Wait until every write behind given so far has ended (durable or failed)."""
        last = self._last_behind
        if last is not None:
            concurrent.futures.wait([last])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[StoreWriter]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot write local store {self.path}: {exc}") from exc
            try:
                yield StoreWriter(self._conn)
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreError(f"cannot write local store {self.path}: {exc}") from exc
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        # SQLite rolls back by itself on some errors (SQLITE_FULL): ROLLBACK would then fail.
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        self.drain()
        with self._lock:
            yield self._conn

    def load(self) -> StoreSnapshot:
        """Read everything but the PDF bytes."""
        with self._reading():
            return self._load()

    def _load(self) -> StoreSnapshot:
        try:
            meta = {k: json.loads(v) for k, v in self._conn.execute("SELECT key, value FROM meta")}
            records = {
                k: json.loads(v) for k, v in self._conn.execute("SELECT id, state FROM records")
            }
            rows = self._conn.execute(
                "SELECT change, sent FROM outbox ORDER BY position"
            ).fetchall()
            outbox = tuple(json.loads(v) for v, _ in rows)
            sent = frozenset(
                c["change_id"] for c, (_, flag) in zip(outbox, rows, strict=True) if flag
            )
            conflicts = tuple(
                StoredConflict(cid, rid, json.loads(v))
                for cid, rid, v in self._conn.execute(
                    "SELECT conflict_id, record_id, value FROM conflicts ORDER BY rowid"
                )
            )
        except (sqlite3.Error, json.JSONDecodeError) as exc:
            raise StoreError(f"cannot read local store {self.path}: {exc}") from exc
        return StoreSnapshot(meta, records, outbox, sent, conflicts)

    def meta(self, key: str, default: Any = None) -> Any:
        """Return one meta value, or ``default``."""
        with self._reading() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def outbox_size(self) -> int:
        """Return how many changes wait for acknowledgement."""
        with self._reading() as conn:
            (count,) = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count)

    def document_sha256(self) -> str | None:
        """Return the SHA-256 of the cached PDF without reading its bytes, or None."""
        with self._reading() as conn:
            row = conn.execute("SELECT sha256 FROM document").fetchone()
        return None if row is None else str(row[0])

    def document(self) -> tuple[bytes, str] | None:
        """Return the cached PDF bytes and their SHA-256, or None when not downloaded."""
        with self._reading() as conn:
            row = conn.execute("SELECT data, sha256 FROM document").fetchone()
        return None if row is None else (bytes(row[0]), str(row[1]))
