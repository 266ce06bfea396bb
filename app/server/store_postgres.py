"""The shared store: :class:`PostgresStore`, everything in one PostgreSQL database (DESIGN §8).

Several server processes (on one machine or many) can serve the same documents from one
database: documents, base layers, layer records, applied change ids, revocations, sequence
numbers and the PDF assets all live in it, so any process can serve any document.

Sequence numbers: the room prepares a write on top of the layer ``seq`` it knows
(:attr:`LayerWrite.base_seq`); :meth:`PostgresStore.commit` moves the layer row from that
``seq`` to the new one with ``UPDATE ... WHERE seq = base_seq`` inside the committing
transaction. The row lock makes a concurrent committer wait, and PostgreSQL re-checks the
condition on the row it committed, so when another process advanced the layer first the
update matches nothing and the whole transaction fails with :class:`LayerAdvancedError`:
two processes never hand out the same ``seq``. A commit returns only after PostgreSQL has
committed (``synchronous_commit`` as the server is configured), and the writer acknowledges
only after :meth:`commit` returns; a connection lost mid-commit raises :class:`StoreError`,
so no ack is sent for what may not have committed.

PDF assets are ``bytea`` in an ``assets`` table keyed by SHA-256, not large objects: a PDF is
read whole anyway (:meth:`read_asset`), bytea is written in the document's own transaction
(no orphaned objects to ``lo_unlink``), is copied by ``pg_dump`` and logical replication like
any row, and needs no large-object privileges; its 1 GB limit is far above any PDF the server
accepts. The column's storage is ``EXTERNAL`` (out of line, not compressed): PDFs are already
compressed, so TOAST's compression would only burn CPU.

Driver: psycopg 3 with a synchronous connection per thread, chosen by measurement
(``bench/store_drivers.py``: PostgreSQL 15 with ``fsync=on`` on the shared 2-core machine,
median of 3 interleaved rounds, changes/s committed):

- psycopg 3 sync (pipelined, this store): 282 for 1,000 one-change commits, 4,145 for 100
  commits of 50 changes;
- psycopg 3 async: 229 and 3,709;
- asyncpg 0.32: 198 and 3,499.

Rounds on the loaded machine vary up to 2x, so the drivers are close; psycopg sync had the
best median in both shapes. Each commit waits for PostgreSQL's WAL flush, which dominates;
a commit is one round trip (:meth:`PostgresStore.commit`). The server's writer commits on
its own thread (:mod:`lamina.server.writer`), where a blocking driver fits; an async driver
would need an event loop on that thread, or every commit handed to the server's loop and back.

The schema is created and upgraded by the store itself when it opens
(:mod:`lamina.server.migrate_schema`: versioned steps, a ``lamina_schema_version`` table).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from lamina.model.ids import RecordId
from lamina.model.timestamps import utc_now_iso
from lamina.server.commit_postgres import (
    COMMIT_CALL,
    COMMIT_PROCEDURE_ERROR,
    advance_layers,
    one_call_payload,
    write_records,
)
from lamina.server.errors import DocumentExistsError, DocumentNotFoundError, StoreError
from lamina.server.history_postgres import (
    LAYER_ROW,
    RECORD_COLUMNS,
    PostgresHistory,
    record_from_row,
)
from lamina.server.migrate_schema import migrate_schema
from lamina.server.pq_loop import LoopConnection, StatementError
from lamina.server.store import (
    DocumentInfo,
    LayerInfo,
    LayerWrite,
    LoadedLayer,
    SharedStrings,
    StoredJson,
    check_document_id,
    new_epoch,
)
from lamina.sync.json_text import dumps
from lamina.sync.state import RecordState
from ulid import ULID

logger = logging.getLogger("lamina.server")

NOTIFY_CHANNEL = "lamina_commits"
"""A layer's first commit (``seq`` 1) notifies ``[document_id, layer, seq, origin]`` (JSON) on
this channel too: every process tells its clients of a newly listed layer (§4.8)."""
COMMIT_CHANNEL_PREFIX = "lamina_c_"


def commit_channel(document_id: str, layer: str) -> str:
    """Return the channel a layer's commits notify ``[document_id, layer, seq, origin]`` on.

    One channel per layer, so a process hears only the layers it has rooms for (it LISTENs
    to those): with one channel for all, every process read and parsed every commit of
    every process. A digest, since a channel is an identifier of at most 63 bytes; two
    layers sharing one only cost a note that the payload shows is for the other.
    """
    digest = hashlib.blake2b(f"{document_id}\0{layer}".encode(), digest_size=12).hexdigest()
    return COMMIT_CHANNEL_PREFIX + digest


LAYERS_CHANNEL = "lamina_layers"
"""A layer was created or forgotten: the document's id (listeners announce its layers)."""
REVOKE_CHANNEL = "lamina_revocations"
"""Every revocation notifies this channel (empty payload: listeners read the table again)."""


class PostgresStore(PostgresHistory):
    """The store of several server processes: one PostgreSQL database.

    Args:
        url: a libpq connection string or ``postgresql://`` URL.

    Raises:
        StoreError: cannot connect, or the schema cannot be brought up to date.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.origin = str(ULID())
        """This store's id in its commit notifications (a process skips its own)."""
        self._local = threading.local()
        self._connections: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._closed = False
        self._on_loop: LoopConnection | None = None
        try:
            self.schema_version = migrate_schema(self._db())
        except psycopg.Error as exc:
            self.close()
            raise StoreError(f"cannot prepare the database: {exc}") from exc

    def __repr__(self) -> str:
        return f"PostgresStore({psycopg.conninfo.make_conninfo(self.url, password='')!r})"

    # --- connections ----------------------------------------------------------------------

    def _db(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "db", None)
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        if self._closed:
            raise StoreError("the store is closed")
        try:
            # autocommit: reads run outside transactions; writes open one explicitly.
            conn = psycopg.connect(self.url, autocommit=True, application_name="lamina")
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}") from exc
        self._local.db = conn
        with self._lock:
            self._connections = [c for c in self._connections if not c.closed]
            self._connections.append(conn)
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        conn = self._db()
        try:
            with conn.transaction():
                yield conn
        except psycopg.Error as exc:
            # A lost connection (server restart, terminated backend) is dropped here and
            # reopened by the next call; psycopg has rolled back what it could.
            raise StoreError(f"store write failed: {exc}") from exc

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db().execute(sql.encode(), params).fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"store read failed: {exc}") from exc

    def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL makes each commit durable itself."""

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            self._closed = True
            if self._on_loop is not None:
                self._on_loop.close()
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # --- documents and assets -------------------------------------------------------------

    def add_document(
        self,
        document_id: str,
        pdf_bytes: bytes,
        *,
        page_count: int,
        filename: str,
        base_records: Sequence[RecordState],
    ) -> DocumentInfo:
        """Store a PDF asset (once per content) and its base layer.

        Raises:
            DocumentExistsError: the id is taken.
        """
        info = DocumentInfo(
            document_id=check_document_id(document_id),
            sha256=hashlib.sha256(pdf_bytes).hexdigest(),
            size=len(pdf_bytes),
            page_count=page_count,
            filename=filename,
            added_at=utc_now_iso(),
            epoch=new_epoch(),
            base_record_count=len(base_records),
        )
        self.import_document(info, pdf_bytes, base_records)
        return info

    def import_document(
        self, info: DocumentInfo, pdf_bytes: bytes, base_records: Sequence[RecordState]
    ) -> None:
        """Store a document exactly as ``info`` says (its epoch and time too: ``lamina
        migrate`` keeps them, so clients continue without a snapshot reset).

        Raises:
            DocumentExistsError: the id is taken.
        """
        if hashlib.sha256(pdf_bytes).hexdigest() != info.sha256:
            raise StoreError(f"pdf asset of {info.document_id!r} does not match its sha256")
        try:
            with self._transaction() as conn:
                conn.execute(
                    "INSERT INTO assets VALUES (%s, %s) ON CONFLICT (sha256) DO NOTHING",
                    (info.sha256, pdf_bytes),
                )
                conn.execute(
                    "INSERT INTO documents VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (
                        info.document_id,
                        info.sha256,
                        info.size,
                        info.page_count,
                        info.filename,
                        info.added_at,
                        info.epoch,
                    ),
                )
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO base_records VALUES (%s, %s, %s, %s, %s)",
                        [
                            (info.document_id, r.id, i, r.kind, dumps(r.content))
                            for i, r in enumerate(base_records)
                        ],
                    )
        except StoreError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                raise DocumentExistsError(f"document {info.document_id!r} already exists") from exc
            raise

    _DOCUMENT_SELECT = (
        "SELECT d.id, d.sha256, d.size, d.page_count, d.filename, d.added_at, d.epoch, "
        "(SELECT count(*) FROM base_records b WHERE b.document_id = d.id) FROM documents d"
    )

    @staticmethod
    def _document_from_row(row: Sequence[Any]) -> DocumentInfo:
        return DocumentInfo(
            document_id=row[0],
            sha256=row[1],
            size=int(row[2]),
            page_count=row[3],
            filename=row[4],
            added_at=row[5],
            epoch=row[6],
            base_record_count=int(row[7]),
        )

    def get_document(self, document_id: str) -> DocumentInfo | None:
        """Return the document, or None."""
        rows = self._query(f"{self._DOCUMENT_SELECT} WHERE d.id = %s", (document_id,))
        return self._document_from_row(rows[0]) if rows else None

    def list_documents(self) -> list[DocumentInfo]:
        """Return every document, oldest first."""
        rows = self._query(f"{self._DOCUMENT_SELECT} ORDER BY d.added_at, d.id")
        return [self._document_from_row(r) for r in rows]

    def remove_document(self, document_id: str) -> None:
        """Delete a document, its layers and (when no other document uses it) its asset.

        Raises:
            DocumentNotFoundError: no such document.
        """
        with self._transaction() as conn:
            row = conn.execute(
                "DELETE FROM documents WHERE id = %s RETURNING sha256", (document_id,)
            ).fetchone()
            if row is None:
                raise DocumentNotFoundError(f"no document {document_id!r}")
            # Layers, records and applied changes go with it (ON DELETE CASCADE).
            conn.execute(
                "DELETE FROM assets a WHERE a.sha256 = %s AND NOT EXISTS "
                "(SELECT 1 FROM documents d WHERE d.sha256 = a.sha256)",
                (row[0],),
            )

    def read_asset(self, sha256: str) -> bytes:
        """Return the bytes of a stored PDF asset."""
        rows = self._query("SELECT data FROM assets WHERE sha256 = %s", (sha256,))
        if not rows:
            raise StoreError(f"pdf asset {sha256[:12]} is missing from the store")
        return bytes(rows[0][0])

    def base_records(self, document_id: str) -> list[RecordState]:
        """Return a document's base layer (the PDF's own annotations), in the PDF's order."""
        rows = self._query(
            "SELECT record_id, kind, content FROM base_records WHERE document_id = %s "
            "ORDER BY position",
            (document_id,),
        )
        return [
            RecordState(id=RecordId(rid), kind=kind, rev=1, seq=0, content=json.loads(content))
            for rid, kind, content in rows
        ]

    # --- layers ---------------------------------------------------------------------------

    def list_layers(self, document_id: str) -> list[LayerInfo]:
        """Return the materialized layers of a document, by name."""
        rows = self._query(
            "SELECT l.name, l.epoch, l.seq, (SELECT count(*) FROM records r "
            "WHERE r.document_id = l.document_id AND r.layer = l.name AND NOT r.deleted) "
            'FROM layers l WHERE l.document_id = %s ORDER BY l.name COLLATE "C"',
            (document_id,),
        )
        return [
            LayerInfo(document_id, name, epoch, int(seq), int(count))
            for name, epoch, seq, count in rows
        ]

    def load_layer(self, document_id: str, layer: str) -> LoadedLayer:
        """Return a layer's state; a layer never changed mirrors the base layer (§5.1).

        The layer row, its records and its change results are read in one snapshot
        (REPEATABLE READ), so a commit by another process never shows half.

        Raises:
            DocumentNotFoundError: no such document.
        """
        conn = self._db()
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                return self._load_layer(conn, document_id, layer)
        except psycopg.Error as exc:
            raise StoreError(f"store read failed: {exc}") from exc

    def _load_layer(
        self, conn: psycopg.Connection[Any], document_id: str, layer: str
    ) -> LoadedLayer:
        doc_rows = conn.execute(
            f"{self._DOCUMENT_SELECT} WHERE d.id = %s".encode(), (document_id,)
        ).fetchall()
        if not doc_rows:
            raise DocumentNotFoundError(f"no document {document_id!r}")
        document = self._document_from_row(doc_rows[0])
        row = conn.execute(LAYER_ROW, (document_id, layer)).fetchone()
        if row is None:
            # Until its first commit a layer has the document's epoch (SqliteStore too).
            return LoadedLayer(
                document=document,
                layer=layer,
                epoch=document.epoch,
                seq=0,
                materialized=False,
                records=tuple(self.base_records(document_id)),
                change_results={},
            )
        epoch, seq, compacted = row
        # Live records and the tombstones above the horizon (lamina.server.compaction).
        rows = conn.execute(
            f"SELECT {RECORD_COLUMNS} FROM records WHERE document_id = %s AND layer = %s "
            "AND (NOT deleted OR seq > %s) ORDER BY seq, ord".encode(),
            (document_id, layer, compacted),
        )
        shared = SharedStrings()
        records = tuple(record_from_row(r, shared) for r in rows)
        # Remembered results stay JSON text until a change id comes again (§4.2).
        results = StoredJson(
            dict(
                conn.execute(
                    "SELECT change_id, result FROM applied_changes "
                    "WHERE document_id = %s AND layer = %s",
                    (document_id, layer),
                ).fetchall()
            )
        )
        return LoadedLayer(
            document, layer, epoch, int(seq), True, records, results, history_from=compacted
        )

    async def commit_on_loop(self, writes: Sequence[LayerWrite]) -> None:
        """:meth:`commit` from the event loop: the one call on a connection the loop drives
        (:mod:`lamina.server.pq_loop`), the long way on a worker thread."""
        if not writes:
            return
        notes = self._notes(writes)
        payload = one_call_payload(writes, notes, self.origin)
        if payload is not None:
            if self._on_loop is None:
                conninfo = psycopg.conninfo.make_conninfo(self.url, application_name="lamina")
                self._on_loop = LoopConnection(conninfo, {b"lamina_commit": COMMIT_CALL})
            try:
                result = await self._on_loop.execute(b"lamina_commit", [payload.encode()])
            except StatementError as exc:
                if exc.sqlstate != COMMIT_PROCEDURE_ERROR:
                    raise StoreError(f"store write failed: {exc}") from exc
            except StoreError as exc:  # lost or never made: nothing may be assumed written
                raise StoreError(f"store write failed: {exc}") from exc
            else:
                unannounced = result.get_value(0, 0)
                if unannounced is not None:
                    _unannounced(unannounced.decode(errors="replace"))
                return
        await asyncio.to_thread(self._commit_long_way, writes, notes)

    def commit(self, writes: Sequence[LayerWrite]) -> None:
        """Write every layer change of a group commit in one transaction (§4.3), and tell the
        other processes which layers it advanced (where to look, never content).

        Returns only once PostgreSQL has committed. The first write to a layer copies the
        base records into it (copy-on-write, §5.1) before its own records overwrite them.

        One round trip and one statement, however many layers the group commit writes:
        ``CALL lamina_commit(json)`` (:mod:`lamina.server.migrate_schema`, version 5) moves
        every layer's row (all or nothing: a layer not where its write was prepared, or
        without a row yet, makes it write nothing), writes the records and change ids,
        COMMITs, then announces. The pipeline it replaced cost two round trips and six
        statements, each a wait and a Python dump of its arrays on the writer's thread: 0.56
        ms of Python and 0.37 ms of PostgreSQL CPU per commit of two layers, against 0.13 and
        0.25 now (bench on the loaded machine); with 4 processes, whose group commits are
        smaller, that per-commit cost is what made them serve fewer changes/s than 1. When
        the call writes nothing, the commit goes the long way: the pipeline (two round trips
        in the common case, a layer's first write adds two), whose row counts say why. The
        server's writer makes the same call from the event loop (:meth:`commit_on_loop`).

        The announcement is not a NOTIFY inside the writing transaction: a transaction that
        NOTIFYs holds PostgreSQL's one notification-queue lock from its pre-commit through
        its WAL flush, so every process's commits would wait in line, one fsync each, and
        never share a flush (more processes served fewer changes/s: README "Hosting on
        PostgreSQL"). It runs only once COMMIT has succeeded, in a transaction of its own
        that does not wait for its flush. Losing it (a crash right after the commit, a failed
        announcement) loses only the hint, which the fan-out's poll of every room's ``seq``
        makes up for (lamina.server.fanout_postgres).

        Raises:
            LayerAdvancedError: another process committed to one of the layers since the
                write was prepared (nothing of this transaction is written).
            DocumentNotFoundError: a document was removed.
            StoreError: PostgreSQL failed or the connection was lost (nothing acknowledged
                may be assumed written).
        """
        if not writes:
            return
        conn = self._db()
        notes = self._notes(writes)
        payload = one_call_payload(writes, notes, self.origin)
        if payload is not None:
            try:
                call = psycopg.RawCursor(conn).execute(COMMIT_CALL, (payload,))
                unannounced = call.fetchone()
            except psycopg.Error as exc:
                if exc.sqlstate != COMMIT_PROCEDURE_ERROR:
                    self._roll_back(conn)
                    raise StoreError(f"store write failed: {exc}") from exc
                # Nothing was written: a layer's first write, or another process moved
                # one on (the long way says which).
            else:
                if unannounced is not None and unannounced[0] is not None:
                    _unannounced(unannounced[0])
                return
        self._commit_long_way(writes, notes)

    def _commit_long_way(
        self, writes: Sequence[LayerWrite], notes: Sequence[tuple[str, str, bool]]
    ) -> None:
        conn = self._db()
        committed: psycopg.Cursor[Any] | None = None
        try:
            try:
                # Leaving the pipeline syncs: the last round trip.
                with conn.pipeline() as pipeline:
                    conn.execute(b"BEGIN")
                    advance_layers(conn, writes, pipeline)
                    write_records(conn, writes)
                    committed = conn.execute(b"COMMIT")
                    self._announce(conn, notes)
            except psycopg.Error as exc:
                # Only COMMIT's own result says whether it committed.
                if committed is None or committed.statusmessage != "COMMIT":
                    raise
                _unannounced(exc)
            except BaseException:
                self._roll_back(conn)
                raise
        except psycopg.Error as exc:
            self._roll_back(conn)
            raise StoreError(f"store write failed: {exc}") from exc

    def _notes(self, writes: Sequence[LayerWrite]) -> list[tuple[str, str, bool]]:
        """Return the ``(channel, payload, always)`` notifications that announce committed
        ``writes`` (not always: only when another process listens to the channel)."""
        notes = []
        for w in writes:
            payload = dumps([w.document_id, w.layer, w.seq, self.origin])
            notes.append((commit_channel(w.document_id, w.layer), payload, False))
            if w.seq == 1:
                notes.append((NOTIFY_CHANNEL, payload, True))
        return notes

    def _announce(
        self, conn: psycopg.Connection[Any], notes: Sequence[tuple[str, str, bool]]
    ) -> None:
        """Queue the notifications of a commit (after COMMIT, see :meth:`commit`)."""
        # set_config(..., true) lasts until this statement's own transaction commits, at the
        # pipeline's sync, which then does not wait for its flush.
        conn.execute(
            "SELECT set_config('synchronous_commit', 'off', true), pg_notify(c, p) "
            "FROM unnest(%s::text[], %s::text[], %s::boolean[]) AS n(c, p, always) "
            "WHERE always OR EXISTS (SELECT 1 FROM layer_listeners l "
            "WHERE l.channel = n.c AND l.origin <> %s)",
            (
                [c for c, _, _ in notes],
                [p for _, p, _ in notes],
                [a for _, _, a in notes],
                self.origin,
            ),
        )

    @staticmethod
    def _roll_back(conn: psycopg.Connection[Any]) -> None:
        """End a transaction a failed commit left open (nothing to do on a lost connection)."""
        if conn.closed or conn.broken:
            return
        try:
            conn.rollback()  # nothing when PostgreSQL already ended it
        except psycopg.Error as exc:
            logger.warning("cannot roll back a failed commit, reconnecting: %s", exc)
            conn.close()

    # --- named layers (created or invited to) ----------------------------------------------

    def remember_layer(self, document_id: str, layer: str) -> None:
        """Keep ``layer`` as a layer of the document (nothing when the document is unknown:
        a token may be minted before its document is added)."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO named_layers (document_id, name) SELECT %s, %s WHERE EXISTS "
                "(SELECT 1 FROM documents WHERE id = %s) ON CONFLICT DO NOTHING",
                (document_id, layer, document_id),
            )
            conn.execute("SELECT pg_notify(%s, %s)", (LAYERS_CHANNEL, document_id))

    def forget_layer(self, document_id: str, layer: str) -> None:
        """Stop keeping ``layer`` as a layer of the document."""
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM named_layers WHERE document_id = %s AND name = %s",
                (document_id, layer),
            )
            conn.execute("SELECT pg_notify(%s, %s)", (LAYERS_CHANNEL, document_id))

    def named_layers(self, document_id: str) -> list[str]:
        """Return the layers kept for the document, oldest first."""
        rows = self._query(
            "SELECT name FROM named_layers WHERE document_id = %s ORDER BY ord", (document_id,)
        )
        return [name for (name,) in rows]

    # --- revocation -----------------------------------------------------------------------

    def revoke(self, jti: str, revoked_at: str | None = None) -> bool:
        """Record a revoked token id; return False when it already was revoked."""
        with self._transaction() as conn:
            added = (
                conn.execute(
                    "INSERT INTO revoked_tokens VALUES (%s, %s) ON CONFLICT (jti) DO NOTHING",
                    (jti, revoked_at or utc_now_iso()),
                ).rowcount
                > 0
            )
            # Every process closes the token's sessions at once, not at its next poll.
            conn.execute("SELECT pg_notify(%s, '')", (REVOKE_CHANNEL,))
            return added

    def revocations(self) -> list[tuple[str, str]]:
        """Return every revoked token id with when it was revoked, oldest first."""
        return [
            (jti, at)
            for jti, at in self._query(
                "SELECT jti, revoked_at FROM revoked_tokens ORDER BY revoked_at, jti"
            )
        ]

    def revoked_jtis(self) -> frozenset[str]:
        """Return every revoked token id."""
        return frozenset(j for (j,) in self._query("SELECT jti FROM revoked_tokens"))


def _unannounced(why: object) -> None:
    """Log a commit whose announcement failed (the commit stands)."""
    logger.warning("cannot announce a commit, the others catch up by polling: %s", why)
