"""Start the desktop app: the QApplication, the qasync loop, the crash dialog."""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from lamina.ui.heap import freeze_long_lived
from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger(__name__)

ORGANIZATION = "Lamina"
APPLICATION = "Lamina"


def ensure_application(argv: list[str] | None = None) -> QApplication:
    """Return the QApplication, creating it (with Lamina's names) if needed.

    Creating it also freezes what is alive then (the modules imported, Qt's wrappers): a
    full cycle collection walking them would freeze the window (:mod:`lamina.ui.heap`).
    """
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv or [sys.argv[0]])
        freeze_long_lived()
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    assert isinstance(app, QApplication)
    return app


def log_path_text() -> str:
    """Return where the log file is (from ``lamina.applog``), for the crash dialog."""
    try:
        from lamina.applog import log_file_path
    except ImportError:
        return "the terminal output"
    try:
        return str(log_file_path())
    except Exception as exc:
        return f"(log location unknown: {exc})"


def install_crash_dialog() -> Callable[..., None]:
    """Make an unhandled exception in the Qt loop show a dialog with the log path.

    Returns the previous ``sys.excepthook``.
    """
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        log.error("unhandled exception", exc_info=(kind, exc, tb))
        text = "".join(traceback.format_exception_only(kind, exc)).strip()
        if QApplication.instance() is not None:
            box = QMessageBox(
                QMessageBox.Icon.Critical,
                "Lamina hit a problem",
                f"Something went wrong: {text}\n\nYour annotations are kept. "
                f"Details are in the log file:\n{log_path_text()}",
            )
            box.setObjectName("crashDialog")
            box.exec()

    sys.excepthook = hook
    return previous


def run_app(
    open_file: Path | None = None,
    invite: str | None = None,
    settings: QSettings | None = None,
    password: str | None = None,
) -> int:
    """Run the desktop app until its last window closes; return the exit status.

    Everything runs on a qasync loop over Qt's event loop: the client documents, and the
    review server when the app hosts one. When a qasync loop is already running (a test or a
    script that started one with :func:`lamina.ui.documents.ensure_loop`), the app runs on it.
    The app ends after its documents are closed, not when Qt sees the last window go.
    """
    import qasync
    from lamina.ui.controller import AppController

    app = ensure_application()
    previous_hook = install_crash_dialog()
    quit_on_close = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    controller = AppController(settings if settings is not None else QSettings())

    async def main() -> None:
        window = controller.new_window()
        window.show()
        if open_file is not None:
            window.open_path(open_file, password)
        elif invite is not None:
            controller.join(window, invite)
        await controller.wait_closed()
        await controller.aclose()

    try:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None:
            from PySide6.QtCore import QEventLoop

            task = running.create_task(main(), name="lamina-app")
            spin = QEventLoop()
            task.add_done_callback(lambda _task: spin.quit())
            if not task.done():
                spin.exec()
            task.result()
            return 0
        loop = qasync.QEventLoop(app)
        # Plain worker threads for asyncio.to_thread, as in lamina.ui.documents.ensure_loop.
        loop.set_default_executor(ThreadPoolExecutor(max_workers=4, thread_name_prefix="lamina"))
        asyncio.set_event_loop(loop)
        with loop:
            loop.run_until_complete(main())
        return 0
    finally:
        app.setQuitOnLastWindowClosed(quit_on_close)
        sys.excepthook = previous_hook
