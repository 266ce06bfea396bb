"""A layer as a PDF: its visible records written into the document's PDF, built off the loop.

The PDF is built from the records the token may view, as an Instant JSON diff against the
PDF's own annotations (:func:`lamina.model.diff.diff_against_base`): a base annotation the
token may not see counts as deleted, so it leaves the exported PDF too. The plain download
(``get_document`` without ``with_layer``) follows the same rule: a token whose view rules hide
some of the PDF's own annotations gets the PDF without them (:func:`plain_pdf`).

PDF builds are heavy (seconds for a long PDF) and hold the GIL in PyMuPDF, so the server runs
them through :func:`build_off_loop`: a bounded pool of worker processes behind a bounded queue.
A build that cannot queue is refused at once (:class:`ExportBusy`) instead of stalling every
document's clients behind it.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from lamina.model.diff import diff_against_base
from lamina.model.errors import LaminaError
from lamina.model.ids import RecordId
from lamina.model.records import UnknownAnnotation, record_from_json, record_to_json
from lamina.server.store import DocumentInfo, Store
from lamina.sync.state import RecordState

T = TypeVar("T")

EXPORT_WORKERS = 1
"""PDF builds that run at once: one core's worth, so the event loop keeps the other."""

EXPORT_QUEUE = 8
"""PDF builds that may wait for a worker; past that a request is refused (``ExportBusy``)."""


class ExportBusy(LaminaError):
    """Too many PDF builds are waiting; the request is refused (retry later)."""


def _layer_pdf_bytes(source: bytes, contents: list[dict[str, Any]], flatten: bool) -> bytes:
    # Runs in an export worker process: bytes and JSON in, bytes out.
    from lamina.pdf import PdfWriteError, apply_instant_json, open_pdf
    from lamina.pdf.annotations import read_records

    with open_pdf(source) as pdf:
        base = read_records(pdf)
    wanted = [record_from_json(c, f"record {c.get('id')}") for c in contents]
    try:
        data: bytes = apply_instant_json(source, diff_against_base(base, wanted), flatten=flatten)
    except PdfWriteError:
        # A record of a type Lamina does not know (kept verbatim, DESIGN §4.9) that the PDF
        # writer cannot express is left out rather than failing the export for everyone.
        known = [r for r in wanted if not isinstance(r, UnknownAnnotation)]
        if len(known) == len(wanted):
            raise
        data = apply_instant_json(source, diff_against_base(base, known), flatten=flatten)
    return data


def _base_states(source: bytes) -> list[RecordState]:
    # Runs in an export worker process: the PDF's own annotations as record states (§2.4).
    from lamina.pdf import open_pdf
    from lamina.pdf.annotations import read_records

    with open_pdf(source) as pdf:
        base = read_records(pdf)
    return [RecordState(RecordId(str(r.id)), r.KIND, 1, 0, record_to_json(r)) for r in base if r.id]


def _without(source: bytes, hidden: frozenset[str]) -> bytes:
    # Runs in an export worker process: the PDF less the base annotations in ``hidden``.
    from lamina.pdf import apply_instant_json, open_pdf
    from lamina.pdf.annotations import read_records

    with open_pdf(source) as pdf:
        base = read_records(pdf)
    kept = [r for r in base if str(r.id) not in hidden]
    data: bytes = apply_instant_json(source, diff_against_base(base, kept), flatten=False)
    return data


def _contents(
    records: Iterable[RecordState], visible: Callable[[RecordState], bool] | None
) -> list[dict[str, Any]]:
    return [
        dict(r.content)
        for r in records
        if not r.deleted and r.content is not None and (visible is None or visible(r))
    ]


def build_layer_pdf(
    store: Store,
    document: DocumentInfo,
    records: Iterable[RecordState],
    visible: Callable[[RecordState], bool] | None,
    flatten: bool,
) -> bytes:
    """Return the document's PDF with the layer's visible records written into it (in this
    thread; the server uses :func:`build_off_loop`)."""
    return _layer_pdf_bytes(store.read_asset(document.sha256), _contents(records, visible), flatten)


def plain_pdf(
    store: Store, document: DocumentInfo, visible: Callable[[RecordState], bool] | None
) -> bytes:
    """Return the PDF as uploaded, less its own annotations ``visible`` hides (§5.4), in
    this thread (the server uses :func:`build_off_loop`).

    A token that sees everything gets the original bytes; any other gets a PDF rebuilt
    without the base annotations its view rules hide (snapshot, pull and the layer PDF hide
    them too, so no path shows them).
    """
    source = store.read_asset(document.sha256)
    if visible is None:
        return source
    hidden = frozenset(s.id for s in _base_states(source) if not visible(s))
    return _without(source, hidden) if hidden else source


class ExportPool:
    """A bounded pool of export worker processes: ``workers`` builds at once, ``queue``
    waiting, the rest refused (:class:`ExportBusy`).

    Processes, not threads: PyMuPDF holds the GIL while it builds, so a build on a thread
    still stalls the event loop's thread.
    """

    def __init__(self, workers: int = EXPORT_WORKERS, queue: int = EXPORT_QUEUE) -> None:
        import multiprocessing

        self._executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )
        self._capacity = workers + queue
        self._active = 0
        self._waits: set[asyncio.Future[Any]] = set()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` (a module-level function; arguments pickled) on a worker.

        Raises:
            ExportBusy: ``workers + queue`` builds are already running or waiting.
        """
        if self._active >= self._capacity:
            raise ExportBusy(
                f"{self._active} pdf builds are running or waiting: try again in a moment"
            )
        self._active += 1
        wait = asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(fn, *args)
        )
        self._waits.add(wait)
        try:
            return await wait
        finally:
            self._waits.discard(wait)
            self._active -= 1

    def cancel_waits(self) -> None:
        """Cancel the waits for builds of the running event loop (its server is stopping:
        nobody is left to receive them); the worker still ends the build it is on."""
        loop = asyncio.get_running_loop()
        for wait in [w for w in self._waits if w.get_loop() is loop]:
            wait.cancel()

    @property
    def active(self) -> int:
        """Builds running or waiting now."""
        return self._active

    def close(self) -> None:
        """Stop the workers now: builds in progress end with ``BrokenProcessPool``.

        Called as the process exits, when nobody is left to receive a build: waiting for it
        kept a stopping ``lamina serve`` up for as long as a big layer PDF takes to build.
        """
        terminate = getattr(self._executor, "terminate_workers", None)  # Python 3.14+
        if terminate is not None:
            terminate()
            return
        # Before 3.14 the executor has no way to end its workers but through its own table.
        processes = list((getattr(self._executor, "_processes", None) or {}).values())
        self._executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()


_POOL: ExportPool | None = None


def export_pool() -> ExportPool:
    """Return the process's export pool (made on first use)."""
    global _POOL
    if _POOL is None:
        _POOL = ExportPool()
        # Before the interpreter tears modules down (else the executor's own exit hook
        # fails noisily).
        atexit.register(_POOL.close)
    return _POOL


def cancel_export_waits() -> None:
    """Cancel the running event loop's waits for PDF builds (:meth:`ExportPool.cancel_waits`)."""
    if _POOL is not None:
        _POOL.cancel_waits()


def close_export_pool() -> None:
    """End the process's export pool and the builds in it (a stopping ``lamina serve``).

    Call it before the interpreter exits: ``concurrent.futures`` joins its workers before
    ``atexit`` handlers run, which waited for every build in progress. A later
    :func:`export_pool` makes a new pool.
    """
    global _POOL
    if _POOL is not None:
        _POOL.close()
        _POOL = None


async def build_off_loop(
    store: Store,
    document: DocumentInfo,
    records: Iterable[RecordState],
    visible: Callable[[RecordState], bool] | None,
    *,
    with_layer: bool,
    flatten: bool = False,
) -> bytes:
    """Return the PDF a ``get_document`` asks for, built on the export pool (DESIGN §10).

    With ``with_layer``: :func:`build_layer_pdf` (the caller checks ``download``); without:
    :func:`plain_pdf`. The network shell awaits this instead of building on the loop.

    Raises:
        ExportBusy: the pool's queue is full.
        LaminaError: the PDF cannot be built (its message says why).
    """
    pool = export_pool()
    source = await asyncio.to_thread(store.read_asset, document.sha256)
    if with_layer:
        return await pool.run(_layer_pdf_bytes, source, _contents(records, visible), flatten)
    if visible is None:
        return source
    base = await pool.run(_base_states, source)
    hidden = frozenset(s.id for s in base if not visible(s))
    return await pool.run(_without, source, hidden) if hidden else source
