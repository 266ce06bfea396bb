"""Group commit: every layer change goes to the store through one writer, many per transaction.

A room submits a :class:`LayerWrite` and gets a future; the writer takes everything submitted
since its last commit, writes it in one transaction and then resolves every future, in
submission order. So changes from many clients share one commit, and an ``ack`` (sent when the
future resolves) always follows the commit that holds its change (§4.3).

Three ways to run it, chosen by measurement (README ``host``):

- ``inline`` (``lamina serve``'s default, with SQLite ``synchronous=NORMAL``): the commit runs
  on the event loop, once per loop iteration, for everything submitted in that iteration. A
  NORMAL commit costs ~0.06 ms (no fsync; checkpoints run in a worker thread), less than a
  thread hand-off, which on a busy machine waits for the GIL and the scheduler: fan-out p50
  dropped from ~5 ms to ~3 ms (the plain relay's) at 50 clients, 100 changes/s.
- threaded (``lamina serve --fsync``, ``synchronous=FULL``): a dedicated thread commits, so the
  loop keeps serving during each fsync (0.4 ms typical, several ms at p99); it wakes the loop
  once per transaction (``call_soon_threadsafe`` with every future of the batch).
- awaited (PostgreSQL, a :class:`~lamina.server.store.LoopCommitStore`): the commit is a
  network round trip the loop waits for without blocking (one commit in flight; what is
  submitted meanwhile is the next one's batch). Against the thread, per acknowledged change
  of one process on the 2-core machine (``bench/scaleout.py``'s writers, the two ways
  alternating every 2 s in one run): 0.30 against 0.39 ms of server CPU with 4 writers,
  0.23 against 0.25 with 16: no hand-off to and from a thread, no fight for the GIL.

A store that tells other processes of its commits (PostgreSQL) does so within ``commit``, in
the commit's own last round trip (:meth:`lamina.server.store_postgres.PostgresStore.commit`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Sequence
from typing import Any

from lamina.server.errors import StoreError
from lamina.server.store import LayerAdvancedError, LayerWrite, LoopCommitStore, Store

logger = logging.getLogger("lamina.server")

_STOP = object()

MAX_BATCH = 512
"""At most this many layer writes share one transaction (bounds its size and latency)."""


class ChainFailed(StoreError):
    """A write was not attempted: an earlier write of its room failed."""


class _Job:
    __slots__ = ("chain", "future", "loop", "write")

    def __init__(
        self,
        write: LayerWrite | None,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[None],
        chain: object | None,
    ) -> None:
        self.write = write
        self.loop = loop
        self.future = future
        self.chain = chain


class _Forget:
    __slots__ = ("chain",)

    def __init__(self, chain: object) -> None:
        self.chain = chain


class GroupCommitWriter:
    """Batches layer writes into transactions: on the event loop, awaited on it, or on a
    writer thread.

    Args:
        store: where to commit.
        inline: commit on the event loop (once per iteration); otherwise awaited on the loop
            when the store can (:class:`~lamina.server.store.LoopCommitStore`), else on a
            thread.
    """

    def __init__(self, store: Store, *, inline: bool = False) -> None:
        self._store = store
        self.inline = inline
        self._inline_jobs: list[_Job] = []
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="lamina-writer", daemon=True)
        self._pending = 0
        self._lock = threading.Lock()
        self.transactions = 0
        self._failed: dict[object, BaseException] = {}  # only the committing thread touches it
        self._awaited = not inline and isinstance(store, LoopCommitStore)
        self._awaiting: asyncio.Task[None] | None = None
        """The task committing the awaited way (None while nothing is submitted)."""
        if not inline and not self._awaited:
            self._thread.start()

    @property
    def pending(self) -> int:
        """Writes submitted and not yet committed (or failed)."""
        with self._lock:
            return self._pending

    def submit(self, write: LayerWrite, chain: object | None = None) -> asyncio.Future[None]:
        """Queue ``write``; the future resolves once it is committed (or fails with the error).

        Args:
            write: what to write.
            chain: the writer of writes prepared on top of each other (a room); once one of
                its writes fails, every later one fails without being written.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._pending += 1
        self._put(_Job(write, loop, future, chain))
        return future

    def _put(self, job: _Job) -> None:
        if not self.inline and not self._awaited:
            self._queue.put(job)
            return
        # Inline: everything submitted until the loop gets to the callback shares the
        # transaction. Awaited: everything submitted while a commit is in flight.
        self._inline_jobs.append(job)
        if self._awaited:
            if self._awaiting is None:
                self._awaiting = job.loop.create_task(self._commit_awaited())
        elif len(self._inline_jobs) == 1:
            job.loop.call_soon(self._flush_inline)

    async def _commit_awaited(self) -> None:
        try:
            while self._inline_jobs:
                jobs = self._inline_jobs[:MAX_BATCH]
                del self._inline_jobs[:MAX_BATCH]
                live, errors = self._live(jobs)
                writes = [job.write for job in live if job.write is not None]
                try:
                    if writes:
                        store = self._store
                        assert isinstance(store, LoopCommitStore)
                        await store.commit_on_loop(writes)
                        self.transactions += 1
                except Exception as exc:
                    self._log_failure(live, exc)
                    # Each chain alone, the long way (rare: a lost race, a lost connection).
                    await asyncio.to_thread(self._retry_by_chain, jobs, live, exc, errors)
                self._settle(jobs, errors)
        finally:
            self._awaiting = None

    def _flush_inline(self) -> None:
        while self._inline_jobs:
            jobs = self._inline_jobs[:MAX_BATCH]
            del self._inline_jobs[:MAX_BATCH]
            self._commit(jobs)

    def submit_barrier(self, chain: object | None = None) -> asyncio.Future[None]:
        """Return a future that resolves once everything submitted before it has committed
        (and fails if ``chain`` has failed)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._pending += 1
        self._put(_Job(None, loop, future, chain))
        return future

    def forget_chain(self, chain: object) -> None:
        """Forget that ``chain`` failed: its owner submits nothing on it again (a room starts
        a new chain after a lost race). Call it once none of the chain's writes is pending."""
        if self.inline or self._awaited:
            self._failed.pop(chain, None)
        else:
            self._queue.put(_Forget(chain))  # _failed belongs to the committing thread

    async def aclose(self) -> None:
        """Commit everything submitted, then stop; on the loop, without blocking it."""
        if self._awaited:
            while self._awaiting is not None:
                await asyncio.shield(self._awaiting)
        elif self.inline:
            self.close()
        else:
            await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Commit everything queued, then stop the thread (awaited: see :meth:`aclose`)."""
        if self.inline:
            self._flush_inline()
            return
        if self._awaited:
            return
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                break
            if isinstance(item, _Forget):
                self._failed.pop(item.chain, None)
                continue
            assert isinstance(item, _Job)
            jobs = [item]
            # Take whatever else arrived meanwhile: that is the group in group commit.
            while len(jobs) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stopping = True
                    break
                if isinstance(more, _Forget):
                    self._failed.pop(more.chain, None)
                    continue
                assert isinstance(more, _Job)
                jobs.append(more)
            self._commit(jobs)

    def _commit(self, jobs: Sequence[_Job]) -> None:
        live, errors = self._live(jobs)
        try:
            self._write([job.write for job in live if job.write is not None])
        except Exception as exc:  # every waiter must learn about the failure
            self._log_failure(live, exc)
            self._retry_by_chain(jobs, live, exc, errors)
        self._settle(jobs, errors)

    def _live(self, jobs: Sequence[_Job]) -> tuple[list[_Job], dict[int, BaseException]]:
        """Return the jobs to write, and the errors of those not to (their chain failed)."""
        errors: dict[int, BaseException] = {}
        live: list[_Job] = []
        for i, job in enumerate(jobs):
            failed = self._failed.get(job.chain) if job.chain is not None else None
            if failed is not None:
                errors[i] = ChainFailed(
                    f"not written: an earlier write of its layer failed: {failed}"
                )
            else:
                live.append(job)
        return live, errors

    @staticmethod
    def _log_failure(live: Sequence[_Job], exc: Exception) -> None:
        if isinstance(exc, LayerAdvancedError):
            # Another process on the same store committed first: the room reads what it
            # wrote and prepares these writes again (lamina.server.rooms), nothing is lost.
            logger.info("commit of %d layer writes refused: %s", len(live), exc)
        else:
            logger.error("commit of %d layer writes failed: %s", len(live), exc)

    def _settle(self, jobs: Sequence[_Job], errors: dict[int, BaseException]) -> None:
        """Resolve every job's future (or fail it with its error), in submission order."""
        with self._lock:
            self._pending -= len(jobs)
        # One wake-up of each loop per transaction, settling its futures in submission order.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[None], Any]]] = {}
        for i, job in enumerate(jobs):
            by_loop.setdefault(job.loop, []).append((job.future, errors.get(i)))
        for loop, settled in by_loop.items():
            if self.inline or self._awaited:
                _settle_all(settled)
            else:
                loop.call_soon_threadsafe(_settle_all, settled)

    def _write(self, writes: list[LayerWrite]) -> None:
        self._store.commit(writes)
        self.transactions += 1

    def _retry_by_chain(
        self,
        jobs: Sequence[_Job],
        live: Sequence[_Job],
        error: BaseException,
        errors: dict[int, BaseException],
    ) -> None:
        """After a failed transaction, commit each chain alone; fail the chains that fail."""
        chains: dict[object, list[_Job]] = {}
        for job in live:
            chains.setdefault(job.chain if job.chain is not None else job, []).append(job)
        index = {id(job): i for i, job in enumerate(jobs)}
        for chain, chain_jobs in chains.items():
            chain_error: BaseException | None = error
            if len(chains) > 1:
                try:
                    self._write([j.write for j in chain_jobs if j.write is not None])
                    chain_error = None
                except Exception as exc:
                    chain_error = exc
            if chain_error is None:
                continue
            if chain is not None and not isinstance(chain, _Job):
                self._failed[chain] = chain_error
            for job in chain_jobs:
                errors[index[id(job)]] = chain_error


def _settle_all(settled: Sequence[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    for future, error in settled:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
