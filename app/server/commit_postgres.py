"""How a group commit is written to PostgreSQL (:meth:`PostgresStore.commit`'s statements).

Each statement is queued in the commit's pipeline; what a group commit costs must not grow
with its size, so the layers, the records and the change ids are one statement each
(psycopg waits once per statement in pipeline mode). The caller owns the transaction.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import psycopg
from lamina.model.timestamps import utc_now_iso
from lamina.server.errors import DocumentNotFoundError, StoreError
from lamina.server.store import LayerAdvancedError, LayerWrite, record_row
from lamina.sync.json_text import dumps

COMMIT_CALL = b"CALL lamina_commit($1::jsonb)"
"""The one statement of a group commit, with :func:`one_call_payload`'s argument (on the
event loop, :mod:`lamina.server.pq_loop`, and on a thread, psycopg's ``RawCursor``)."""
COMMIT_PROCEDURE_ERROR = "LA001"
"""The SQLSTATE of ``lamina_commit`` when a layer was not where its write was prepared (or
has no row yet): nothing was written, the commit goes the long way (:func:`advance_layers`)."""


def one_call_payload(
    writes: Sequence[LayerWrite], notes: Sequence[tuple[str, str, bool]], origin: str
) -> str | None:
    """Return the one ``CALL lamina_commit(...)`` argument that writes ``writes`` and then
    announces ``notes`` (``(channel, payload, always)``; not always: only when a process
    other than ``origin`` listens, see
    :meth:`~lamina.server.store_postgres.PostgresStore.commit`), or None when the writes
    need the long way (a layer's writes not chained on each other's ``seq``).

    One JSON text, not arrays: psycopg dumps an array element by element in Python (21 of
    them per commit), where ``json.dumps`` is one C call; PostgreSQL reads it once.
    """
    chains: dict[tuple[str, str], list[LayerWrite]] = {}
    for write in writes:
        chains.setdefault((write.document_id, write.layer), []).append(write)
    for chain in chains.values():
        if any(b.base_seq != a.seq for a, b in itertools.pairwise(chain)):
            return None
    layers = [
        [
            chain[0].document_id,
            chain[0].layer,
            chain[0].epoch,
            chain[-1].seq,
            # Not prepared on a known seq: at least never move the layer backwards.
            chain[0].seq if chain[0].base_seq is None else chain[0].base_seq,
            chain[0].base_seq is not None,
        ]
        for chain in chains.values()
    ]
    return dumps(
        {
            "layers": layers,
            "records": list(_record_rows(writes).values()),
            "changes": list(_change_rows(writes).values()),
            "notes": notes,
            "origin": origin,
        }
    )


def advance_layers(
    conn: psycopg.Connection[Any],
    writes: Sequence[LayerWrite],
    pipeline: psycopg.Pipeline,
) -> None:
    """Move the row of every layer written from the ``seq`` its first write was prepared
    on to its last write's, in one statement and one round trip; materialize the layers
    that have no row yet (raising when another process moved one on).

    A statement per write cost a round trip each (then a wait each, in pipeline mode):
    what a group commit costs must not grow with its size.
    """
    chains: dict[tuple[str, str], list[LayerWrite]] = {}
    for write in writes:
        chains.setdefault((write.document_id, write.layer), []).append(write)
    unmoved = list(chains.values())
    if all(b.base_seq == a.seq for chain in unmoved for a, b in itertools.pairwise(chain)):
        first = [chain[0] for chain in unmoved]
        moved = conn.execute(
            "UPDATE layers AS l SET seq = v.seq FROM unnest(%s::text[], %s::text[], "
            "%s::text[], %s::bigint[], %s::bigint[], %s::boolean[]) "
            "AS v(document_id, name, epoch, seq, guard, exact) "
            "WHERE l.document_id = v.document_id AND l.name = v.name "
            "AND l.epoch = v.epoch AND (l.seq = v.guard OR (NOT v.exact AND l.seq < v.guard)) "
            "RETURNING l.document_id, l.name",
            (
                [w.document_id for w in first],
                [w.layer for w in first],
                [w.epoch for w in first],
                [chain[-1].seq for chain in unmoved],
                # Not prepared on a known seq: at least never move the layer backwards.
                [w.seq if w.base_seq is None else w.base_seq for w in first],
                [w.base_seq is not None for w in first],
            ),
        )
        pipeline.sync()  # which rows moved decides what follows
        done = {(d, n) for d, n in moved.fetchall()}
        unmoved = [chain for key, chain in chains.items() if key not in done]
    # One write at a time: the layer's first write materializes it (the next one moves
    # it on), or the row says why it did not move. An UPDATE that matched nothing
    # changed nothing, so it can run again.
    for chain in unmoved:
        for write in chain:
            again = _advance_layer(conn, write)
            pipeline.sync()
            if again.rowcount == 0:
                _create_layer(conn, write, pipeline)


def _advance_layer(conn: psycopg.Connection[Any], write: LayerWrite) -> psycopg.Cursor[Any]:
    """Queue the move of the layer's row to the write's ``seq`` (its row count, after a
    sync, says whether it was where the write was prepared)."""
    if write.base_seq is None:
        # Not prepared on a known seq: at least never move the layer backwards.
        guard, guard_value = "seq < %s", write.seq
    else:
        guard, guard_value = "seq = %s", write.base_seq
    return conn.execute(
        f"UPDATE layers SET seq = %s WHERE document_id = %s AND name = %s AND epoch = %s "
        f"AND {guard}".encode(),
        (write.seq, write.document_id, write.layer, write.epoch, guard_value),
    )


def write_records(conn: psycopg.Connection[Any], writes: Sequence[LayerWrite]) -> None:
    """Queue the records and change ids of every write: one statement each, whatever
    the number of rows (``executemany`` costs a message and a wait per row).

    A record (or change id) written twice in one group commit is written once, as its
    last write left it: one statement may not update a row twice.
    """
    records = _record_rows(writes)
    if records:
        columns = [list(column) for column in zip(*records.values(), strict=True)]
        # unnest yields the rows in order: ``ord`` (nextval) follows the writes' order.
        conn.execute(
            "INSERT INTO records AS r (document_id, layer, record_id, kind, rev, seq, "
            "content, deleted, creator_id, grp, created_at, updated_at, field_revs) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], "
            "%s::bigint[], %s::bigint[], %s::text[], %s::boolean[], %s::text[], "
            "%s::text[], %s::text[], %s::text[], %s::text[]) "
            "ON CONFLICT (document_id, layer, record_id) DO UPDATE SET "
            "kind = EXCLUDED.kind, rev = EXCLUDED.rev, seq = EXCLUDED.seq, "
            "content = EXCLUDED.content, deleted = EXCLUDED.deleted, "
            "creator_id = EXCLUDED.creator_id, grp = EXCLUDED.grp, "
            "created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, "
            "field_revs = EXCLUDED.field_revs, ord = EXCLUDED.ord",
            columns,
        )
    results = _change_rows(writes)
    if results:
        columns = [list(column) for column in zip(*results.values(), strict=True)]
        conn.execute(
            "INSERT INTO applied_changes (document_id, layer, change_id, result, seq, "
            "committed_at) SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], "
            "%s::text[], %s::bigint[], %s::text[]) ON CONFLICT (document_id, layer, change_id) "
            "DO UPDATE SET result = EXCLUDED.result, seq = EXCLUDED.seq, "
            "committed_at = EXCLUDED.committed_at",
            columns,
        )


def _record_rows(writes: Sequence[LayerWrite]) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """Return the row of every record written, by key, in the order of their last writes
    (one statement may not update a row twice)."""
    records: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    for write in writes:
        for r in write.records:
            key = (write.document_id, write.layer, r.id)
            records.pop(key, None)  # its place among the others is its last write's
            records[key] = record_row(write.document_id, write.layer, r)
    return records


def _change_rows(writes: Sequence[LayerWrite]) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """Return the row of every change id written, by key (its last write's)."""
    results: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    now = utc_now_iso()
    for write in writes:
        for change_id, result in write.change_results:
            change = (write.document_id, write.layer, change_id)
            results[change] = (*change, dumps(result), write.seq, now)
    return results


def _create_layer(
    conn: psycopg.Connection[Any], write: LayerWrite, pipeline: psycopg.Pipeline
) -> None:
    """Materialize the layer on its first write, or say why the update matched nothing."""
    row = conn.execute(
        "SELECT epoch, seq FROM layers WHERE document_id = %s AND name = %s",
        (write.document_id, write.layer),
    ).fetchone()
    if row is not None:
        epoch, seq = row
        if epoch != write.epoch:
            raise StoreError(
                f"layer {write.layer!r} of {write.document_id!r} was reset "
                f"(epoch {epoch} is not {write.epoch})"
            )
        raise LayerAdvancedError(
            f"layer {write.layer!r} of {write.document_id!r} is at seq {seq}, not "
            f"{write.base_seq if write.base_seq is not None else '<' + str(write.seq)}: "
            "another process committed to it"
        )
    if write.base_seq not in (None, 0):
        raise LayerAdvancedError(
            f"layer {write.layer!r} of {write.document_id!r} is not materialized, "
            f"but the write was prepared on seq {write.base_seq}"
        )
    cursor = conn.execute(
        "INSERT INTO layers SELECT %s, %s, %s, %s, %s WHERE EXISTS "
        "(SELECT 1 FROM documents WHERE id = %s) "
        "ON CONFLICT (document_id, name) DO NOTHING",
        (
            write.document_id,
            write.layer,
            write.epoch,
            write.seq,
            utc_now_iso(),
            write.document_id,
        ),
    )
    pipeline.sync()  # in pipeline mode the row count is there only after a sync
    inserted = cursor.rowcount
    if inserted == 0:
        if (
            conn.execute("SELECT 1 FROM documents WHERE id = %s", (write.document_id,)).fetchone()
            is None
        ):
            raise DocumentNotFoundError(f"document {write.document_id!r} was removed")
        raise LayerAdvancedError(
            f"layer {write.layer!r} of {write.document_id!r} was materialized by another process"
        )
    conn.execute(
        "INSERT INTO records (document_id, layer, record_id, kind, rev, seq, content, "
        "deleted, field_revs) SELECT document_id, %s, record_id, kind, 1, 0, content, "
        "false, '{}' FROM base_records WHERE document_id = %s ORDER BY position",
        (write.layer, write.document_id),
    )
