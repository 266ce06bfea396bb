"""The PostgreSQL store's reads of a layer's history, and its side of history compaction.

:class:`PostgresHistory` is the part of :class:`~lamina.server.store_postgres.PostgresStore`
that reads what a layer committed after a ``seq`` (the fan-out's catch-up,
:func:`read_changes`, indexed by ``seq``: O(changes), not O(records)), notes the ``seq``
each replica acknowledged, and drops tombstones and change ids below a layer's horizon in
batches (the rule is :mod:`lamina.server.compaction`'s).

Several processes may compact at once: each batch first raises the layer row's
``compacted_seq`` (``GREATEST``), which takes the row lock a commit to the layer takes
first too, so two compactions of a layer take turns batch by batch, a commit waits for at
most one batch, and no lock order differs (no deadlock).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from lamina.model.timestamps import utc_now_iso
from lamina.server.compaction import LayerHistory
from lamina.server.errors import StoreError
from lamina.server.pq_loop import LoopConnection, text_rows
from lamina.server.store import LayerChanges, SharedStrings, stored_record
from lamina.sync.state import RecordState
from psycopg.conninfo import conninfo_to_dict, make_conninfo

RECORD_COLUMNS = (
    "record_id, kind, rev, seq, content, deleted, creator_id, grp, created_at, updated_at, "
    "field_revs"
)
"""The ``records`` columns :func:`record_from_row` reads, in its order."""

LAYER_ROW = "SELECT epoch, seq, compacted_seq FROM layers WHERE document_id = %s AND name = %s"
CHANGES_AFTER = (
    f"SELECT 'R', {RECORD_COLUMNS}, ord FROM records "
    "WHERE document_id = $1 AND layer = $2 AND seq > $3 "
    "UNION ALL SELECT 'L', epoch, NULL, seq, compacted_seq, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL FROM layers WHERE document_id = $1 AND name = $2 "
    "UNION ALL SELECT 'C', change_id, result, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL FROM applied_changes WHERE document_id = $1 AND layer = $2 AND seq > $3 "
    "ORDER BY 1 DESC, 5, 13"
).encode()
"""What a layer committed after a ``seq`` (``$3``), in one statement and so one snapshot:
its records in ``seq`` order (rows ``'R'``, then :data:`RECORD_COLUMNS` and ``ord``; index
``records_by_seq``), its row (``'L'``: epoch, -, seq, compaction horizon) and its change ids
(``'C'``: id, result; index ``applied_changes_by_seq``). One round trip, no transaction to
open or close (:func:`read_changes`, :meth:`PostgresHistory.changes_after`)."""
CHANGES_AFTER_NAME = b"lamina_changes_after"
"""The name :data:`CHANGES_AFTER` is prepared under on a loop connection."""


def record_from_row(r: Sequence[Any], shared: SharedStrings | None = None) -> RecordState:
    """Return the record state of one ``records`` row read with :data:`RECORD_COLUMNS`
    (``shared``: see :func:`lamina.server.store.stored_record`)."""
    return stored_record(
        r[0], r[1], int(r[2]), int(r[3]), r[4], bool(r[5]), r[6], r[7], r[8], r[9], r[10], shared
    )


async def read_changes(
    conn: LoopConnection, document_id: str, layer: str, seq: int
) -> LayerChanges | None:
    """Return what a materialized layer committed after ``seq``, read in one snapshot
    (None: the layer is not materialized), on the caller's event loop: a commit of another
    process reaches this process's clients through this read, so it neither waits for a
    worker thread nor hands its rows back from one. ``conn`` must have
    :data:`CHANGES_AFTER` prepared as :data:`CHANGES_AFTER_NAME`.

    Raises:
        StoreError: PostgreSQL failed or the connection was lost.
    """
    result = await conn.execute(
        CHANGES_AFTER_NAME, (document_id.encode(), layer.encode(), str(seq).encode())
    )
    return _layer_changes(_typed(text_rows(result)))


def reader_conninfo(url: str, application_name: str) -> str:
    """Return the connection string of a connection :func:`read_changes` runs on: ``url``'s,
    with no parallel workers (after its own ``options``, if it has any). After five runs
    PostgreSQL plans a prepared statement for any parameters, and with the scale-out bench's
    460,000 records that plan guessed 1,200 rows for each part and started two parallel
    workers for every read: 7-10 ms for the few rows a commit of another process adds,
    against 0.2-0.5 ms without (measured on the same data)."""
    options = conninfo_to_dict(url).get("options")
    no_parallel = "-c max_parallel_workers_per_gather=0"
    return make_conninfo(
        url,
        application_name=application_name,
        options=f"{options} {no_parallel}" if options else no_parallel,
    )


def _typed(rows: Iterable[list[Any]]) -> Iterator[Sequence[Any]]:
    """The rows of :data:`CHANGES_AFTER` in text format, read as psycopg reads them (the
    numbers are read by :func:`_layer_changes` either way; a boolean is ``t`` or ``f``)."""
    for r in rows:
        if r[0] == "R":
            r[6] = r[6] == "t"  # deleted
        yield r


def _layer_changes(rows: Iterable[Sequence[Any]]) -> LayerChanges | None:
    """Return the :class:`LayerChanges` of the rows of :data:`CHANGES_AFTER`."""
    layer: Sequence[Any] | None = None
    records: list[RecordState] = []
    results: dict[str, Any] = {}
    for row in rows:
        if row[0] == "R":
            records.append(record_from_row(row[1:12]))
        elif row[0] == "C":
            results[row[1]] = json.loads(row[2])
        else:
            layer = row
    if layer is None:
        return None
    return LayerChanges(
        epoch=layer[1],
        seq=int(layer[3]),
        records=tuple(records),
        change_results=results,
        history_from=int(layer[4]),
    )


class PostgresHistory:
    """History reads and compaction for :class:`~lamina.server.store_postgres.PostgresStore`
    (:class:`lamina.server.compaction.CompactingStore`)."""

    def _db(self) -> psycopg.Connection[Any]:  # pragma: no cover - the store's
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[psycopg.Connection[Any]]:  # pragma: no cover
        raise NotImplementedError

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError  # pragma: no cover - the store's

    @contextmanager
    def _snapshot(self) -> Iterator[psycopg.Connection[Any]]:
        """A read-only REPEATABLE READ transaction: every read in it sees one commit state."""
        conn = self._db()
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                yield conn
        except psycopg.Error as exc:
            raise StoreError(f"store read failed: {exc}") from exc

    def changes_after(self, document_id: str, layer: str, seq: int) -> LayerChanges | None:
        """Return what a materialized layer committed after ``seq`` (None: not
        materialized), read in one snapshot by ``seq`` (:data:`CHANGES_AFTER`): what
        :func:`read_changes` reads, on a worker thread."""
        try:
            cursor = psycopg.RawCursor(self._db())  # CHANGES_AFTER's $1 parameters
            # Never prepared, so planned for these parameters (see reader_conninfo).
            params = (document_id, layer, seq)
            rows = cursor.execute(CHANGES_AFTER, params, prepare=False).fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"store read failed: {exc}") from exc
        return _layer_changes(rows)

    def layer_seq(self, document_id: str, layer: str) -> int | None:
        """Return a materialized layer's committed ``seq`` (None: not materialized)."""
        rows = self._query(
            "SELECT seq FROM layers WHERE document_id = %s AND name = %s", (document_id, layer)
        )
        return int(rows[0][0]) if rows else None

    # --- compaction (lamina.server.compaction) ---------------------------------------------

    def note_replica(
        self, document_id: str, layer: str, epoch: str, client_id: str, seq: int
    ) -> None:
        """Remember that replica ``client_id`` of the layer has acknowledged ``seq``."""
        with self._transaction() as conn:
            # Not waiting for the flush: a note lost in a crash leaves the replica's older
            # note (a lower horizon) or none (it is reset if it is behind): never unsafe.
            conn.execute("SET LOCAL synchronous_commit = off")
            conn.execute(
                "INSERT INTO replicas SELECT %s, %s, %s, %s, %s, %s WHERE EXISTS "
                "(SELECT 1 FROM documents WHERE id = %s) "
                "ON CONFLICT (document_id, layer, client_id) DO UPDATE SET "
                "epoch = EXCLUDED.epoch, seq = EXCLUDED.seq, seen_at = EXCLUDED.seen_at",
                (document_id, layer, client_id, epoch, seq, utc_now_iso(), document_id),
            )

    def compactable_layers(self) -> list[tuple[str, str]]:
        """Return ``(document_id, layer)`` of every materialized layer."""
        return [(d, n) for d, n in self._query("SELECT document_id, name FROM layers")]

    def layer_history(self, document_id: str, layer: str, cutoff: str) -> LayerHistory | None:
        """Return the layer's history facts (replicas seen before ``cutoff`` left out)."""
        with self._snapshot() as conn:
            row = conn.execute(LAYER_ROW, (document_id, layer)).fetchone()
            if row is None:
                return None
            epoch, seq, compacted = row
            replicas = tuple(
                int(s)
                for (s,) in conn.execute(
                    "SELECT seq FROM replicas WHERE document_id = %s AND layer = %s "
                    'AND epoch = %s AND seen_at COLLATE "C" >= %s',
                    (document_id, layer, epoch, cutoff),
                ).fetchall()
            )
            # Walked from the newest seq down (the seq indexes): what it reads is what
            # was committed within the retention, not the whole layer.
            expired = conn.execute(
                "SELECT greatest("
                "(SELECT seq FROM records WHERE document_id = %(d)s AND layer = %(l)s "
                'AND updated_at COLLATE "C" < %(c)s ORDER BY seq DESC LIMIT 1), '
                "(SELECT seq FROM applied_changes WHERE document_id = %(d)s "
                'AND layer = %(l)s AND committed_at COLLATE "C" < %(c)s '
                "ORDER BY seq DESC LIMIT 1))",
                {"d": document_id, "l": layer, "c": cutoff},
            ).fetchone()
        return LayerHistory(
            epoch, int(seq), int(compacted), replicas, int(expired[0] or 0) if expired else 0
        )

    def drop_history(
        self, document_id: str, layer: str, epoch: str, horizon: int, limit: int
    ) -> tuple[int, int]:
        """Drop up to ``limit`` tombstones and change ids at or below ``horizon`` and raise
        the layer's ``compacted_seq`` to it, in one transaction (module docstring)."""
        key = {"d": document_id, "l": layer, "h": horizon, "n": limit}
        with self._transaction() as conn:
            moved = conn.execute(
                "UPDATE layers SET compacted_seq = greatest(compacted_seq, %(h)s) "
                "WHERE document_id = %(d)s AND name = %(l)s AND epoch = %(e)s",
                {**key, "e": epoch},
            ).rowcount
            if moved == 0:
                return 0, 0  # reset or removed since the facts were read
            tombstones = conn.execute(
                "DELETE FROM records WHERE document_id = %(d)s AND layer = %(l)s "
                "AND record_id IN (SELECT record_id FROM records WHERE document_id = %(d)s "
                "AND layer = %(l)s AND deleted AND seq <= %(h)s LIMIT %(n)s)",
                key,
            ).rowcount
            change_ids = conn.execute(
                "DELETE FROM applied_changes WHERE document_id = %(d)s AND layer = %(l)s "
                "AND change_id IN (SELECT change_id FROM applied_changes "
                "WHERE document_id = %(d)s AND layer = %(l)s AND seq <= %(h)s LIMIT %(n)s)",
                key,
            ).rowcount
        return tombstones, change_ids

    def forget_replicas(self, cutoff: str) -> int:
        """Forget replicas last seen before ``cutoff``; return how many."""
        with self._transaction() as conn:
            return conn.execute(
                'DELETE FROM replicas WHERE seen_at COLLATE "C" < %s', (cutoff,)
            ).rowcount

    def reclaim_space(self) -> None:
        """Nothing: PostgreSQL's autovacuum makes the space of deleted rows reusable."""
