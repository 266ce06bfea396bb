"""Commit throughput of the server's commit shape on PostgreSQL: psycopg 3 (sync, async) vs asyncpg.

One throw-away PostgreSQL cluster (``fsync=on``, the binaries tests/support/postgres.py finds)
and, per driver, a fresh database with the store's schema. A commit is what the server's
writer sends (:meth:`lamina.server.store_postgres.PostgresStore.commit`): one transaction
that moves the layer's ``seq`` from the one the write was prepared on, upserts each changed
record and remembers each change id. Two shapes: 1,000 commits of one change, and 100
commits of 50 changes (a group commit under load). Printed per driver and shape: commits/s,
changes/s and p50/p99 commit latency. The psycopg (sync) row is the real store's code; the
others send the same statements.

The last line is ``ratio=<asyncpg changes/s / psycopg sync changes/s, 1-change shape>``.

Usage: ``python bench/store_drivers.py [--singles 1000] [--batches 100] [--batch 50]``
(asyncpg is optional: ``pip install asyncpg``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lamina.model.ids import RecordId  # noqa: E402
from lamina.server.store import LayerWrite  # noqa: E402
from lamina.server.store_postgres import PostgresStore  # noqa: E402
from lamina.sync.state import RecordState  # noqa: E402

from tests.support.postgres import PostgresCluster  # noqa: E402

UPDATE_LAYER = (
    "UPDATE layers SET seq = {0} WHERE document_id = {1} AND name = {2} AND epoch = {3} "
    "AND seq = {4}"
)
UPSERT_RECORD = (
    "INSERT INTO records AS r (document_id, layer, record_id, kind, rev, seq, content, "
    "deleted, creator_id, grp, created_at, updated_at, field_revs) VALUES "
    "({0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}, {11}, {12}) "
    "ON CONFLICT (document_id, layer, record_id) DO UPDATE SET rev = EXCLUDED.rev, "
    "seq = EXCLUDED.seq, content = EXCLUDED.content, field_revs = EXCLUDED.field_revs, "
    "ord = EXCLUDED.ord"
)
REMEMBER = (
    "INSERT INTO applied_changes VALUES ({0}, {1}, {2}, {3}) "
    "ON CONFLICT (document_id, layer, change_id) DO UPDATE SET result = EXCLUDED.result"
)


def _content(rid: str, seq: int) -> dict[str, Any]:
    return {
        "type": "pspdfkit/shape/rectangle",
        "id": rid,
        "pageIndex": 0,
        "bbox": [seq % 500, 20, 30, 40],
        "strokeColor": "#2293FB",
        "v": 2,
    }


def _prepare(url: str) -> tuple[str, int]:
    """Create the schema, a document and its materialized layer; return (epoch, seq)."""
    store = PostgresStore(url)
    pdf = (REPO / "resources").glob("**/*.pdf")
    data = next(iter(pdf)).read_bytes()
    info = store.add_document("bench", data, page_count=1, filename="b.pdf", base_records=[])
    store.commit([LayerWrite("bench", "r", info.epoch, 1, [_record("seed", 1)], base_seq=0)])
    store.close()
    return info.epoch, 1


def _record(rid: str, seq: int) -> RecordState:
    return RecordState(
        RecordId(rid),
        "annotation",
        seq,
        seq,
        _content(rid, seq),
        creator_id="bench",
        field_revs={"bbox": seq},
    )


def _rows(epoch: str, seq: int, n: int) -> list[tuple[Any, ...]]:
    dumps = json.dumps
    return [
        (
            "bench",
            "r",
            f"rec-{(seq + i) % 200}",
            "annotation",
            seq + i,
            seq + i,
            dumps(_content(f"rec-{i}", seq + i)),
            False,
            "bench",
            None,
            None,
            None,
            dumps({"bbox": seq + i}),
        )
        for i in range(1, n + 1)
    ]


def _summary(name: str, changes_per_commit: int, times: list[float], total: float) -> float:
    commits = len(times)
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    changes_s = commits * changes_per_commit / total
    print(
        f"{name:<16} {commits:>5} x {changes_per_commit:<3} changes: {commits / total:8.0f} "
        f"commits/s {changes_s:9.0f} changes/s  p50 {statistics.median(times) * 1e3:6.2f} ms"
        f"  p99 {p99 * 1e3:6.2f} ms",
        flush=True,
    )
    return changes_s


def bench_psycopg_sync(url: str, commits: int, per_commit: int) -> float:
    epoch, seq = _prepare(url)
    store = PostgresStore(url)
    times: list[float] = []
    started = time.perf_counter()
    for _ in range(commits):
        records = [_record(f"rec-{(seq + i) % 200}", seq + i) for i in range(1, per_commit + 1)]
        results = [(f"c{seq + i}", {"status": "applied"}) for i in range(1, per_commit + 1)]
        write = LayerWrite("bench", "r", epoch, seq + per_commit, records, results, base_seq=seq)
        t0 = time.perf_counter()
        store.commit([write])
        times.append(time.perf_counter() - t0)
        seq += per_commit
    total = time.perf_counter() - started
    store.close()
    return _summary("psycopg sync", per_commit, times, total)


async def _timed(
    commits: int, per_commit: int, seq: int, one: Callable[[int], Awaitable[None]]
) -> tuple[list[float], float]:
    times: list[float] = []
    started = time.perf_counter()
    for _ in range(commits):
        t0 = time.perf_counter()
        await one(seq)
        times.append(time.perf_counter() - t0)
        seq += per_commit
    return times, time.perf_counter() - started


async def bench_psycopg_async(url: str, commits: int, per_commit: int) -> float:
    import psycopg

    epoch, seq = _prepare(url)
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    p = ["%s"] * 13

    async def one(seq: int) -> None:
        async with conn.transaction():
            await conn.execute(
                UPDATE_LAYER.format(*p[:5]).encode(),
                (seq + per_commit, "bench", "r", epoch, seq),
            )
            async with conn.cursor() as cur:
                await cur.executemany(
                    UPSERT_RECORD.format(*p).encode(), _rows(epoch, seq, per_commit)
                )
                await cur.executemany(
                    REMEMBER.format(*p[:4]).encode(),
                    [
                        ("bench", "r", f"c{seq + i}", '{"status":"applied"}')
                        for i in range(1, per_commit + 1)
                    ],
                )

    times, total = await _timed(commits, per_commit, seq, one)
    await conn.close()
    return _summary("psycopg async", per_commit, times, total)


async def bench_asyncpg(url: str, commits: int, per_commit: int) -> float:
    import asyncpg

    epoch, seq = _prepare(url)
    conn = await asyncpg.connect(url)
    n = [f"${i}" for i in range(1, 14)]

    async def one(seq: int) -> None:
        async with conn.transaction():
            await conn.execute(
                UPDATE_LAYER.format(*n[:5]), seq + per_commit, "bench", "r", epoch, seq
            )
            await conn.executemany(UPSERT_RECORD.format(*n), _rows(epoch, seq, per_commit))
            await conn.executemany(
                REMEMBER.format(*n[:4]),
                [
                    ("bench", "r", f"c{seq + i}", '{"status":"applied"}')
                    for i in range(1, per_commit + 1)
                ],
            )

    times, total = await _timed(commits, per_commit, seq, one)
    await conn.close()
    return _summary("asyncpg", per_commit, times, total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--singles", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs; medians kept")
    args = parser.parse_args()
    try:
        import asyncpg  # noqa: F401

        drivers = ["psycopg sync", "psycopg async", "asyncpg"]
    except ImportError:
        drivers = ["psycopg sync", "psycopg async"]
        print("asyncpg is not installed: its rows are skipped (pip install asyncpg)")
    runs: dict[tuple[str, int], list[float]] = {}
    with PostgresCluster(fsync=True) as cluster:
        # Interleaved rounds: a noisy neighbour slows every driver alike, not one of them.
        for _ in range(args.rounds):
            for per_commit, commits in ((1, args.singles), (args.batch, args.batches)):
                for driver in drivers:
                    url = cluster.create_database()
                    if driver == "psycopg sync":
                        rate = bench_psycopg_sync(url, commits, per_commit)
                    elif driver == "psycopg async":
                        rate = asyncio.run(bench_psycopg_async(url, commits, per_commit))
                    else:
                        rate = asyncio.run(bench_asyncpg(url, commits, per_commit))
                    runs.setdefault((driver, per_commit), []).append(rate)
    print("median changes/s over the rounds:")
    for (driver, per_commit), rates in runs.items():
        print(f"  {driver:<14} {per_commit:>3} change(s)/commit: {statistics.median(rates):8.0f}")
    if "asyncpg" in drivers:
        ratio = statistics.median(runs[("asyncpg", 1)]) / statistics.median(
            runs[("psycopg sync", 1)]
        )
        print(f"ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
