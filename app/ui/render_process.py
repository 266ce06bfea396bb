"""Tile rendering in a worker process, so MuPDF's drawing never holds the GUI process's GIL.

PyMuPDF keeps the GIL while it draws, so a render *thread* stalls the GUI thread for as long as
each tile takes. A :class:`RenderWorker` is a separate Python process (started with the
``spawn`` context: forking a process that runs Qt is unsafe) that opens its own
:class:`~lamina.pdf.PdfDocument` and draws tiles with :func:`lamina.pdf.render_tile` into a ring of
shared-memory slots. The pipe carries only small messages:

GUI to worker::

    ("open", source, password)             open the PDF (a path, or its bytes)
    ("render", [(request_id, page, zoom, (x0, y0, x1, y1), slot), ...])   drawn in order
    ("quit",)                              finish; end of file on the pipe means the same

worker to GUI::

    ("ready",)                             imported, waiting for "open"
    ("opened", page_count) | ("open_failed", message)
    ("tile", request_id, slot, width, height, stride, format)
    ("pixels", request_id, width, height, stride, format, data)   too big for a slot
    ("failed", request_id, message)

The GUI side (:class:`lamina.ui.render.TileRenderer`) owns the slots: it names the slot of each
request, copies the pixels out when the answer arrives and only then reuses the slot, so the
worker never writes into pixels the GUI still reads.

This module must not import Qt: the worker process imports it, and importing PySide6 there
would only slow its start.

Start-up: a new worker process takes most of a second of CPU to start and import PyMuPDF,
so the page view calls :func:`prestart` once the app has been idle a moment, and
:func:`take_worker` hands that spare to the next document opened. A file opened at once
(``lamina file.pdf``) finds no spare: its first tiles are drawn on a thread and the worker is
started only once they are on screen, so on a two-core machine it never slows the first
paint.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import inspect
import logging
import multiprocessing
import os
import sys
import threading
import types
from collections.abc import Iterator
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lamina.pdf import PdfDocument, RenderedImage

log = logging.getLogger(__name__)

SLOTS = 8
"""Pixel slots per worker, and so tiles in flight at once (the rest wait in the GUI, where a
newer wish list can still drop them)."""

SLOT_BYTES = 1024 * 1024
"""Bytes per slot: a 512 x 512 tile at 4 bytes per pixel. Anything larger (a thumbnail on a
HiDPI screen) comes back inline in the message."""

DISABLE_ENV = "LAMINA_RENDER_PROCESS"
"""Set to ``0`` to render on a thread of the GUI process instead (to compare, or to debug)."""


def processes_enabled() -> bool:
    """Return whether tiles may be rendered in a worker process on this system."""
    if os.environ.get(DISABLE_ENV, "1") == "0":
        return False
    # The GUI watches the pipe with a socket notifier, which needs a POSIX file descriptor.
    return os.name == "posix"


class RenderWorker:
    """One render worker process, its pipe and its shared pixel slots (the GUI side).

    Attributes:
        conn: the GUI's end of the pipe.
        ready: the worker said it has imported everything and waits for work.
    """

    def __init__(self, slots: int = SLOTS, slot_bytes: int = SLOT_BYTES) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.slots = slots
        self.slot_bytes = slot_bytes
        self._shm = shared_memory.SharedMemory(create=True, size=slots * slot_bytes)
        self.conn, child = ctx.Pipe(duplex=True)
        self.ready = False
        self._process = ctx.Process(
            target=worker_main,
            args=(child, self._shm.name, slot_bytes, slots),
            name="lamina-render",
            daemon=True,  # multiprocessing ends daemon workers when the app exits
        )
        with _bare_main_module():
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

    def alive(self) -> bool:
        return not self._stopped and self._process.is_alive()

    def send(self, message: tuple[Any, ...]) -> bool:
        """Send ``message``; return False if the worker is gone."""
        try:
            self.conn.send(message)
        except (OSError, ValueError):
            return False
        return True

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
        self.send(("quit",))
        self.conn.close()  # end of file for the worker even if "quit" did not get through
        try:
            self._shm.close()
        except BufferError:
            # A view into the slots is still referenced; the memory goes when that view does.
            log.debug("render worker slots still referenced at stop")
        # The worker keeps its own mapping until it exits.
        self._shm.unlink()
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


@contextlib.contextmanager
def _bare_main_module() -> Iterator[None]:
    """Start workers with an empty ``__main__``: spawn would otherwise run the app's main
    script again in the worker, importing Qt and the whole app (seconds) for nothing; the
    worker needs only this module."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


_spare: RenderWorker | None = None


def prestart() -> None:
    """Start a spare worker now (if none is waiting) so the next document finds it warm."""
    global _spare
    if not processes_enabled():
        return
    if _spare is not None and _spare.alive():
        return
    try:
        _spare = RenderWorker()
    except OSError as exc:
        log.warning("cannot start a render worker process: %s; rendering on a thread", exc)
        _spare = None


def take_worker(start: bool = True) -> RenderWorker | None:
    """Return the spare worker, or a new one if ``start``; None where processes are not used."""
    global _spare
    if not processes_enabled():
        return None
    worker, _spare = _spare, None
    if worker is not None and worker.alive():
        return worker
    if worker is not None:
        worker.stop()
    if not start:
        return None
    try:
        return RenderWorker()
    except OSError as exc:
        log.warning("cannot start a render worker process: %s; rendering on a thread", exc)
        return None


def spare_pid() -> int | None:
    """Return the process id of the waiting spare worker, if any (for tests)."""
    return _spare.pid if _spare is not None else None


@atexit.register
def shutdown_spare() -> None:
    """End the spare worker (the app is quitting)."""
    global _spare
    worker, _spare = _spare, None
    if worker is not None:
        worker.stop()


# -- the worker process ---------------------------------------------------------------------


def worker_main(conn: Connection, shm_name: str, slot_bytes: int, slots: int) -> None:
    """Serve render requests on ``conn`` until told to quit or the GUI process is gone."""
    from lamina.pdf import PdfError, open_pdf

    try:
        shm = _attach(shm_name)
    except FileNotFoundError:
        return  # stopped before it got here: the GUI already freed the slots
    doc: PdfDocument | None = None
    try:
        conn.send(("ready",))
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return  # the GUI process closed the pipe or died
            kind = message[0]
            if kind == "quit":
                return
            if kind == "open":
                if doc is not None:
                    doc.close()
                    doc = None
                try:
                    doc = open_pdf(_source(message[1]), message[2])
                except (PdfError, OSError) as exc:
                    conn.send(("open_failed", str(exc)))
                else:
                    conn.send(("opened", doc.page_count))
            elif kind == "render":
                for request_id, page, zoom, clip, slot in message[1]:
                    conn.send(_render(doc, shm, slot_bytes, request_id, page, zoom, clip, slot))
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        if doc is not None:
            doc.close()
        shm.close()


def _attach(name: str) -> shared_memory.SharedMemory:
    # The GUI process created the slots and unlinks them; a spawned worker shares the GUI's
    # resource tracker, so registering again here would only make the tracker count twice.
    from multiprocessing import resource_tracker

    register = resource_tracker.register
    resource_tracker.register = lambda *_a, **_k: None
    try:
        return shared_memory.SharedMemory(name=name)
    finally:
        resource_tracker.register = register


def _source(source: str | bytes) -> Path | bytes:
    return source if isinstance(source, bytes) else Path(source)


def _render(
    doc: PdfDocument | None,
    shm: shared_memory.SharedMemory,
    slot_bytes: int,
    request_id: int,
    page: int,
    zoom: float,
    clip: tuple[int, int, int, int],
    slot: int,
) -> tuple[Any, ...]:
    from lamina.pdf import PdfError

    if doc is None:
        return ("failed", request_id, "no document is open in the render worker")
    try:
        image = render_native(doc, page, zoom, clip)
    except (PdfError, ValueError) as exc:
        return ("failed", request_id, f"page {page + 1} could not be drawn: {exc}")
    nbytes = image.stride * image.height
    if nbytes > slot_bytes:
        return (
            "pixels",
            request_id,
            image.width,
            image.height,
            image.stride,
            image.format,
            bytes(image.data),
        )
    buf = shm.buf
    assert buf is not None
    start = slot * slot_bytes
    buf[start : start + nbytes] = image.data
    return ("tile", request_id, slot, image.width, image.height, image.stride, image.format)


def render_native(
    doc: PdfDocument, page: int, zoom: float, clip: tuple[int, int, int, int]
) -> RenderedImage:
    """Render a tile without annotations, in Qt's native byte order when :mod:`lamina.pdf` can.

    ``Format_RGB32`` is B, G, R, A in memory on little-endian machines: such pixels are copied
    into the cache as they are, other ones converted once.
    """
    from lamina.pdf import render_tile

    return render_tile(doc, page, zoom, clip, annots=False, **_native_order())


@functools.cache
def _native_order() -> dict[str, Any]:
    from lamina.pdf import render_tile

    if "byte_order" in inspect.signature(render_tile).parameters and sys.byteorder == "little":
        return {"byte_order": "BGRA"}
    return {}


if __name__ == "__main__":  # pragma: no cover - started by multiprocessing, not by hand
    sys.exit("the render worker is started by the desktop app")
