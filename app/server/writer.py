"""Group commit: one thread writes every layer change to the store, many per transaction.

The event loop never touches SQLite for writes. A room submits a :class:`LayerWrite` and awaits
the returned future; the writer thread takes everything queued since its last commit, writes it
in one transaction and then resolves every future, in submission order, on the loop. So changes
from many clients share one fsync, and an ``ack`` (sent when the future resolves) always follows
the commit that holds its change (§4.3).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Sequence

from app.server.store import LayerWrite, Store

logger = logging.getLogger("lamina.server")

_STOP = object()

MAX_BATCH = 512
"""At most this many layer writes share one transaction (bounds its size and latency)."""


class _Job:
    __slots__ = ("future", "loop", "write")

    def __init__(
        self,
        write: LayerWrite | None,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[None],
    ) -> None:
        self.write = write
        self.loop = loop
        self.future = future


class GroupCommitWriter:
    """A dedicated writer thread that batches layer writes into transactions."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="lamina-writer", daemon=True)
        self._pending = 0
        self._lock = threading.Lock()
        self.transactions = 0
        self._thread.start()

    @property
    def pending(self) -> int:
        """Writes submitted and not yet committed (or failed)."""
        with self._lock:
            return self._pending

    def submit(self, write: LayerWrite) -> asyncio.Future[None]:
        """Queue ``write``; the future resolves once it is committed (or fails with the error)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._pending += 1
        self._queue.put(_Job(write, loop, future))
        return future

    def submit_barrier(self) -> asyncio.Future[None]:
        """Return a future that resolves once everything submitted before it has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._pending += 1
        self._queue.put(_Job(None, loop, future))
        return future

    def close(self) -> None:
        """Commit everything queued, then stop the thread."""
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                break
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
                assert isinstance(more, _Job)
                jobs.append(more)
            self._commit(jobs)

    def _commit(self, jobs: Sequence[_Job]) -> None:
        error: BaseException | None = None
        try:
            self._store.commit([job.write for job in jobs if job.write is not None])
            self.transactions += 1
        except Exception as exc:  # every waiter must learn about the failure
            logger.error("commit of %d layer writes failed: %s", len(jobs), exc)
            error = exc
        with self._lock:
            self._pending -= len(jobs)
        for job in jobs:
            job.loop.call_soon_threadsafe(_settle, job.future, error)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
