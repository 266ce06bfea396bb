"""UI fixtures: a main window on the offscreen platform with settings in a temp dir."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from lamina.client.backoff import Backoff
from lamina.ui.controller import AppController
from lamina.ui.documents import ensure_loop
from lamina.ui.hosting import LocalReviewServer
from lamina.ui.main_window import MainWindow
from PySide6.QtCore import QSettings


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give every test a fresh user data directory (local stores, hosted server)."""
    data = tmp_path / "home" / ".local" / "share"
    data.mkdir(parents=True)
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    return data


@pytest.fixture(autouse=True, scope="session")
def event_loop_on_qt(qapp: object) -> Iterator[asyncio.AbstractEventLoop]:
    """Run the client's asyncio code on a qasync loop over Qt's loop, as the app does.

    pytest-qt's waits spin Qt's event loop, and so the client's tasks.
    """
    loop = ensure_loop()
    yield loop


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "lamina.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def controller(qtbot: object, settings: QSettings) -> Iterator[AppController]:
    ctl = AppController(settings, backoff=Backoff(initial=0.05, maximum=0.2))
    yield ctl
    finish(qtbot, ctl)


def run(qtbot, coro):  # type: ignore[no-untyped-def]
    """Run a coroutine on the app's loop while Qt keeps spinning; return its result."""
    task = ensure_loop().create_task(coro)
    qtbot.waitUntil(task.done, timeout=20000)
    return task.result()


@pytest.fixture
def server(qtbot, controller: AppController, tmp_path: Path) -> Iterator[LocalReviewServer]:  # type: ignore[no-untyped-def]
    """A review server as the app hosts it (127.0.0.1, real SQLite in tmp_path), started.

    At the end the windows' documents are closed before the server stops.
    """
    server = LocalReviewServer(tmp_path / "server")
    run(qtbot, server.start())
    yield server
    for w in list(controller.windows):
        w.close_document()
    run(qtbot, server.stop())


def finish(qtbot, ctl: AppController) -> None:  # type: ignore[no-untyped-def]
    """Close every document and the hosted server, and wait until they are closed."""
    task = ensure_loop().create_task(ctl.aclose())
    qtbot.waitUntil(task.done, timeout=10000)
    task.result()


@pytest.fixture
def window(qtbot, controller: AppController) -> MainWindow:  # type: ignore[no-untyped-def]
    win = controller.new_window()
    qtbot.addWidget(win)
    win.resize(1100, 800)
    win.show()
    qtbot.waitExposed(win)
    return win


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ignore the one warning the offscreen platform prints for every dock and tool bar.

    Any other Qt warning still fails the test (``qt_log_level_fail = WARNING``).
    """
    for item in items:
        if "tests/ui/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(
                pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
            )


def open_file(qtbot, window: MainWindow, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Open a local PDF in ``window`` and wait until its annotations are loaded."""
    assert window.open_path(path)
    qtbot.waitUntil(lambda: window.session is not None, timeout=20000)
