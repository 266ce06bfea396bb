"""Draw tiles in a worker process, so MuPDF's drawing never holds the GUI process's GIL.

PyMuPDF keeps the GIL while it draws, so a render *thread* stalls the GUI thread for as long as
each tile takes. A :class:`RenderWorker` is a separate Python process (started with the
``spawn`` context: forking a process that runs Qt is unsafe) that opens its own
:class:`~lamina.pdf.PdfDocument` and draws tiles with :func:`render_native` into a ring of
shared-memory slots. The pipe carries only the small frozen messages below.

To the worker (:data:`Request`): :class:`OpenPdf`, then any number of :class:`RenderTiles`
(drawn in order) and :class:`ShowAnnotations` (which of the PDF's own annotations the tiles
show: those nobody edited, drawn with their own appearance streams), and :class:`Quit` (end of
file on the pipe means the same).

From the worker (:data:`Reply`): :class:`Ready` once it has imported everything, then
:class:`Opened` or :class:`OpenFailed` for each :class:`OpenPdf`, and for each tile one of
:class:`TileInSlot` (the pixels are in the request's slot), :class:`TilePixels` (too big for a
slot: the pixels are in the message) or :class:`TileFailed`.

The caller (the desktop's tile renderer) owns the slots: it names the slot of each request,
copies the pixels out when the answer arrives and only then reuses the slot, so the worker
never writes into pixels the caller still reads.

Start-up: a new worker process takes most of a second of CPU to start and import PyMuPDF,
so a :class:`WorkerPool` keeps one spare warm (:meth:`WorkerPool.prestart`, called once the
app has been idle a moment) and hands it to the next document opened
(:meth:`WorkerPool.take`). The desktop commands start the first one before the app imports
Qt (:func:`start_spare_early`), and the app's pool takes it over.

This module must not import Qt: the worker process imports it, and importing PySide6 there
would only slow its start.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import sys
import threading
import types
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from pathlib import Path

from lamina.pdf.appearance_repair import repair_page
from lamina.pdf.document import MUPDF_LOCK, PdfDocument, open_pdf
from lamina.pdf.errors import PdfError
from lamina.pdf.render import (  # the private helpers: one way to draw a tile
    RenderedImage,
    _draw_tile,
    _tile_pixels,
    render_tile,
)
from pymupdf import mupdf

log = logging.getLogger(__name__)

SLOTS = 8
"""Pixel slots per worker, and so tiles in flight at once (the rest wait in the caller, where a
newer wish list can still drop them)."""

SLOT_BYTES = 1024 * 1024
"""Bytes per slot: a 512 x 512 tile at 4 bytes per pixel. Anything larger (a thumbnail on a
HiDPI screen) comes back inline in the message."""

DISABLE_ENV = "LAMINA_RENDER_PROCESS"
"""Set to ``0`` to render on a thread of the GUI process instead (to compare, or to debug)."""

Clip = tuple[int, int, int, int]


# -- messages -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenPdf:
    """Open this PDF (closing the one open before); answered by Opened or OpenFailed."""

    source: Path | bytes
    password: str | None = None


@dataclass(frozen=True, slots=True)
class TileRequest:
    """One tile to draw: its id, page, zoom, pixel rectangle and the slot for its pixels."""

    request_id: int
    page: int
    zoom: float
    clip: Clip
    slot: int
    rotation: int = 0
    """Degrees clockwise the view turns the page, on top of the page's own /Rotate."""


@dataclass(frozen=True, slots=True)
class RenderTiles:
    """Draw these tiles in order; each is answered on its own."""

    tiles: tuple[TileRequest, ...]


@dataclass(frozen=True, slots=True)
class ShowAnnotations:
    """Draw only these of the PDF's annotations (by object number) from now on.

    ``None`` draws all of them (the state after :class:`OpenPdf`). Tiles asked for after this
    message are drawn with it; the caller drops the tiles it had of the pages that change.
    """

    xrefs: frozenset[int] | None


@dataclass(frozen=True, slots=True)
class Quit:
    """Close the document and end the process."""


Request = OpenPdf | RenderTiles | ShowAnnotations | Quit
"""What the caller sends to a worker."""


@dataclass(frozen=True, slots=True)
class Ready:
    """The worker has imported everything and waits for OpenPdf."""


@dataclass(frozen=True, slots=True)
class Opened:
    """The PDF is open; tiles may be asked for."""

    page_count: int


@dataclass(frozen=True, slots=True)
class OpenFailed:
    """The PDF could not be opened; the message says why."""

    message: str


@dataclass(frozen=True, slots=True)
class TileInSlot:
    """The tile's pixels are in its request's slot: ``stride * height`` bytes, ``format``."""

    request_id: int
    slot: int
    width: int
    height: int
    stride: int
    format: str


@dataclass(frozen=True, slots=True)
class TilePixels:
    """The tile did not fit a slot: its pixels come with the message."""

    request_id: int
    width: int
    height: int
    stride: int
    format: str
    data: bytes


@dataclass(frozen=True, slots=True)
class TileFailed:
    """The tile could not be drawn; the message says why."""

    request_id: int
    message: str


Reply = Ready | Opened | OpenFailed | TileInSlot | TilePixels | TileFailed
"""What a worker sends back."""


# -- the caller's side ----------------------------------------------------------------------


def processes_enabled() -> bool:
    """Return whether tiles may be rendered in a worker process on this system."""
    if os.environ.get(DISABLE_ENV, "1") == "0":
        return False
    # The GUI watches the pipe with a socket notifier, which needs a POSIX file descriptor.
    return os.name == "posix"


class RenderWorker:
    """One render worker process, its pipe and its shared pixel slots (the caller's side).

    Attributes:
        slots: how many pixel slots there are (numbered from 0).
        ready: the worker said :class:`Ready` (set by :meth:`receive`).
    """

    def __init__(self, slots: int = SLOTS, slot_bytes: int = SLOT_BYTES) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.slots = slots
        self.slot_bytes = slot_bytes
        self._shm = shared_memory.SharedMemory(create=True, size=slots * slot_bytes)
        self._conn, child = ctx.Pipe(duplex=True)
        self.ready = False
        self._process = ctx.Process(
            target=worker_main,
            args=(child, self._shm.name, slot_bytes),
            name="lamina-render",
            daemon=True,  # multiprocessing ends daemon workers when the app exits
        )
        with bare_main_module():
            self._process.start()
        # Only the worker holds its end now, so the worker's end of file means it is gone
        # and ours closing (or this process dying) makes the worker exit.
        child.close()
        self._stopped = False

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def exitcode(self) -> int | None:
        return self._process.exitcode

    def fileno(self) -> int:
        """Return the pipe's descriptor, readable when a reply waits (for a notifier)."""
        return self._conn.fileno()

    def alive(self) -> bool:
        return not self._stopped and self._process.is_alive()

    def send(self, request: Request) -> bool:
        """Send ``request``; return False if the worker is gone."""
        try:
            self._conn.send(request)
        except (OSError, ValueError):
            return False
        return True

    def receive(self) -> Reply | None:
        """Return the next reply if one is waiting, else None (never blocks).

        Raises:
            EOFError, OSError: the worker is gone.
        """
        if not self._conn.poll():
            return None
        reply: Reply = self._conn.recv()
        if isinstance(reply, Ready):
            self.ready = True
        return reply

    def _said_ready(self) -> bool:
        """Return whether a :class:`Ready` waits unread (the worker is up)."""
        try:
            while self._conn.poll():
                if isinstance(self._conn.recv(), Ready):
                    self.ready = True
                    return True
        except (EOFError, OSError):
            return False
        return False

    def slot(self, index: int, nbytes: int) -> memoryview:
        """Return the first ``nbytes`` of slot ``index`` (release the view after use)."""
        buf = self._shm.buf
        assert buf is not None
        start = index * self.slot_bytes
        return buf[start : start + nbytes]

    def stop(self, timeout: float = 2.0, *, wait: bool = True) -> None:
        """Ask the worker to quit and free the slots; wait for it (killing it if it hangs).

        With ``wait=False`` a daemon thread waits instead: a worker takes a tenth of a second
        to exit, which the GUI thread should not spend closing a document.
        """
        if self._stopped:
            return
        self._stopped = True
        # A worker still starting (importing PyMuPDF, seconds on a busy machine) reads no
        # Quit until it is up, and has nothing to finish: it is ended at once.
        starting = not self.ready and not self._said_ready()
        self.send(Quit())
        self._conn.close()  # end of file for the worker even if Quit did not get through
        try:
            self._shm.close()
        except BufferError:
            # A view into the slots is still referenced; the memory goes when that view does.
            log.debug("render worker slots still referenced at stop")
        # The worker keeps its own mapping until it exits.
        self._shm.unlink()
        if starting:
            self._process.kill()
        if wait:
            self._reap(timeout)
        else:
            threading.Thread(
                target=self._reap, args=(timeout,), name="lamina-render-reaper", daemon=True
            ).start()

    def _reap(self, timeout: float) -> None:
        self._process.join(timeout)
        if self._process.is_alive():
            log.warning("render worker %s did not quit; killing it", self._process.pid)
            self._process.kill()
            self._process.join(timeout)


def start_worker() -> RenderWorker | None:
    """Start a worker process; None (and a warning) if the system refuses one."""
    try:
        return RenderWorker()
    except OSError as exc:
        log.warning("cannot start a render worker process: %s; rendering on a thread", exc)
        return None


@contextlib.contextmanager
def bare_main_module() -> Iterator[None]:
    """Start workers with an empty ``__main__``: spawn would otherwise run the app's main
    script again in the worker, importing Qt and the whole app (seconds) for nothing; the
    worker needs only this module."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


_early_spare: RenderWorker | None = None
"""The worker :func:`start_spare_early` started, until the app's pool takes it."""


def start_spare_early() -> None:
    """Start a render worker now, for the app's first document (:func:`take_early_spare`).

    The desktop commands call this first thing: the worker's import of PyMuPDF (most of a
    second of CPU) then overlaps the app's own imports of Qt and its windows, so a file
    opened at start-up (``lamina open FILE.pdf``) finds a worker ready instead of drawing
    its first pages on a thread, holding the GIL, while one starts. Does nothing where
    processes are off or one was started already.
    """
    global _early_spare
    if _early_spare is None and processes_enabled():
        _early_spare = start_worker()
        if _early_spare is not None:
            atexit.register(_stop_early_spare)


def take_early_spare() -> RenderWorker | None:
    """Return the worker :func:`start_spare_early` started, once (the caller owns it)."""
    global _early_spare
    worker, _early_spare = _early_spare, None
    return worker


def _stop_early_spare() -> None:
    worker = take_early_spare()
    if worker is not None:
        worker.stop()


class WorkerPool:
    """Keep at most one spare worker warm for the next document; stop it when done.

    The owner (the desktop app) calls :meth:`stop` when it quits; a pool that started a
    worker also stops at interpreter exit, so no spare outlives the process.
    """

    def __init__(self, *, enabled: bool | None = None) -> None:
        self.enabled = processes_enabled() if enabled is None else enabled
        self._spare: RenderWorker | None = None
        self._at_exit = False

    @property
    def spare_pid(self) -> int | None:
        """The process id of the waiting spare worker, if any."""
        return self._spare.pid if self._spare is not None else None

    def prestart(self) -> None:
        """Start a spare worker now (if none is waiting) so the next document finds it warm."""
        if not self.enabled or (self._spare is not None and self._spare.alive()):
            return
        self._spare = self._start()

    def offer(self, worker: RenderWorker) -> None:
        """Keep ``worker`` as the spare; it is stopped if one waits already (or workers are off)."""
        if not self.enabled or (self._spare is not None and self._spare.alive()):
            worker.stop(wait=False)
            return
        if self._spare is not None:
            self._spare.stop()
        self._spare = worker
        if not self._at_exit:
            atexit.register(self.stop)
            self._at_exit = True

    def take(self, start: bool = True) -> RenderWorker | None:
        """Return the spare worker, or a new one if ``start``; None where processes are off.

        The caller owns the worker it gets and stops it.
        """
        if not self.enabled:
            return None
        worker, self._spare = self._spare, None
        if worker is not None and worker.alive():
            return worker
        if worker is not None:
            worker.stop()
        return self._start() if start else None

    def stop(self) -> None:
        """End the spare worker, if any (the app is quitting)."""
        worker, self._spare = self._spare, None
        if worker is not None:
            worker.stop()
        if self._at_exit:
            atexit.unregister(self.stop)
            self._at_exit = False

    def _start(self) -> RenderWorker | None:
        if not self._at_exit:
            atexit.register(self.stop)
            self._at_exit = True
        return start_worker()


# -- the worker process ---------------------------------------------------------------------


def worker_main(conn: Connection, shm_name: str, slot_bytes: int) -> None:
    """Serve requests on ``conn`` until told to quit or the caller's process is gone."""
    try:
        shm = _attach(shm_name)
    except FileNotFoundError:
        return  # stopped before it got here: the caller already freed the slots
    doc: PdfDocument | None = None
    shown = AnnotationFilter()
    try:
        conn.send(Ready())
        while True:
            try:
                request: Request = conn.recv()
            except (EOFError, OSError):
                return  # the caller closed the pipe or died
            if isinstance(request, Quit):
                return
            if isinstance(request, OpenPdf):
                if doc is not None:
                    doc.close()
                    doc = None
                shown = AnnotationFilter()
                try:
                    doc = open_pdf(request.source, request.password)
                except (PdfError, OSError) as exc:
                    conn.send(OpenFailed(str(exc)))
                else:
                    conn.send(Opened(doc.page_count))
            elif isinstance(request, ShowAnnotations):
                shown.show(request.xrefs)
            else:
                for tile in request.tiles:
                    conn.send(_render(doc, shm, slot_bytes, tile, shown))
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        if doc is not None:
            doc.close()
        shm.close()


def _attach(name: str) -> shared_memory.SharedMemory:
    # The caller created the slots and unlinks them; a spawned worker shares the caller's
    # resource tracker, so registering again here would only make the tracker count twice.
    from multiprocessing import resource_tracker

    register = resource_tracker.register
    resource_tracker.register = lambda *_a, **_k: None
    try:
        return shared_memory.SharedMemory(name=name)
    finally:
        resource_tracker.register = register


def _render(
    doc: PdfDocument | None,
    shm: shared_memory.SharedMemory,
    slot_bytes: int,
    tile: TileRequest,
    shown: AnnotationFilter | None = None,
) -> Reply:
    if doc is None:
        return TileFailed(tile.request_id, "no document is open in the render worker")
    try:
        image = render_native(doc, tile.page, tile.zoom, tile.clip, shown, tile.rotation)
    except (PdfError, ValueError) as exc:
        return TileFailed(tile.request_id, f"page {tile.page + 1} could not be drawn: {exc}")
    nbytes = image.stride * image.height
    if nbytes > slot_bytes:
        return TilePixels(
            tile.request_id,
            image.width,
            image.height,
            image.stride,
            image.format,
            bytes(image.data),
        )
    buf = shm.buf
    assert buf is not None
    start = tile.slot * slot_bytes
    buf[start : start + nbytes] = image.data
    return TileInSlot(
        tile.request_id, tile.slot, image.width, image.height, image.stride, image.format
    )


_NATIVE_ORDER = "BGRA" if sys.byteorder == "little" else "RGBA"


def render_native(
    doc: PdfDocument,
    page: int,
    zoom: float,
    clip: Clip,
    shown: AnnotationFilter | None = None,
    rotation: int = 0,
) -> RenderedImage:
    """Render a tile with the PDF's own annotations, in Qt's native byte order where it can.

    The annotations are drawn from their own appearance streams (``/AP``), as every other
    viewer draws them; ``shown`` leaves out those the app draws itself (edited or deleted
    ones, see :class:`AnnotationFilter`); without it all are drawn.

    ``Format_RGB32`` is B, G, R, A in memory on little-endian machines: such pixels are copied
    into the cache as they are; on big-endian machines they come as RGBA and are converted
    once. ``rotation`` turns the page further clockwise (the view's Rotate), in steps of 90
    degrees; ``clip`` is then in pixels of the page as turned.
    """
    repair_page(doc, page)  # clips with no path, which only MuPDF honours
    if shown is not None:
        shown.prepare(doc, page)
    if rotation % 360 == 0:
        return render_tile(doc, page, zoom, clip, annots=True, byte_order=_NATIVE_ORDER)
    return _render_turned(doc, page, zoom, clip, rotation % 360)


def _render_turned(
    doc: PdfDocument, page: int, zoom: float, clip: Clip, rotation: int
) -> RenderedImage:
    """Render a tile of a page the view turns by ``rotation`` degrees (90, 180 or 270)."""
    pixels = _tile_pixels(clip)
    with MUPDF_LOCK:
        display_list = doc.display_list(page, True).this
        bounds = mupdf.fz_bound_display_list(display_list)
        ctm = mupdf.fz_concat(mupdf.fz_scale(zoom, zoom), mupdf.fz_rotate(rotation))
        turned = mupdf.fz_transform_rect(bounds, ctm)
        ctm = mupdf.fz_concat(ctm, mupdf.fz_translate(-turned.x0, -turned.y0))
        return _draw_tile(display_list, ctm, pixels, _NATIVE_ORDER)


_HIDDEN_FLAG = 2
"""Bit 2 of an annotation's ``/F``: do not display or print it (PDF 32000 §12.5.3)."""


def page_annotation_xrefs(doc: PdfDocument, page: int) -> frozenset[int]:
    """Return the object numbers of a page's annotations (what :class:`AnnotationFilter`
    can hide there)."""
    with MUPDF_LOCK:
        return frozenset(xref for xref, *_kind in doc.fitz_page(page).annot_xrefs())


class AnnotationFilter:
    """Leave out of the drawing the PDF's annotations that are not to be shown.

    It sets the Hidden flag on each annotation not shown in this process's copy of the PDF
    (page by page, when a page is next drawn) and puts its own ``/F`` back once it is shown
    again; nothing is ever written to the file. Not thread-safe: one per open document and
    drawing thread.
    """

    def __init__(self) -> None:
        self._shown: frozenset[int] | None = None
        self._version = 0
        self._applied: dict[int, int] = {}
        self._original_flags: dict[int, str] = {}

    def show(self, xrefs: frozenset[int] | None) -> None:
        """Show only the annotations with these object numbers (None: all) from now on."""
        if xrefs != self._shown:
            self._shown = xrefs
            self._version += 1

    def prepare(self, doc: PdfDocument, page: int) -> None:
        """Hide and show the annotations of ``page`` as :meth:`show` said, before drawing it."""
        if self._applied.get(page, 0) == self._version:
            return
        self._applied[page] = self._version
        fitz_doc = doc.fitz_document
        changed = False
        for xref, *_kind in doc.fitz_page(page).annot_xrefs():
            hide = self._shown is not None and xref not in self._shown
            if hide and xref not in self._original_flags:
                kind, value = fitz_doc.xref_get_key(xref, "F")
                self._original_flags[xref] = value if kind == "int" else "null"
                flags = int(value) if kind == "int" else 0
                fitz_doc.xref_set_key(xref, "F", str(flags | _HIDDEN_FLAG))
                changed = True
            elif not hide and xref in self._original_flags:
                fitz_doc.xref_set_key(xref, "F", self._original_flags.pop(xref))
                changed = True
        if changed:
            doc.forget_display_lists(page)


if __name__ == "__main__":  # pragma: no cover - started by multiprocessing, not by hand
    sys.exit("the render worker is started by the desktop app")
