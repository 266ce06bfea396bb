"""A flooding writer against a bystander on another document (issue 11, DESIGN §10).

``lamina serve`` runs in a child process. A bystander on document ``calm`` pushes one small
change at a time (20 per second) and times each ack, first on an otherwise idle server,
then while a flooder on document ``loud`` (another process, several connections) pushes
large pushes as fast as the server takes them for the same time, reconnecting whenever the
server closes it for a limit. Reported: the bystander's p50/p99 ack latency in each phase,
the flooder's pushes and refusals, the server's peak RSS. The last line is
``ratio=<bystander ack p99 under the flood / p99 idle>`` (goal <= 3).

Usage: ``python bench/abuse.py [--seconds 10] [--flooders 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BYSTANDER_RATE = 20.0
"""Pushes per second of the bystander (one change each, each awaited)."""


def _create(big: str | None = None) -> dict[str, Any]:
    from ulid import ULID

    rid = str(ULID())
    content: dict[str, Any] = {
        "type": "pspdfkit/shape/rectangle",
        "v": 2,
        "id": rid,
        "pageIndex": 0,
        "bbox": [10, 10, 50, 50],
        "strokeColor": "#ff0000",
    }
    if big is not None:
        content.update(note=big, subject=big)
    return {
        "change_id": str(ULID()),
        "op": "create",
        "record_id": rid,
        "kind": "annotation",
        "content": content,
        "group": None,
    }


async def _hello(url: str, token: str) -> Any:
    from ulid import ULID
    from websockets.asyncio.client import connect

    ws = await connect(url, compression=None, max_size=None, max_queue=None)
    await ws.send(
        json.dumps(
            {
                "type": "hello",
                "protocol": 1,
                "token": token,
                "client_id": str(ULID()),
                "last_seq": None,
                "layer_epoch": None,
                "presence": {"name": "bench"},
            }
        )
    )
    while True:
        msg = json.loads(await ws.recv())
        if msg["type"] == "snapshot" and not msg.get("more"):
            return ws
        if msg["type"] == "error":
            raise RuntimeError(msg["message"])


async def _bystander(url: str, token: str, seconds: float) -> list[float]:
    ws = await _hello(url, token)
    latencies = []
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "push", "changes": [_create()]}))
            while True:
                msg = json.loads(await ws.recv())
                if msg["type"] == "ack" and not msg.get("more"):
                    break
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(max(0.0, 1 / BYSTANDER_RATE - latencies[-1]))
    finally:
        await ws.close()
    return latencies


async def _flood_one(url: str, token: str, end: float, counts: dict[str, int]) -> None:
    from websockets.exceptions import ConnectionClosed

    big = "x" * 200_000
    while time.monotonic() < end:
        try:
            ws = await _hello(url, token)
        except (OSError, RuntimeError, ConnectionClosed):
            counts["refused"] += 1
            await asyncio.sleep(0.05)
            continue
        try:
            while time.monotonic() < end:
                # About 800 KB a push: two records of 400 KB, under the push limit.
                await ws.send(
                    json.dumps({"type": "push", "changes": [_create(big) for _ in range(2)]})
                )
                counts["pushes"] += 1
                while True:
                    msg = json.loads(await ws.recv())
                    if msg["type"] == "ack" and not msg.get("more"):
                        break
                    if msg["type"] == "error":
                        counts["refused"] += 1
                        break
        except ConnectionClosed:
            counts["closed"] += 1
        finally:
            await ws.close()


def _flooder(url: str, token: str, seconds: float, connections: int, out: Any) -> None:
    async def main() -> dict[str, int]:
        counts = {"pushes": 0, "refused": 0, "closed": 0}
        end = time.monotonic() + seconds
        await asyncio.gather(*(_flood_one(url, token, end, counts) for _ in range(connections)))
        return counts

    out.put(asyncio.run(main()))


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--flooders", type=int, default=3, help="flooding connections")
    args = parser.parse_args()

    from tests.support.server_process import ServerProcess

    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data")
        server.add_document(document_id="calm")
        server.add_document(document_id="loud")
        server.start()
        try:
            assert server.proc is not None
            url = server.sync_url
            calm = server.token("calm", user_id="bystander")
            loud = server.token("loud", user_id="flooder")
            idle = asyncio.run(_bystander(url, calm, args.seconds))
            out: Any = multiprocessing.Queue()
            flood = multiprocessing.Process(
                target=_flooder, args=(url, loud, args.seconds + 1, args.flooders, out)
            )
            flood.start()
            time.sleep(0.5)
            busy = asyncio.run(_bystander(url, calm, args.seconds))
            counts = out.get(timeout=args.seconds + 60)
            flood.join(30)
            rss = _rss_mb(server.proc.pid)
        finally:
            server.stop()
    idle_p99, busy_p99 = _p(idle, 0.99), _p(busy, 0.99)
    print(
        f"idle: {len(idle)} acks, p50 {statistics.median(idle) * 1000:.1f} ms, "
        f"p99 {idle_p99 * 1000:.1f} ms"
    )
    print(
        f"flood: {len(busy)} acks, p50 {statistics.median(busy) * 1000:.1f} ms, "
        f"p99 {busy_p99 * 1000:.1f} ms; flooder {counts['pushes']} pushes of ~800 KB, "
        f"{counts['refused']} refusals, {counts['closed']} closes; server peak RSS {rss:.0f} MB"
    )
    print(f"ratio={busy_p99 / idle_p99:.2f}")


if __name__ == "__main__":
    main()
