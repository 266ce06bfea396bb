"""Open and close :mod:`lamina.client` documents for the windows (standalone files and reviews).

Everything here runs on the qasync event loop (the GUI thread); file and network work
happens in the client's own ``asyncio.to_thread`` calls and background tasks, so the window
never waits on it. A local PDF is opened whole in a worker thread (reading and parsing tens
of thousands of annotations takes seconds), a big one's annotations read in a process of
their own (:mod:`lamina.pdf.reader_process`); a review is opened on the loop, since its
connection starts at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lamina.auth.invite import Invite, parse_invite_link
from lamina.client.backoff import Backoff
from lamina.client.document import LaminaDocument
from lamina.client.events import ConnectionState, ConnectionStateChanged
from lamina.client.port import AutosaveMode, ReviewDocument
from lamina.client.review import review_store_path
from lamina.client.standalone import local_store_path
from lamina.client.store import default_store_dir
from lamina.pdf.backend import PdfBackendImpl
from lamina.pdf.reader_process import ReadingApartBackend
from lamina.ui.heap import tidy

log = logging.getLogger(__name__)

TIDY_AFTER_CLOSE_S = 1.0
"""How long after a document closed the cycle collector frees what it left (one stall)."""


def ensure_loop() -> asyncio.AbstractEventLoop:
    """Return the running event loop; outside ``run_app`` (tests, scripts) start a qasync one.

    The qasync loop runs on Qt's own event loop, so whoever spins Qt (``app.exec``,
    ``processEvents``, pytest-qt's waits) runs the client's tasks too.
    """
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    import qasync
    from lamina.ui.app import ensure_application

    loop = qasync.QEventLoop(ensure_application(), already_running=True)
    # Plain threads: nobody closes this loop, and Qt warns about QThreads alive at exit.
    loop.set_default_executor(ThreadPoolExecutor(max_workers=4, thread_name_prefix="lamina"))
    asyncio.set_event_loop(loop)
    return loop


class OpenDocuments:
    """The client documents the app's windows have open, and those still closing.

    The app controller owns one. A document reopened while its close is still running waits
    for the close first (both would use one store file); the same review opened twice in
    one app (the sample review) gets a replica of its own.
    """

    def __init__(self) -> None:
        self._closing: dict[str, asyncio.Task[None]] = {}
        """Documents being closed, by store file."""
        self._open_stores: set[str] = set()
        """Store files of the reviews open now."""

    async def _wait_closing(self, store_path: Path) -> None:
        task = self._closing.get(str(store_path))
        if task is not None:
            await asyncio.shield(task)

    async def open_local(self, path: Path, password: str | None = None) -> LaminaDocument:
        """Open a local PDF as a standalone document; edits are kept in the local store.

        The PDF file itself changes only on :meth:`LaminaDocument.save` (Ctrl+S).

        The document is opened, and every record parsed, in a worker thread: nothing else
        can see it until it is returned, and a PDF with tens of thousands of annotations
        takes seconds to read.
        """
        await self._wait_closing(local_store_path(path))
        return await asyncio.to_thread(_open_local_document, path, password)

    async def open_review(
        self,
        invite: Invite | str,
        *,
        presence: dict[str, Any] | None = None,
        backoff: Backoff | None = None,
        autosave: AutosaveMode = AutosaveMode.IMMEDIATE,
        progress: Callable[[ConnectionState, str], None] | None = None,
    ) -> tuple[LaminaDocument, Path]:
        """Join the review an invite points to; return the document and its PDF on disk.

        ``autosave`` decides when edits are sent (the user's Preferences). ``progress`` hears
        each state of the connection with its reason while the PDF is awaited (a server that
        cannot be reached says so on every attempt); cancelling the call gives up cleanly.

        Returns once the PDF is available: from the local cache at once for a review opened
        before, else after its download (the connection runs in the background).

        Raises:
            InviteError: the link is not an invite.
            ClientError: the token is malformed or names no document.
            DocumentUnavailableError: the PDF is not cached and the server refused the token.
        """
        if isinstance(invite, str):
            invite = parse_invite_link(invite)
        store_dir = default_store_dir()
        store_path = review_store_path(invite, store_dir)
        await self._wait_closing(store_path)
        n = 1
        while str(store_path) in self._open_stores:
            # The same person twice in one app (the sample review): a replica of its own each,
            # or both windows would be one client to the server and share one store file.
            n += 1
            store_dir = default_store_dir() / f"copy-{n}"
            store_path = review_store_path(invite, store_dir)
            await self._wait_closing(store_path)
        self._open_stores.add(str(store_path))
        try:
            doc = await LaminaDocument.open_invite(
                invite,
                store_dir=store_dir,
                pdf_backend=PdfBackendImpl(),
                presence=presence,
                backoff=backoff,
                autosave=autosave,
            )
        except BaseException:
            self._open_stores.discard(str(store_path))
            raise
        doc.write_edits_behind()  # as a local document's
        unsubscribe = None
        if progress is not None:

            def on_event(event: object) -> None:
                if isinstance(event, ConnectionStateChanged):
                    progress(event.state, event.reason)

            unsubscribe = doc.subscribe(on_event)
        try:
            data = await doc.pdf_bytes()
            pdf_path = doc.store_path.with_suffix(".pdf")
            if not pdf_path.exists() or pdf_path.stat().st_size != len(data):
                await asyncio.to_thread(pdf_path.write_bytes, data)
        except BaseException:
            self._open_stores.discard(str(store_path))
            await asyncio.shield(doc.close())
            raise
        finally:
            if unsubscribe is not None:
                unsubscribe()
        return doc, pdf_path

    def close_later(self, doc: ReviewDocument) -> asyncio.Task[None]:
        """Close ``doc`` in the background (pending edits stay in its store for next time)."""
        key = str(doc.store_path)

        async def run() -> None:
            try:
                await doc.close()
            except Exception:
                log.exception("closing %s failed", key)
            finally:
                if self._closing.get(key) is task:
                    del self._closing[key]
                self._open_stores.discard(key)
                # Its records were frozen out of the cycle collector's walks once built
                # (lamina.ui.heap): their reference cycles are freed when the app is idle.
                asyncio.get_running_loop().call_later(TIDY_AFTER_CLOSE_S, tidy)

        task = ensure_loop().create_task(run(), name="lamina-close")
        self._closing[key] = task
        return task

    async def wait_closed(self) -> None:
        """Wait until every document being closed is closed."""
        while self._closing:
            await asyncio.gather(*self._closing.values(), return_exceptions=True)


def _open_local_document(path: Path, password: str | None) -> LaminaDocument:
    """Open a standalone document on this (worker) thread, with its records parsed.

    Opening a local document creates nothing bound to an event loop (no task, no future), so
    one of its own on this thread serves it; the caller's loop takes it over afterwards.
    """
    # A big PDF's own annotations are read in a process of their own: read on this thread
    # they would hold the GIL for seconds while the first pages scroll.
    document = asyncio.run(
        LaminaDocument.open_local(
            path,
            pdf_backend=ReadingApartBackend(),
            password=password,
            autosave=AutosaveMode.DISABLED,
        )
    )
    # Parsed once here, read from the parsed copies by the window (the review model, the
    # page view's unedited originals).
    document.records()
    document.base_records()
    # The GUI thread must not wait for an edit's fsync (it is durable before it is saved).
    document.write_edits_behind()
    return document
