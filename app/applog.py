"""Logging for every Lamina process: a rotating log file in the user log directory plus stderr.

The file keeps what happened when a user reports a problem ("where are the logs?"), so it
records INFO and above even when the terminal only shows warnings. This module uses the
standard library and platformdirs only: the command line, the server and the desktop app all
call :func:`setup_logging` before anything else, and it must work in every one of them.

The log directory is ``platformdirs.user_log_dir("lamina")`` (on Linux
``~/.local/state/lamina/log``); the environment variable ``LAMINA_LOG_DIR`` overrides it.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import platformdirs

LOG_FILE_NAME = "lamina.log"
MAX_BYTES = 1024 * 1024
"""Size at which the log file rotates (1 MiB)."""
BACKUP_COUNT = 5
"""How many rotated files (``lamina.log.1`` … ``lamina.log.5``) are kept."""
LOG_DIR_ENV = "LAMINA_LOG_DIR"

_FILE_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
_STDERR_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The handlers the last setup_logging() call installed, so a second call replaces them
# instead of logging every line twice.
_installed: list[logging.Handler] = []


def log_dir() -> Path:
    """Return the directory that holds Lamina's log files (it may not exist yet)."""
    override = os.environ.get(LOG_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_log_dir("lamina", appauthor=False))


def log_file_path() -> Path:
    """Return the path of the current log file (rotated files add ``.1`` … ``.5``)."""
    return log_dir() / LOG_FILE_NAME


class _QuietRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file handler that reports a failing disk once, in one line, then goes quiet.

    The default ``handleError`` prints a traceback for every record that cannot be written
    (disk full, file removed under us); a user's terminal would fill with them.
    """

    _failed = False

    def handleError(self, record: logging.LogRecord) -> None:
        """Warn once on stderr that the log file cannot be written, then drop records."""
        if self._failed:
            return
        self._failed = True
        exc = sys.exc_info()[1]
        _warn(f"cannot write log file {self.baseFilename}: {exc}; logging to stderr only")

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record unless writing has already failed."""
        if not self._failed:
            super().emit(record)


class _CurrentStderrHandler(logging.StreamHandler):
    """A stream handler that writes to whatever ``sys.stderr`` is when a record arrives.

    Holding on to the stream found at setup would break when something replaces
    ``sys.stderr`` later (pytest's capture, a GUI that redirects it) and closes the old one.
    """

    def __init__(self, level: int) -> None:
        logging.Handler.__init__(self, level)

    @property
    def stream(self) -> Any:
        """Return the current ``sys.stderr``."""
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """Ignore assignments: the stream is always the current ``sys.stderr``."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record unless the process has no stderr."""
        if sys.stderr is not None:
            super().emit(record)


def _warn(message: str) -> None:
    # stderr is None in a process started without one (a desktop launcher on some systems).
    if sys.stderr is not None:
        print(f"lamina: warning: {message}", file=sys.stderr)


def _open_file_handler(verbose: bool) -> _QuietRotatingFileHandler | None:
    path = log_file_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = _QuietRotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
        )
    except OSError as exc:
        _warn(f"cannot write log file {path}: {exc.strerror or exc}; logging to stderr only")
        return None
    handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    handler.setFormatter(logging.Formatter(_FILE_FORMAT))
    return handler


def setup_logging(verbose: bool, *, to_stderr: bool = True) -> Path | None:
    """Send log records to the rotating log file and, optionally, to stderr.

    Stderr shows WARNING and above, or DEBUG and above with ``verbose``; the file records INFO
    and above (DEBUG with ``verbose``). Calling it again replaces what the previous call
    installed. It never raises: when the log directory cannot be created or the file cannot
    be opened, it prints a one-line warning and logs to stderr only.

    Args:
        verbose: log debug messages too (the ``--verbose`` option).
        to_stderr: also log to stderr (the desktop app started from a menu has no terminal).

    Returns:
        The log file's path, or ``None`` when only stderr receives the records.
    """
    shutdown_logging()
    root = logging.getLogger()
    file_handler = _open_file_handler(verbose)
    handlers: list[logging.Handler] = []
    if file_handler is not None:
        handlers.append(file_handler)
    # Without a file, stderr is the only place left: keep it even when to_stderr is False.
    if (to_stderr or file_handler is None) and sys.stderr is not None:
        stderr_handler = _CurrentStderrHandler(logging.DEBUG if verbose else logging.WARNING)
        stderr_handler.setFormatter(logging.Formatter(_STDERR_FORMAT))
        handlers.append(stderr_handler)
    for handler in handlers:
        root.addHandler(handler)
    _installed.extend(handlers)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if file_handler is not None:
        _install_excepthook()
        logging.getLogger("lamina").debug("logging to %s", file_handler.baseFilename)
        return Path(file_handler.baseFilename)
    return None


def _install_excepthook() -> None:
    # A crash's traceback goes to the terminal, which a user started from the menu never sees;
    # keep it in the log file too. Installed once; hooks set later (the desktop app's crash
    # dialog) replace it.
    if getattr(sys.excepthook, "_lamina", False):
        return
    previous = sys.excepthook

    def log_uncaught(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if not issubclass(exc_type, KeyboardInterrupt):
            record = logging.getLogger("lamina").makeRecord(
                "lamina",
                logging.CRITICAL,
                __file__,
                0,
                "uncaught exception",
                (),
                (exc_type, exc, tb),
            )
            # Files only: the previous hook prints the traceback on stderr already.
            for handler in _installed:
                if isinstance(handler, logging.FileHandler):
                    handler.handle(record)
        previous(exc_type, exc, tb)

    log_uncaught._lamina = True  # type: ignore[attr-defined]
    sys.excepthook = log_uncaught


def shutdown_logging() -> None:
    """Remove and close the handlers :func:`setup_logging` installed."""
    root = logging.getLogger()
    while _installed:
        handler = _installed.pop()
        root.removeHandler(handler)
        handler.close()
