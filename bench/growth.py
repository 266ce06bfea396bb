"""Growth: what join, catch-up, one edit and export cost as a layer grows (DESIGN §7).

For N = 1,000, 10,000 and 100,000 rectangle annotations on one layer (spread over a 50-page
PDF) this measures, each in a fresh process (so its RSS is its own):

- ``join socket``: a sync client's cold join (the server process just started) until the
  catch-up is in; ``join http``: ``GET …/layers/big/document.json`` afterwards;
- ``server RSS``: the server process's resident memory when it has started, and while the
  cold join's client is still connected (its room loaded); issue 15's goal is at most 3x the
  live JSON size for the room (the second minus the first) at the largest N, the issue's
  "~15 KB per loaded record (20x its JSON)" measured the same way; a line after the table
  gives it, and the whole process's ratio beside it;
- ``ready``: a headless :class:`~lamina.client.document.LaminaDocument` opened from the invite
  with an empty store until it is ONLINE with every record, the client process's CPU time
  meanwhile (on a loaded machine the wall time is mostly waiting for a core), and its RSS
  then; ``store``: its local store's size;
- ``edit``: one local ``create`` and one ``update`` of that document (median of 21 each,
  durable in the local store before it returns), headless; wall time is mostly the store's
  fsync, which a shared disk makes noisy, so the goal ratio is taken on the edit's CPU
  time; ``--desktop`` adds the rows of ``bench/desktop_scale.py`` (one drawn rectangle
  through ``ReviewModel`` and the page view, at 1,000 and 10,000);
- ``pull`` and ``layer-pdf``: ``lamina pull`` and ``lamina layer-pdf`` of the layer, as the
  command runs them (minus interpreter start-up);
- ``cold catch-up``: a client that holds the layer up to its ``seq`` comes back after 100
  changes (committed to the stopped server's store) to the server process just started,
  until its ``changes`` catch-up is in (wall), and the server process's CPU time meanwhile
  (lamina.server.rooms_catch_up: O(100), while the room loads after it);
- ``history``: the server store's size after N updates and N / 2 deletes (through the sync
  core, as a room commits them, in pushes of 500), then after a compaction
  (lamina.server.compaction, retention 0: every replica is past it) and the cold socket
  join of the compacted layer (N / 2 live records).

Each row prints the value at every N and its ratio to the N = 1,000 value divided by N / 1,000
(O(N) = 1.0; near-linear goal ≤ 1.3); for ``edit`` the ratio is to the N = 1,000 value directly
(flat goal ≤ 1.5). The line before last names the worst goal ratio; the last line is
``ratio=<it>``. ``--quick`` stops at 10,000 (CI-sized).

Usage: ``python bench/growth.py [--quick] [--sizes 1000,10000,100000]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PAGES = 50
LAYER = "big"
CHILD_TIMEOUT = 900.0
"""Seconds one measurement may take before it is reported as timed out."""

LINEAR_GOAL = 1.3
FLAT_GOAL = 1.5


# --- the layer ------------------------------------------------------------------------------


def _record(i: int, rid: str) -> dict[str, Any]:
    page = i % PAGES
    x = 40 + (i // PAGES) % 10 * 50
    y = 40 + (i // (PAGES * 10)) % 10 * 75
    return {
        "v": 2,
        "type": "pspdfkit/shape/rectangle",
        "id": rid,
        "pageIndex": page,
        "bbox": [x, y, 40, 30],
        "strokeColor": "#ff0000",
        "strokeWidth": 2,
        "opacity": 0.8,
        "creatorName": "bench",
        "createdAt": "2024-05-01T10:00:00Z",
        "updatedAt": "2024-05-01T10:00:00Z",
        "name": rid,
    }


def _seed(data_dir: Path, count: int) -> int:
    """Make a document ``doc`` with ``count`` records on layer ``big``; return their JSON size."""
    import pymupdf
    from lamina.model.ids import RecordId, new_record_id
    from lamina.server.documents import add_document_file
    from lamina.server.store import LayerWrite, SqliteStore
    from lamina.sync.state import RecordState

    pdf = data_dir.parent / "doc.pdf"
    document = pymupdf.open()
    for _ in range(PAGES):
        document.new_page(width=595, height=842)
    document.save(pdf)
    store = SqliteStore(data_dir)
    try:
        info = add_document_file(store, pdf, "doc")
        records = []
        size = 0
        for i in range(count):
            rid = RecordId(str(new_record_id()))
            content = _record(i, rid)
            size += len(json.dumps(content))
            records.append(
                RecordState(
                    rid,
                    "annotation",
                    1,
                    i + 1,
                    content,
                    created_at="2024-05-01T10:00:00Z",
                    updated_at="2024-05-01T10:00:00Z",
                )
            )
        for start in range(0, count, 10_000):
            part = records[start : start + 10_000]
            store.commit([LayerWrite("doc", LAYER, info.epoch, start + len(part), part)])
    finally:
        store.close()
    return size


# --- measurements, each in a child process -----------------------------------------------------


def _rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _join(url: str, token: str, hold: bool = False) -> dict[str, float]:
    """Join; with ``hold``, print the result at once and stay connected (the room stays
    loaded) until standard input closes."""
    from lamina.client.connection import Connection, EventLog
    from lamina.sync.client_session import ClientSession

    started = time.perf_counter()
    connection = Connection(ClientSession.new(), url, token, listener=EventLog())
    connection.start()
    try:
        await connection.wait_until(lambda: connection.is_open, idle_timeout=CHILD_TIMEOUT)
        took = time.perf_counter() - started
        records = len(connection.session.state.replica)
        if hold:
            print(json.dumps({"join_socket": took, "records": records}), flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await connection.stop()
    return {"join_socket": took, "records": records}


async def _ready(url: str, token: str, store_dir: str) -> dict[str, float]:
    from lamina.auth.invite import Invite
    from lamina.client.document import LaminaDocument
    from lamina.client.events import ConnectionState

    started, cpu_started = time.perf_counter(), time.process_time()
    doc = await LaminaDocument.open_invite(Invite(url, token), store_dir=Path(store_dir))
    try:
        await doc.wait_for_state(ConnectionState.ONLINE)
        ready = time.perf_counter() - started
        ready_cpu = time.process_time() - cpu_started
        rss = _rss_mb()
        count = len(doc.instant_json_records())
        creates, updates, cpu = [], [], []
        some = next(iter(doc.instant_json_records()))
        await doc.disconnect()  # the edit alone, not the push that follows it
        for i in range(21):
            c0 = time.process_time()
            t0 = time.perf_counter()
            doc.create(
                {
                    "v": 2,
                    "type": "pspdfkit/shape/rectangle",
                    "pageIndex": 0,
                    "bbox": [10 + i, 10, 20, 20],
                    "strokeColor": "#0000ff",
                }
            )
            creates.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            doc.update(some, {"strokeWidth": 1 + i})
            updates.append(time.perf_counter() - t0)
            cpu.append((time.process_time() - c0) / 2)
        path = doc.store_path
    finally:
        await doc.close()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return {
        "ready": ready,
        "ready_cpu": ready_cpu,
        "rss_mb": rss,
        "records": count,
        "edit_create": statistics.median(creates),
        "edit_update": statistics.median(updates),
        "edit_cpu": statistics.median(cpu),
        "store_mb": size / 1e6,
    }


def _pull(url: str, token: str) -> dict[str, float]:
    from lamina.commands.scripting import pull_instant_json

    started = time.perf_counter()
    diff = pull_instant_json(url, token)
    return {"pull": time.perf_counter() - started, "records": len(diff.get("annotations", []))}


async def _layer_pdf(url: str, token: str) -> dict[str, float]:
    from lamina.commands.scripting import _layer_pdf_async

    started = time.perf_counter()
    data = await _layer_pdf_async(url, token, False)
    return {"layer_pdf": time.perf_counter() - started, "pdf_mb": len(data) / 1e6}


def _child(args: list[str]) -> None:
    what, url, token, *rest = args
    if what == "join":
        out = asyncio.run(_join(url, token, hold=rest == ["hold"]))
        if rest == ["hold"]:
            return  # printed while holding the connection
    elif what == "ready":
        out = asyncio.run(_ready(url, token, rest[0]))
    elif what == "pull":
        out = _pull(url, token)
    else:
        out = asyncio.run(_layer_pdf(url, token))
    print(json.dumps(out))


def _run_child(*args: str) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", *args],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
            cwd=REPO,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CHILD_TIMEOUT:g} s"}
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": tail[:200]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _join_holding(url: str, token: str, pid: int) -> dict[str, Any]:
    """Join in a child process and, while it is still connected (its room loaded: a room
    with no connection is evicted), read the server's RSS (``server_rss_mb``)."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", "join", url, token, "hold"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        line = child.stdout.readline()
        if not line:
            return {"error": (child.communicate()[1].strip().splitlines() or ["?"])[-1][:200]}
        result: dict[str, Any] = json.loads(line)
        result["server_rss_mb"] = _rss_mb(pid)
        return result
    finally:
        child.stdin.close()
        child.wait(timeout=CHILD_TIMEOUT)


def _http_json(base: str, token: str) -> dict[str, float]:
    import httpx

    started = time.perf_counter()
    got = httpx.get(
        f"{base}/api/documents/doc/layers/{LAYER}/document.json",
        headers={"Authorization": f"Bearer {token}"},
        timeout=CHILD_TIMEOUT,
    )
    took = time.perf_counter() - started
    if got.status_code != 200:
        return {"error": f"http {got.status_code}: {got.text[:120]}"}
    return {"join_http": took, "records": len(got.json().get("annotations", []))}


CATCH_UP_CHANGES = 100


def _server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cold_catch_up(data: Path) -> dict[str, float]:
    """Commit :data:`CATCH_UP_CHANGES` creates to layer ``big`` (the server is stopped),
    start the server, and time a client that held the layer up to before them until its
    catch-up is in (wall, and the server process's CPU)."""
    import websockets
    from lamina.model.ids import RecordId, new_record_id
    from lamina.server.store import LayerWrite, SqliteStore
    from lamina.sync.state import RecordState
    from ulid import ULID

    from tests.support.server_process import ServerProcess

    store = SqliteStore(data)
    try:
        (info,) = [layer for layer in store.list_layers("doc") if layer.name == LAYER]
        seq = info.seq
        records = []
        for i in range(CATCH_UP_CHANGES):
            rid = RecordId(str(new_record_id()))
            records.append(RecordState(rid, "annotation", 1, seq + 1 + i, _record(i, rid)))
        store.commit([LayerWrite("doc", LAYER, info.epoch, seq + CATCH_UP_CHANGES, records)])
    finally:
        store.close()

    async def resume(url: str, token: str, pid: int) -> dict[str, float]:
        hello = {
            "type": "hello",
            "protocol": 1,
            "token": token,
            "client_id": str(ULID()),
            "last_seq": seq,
            "layer_epoch": info.epoch,
            "presence": {},
        }
        cpu, started = _server_cpu(pid), time.perf_counter()
        async with websockets.connect(url, max_size=None, compression=None) as ws:
            await ws.send(json.dumps(hello))
            welcome, catch_up = json.loads(await ws.recv()), json.loads(await ws.recv())
            took, used = time.perf_counter() - started, _server_cpu(pid) - cpu
        if welcome.get("type") != "welcome" or catch_up.get("type") != "changes":
            return {"error": f"got {welcome.get('type')}, {catch_up.get('type')}"}
        return {"catch_up": took, "catch_up_cpu": used, "caught_up": len(catch_up["records"])}

    server = ServerProcess(data)
    server.start()
    try:
        assert server.proc is not None
        token = server.token("doc", layer=LAYER, permissions=["all"])
        return asyncio.run(resume(server.sync_url, token, server.proc.pid))
    finally:
        server.stop()


def _store_mb(data: Path) -> float:
    return sum(p.stat().st_size for p in data.glob("*.sqlite3*")) / 1e6


def _history(data: Path, count: int) -> dict[str, float]:
    """Add ``count`` updates and ``count // 2`` deletes to layer ``big`` (the server is
    stopped), then compact it; return the store sizes and the compaction's time."""
    from lamina.model.ids import RecordId
    from lamina.server.compaction import compact_store
    from lamina.server.store import SqliteStore
    from lamina.sync.layer import LayerState
    from lamina.sync.state import Change, DeleteChange, UpdateChange
    from ulid import ULID

    store = SqliteStore(data)
    try:
        loaded = store.load_layer("doc", LAYER)
        state = LayerState.from_records(loaded.records, loaded.seq, loaded.epoch)
        ids = [r.id for r in loaded.records]
        changes: list[Change] = []
        for i in range(count):
            record = state.get(ids[i % len(ids)])
            assert record is not None
            rev = record.rev + i // len(ids)
            changes.append(UpdateChange(str(ULID()), record.id, rev, {"note": f"n{i}"}))
        pushes = [changes[i : i + 500] for i in range(0, len(changes), 500)]
        doomed = ids[: count // 2]
        for push in pushes:
            _commit(store, state, push)
        deletes: list[Change] = []
        for rid in doomed:
            record = state.get(rid)
            assert record is not None
            deletes.append(DeleteChange(str(ULID()), RecordId(rid), record.rev))
        for i in range(0, len(deletes), 500):
            _commit(store, state, deletes[i : i + 500])
    finally:
        store.close()
    out = {"history_store_mb": _store_mb(data)}
    store = SqliteStore(data)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        compact_store(store, 0.0)
        out["compact"] = time.perf_counter() - started
        out["compact_cpu"] = time.process_time() - cpu
    finally:
        store.close()  # the last connection's close checkpoints and removes the WAL
    out["compacted_store_mb"] = _store_mb(data)
    return out


def _commit(store: Any, state: Any, changes: list[Any]) -> None:
    from lamina.model.timestamps import utc_now_iso
    from lamina.server.store import LayerWrite
    from lamina.sync.layer import AllowAll
    from lamina.sync.state import Actor

    commit = state.prepare(changes, Actor("bench"), AllowAll(), utc_now_iso())
    write = LayerWrite(
        "doc",
        LAYER,
        commit.epoch,
        commit.seq,
        commit.records,
        [(r.change_id, r.to_store()) for r in commit.remembered],
        base_seq=commit.base_seq,
    )
    store.commit([write])
    state.apply_prepared(commit)


def _measure(count: int) -> dict[str, Any]:
    from tests.support.server_process import ServerProcess

    with tempfile.TemporaryDirectory(prefix="lamina-growth-") as tmp:
        data = Path(tmp) / "server"
        data.mkdir()
        out: dict[str, Any] = {"json_mb": _seed(data, count) / 1e6}
        server = ServerProcess(data)
        server.start()
        try:
            token = server.token("doc", layer=LAYER, permissions=["all"])
            base = f"http://127.0.0.1:{server.port}"
            assert server.proc is not None
            pid = server.proc.pid
            out["server_rss_base_mb"] = _rss_mb(pid)
            steps = [
                ("join", lambda: _join_holding(server.url, token, pid)),
                ("http", lambda: _http_json(base, token)),
                ("ready", lambda: _run_child("ready", server.url, token, f"{tmp}/client")),
                ("pull", lambda: _run_child("pull", server.url, token)),
                ("layer-pdf", lambda: _run_child("layer-pdf", server.url, token)),
            ]
            for name, step in steps:
                result = step()
                if "error" in result:
                    print(f"  N={count}: {name} failed: {result['error']}", file=sys.stderr)
                    out[name + "_error"] = result["error"]
                out.update(result)
        finally:
            server.stop()
        out["server_store_mb"] = _store_mb(data)
        caught = _cold_catch_up(data)
        if "error" in caught:
            print(f"  N={count}: cold catch-up failed: {caught['error']}", file=sys.stderr)
            out["catch_up_error"] = caught.pop("error")
        out.update(caught)
        out.update(_history(data, count))
        server = ServerProcess(data)
        server.start()
        try:
            token = server.token("doc", layer=LAYER, permissions=["all"])
            joined = _run_child("join", server.url, token)
            if "join_socket" in joined:
                out["compacted_join"] = joined["join_socket"]
        finally:
            server.stop()
    return out


# --- the table ------------------------------------------------------------------------------

ROWS = [
    # key, label, unit scale, unit, goal kind
    ("join_socket", "join socket (cold)", 1.0, "s", "linear"),
    ("join_http", "join http document.json", 1.0, "s", "linear"),
    ("ready", "client ready", 1.0, "s", "linear"),
    ("ready_cpu", "client ready, its CPU", 1.0, "s", None),
    ("rss_mb", "client RSS when ready", 1.0, "MB", None),
    ("edit_create", "one local create", 1e6, "µs", None),
    ("edit_update", "one local update", 1e6, "µs", None),
    ("edit_cpu", "one local edit, CPU", 1e6, "µs", "flat"),
    ("pull", "lamina pull", 1.0, "s", "linear"),
    ("layer_pdf", "lamina layer-pdf", 1.0, "s", "linear"),
    ("catch_up", "cold catch-up of 100", 1.0, "s", None),
    ("catch_up_cpu", "  its server CPU", 1.0, "s", None),
    ("store_mb", "client store size", 1.0, "MB", None),
    ("server_store_mb", "server store size", 1.0, "MB", None),
    ("history_store_mb", "+N upd, N/2 del: store", 1.0, "MB", None),
    ("compact", "compaction", 1.0, "s", None),
    ("compact_cpu", "compaction, CPU", 1.0, "s", None),
    ("compacted_store_mb", "store after compaction", 1.0, "MB", None),
    ("compacted_join", "join after compaction", 1.0, "s", None),
    ("json_mb", "live JSON size", 1.0, "MB", None),
    ("server_rss_base_mb", "server RSS, no room", 1.0, "MB", None),
    ("server_rss_mb", "server RSS, room loaded", 1.0, "MB", None),
]

RSS_GOAL = 3.0
"""Issue 15: the largest N's room costs the server at most 3x the live JSON in memory."""


def _ratio(kind: str | None, value: float, first: float, n: int, n0: int) -> float | None:
    if kind is None or first <= 0:
        return None
    if kind == "flat":
        return value / first
    return (value / first) / (n / n0)


def _desktop(worst: tuple[float, str] | None) -> tuple[float, str] | None:
    """Print ``bench/desktop_scale.py``'s rows (the desktop edit); fold its ratio in."""
    script = REPO / "bench" / "desktop_scale.py"
    if not script.exists():
        print("desktop: bench/desktop_scale.py is not in this tree; headless rows only")
        return worst
    done = subprocess.run(
        [sys.executable, str(script), "1000", "10000"],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        cwd=REPO,
    )
    lines = done.stdout.strip().splitlines()
    print("desktop (bench/desktop_scale.py 1000 10000):")
    for line in lines[:-1]:
        print("  " + line)
    if done.returncode != 0 or not lines or not lines[-1].startswith("ratio="):
        print(f"  failed: {(done.stderr.strip().splitlines() or ['?'])[-1][:200]}")
        return worst
    r = float(lines[-1].split("=", 1)[1])
    if worst is None or r / FLAT_GOAL > worst[0]:
        return (r / FLAT_GOAL, f"{r:.2f} (desktop edit, N=10,000; goal {FLAT_GOAL})")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N up to 10,000 only")
    parser.add_argument("--sizes", default=None, help="comma-separated N (default 1k,10k,100k)")
    parser.add_argument(
        "--desktop", action="store_true", help="also run bench/desktop_scale.py 1000 10000"
    )
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    else:
        sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    print(f"growth on {os.cpu_count()} cores; one layer, N records, each step a fresh process")
    results: dict[int, dict[str, Any]] = {}
    for n in sizes:
        started = time.perf_counter()
        results[n] = _measure(n)
        print(f"  N={n}: measured in {time.perf_counter() - started:.0f} s", flush=True)
    n0 = sizes[0]
    header = f"{'':28}" + "".join(f"{n:>12,}" for n in sizes) + f"   ratio (vs N={n0})"
    print(header)
    worst: tuple[float, str] | None = None
    for key, label, scale, unit, kind in ROWS:
        cells = []
        ratios = []
        for n in sizes:
            value = results[n].get(key)
            if value is None:
                cells.append(f"{'fail':>12}")
                continue
            cells.append(f"{value * scale:>12.{1 if scale != 1.0 or unit == 'MB' else 3}f}")
            first = results[n0].get(key)
            if n != n0 and first is not None:
                r = _ratio(kind, value, first, n, n0)
                if r is not None:
                    ratios.append(f"{n // 1000}k: {r:.2f}")
                    goal = FLAT_GOAL if kind == "flat" else LINEAR_GOAL
                    if worst is None or r / goal > worst[0]:
                        worst = (r / goal, f"{r:.2f} ({label}, N={n:,}; goal {goal})")
        print(f"{label + ' (' + unit + ')':28}" + "".join(cells) + "   " + ", ".join(ratios))
    largest = results[sizes[-1]]
    if "server_rss_mb" in largest and largest.get("json_mb"):
        total = largest["server_rss_mb"] / largest["json_mb"]
        room = (largest["server_rss_mb"] - largest["server_rss_base_mb"]) / largest["json_mb"]
        verdict = "within" if room <= RSS_GOAL else "over"
        print(
            f"server memory / live JSON at N={sizes[-1]:,}: the room {room:.2f} "
            f"(goal <= {RSS_GOAL:g}: {verdict}); the whole process {total:.2f}"
        )
    if args.desktop:
        worst = _desktop(worst)
    failed = [f"{k} at N={n:,}" for n in sizes for k in results[n] if k.endswith("_error")]
    if failed:
        print("failed: " + "; ".join(failed))
    if worst is None:
        print("worst: none measured")
        print("ratio=nan")
        return
    print(f"worst goal ratio: {worst[1]}")
    print(f"ratio={worst[1].split()[0]}")


if __name__ == "__main__":
    main()
