"""Several ``lamina serve --database`` processes on one PostgreSQL: throughput and fan-out.

One throw-away PostgreSQL cluster (``fsync=on``), one document. Two measurements:

- changes/s for 1, 2 and 4 server processes: 16 writers, each on a layer of its own (spread
  over the processes round-robin), push one change at a time and wait for its ack, for
  ``--seconds``; printed: acknowledged changes/s. On a 2-core machine the processes share
  the cores with PostgreSQL, so the figure that must hold is "no process count serves fewer
  changes/s than one" (DESIGN §7). The machine is shared, so each count also prints the CPU
  time per acknowledged change of every server process and of PostgreSQL (all the
  postmaster's children, from ``/proc/PID/stat``): much less sensitive to other load.
- fan-out p50/p99 at 50 clients, two processes running: a writer on process 0 pushes 50
  changes/s to one layer (``customData.sentAt``); the 50 receivers are on process 0
  (in-process) or on process 1 (cross-process: the change arrives by LISTEN/NOTIFY and a
  fetch from PostgreSQL). Latency is the writer's send to each receiver's receipt.

The last line is ``ratio=<cross-process p99 / in-process p99>`` (budget <= 2).

Usage: ``python bench/scaleout.py [--seconds 5] [--clients 50]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lamina.server.documents import add_document_file  # noqa: E402
from lamina.server.store_postgres import PostgresStore  # noqa: E402

from tests.support.corpus import STAMPS, corpus_pdf  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402
from tests.support.protocol_client import Client, create, join  # noqa: E402
from tests.support.server_process import ServerProcess  # noqa: E402

WRITERS = 16
"""Writers, each on a layer of its own; enough that none passes the server's 100 messages/s."""
FANOUT_RATE = 50.0


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds of process ``pid`` (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _children(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == parent:
                pids.append(int(entry.name))
    return pids


class _CpuMeter:
    """CPU seconds of the server processes and of PostgreSQL (postmaster + children)."""

    def __init__(self, servers: list[ServerProcess], postmaster: int) -> None:
        self.servers = [s.proc.pid for s in servers if s.proc is not None]
        self.postmaster = postmaster

    def sample(self) -> tuple[list[float], dict[int, float]]:
        pg = {pid: _cpu_seconds(pid) for pid in [self.postmaster, *_children(self.postmaster)]}
        return [_cpu_seconds(pid) for pid in self.servers], pg


def _postmaster(cluster: PostgresCluster) -> int:
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def _throughput(
    servers: list[ServerProcess], doc: str, seconds: float, meter: _CpuMeter
) -> tuple[float, int, list[float], float]:
    """Return changes/s, changes, CPU seconds of each server and of PostgreSQL."""
    writers = []
    for i in range(WRITERS):
        server = servers[i % len(servers)]
        client, _, _ = await join(server.sync_url, server.token(doc, layer=f"w{i}"))
        writers.append(client)
    deadline = time.monotonic() + seconds
    acked = [0] * WRITERS

    async def write(i: int, client: Client) -> None:
        while time.monotonic() < deadline:
            ack = await client.push(create())
            if ack["results"][0]["status"] == "applied":
                acked[i] += 1

    servers_before, pg_before = meter.sample()
    started = time.monotonic()
    await asyncio.gather(*(write(i, c) for i, c in enumerate(writers)))
    elapsed = time.monotonic() - started
    servers_after, pg_after = meter.sample()
    for client in writers:
        await client.ws.close()
    # A backend that ended during the run counts what it used before; a new one from zero.
    pg = sum(after - pg_before.get(pid, 0.0) for pid, after in pg_after.items())
    served = [a - b for a, b in zip(servers_after, servers_before, strict=True)]
    return sum(acked) / elapsed, sum(acked), served, pg


async def _fanout(
    sender_server: ServerProcess,
    receiver_server: ServerProcess,
    doc: str,
    layer: str,
    clients: int,
    seconds: float,
) -> list[float]:
    writer, _, _ = await join(sender_server.sync_url, sender_server.token(doc, layer=layer))
    receivers = [
        (await join(receiver_server.sync_url, receiver_server.token(doc, layer=layer)))[0]
        for _ in range(clients)
    ]
    latencies: list[float] = []
    done = asyncio.Event()

    async def receive(client: Client) -> None:
        while not done.is_set():
            try:
                raw = await asyncio.wait_for(client.ws.recv(), 1.0)
            except TimeoutError:
                continue
            now = time.perf_counter()
            message = json.loads(raw)
            if message.get("type") != "changes":
                continue
            for record in message.get("records") or []:
                sent = ((record.get("content") or {}).get("customData") or {}).get("sentAt")
                if sent is not None:
                    latencies.append(now - sent)

    tasks = [asyncio.create_task(receive(c)) for c in receivers]
    await asyncio.sleep(0.5)
    end = time.monotonic() + seconds
    interval = 1.0 / FANOUT_RATE
    while time.monotonic() < end:
        await writer.send(
            {"type": "push", "changes": [create(customData={"sentAt": time.perf_counter()})]}
        )
        await asyncio.sleep(interval)
    await asyncio.sleep(1.0)  # the last ones arrive
    done.set()
    await asyncio.gather(*tasks)
    for client in (writer, *receivers):
        await client.ws.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    with PostgresCluster(fsync=True) as cluster, tempfile.TemporaryDirectory() as tmp:
        url = cluster.create_database()
        store = PostgresStore(url)
        doc = add_document_file(store, corpus_pdf(STAMPS), "bench").document_id
        store.close()
        data = Path(tmp) / "data"
        servers: list[ServerProcess] = []
        try:
            rates: dict[int, float] = {}
            for count in (1, 2, 4):
                while len(servers) < count:
                    server = ServerProcess(data, args=["--database", url])
                    server.start()
                    servers.append(server)
                meter = _CpuMeter(servers[:count], _postmaster(cluster))
                rate, changes, served, pg = asyncio.run(
                    _throughput(servers[:count], doc, args.seconds, meter)
                )
                rates[count] = rate
                per = 1e3 / max(1, changes)  # ms of CPU per change
                each = " ".join(f"{cpu * per:.2f}" for cpu in served)
                print(
                    f"{count} process(es): {rate:7.0f} changes/s  CPU ms/change: "
                    f"servers {sum(served) * per:.2f} ({each})  postgres {pg * per:.2f}  "
                    f"total {(sum(served) + pg) * per:.2f}",
                    flush=True,
                )
            p99: dict[str, float] = {}
            for name, receiver in (("in-process", servers[0]), ("cross-process", servers[1])):
                latencies = asyncio.run(
                    _fanout(servers[0], receiver, doc, f"fan-{name}", args.clients, args.seconds)
                )
                expected = int(args.seconds * FANOUT_RATE) * args.clients
                p99[name] = _percentile(latencies, 0.99)
                print(
                    f"fan-out {name:<13} {args.clients} clients: "
                    f"p50 {statistics.median(latencies) * 1e3:6.1f} ms  "
                    f"p99 {p99[name] * 1e3:6.1f} ms  ({len(latencies)}/~{expected} delivered)",
                    flush=True,
                )
        finally:
            for server in servers:
                server.stop()
    slowest = min(rates.values())
    print(f"fewest changes/s at {min(rates, key=rates.__getitem__)} process(es): {slowest:.0f}")
    print(f"ratio={p99['cross-process'] / p99['in-process']:.2f}")


if __name__ == "__main__":
    main()
