"""Opening documents in a window: local PDFs (with passwords), reviews, recent files.

The pages show at once; the annotations follow when the client document has opened, off
the GUI thread (:mod:`lamina.ui.documents`). Its opening starts once the first page tile is
on screen, a big PDF's once the view has stopped scrolling too (at most
:data:`SETTLE_LIMIT_S` later).
Every failure becomes a clear dialog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from lamina.auth import unverified_claims
from lamina.client.backoff import Backoff
from lamina.client.events import ConnectionState
from lamina.client.port import AutosaveMode, ReviewDocument
from lamina.client.review_model import ReviewModel
from lamina.model.errors import LaminaError
from lamina.pdf import (
    PasswordRequiredError,
    PdfDocument,
    PdfError,
    WrongPasswordError,
    open_pdf,
)
from lamina.pdf.reader_process import APART_BYTES
from lamina.ui.drawn_records import DrawnPlan, plan_drawing
from lamina.ui.heap import collection_paused
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QMenu,
    QProgressDialog,
    QWidget,
)

if TYPE_CHECKING:
    from lamina.ui.main_window import MainWindow

log = logging.getLogger("lamina.ui")

RECENT_LIMIT = 10
"""How many files File → Open recent and the welcome page list."""

SETTLE_LIMIT_S = 5.0
"""The longest a big PDF's annotations wait for its first page and a still view."""


def _model_and_drawing(document: ReviewDocument) -> tuple[ReviewModel, DrawnPlan]:
    """Return the review model of a document just opened and what its page view draws."""
    model = ReviewModel(document)
    return model, plan_drawing(model)


class JoinProgress(QProgressDialog):
    """Joining a review: a busy bar, why the server cannot be reached, for how long, Cancel."""

    def __init__(self, server_url: str, parent: QWidget) -> None:
        super().__init__(f"Connecting to {server_url}…", "Cancel", 0, 0, parent)
        self.setObjectName("joinProgress")
        self.setWindowTitle("Joining the review")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.server_url = server_url
        self.reason = ""
        self._started = time.monotonic()
        self._clock = QTimer(self)
        self._clock.timeout.connect(self._show)
        self._clock.start(1000)

    def show_reason(self, reason: str) -> None:
        """Say why the server could not be reached (another attempt follows)."""
        self.reason = reason
        self._show()

    def _show(self) -> None:
        seconds = int(time.monotonic() - self._started)
        if not self.reason:
            self.setLabelText(f"Connecting to {self.server_url}… ({seconds} s)")
            return
        self.setLabelText(
            f"Cannot reach {self.server_url} yet: {self.reason}.\n"
            f"Trying again (for {seconds} s); Cancel to give up."
        )

    def finish(self) -> None:
        """Close without counting as Cancel."""
        if not self.isVisible() and not self._clock.isActive():
            return
        self._clock.stop()
        self.canceled.disconnect()
        self.close()
        self.deleteLater()


class DocumentOpener(QObject):
    """Open local PDFs and reviews in a window, and remember the files opened.

    Args:
        window: the main window that shows what is opened.

    Signals: none (the window emits ``document_opened``).
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.opening: asyncio.Task[None] | None = None
        self._local_opening: dict[Path, asyncio.Task[None]] = {}
        """The local openings in progress, by file (one file's openings go one after another)."""
        """The document being opened in the background, if any."""
        self.joining: JoinProgress | None = None
        """The progress dialog of the last review joined (closed once it opened or failed)."""

    def choose_and_open(self) -> None:
        """Ask for a PDF on this computer and open it."""
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Open PDF", str(Path.home()), "PDF files (*.pdf);;All files (*)"
        )
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path, password: str | None = None) -> bool:
        """Open a local PDF; errors become a clear dialog. Return whether it opened.

        The pages show at once; the annotations (the PDF's own plus the user's edits kept in
        the local store) arrive when the client document has opened, off the GUI thread.
        """
        window = self.window
        try:
            pdf = open_pdf(path, password)
        except WrongPasswordError:  # first: it is a kind of PasswordRequiredError
            return self._ask_password(path, "That password does not open the file. Try again.")
        except PasswordRequiredError:
            return self._ask_password(path, f"{path.name} is protected by a password.")
        except (PdfError, OSError) as exc:
            window.show_error("Cannot open this file", str(exc))
            return False
        from lamina.ui.documents import ensure_loop

        documents = window.documents
        window.show_pdf(pdf, path.name)
        self.add_recent(path)
        if pdf.read_only_reason is not None:
            self.ask_owner_password(path, pdf)

        key = path.resolve()
        previous = self._local_opening.get(key)

        async def build_and_attach() -> None:
            try:
                client_doc = await documents.open_local(path, password)
            except (LaminaError, OSError) as exc:
                if window.pdf is pdf:
                    window.close_document()
                    window.stack.setCurrentWidget(window.welcome)
                    window.show_error("Cannot open this file", str(exc))
                return
            except Exception as exc:  # a bug: say so instead of showing pages nothing can touch
                log.exception("opening %s failed", path)
                if window.pdf is pdf:
                    window.close_document()
                    window.stack.setCurrentWidget(window.welcome)
                    window.show_error(
                        "Cannot open this file",
                        f"lamina failed to read its annotations ({type(exc).__name__}: {exc}); "
                        "the log has the details",
                    )
                return
            if window.pdf is not pdf:  # another file was opened meanwhile
                documents.close_later(client_doc)
                return
            try:
                # Indexing every record and grouping what is drawn take a while with tens of
                # thousands; nothing can change a local document before the window has it,
                # so a worker does it.
                model, drawn = await asyncio.to_thread(_model_and_drawing, client_doc)
            except BaseException:
                documents.close_later(client_doc)
                raise
            if window.pdf is not pdf:
                model.close()
                documents.close_later(client_doc)
                return
            window.attach_document(client_doc, path, path.name, model=model, drawn=drawn)

        async def attach() -> None:
            if previous is not None and not previous.done():
                # An earlier opening in this window (the same file without its owner
                # password, say) reads the same local store: it finishes, and closes what it
                # opened, before this one opens the store again.
                await asyncio.wait([previous])
            # Parsing thousands of records is seconds of Python on a thread (the GIL the GUI
            # thread paints with): it starts once the first page is on screen and the view
            # has stopped scrolling. The tiles show the PDF's own annotations meanwhile.
            if _big(path):
                if not await _until_settled(window, pdf, SETTLE_LIMIT_S):
                    return  # another file is shown now, or the window is gone
            elif not await _until_painted(window, pdf, SETTLE_LIMIT_S):
                # Opened at once, the store and the parsing took the CPU and the GIL from
                # the first page's tile (2 cores: the render worker has the other).
                return
            await build_and_attach()

        # Building the records would make the cycle collector walk them again and again,
        # holding the GIL (the window freezes): it waits until they are built and frozen,
        # and so does the tidy-up after a document closed (lamina.ui.heap).
        paused = contextlib.ExitStack()
        paused.enter_context(collection_paused())
        task = ensure_loop().create_task(attach(), name="lamina-open")
        self.opening = self._local_opening[key] = task

        def done(_task: asyncio.Task[None]) -> None:
            paused.close()
            if self._local_opening.get(key) is task:
                del self._local_opening[key]

        task.add_done_callback(done)
        return True

    def ask_owner_password(self, path: Path, pdf: PdfDocument) -> QInputDialog:
        """Offer to lift a PDF's ban on annotating with its owner password (not blocking).

        The pages stay shown read-only meanwhile; a password that lifts the ban reopens the
        file with it, one that does not says so and asks again; Cancel keeps it read-only.
        """
        window = self.window
        dialog = QInputDialog(window)
        dialog.setObjectName("ownerPasswordDialog")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.setWindowTitle("Owner password")
        dialog.setLabelText(
            f"{path.name} forbids adding or changing annotations.\n"
            "Enter its owner password to annotate it, or Cancel to read it only."
        )
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)

        def accepted(text: str) -> None:
            if window.pdf is not pdf:  # another file was opened meanwhile
                return
            try:
                with open_pdf(path, text) as trial:
                    lifted = trial.read_only_reason is None
            except (PdfError, OSError) as exc:
                window.show_error("Cannot open this file", str(exc))
                return
            if not lifted:
                again = self.ask_owner_password(path, pdf)
                again.setLabelText("That is not the owner password. Try again, or Cancel.")
                return
            self.open_path(path, text)

        dialog.textValueSelected.connect(accepted)
        window.keep_dialog(dialog)
        dialog.open()
        return dialog

    def _ask_password(self, path: Path, prompt: str) -> bool:
        text, ok = QInputDialog.getText(
            self.window, "Password", prompt, QLineEdit.EchoMode.Password
        )
        if not ok:
            return False
        return self.open_path(path, text)

    def open_review(self, link: str, backoff: Backoff | None = None) -> None:
        """Join the review an invite link points to; errors become a clear dialog."""
        from lamina.auth.invite import parse_invite_link
        from lamina.ui.documents import ensure_loop

        window = self.window
        documents = window.documents
        try:
            invite = parse_invite_link(link)
            claims = unverified_claims(invite.token)
        except LaminaError as exc:
            window.show_error("Cannot join this review", str(exc))
            return
        window.close_document()
        where = invite.server_url
        window.statusBar().showMessage(f"Joining the review on {where}…")
        presence = {"name": window.display_name(), "color": window.my_color()}
        autosave = AutosaveMode(window.preferences().autosave)
        dialog = JoinProgress(where, window)

        shown = [True]  # the dialog goes with its window, maybe before the join ends
        dialog.destroyed.connect(lambda *_: shown.clear())

        def progress(state: ConnectionState, reason: str) -> None:
            if not shown:
                return
            if reason and state in (ConnectionState.CONNECTING, ConnectionState.RECONNECTING):
                dialog.show_reason(reason)

        async def attach() -> None:
            try:
                client_doc, pdf_path = await documents.open_review(
                    invite,
                    presence=presence,
                    backoff=backoff,
                    autosave=autosave,
                    progress=progress,
                )
            except asyncio.CancelledError:
                dialog.finish()
                window.statusBar().showMessage("Joining cancelled", 5000)
                raise
            except (LaminaError, OSError) as exc:
                dialog.finish()
                window.statusBar().clearMessage()
                window.show_error("Cannot join this review", str(exc))
                return
            dialog.finish()
            try:
                pdf = open_pdf(pdf_path)
            except (PdfError, OSError) as exc:
                documents.close_later(client_doc)
                window.show_error("Cannot open the review's PDF", str(exc))
                return
            window.statusBar().clearMessage()
            host = invite.server_url.split("://", 1)[-1].rstrip("/")
            layer = claims.layer
            title = f"Review on {host}" + (f" \u2014 layer {layer}" if layer else "")
            window.show_pdf(pdf, title)
            window.attach_document(client_doc, pdf_path, title, claims)

        task = ensure_loop().create_task(attach(), name="lamina-join")
        self.opening = task
        self.joining = dialog
        dialog.canceled.connect(task.cancel)
        dialog.open()

    # -- recent files ------------------------------------------------------------------

    def recent_files(self) -> list[str]:
        """Return the PDFs opened last, newest first."""
        value = self.window.settings.value("recent", [])
        if isinstance(value, str):
            return [value]
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return []

    def add_recent(self, path: Path) -> None:
        """Put ``path`` first in the recent files (the welcome page lists them)."""
        resolved = str(path.resolve())
        recent = [resolved] + [p for p in self.recent_files() if p != resolved]
        self.window.settings.setValue("recent", recent[:RECENT_LIMIT])
        self.window.welcome.set_recent(recent)

    def fill_recent_menu(self, menu: QMenu) -> None:
        """List the recent files in File → Open recent (as it opens)."""
        menu.clear()
        for p in self.recent_files():
            action = menu.addAction(p)
            action.triggered.connect(lambda _=False, p=p: self.open_path(Path(p)))
        if not self.recent_files():
            menu.addAction("(none)").setEnabled(False)


def _big(path: Path) -> bool:
    """Return whether ``path`` is big enough for its annotations to be read apart."""
    try:
        return path.stat().st_size >= APART_BYTES
    except OSError:
        return False  # opening it says why it cannot be read


async def _until_painted(window: MainWindow, pdf: PdfDocument, limit: float) -> bool:
    """Wait until the window's page view has painted its first tile, it is not shown, or
    ``limit`` seconds have passed; return whether the window still shows ``pdf``."""
    view = window.view
    try:
        if view.has_painted() or not view.isVisible():
            return window.pdf is pdf
        painted = asyncio.get_running_loop().create_future()

        def on_paint() -> None:
            if not painted.done():
                painted.set_result(None)

        view.first_paint.connect(on_paint)
        try:
            await asyncio.wait([painted], timeout=limit)
        finally:
            view.first_paint.disconnect(on_paint)
    except RuntimeError:  # the window was deleted meanwhile (Qt's side of it is gone)
        return False
    return window.pdf is pdf


async def _until_settled(window: MainWindow, pdf: PdfDocument, limit: float) -> bool:
    """Wait until the window's page view has settled (:meth:`PageCanvas.settled`), it is not
    shown, or ``limit`` seconds have passed; return whether the window still shows ``pdf``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    view = window.view
    try:
        while window.pdf is pdf and view.isVisible() and not view.settled():
            if loop.time() >= deadline:
                break
            await asyncio.sleep(0.05)
    except RuntimeError:  # the window was deleted meanwhile (Qt's side of it is gone)
        return False
    return window.pdf is pdf
