"""Read a big PDF's own annotations in a process of its own, at a lower CPU priority.

Reading annotations is Python work, one PyMuPDF call and one record at a time: the 2,199
links of a 429-page PDF take most of a second. On a thread of the desktop app that work
holds the GIL, so every time the GUI thread lets go of it (each Qt call that waits, each
event) it waits up to the interpreter's switch interval to get it back, and the first pages
of a scroll took 20-100 ms a frame until the reading ended. :class:`ReadingApartBackend`
reads a PDF of :data:`APART_BYTES` or more in a separate process instead (started with the
``spawn`` context, like the render worker: forking a process that runs Qt is unsafe), niced
by :data:`NICENESS` so that it takes only the CPU the GUI and the render worker leave; the
calling thread waits on a pipe without holding the GIL. Smaller PDFs are read where they are
asked for: starting a process costs about 0.3 s of CPU (Python and PyMuPDF imports), more
than reading what a small PDF holds.

The records come back as Instant JSON over the pipe (about 100 bytes each); an error the
reading raises is raised again in the caller, with its type.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from lamina.pdf.backend import PdfBackendImpl
from lamina.pdf.errors import PdfError
from lamina.pdf.render_worker import bare_main_module, processes_enabled

log = logging.getLogger(__name__)

APART_BYTES = 1024 * 1024
"""PDFs at least this big have their annotations read in a process of their own."""

NICENESS = 5
"""How much lower the reading process's CPU priority is (``nice``): it gets about a quarter
of a core while the app's own work wants both."""


class ReadingApartBackend(PdfBackendImpl):
    """The client's PDF backend, reading big PDFs' annotations in a separate process.

    ``apart_bytes`` is the file size from which a process is used (:data:`APART_BYTES`);
    where processes cannot be used (:func:`~lamina.pdf.render_worker.processes_enabled`)
    every PDF is read in the caller.
    """

    def __init__(self, apart_bytes: int = APART_BYTES) -> None:
        self.apart_bytes = apart_bytes

    def read_base_records(self, path: Path, password: str | None = None) -> list[dict[str, Any]]:
        """Return the PDF's annotations as Instant JSON records (ids = ``pdfObjectId``)."""
        try:
            big = path.stat().st_size >= self.apart_bytes
        except OSError:
            big = False  # reading it says why it cannot be read
        if big and processes_enabled():
            return read_base_records_apart(path, password)
        return super().read_base_records(path, password)


def read_base_records_apart(path: Path, password: str | None = None) -> list[dict[str, Any]]:
    """Return :meth:`PdfBackendImpl.read_base_records` of ``path``, read in a new process.

    Blocks until the process answers (without holding the GIL while it waits).

    Raises:
        PdfError: the PDF cannot be read (the reading's own error, or the process ended
            without an answer).
        OSError: the file cannot be read, or no process can be started.
    """
    ctx = multiprocessing.get_context("spawn")
    answers, child = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_read_main,
        args=(child, str(path), password),
        name="lamina-read-annotations",
        daemon=True,  # ended with the app if it quits first
    )
    try:
        with bare_main_module():
            process.start()
    finally:
        child.close()  # only the reader holds its end now: its exit is our end of file
    try:
        with answers:
            answer = answers.recv()
    except EOFError:
        process.join()
        raise PdfError(
            f"reading the annotations of {path.name} failed: the reading process ended "
            f"with exit code {process.exitcode}"
        ) from None
    process.join()
    kind, value = answer
    if kind == "records":
        return value
    raise value


def _read_main(conn: Connection, path: str, password: str | None) -> None:
    """Read the annotations of ``path`` and send them, or the error, on ``conn``."""
    with contextlib.suppress(OSError):
        os.nice(NICENESS)  # a lower priority is a favour to the app, never a must
    answer: tuple[str, object]
    try:
        answer = ("records", PdfBackendImpl().read_base_records(Path(path), password))
    except (PdfError, OSError) as exc:
        answer = ("error", exc)
    except Exception as exc:  # a bug: the caller raises it, with what it was
        log.exception("reading the annotations of %s failed", path)
        answer = (
            "error",
            PdfError(f"reading the annotations failed ({type(exc).__name__}: {exc})"),
        )
    with conn, contextlib.suppress(BrokenPipeError, ConnectionResetError):
        conn.send(answer)  # (unless the caller is gone: then nobody wants them)
