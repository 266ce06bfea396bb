"""Page tiles rendered outside the GUI process, kept in a cache bounded by bytes.

PyMuPDF holds the GIL while it draws, so a render thread in the GUI process stalls the GUI
thread for as long as each tile takes. Tiles are therefore drawn by a worker process
(:mod:`lamina.pdf.render_worker`) that opens its own copy of the PDF and writes the pixels into
shared memory; the GUI copies them once into a ``Format_RGB32`` ``QImage`` (Qt's native
format, so painting it needs no conversion) and reuses the slot. Until the worker has the
PDF open and warm (a cold start imports PyMuPDF, a large part of a second; even a spare that
is up opens and repairs the PDF first), where processes cannot be used, or after it crashed
too often, a thread of the GUI process draws instead, with its own
:class:`~lamina.pdf.PdfDocument` (PyMuPDF is not thread-safe); while a worker is coming, that
thread draws only the tiles on screen (MuPDF holds the GIL the GUI thread paints with).

The view calls :meth:`TileRenderer.request` with the tiles it would like to paint now; the
previous wish list is dropped, so fast scrolling never builds a backlog of pages nobody looks
at any more. Only :data:`~lamina.pdf.render_worker.SLOTS` tiles are at the worker at a time; the
rest wait here, where a newer wish list can still drop them. Tiles live in an LRU cache
bounded by bytes.

A new worker process takes most of a second of CPU to start. The application's worker pool
(:func:`lamina.ui.worker_pool.application_workers`) keeps a spare warm for the next document;
a file opened at once (``lamina file.pdf``) finds none, so its
first tiles are drawn on a thread and its worker is started only once they are on screen
(on a two-core machine it never slows the first paint).

Wish lists are per channel and channels have a fixed priority (:data:`CHANNELS`): the visible
tiles of the page view, then its prefetch, then the thumbnails. Thumbnails are not drawn before
the view has asked for its first tiles (or :data:`THUMBNAILS_WAIT_MS` passed): the sidebar asks
first, and MuPDF holding the GIL while it drew five thumbnails kept the GUI thread from even
asking for the page, which is the first thing on screen.

A worker that dies is started again and the tiles it was drawing are asked for again; a tile
that was being drawn in two crashes is given up (``failed``), and after
:data:`MAX_RESTARTS` crashes the thread draws.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from pathlib import Path

from lamina.pdf import PdfDocument, PdfError, open_pdf
from lamina.pdf.render_worker import (
    AnnotationFilter,
    Opened,
    OpenFailed,
    OpenPdf,
    Ready,
    RenderTiles,
    RenderWorker,
    Reply,
    ShowAnnotations,
    TileFailed,
    TileInSlot,
    TilePixels,
    TileRequest,
    WorkerPool,
    render_native,
)
from lamina.ui.tiles import TILE_SIZE, TileKey, qimage_of
from lamina.ui.worker_pool import application_workers
from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal, Slot
from PySide6.QtGui import QImage

log = logging.getLogger(__name__)

DEFAULT_CACHE_BYTES = 192 * 1024 * 1024

CHANNELS = ("view", "prefetch", "thumbnails")
"""Wish-list channels, most urgent first."""

MAX_RESTARTS = 3
"""Crashes of the worker process after which tiles are drawn on a thread instead."""

AFTER_FIRST_TILE_MS = 100
"""How long after the first tile arrives the worker process is started."""

THUMBNAILS_WAIT_MS = 500
"""How long thumbnails wait for the page view's first wish list (then they are drawn anyway)."""

WARM_UP = (0, 0.05, (0, 0, 32, 32))
"""The tile (page, zoom, clip) a worker draws after opening the PDF, before it gets real ones:
its first render pays MuPDF's one-off set-up (a tenth of a second), which no frame should
wait for; the thread keeps drawing until the answer is back."""

WAKE_DELAY_MS = 300
"""With no spare worker waiting, one is started after the first tile or this long after
opening (starting it at once would slow the first paint on a two-core machine)."""


class _Relay(QObject):
    """Carries finished tiles from the fallback thread to the GUI thread (a queued signal)."""

    done = Signal(object, object)


class TileRenderer(QObject):
    """Render tiles of one PDF in a worker process (or a fallback thread) and cache them.

    Its worker comes from ``workers`` (by default :func:`application_workers`); ``use_process``
    False draws on a thread only. :meth:`stop` ends the worker and the thread. ``opened`` is
    the caller's own open copy of the PDF, lent to the thread for the first tiles (until
    :meth:`show_annotations` is first called); the caller closes it only after :meth:`stop`.

    Signals:
        tile_ready(TileKey): a tile is in the cache; repaint where it shows.
        failed(str): a tile could not be rendered (the message says why).
    """

    tile_ready = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        source: Path | bytes,
        password: str | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        parent: QObject | None = None,
        *,
        use_process: bool | None = None,
        workers: WorkerPool | None = None,
        opened: PdfDocument | None = None,
    ) -> None:
        super().__init__(parent)
        self._source = source
        self._opened = opened
        self._password = password
        self._cache: OrderedDict[TileKey, QImage] = OrderedDict()
        self._cache_bytes = 0
        self._limit = cache_bytes
        self._previews: dict[tuple[int, int], TileKey] = {}
        """The sharpest whole-page image cached per page and rotation (a thumbnail)."""
        # Shared with the fallback thread, under self._cond.
        self._wanted: dict[str, list[TileKey]] = {c: [] for c in CHANNELS}
        self._in_flight: dict[TileKey, str] = {}
        self._suspects: set[TileKey] = set()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread_generation = 0
        self._threads: list[threading.Thread] = []
        self._relay = _Relay()
        self._relay.done.connect(self._on_thread_done)
        self._awaiting_gui = False
        """The thread's last tile is not handed over yet: it waits before drawing another."""
        # The worker process (GUI thread only).
        self._worker: RenderWorker | None = None
        self._notifier: QSocketNotifier | None = None
        self._open_sent = False
        self._worker_open = False
        self._warm_up_id: int | None = None
        self._free_slots: list[int] = []
        self._requests: dict[int, tuple[TileKey, int, int]] = {}
        self._next_request = 0
        self._restarts = 0
        self._crashes: Counter[TileKey] = Counter()
        # Which of the PDF's own annotations tiles show (None: all), and per page a count of
        # its changes: a tile asked for before the last change of its page is dropped.
        self._shown_xrefs: frozenset[int] | None = None
        self._page_epochs: Counter[int] = Counter()
        self._stale: set[TileKey] = set()
        self._held = {"thumbnails"}
        """Channels not drawn yet: the thumbnails wait for the view's first wish list."""
        QTimer.singleShot(THUMBNAILS_WAIT_MS, self, self._release_held)
        self._wake_timer = QTimer(self)
        self._wake_timer.setSingleShot(True)
        self._wake_timer.timeout.connect(self._wake_worker)
        self._workers = workers if workers is not None else application_workers()
        if use_process is None:
            use_process = self._workers.enabled
        self._use_process = use_process
        if use_process:
            # Only a spare that is already running; a new worker is started once the first
            # tiles are on screen (see _store), or soon anyway.
            self._attach_worker(self._workers.take(start=False))
            if self._worker is None:
                self._wake_timer.start(WAKE_DELAY_MS)
        self._ensure_fallback()

    # -- GUI thread -------------------------------------------------------------------------

    def cached(self, key: TileKey) -> QImage | None:
        """Return the tile's image if it is cached (and mark it recently used)."""
        image = self._cache.get(key)
        if image is not None:
            self._cache.move_to_end(key)
        return image

    def stale(self, key: TileKey) -> bool:
        """Return whether a cached tile shows annotations that have changed since (ask again)."""
        return key in self._stale

    def preview(self, page: int, rotation: int = 0) -> QImage | None:
        """Return a cached whole-page image of ``page`` turned by ``rotation`` at any zoom (a
        thumbnail), if any.

        The page view scales it up while the sharp tiles are being drawn.
        """
        key = self._previews.get((page, rotation))
        return self._cache.get(key) if key is not None else None

    def pending(self, channel: str = "view") -> list[TileKey]:
        """Return the tiles of ``channel`` still waiting or being drawn, most wanted first."""
        with self._cond:
            queued = list(self._wanted.get(channel, ()))
            return [k for k, c in self._in_flight.items() if c == channel] + queued

    def cached_keys(self) -> list[TileKey]:
        """Return the cached tiles, least recently used first."""
        return list(self._cache)

    def request(self, keys: list[TileKey], channel: str = "view") -> None:
        """Replace the wish list of ``channel`` with ``keys`` (first = most wanted).

        Cached tiles and tiles being drawn are skipped; the old wish list of the channel is
        dropped (tiles nobody looks at any more are never drawn). Channels are served in the
        order of :data:`CHANNELS`.
        """
        if channel not in CHANNELS:
            raise ValueError(f"unknown render channel {channel!r}; use one of {CHANNELS}")
        with self._cond:
            if channel == "view":
                self._held.clear()
            seen: set[TileKey] = set()
            wanted = []
            for k in keys:
                fresh = k in self._cache and k not in self._stale
                if not fresh and k not in self._in_flight and k not in seen:
                    seen.add(k)
                    wanted.append(k)
            if wanted != self._wanted[channel]:
                self._wanted[channel] = wanted
                self._cond.notify()
        self._pump()

    def _release_held(self) -> None:
        with self._cond:
            self._held.clear()
            self._cond.notify()
        self._pump()

    @property
    def cache_bytes(self) -> int:
        """Bytes of images held by the cache now."""
        return self._cache_bytes

    @property
    def worker_pid(self) -> int | None:
        """The process id of the render worker process, None while tiles are drawn in-process."""
        return self._worker.pid if self._worker is not None else None

    @property
    def rendering_in_process(self) -> bool:
        """Whether the worker process has the document open, has drawn its warm-up tile and
        draws the tiles (until then a thread of this process does)."""
        return self._worker_open

    def clear(self) -> None:
        """Drop every cached tile (the zoom changed a lot, or memory is needed)."""
        self._cache.clear()
        self._stale.clear()
        self._previews.clear()
        self._cache_bytes = 0

    def show_annotations(self, xrefs: frozenset[int] | None, pages: Iterable[int]) -> None:
        """Show only these of the PDF's own annotations in tiles from now on (None: all).

        The app draws the others itself (new and edited records). ``pages`` are those whose
        tiles change: their cached tiles become :meth:`stale` (still there to paint until their
        new pixels arrive, but asked for again like missing ones), and tiles of them being
        drawn now are dropped when they arrive (``tile_ready`` still says so).
        """
        if xrefs == self._shown_xrefs:
            return
        changed = set(pages)
        with self._cond:
            self._shown_xrefs = xrefs
            for page in changed:
                self._page_epochs[page] += 1
            # Painted until their new pixels arrive (no blank flash), but asked for again.
            self._stale.update(k for k in self._cache if k.page in changed)
        worker = self._worker
        if worker is not None and self._open_sent and not worker.send(ShowAnnotations(xrefs)):
            self._on_worker_died()
        for key in [k for k in self._stale if k.page in changed]:
            self.tile_ready.emit(key)  # repaint: the view and the thumbnails ask again

    def stop(self) -> None:
        """End the worker process and the fallback thread, and wait for them (closing)."""
        with self._cond:
            self._stopping = True
            self._thread_generation += 1
            self._wanted = {c: [] for c in CHANNELS}
            self._cond.notify_all()
        self._wake_timer.stop()
        self._detach_worker()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def _store(self, key: TileKey, image: QImage | str) -> None:
        if self._stopping:
            return
        if isinstance(image, str):
            self.failed.emit(image)
            return
        if self._worker is None and self._wake_timer.remainingTime() > AFTER_FIRST_TILE_MS:
            # The first tiles are here: start the worker once they are painted (a process
            # starting takes a CPU from this one for a while).
            self._wake_timer.start(AFTER_FIRST_TILE_MS)
        self._crashes.pop(key, None)
        self._stale.discard(key)
        old_image = self._cache.pop(key, None)
        if old_image is not None:
            self._cache_bytes -= old_image.sizeInBytes()
        self._cache[key] = image
        self._cache_bytes += image.sizeInBytes()
        if key.x == 0 and key.y == 0:
            self._note_preview(key)
        while self._cache_bytes > self._limit and len(self._cache) > 1:
            old_key, old = self._cache.popitem(last=False)
            self._cache_bytes -= old.sizeInBytes()
            self._stale.discard(old_key)
            if self._previews.get((old_key.page, old_key.rotation)) == old_key:
                del self._previews[old_key.page, old_key.rotation]
        self.tile_ready.emit(key)

    def _note_preview(self, key: TileKey) -> None:
        # A tile at the origin that is small enough to be a whole page is a thumbnail render;
        # keep the sharpest one per page as the stand-in for tiles not drawn yet.
        if key.width >= TILE_SIZE or key.height >= TILE_SIZE:
            return
        best = self._previews.get((key.page, key.rotation))
        if best is None or best not in self._cache or best.width < key.width:
            self._previews[key.page, key.rotation] = key

    def _take(self, for_thread: bool) -> TileKey | None:
        """Pop the most wanted tile and mark it in flight (hold ``self._cond``)."""
        for channel in CHANNELS:
            if channel in self._held:
                continue
            if for_thread and channel != "view" and self._worker is not None:
                # A worker is coming: drawn on the thread, tiles nobody looks at yet would
                # only hold the GIL the GUI thread needs to paint the ones they do.
                break
            wanted = self._wanted[channel]
            for i, key in enumerate(wanted):
                # A tile that was being drawn when the worker process died might crash MuPDF:
                # only a (restarted) worker process may try it again, never this process.
                if for_thread and key in self._suspects:
                    continue
                del wanted[i]
                self._in_flight[key] = channel
                return key
        return None

    # -- the worker process (GUI thread) ----------------------------------------------------

    def _attach_worker(self, worker: RenderWorker | None) -> None:
        if worker is None:
            return
        self._worker = worker
        self._worker_open = False
        self._warm_up_id = None
        self._open_sent = False
        self._free_slots = list(range(worker.slots))
        self._notifier = QSocketNotifier(worker.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        self._drain()  # a spare worker may have said Ready long ago (then the PDF is sent)
        # A path is a short message; a PDF's bytes wait until the worker reads (no blocking).
        if (
            self._worker is worker
            and not self._open_sent
            and (isinstance(self._source, Path) or worker.ready)
        ):
            self._send_open()

    def _wake_worker(self) -> None:
        """Start the worker process if this renderer has none yet."""
        if self._worker is None and self._use_process and not self._stopping:
            self._attach_worker(self._workers.take())

    def _send_open(self) -> None:
        assert self._worker is not None
        self._open_sent = True
        sent = self._worker.send(OpenPdf(self._source, self._password))
        if sent and self._shown_xrefs is not None:
            sent = self._worker.send(ShowAnnotations(self._shown_xrefs))
        if not sent:
            self._on_worker_died()

    def _detach_worker(self, wait: bool = False) -> RenderWorker | None:
        worker, self._worker = self._worker, None
        if self._notifier is not None:
            # Stop watching the descriptor before it is closed.
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None
        self._worker_open = False
        if worker is not None:
            worker.stop(wait=wait)
        return worker

    def _drain(self, *_args: object) -> None:
        """Handle every message the worker has sent so far."""
        while (worker := self._worker) is not None:
            try:
                reply = worker.receive()
            except (EOFError, OSError):
                self._on_worker_died()
                return
            if reply is None:
                break
            self._handle(worker, reply)
        self._pump()

    def _handle(self, worker: RenderWorker, reply: Reply) -> None:
        if isinstance(reply, Ready):
            if not self._open_sent:
                self._send_open()
        elif isinstance(reply, Opened):
            self._send_warm_up(worker)
        elif (
            isinstance(reply, TileInSlot | TilePixels | TileFailed)
            and reply.request_id == self._warm_up_id
        ):
            # Warm: it draws from now on; the fallback thread finishes its tile and quits.
            self._warm_up_id = None
            self._free_slots.append(0)
            self._worker_open = True
            with self._cond:
                self._thread_generation += 1
                self._cond.notify_all()
        elif isinstance(reply, OpenFailed):
            log.warning(
                "the render worker cannot open the pdf: %s; rendering on a thread", reply.message
            )
            self._detach_worker()
            self._forget_requests()
            self._ensure_fallback()
        elif isinstance(reply, TileInSlot | TilePixels | TileFailed):
            key, slot, epoch = self._requests.pop(reply.request_id)
            image: QImage | str
            if epoch != self._page_epochs[key.page]:
                # Drawn with annotations that have changed since: ask again.
                self._free_slots.append(slot)
                with self._cond:
                    self._in_flight.pop(key, None)
                    self._suspects.discard(key)
                self.tile_ready.emit(key)
                return
            if isinstance(reply, TileInSlot):
                view = worker.slot(slot, reply.stride * reply.height)
                try:
                    image = qimage_of(view, reply.width, reply.height, reply.stride, reply.format)
                finally:
                    view.release()
            elif isinstance(reply, TilePixels):
                image = qimage_of(reply.data, reply.width, reply.height, reply.stride, reply.format)
            else:
                image = reply.message
            self._free_slots.append(slot)
            with self._cond:
                self._in_flight.pop(key, None)
                self._suspects.discard(key)
            self._store(key, image)

    def _send_warm_up(self, worker: RenderWorker) -> None:
        """Have the worker draw :data:`WARM_UP` (into slot 0); tiles stay with the thread."""
        self._warm_up_id = self._next_request
        self._next_request += 1
        self._free_slots.remove(0)
        page, zoom, clip = WARM_UP
        if not worker.send(RenderTiles((TileRequest(self._warm_up_id, page, zoom, clip, 0),))):
            self._on_worker_died()

    def _pump(self) -> None:
        """Send the most wanted tiles to the worker while it has free slots (one message)."""
        if not self._worker_open or not self._free_slots or self._stopping:
            return
        batch = []
        with self._cond:
            while self._free_slots and (key := self._take(for_thread=False)) is not None:
                slot = self._free_slots.pop()
                request_id = self._next_request
                self._next_request += 1
                self._requests[request_id] = (key, slot, self._page_epochs[key.page])
                batch.append(
                    TileRequest(request_id, key.page, key.zoom, key.clip, slot, key.rotation)
                )
        assert self._worker is not None
        if batch and not self._worker.send(RenderTiles(tuple(batch))):
            self._on_worker_died()

    def _forget_requests(self) -> list[TileKey]:
        """Put the tiles sent to a worker that is gone back at the front of their wish lists."""
        lost = [key for key, _slot, _epoch in self._requests.values()]
        self._requests.clear()
        with self._cond:
            for key in reversed(lost):
                channel = self._in_flight.pop(key, "view")
                if key not in self._wanted[channel]:
                    self._wanted[channel].insert(0, key)
            self._cond.notify_all()
        return lost

    def _on_worker_died(self) -> None:
        worker = self._detach_worker(wait=True)  # it is gone already: this only reaps it
        exitcode = worker.exitcode if worker is not None else None
        lost = self._forget_requests()
        if self._stopping:
            return
        given_up = []
        with self._cond:
            for key in lost:
                self._crashes[key] += 1
                self._suspects.add(key)
                if self._crashes[key] >= 2:
                    # Drawn twice, crashed twice: drawing it again would crash again.
                    for wanted in self._wanted.values():
                        if key in wanted:
                            wanted.remove(key)
                    given_up.append(key)
        for key in given_up:
            self.failed.emit(f"page {key.page + 1} could not be drawn: the renderer crashed on it")
        self._restarts += 1
        if self._restarts > MAX_RESTARTS:
            log.warning(
                "the render worker ended unexpectedly (exit code %s) %d times; "
                "rendering on a thread from now on",
                exitcode,
                self._restarts,
            )
        else:
            log.warning(
                "the render worker ended unexpectedly (exit code %s); restarting it", exitcode
            )
            self._attach_worker(self._workers.take())
        self._ensure_fallback()
        self._pump()

    # -- the fallback thread ----------------------------------------------------------------

    def _ensure_fallback(self) -> None:
        """Draw on a thread until a worker process has the PDF open and warm.

        Even a spare that is up already takes a while to open the PDF (a damaged one is
        repaired) and pay for its first render; the thread draws the first tiles from the
        window's own open copy meanwhile, which is what the first paint waits for.
        """
        if self._stopping or self._worker_open:
            return
        with self._cond:
            if any(t.is_alive() and t.name == self._thread_name() for t in self._threads):
                return
            self._threads = [t for t in self._threads if t.is_alive()]
            thread = threading.Thread(
                target=self._run,
                args=(self._thread_generation,),
                name=self._thread_name(),
                daemon=True,
            )
        thread.start()
        self._threads.append(thread)

    def _thread_name(self) -> str:
        return f"lamina-render-{self._thread_generation}"

    @Slot(object, object)
    def _on_thread_done(self, key: TileKey | None, done: tuple[QImage | str, int]) -> None:
        image, epoch = done
        with self._cond:
            self._in_flight.pop(key, None)  # type: ignore[arg-type]
        if key is not None and epoch != self._page_epochs[key.page]:
            self.tile_ready.emit(key)  # drawn with annotations that have changed: ask again
        else:
            self._store(key, image)  # type: ignore[arg-type]
        self._pump()
        # After the loop's next turn: what this tile changed is painted by then.
        QTimer.singleShot(0, self, self._resume_thread)

    def _resume_thread(self) -> None:
        with self._cond:
            self._awaiting_gui = False
            self._cond.notify_all()

    def _run(self, generation: int) -> None:
        # The first tiles are drawn from the window's own copy of the PDF, if it lent one:
        # opening a second copy first (a damaged PDF is repaired on every open) would double
        # the time to the first page. Its calls are serialized like every MuPDF call, and
        # it is used only while every annotation is shown (nothing in it is changed).
        doc: PdfDocument | None = None
        lent = self._opened
        shown_filter = AnnotationFilter()  # this thread's copy of the PDF
        try:
            while True:
                with self._cond:
                    while True:
                        if self._stopping or self._thread_generation != generation:
                            return
                        # MuPDF holds the GIL while it draws: started at once, the next tile
                        # would keep the GUI thread from storing and painting this one (the
                        # first paint waited for the second tile).
                        key = None if self._awaiting_gui else self._take(for_thread=True)
                        if key is not None:
                            epoch = self._page_epochs[key.page]
                            shown = self._shown_xrefs
                            break
                        self._cond.wait()
                try:
                    if lent is not None and shown is None:
                        rendered = render_native(
                            lent, key.page, key.zoom, key.clip, None, key.rotation
                        )
                    else:
                        if doc is None:
                            try:
                                doc = open_pdf(self._source, self._password)
                            except (PdfError, OSError) as exc:
                                self._relay.done.emit(None, (f"cannot render pages: {exc}", 0))
                                return
                        shown_filter.show(shown)
                        rendered = render_native(
                            doc, key.page, key.zoom, key.clip, shown_filter, key.rotation
                        )
                    image: QImage | str = qimage_of(
                        rendered.data,
                        rendered.width,
                        rendered.height,
                        rendered.stride,
                        rendered.format,
                    )
                except (PdfError, ValueError) as exc:
                    image = f"page {key.page + 1} could not be drawn: {exc}"
                with self._cond:
                    self._awaiting_gui = True
                self._relay.done.emit(key, (image, epoch))
        finally:
            if doc is not None:
                doc.close()
