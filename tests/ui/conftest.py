"""UI fixtures: a main window on the offscreen platform with settings in a temp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from app.ui.controller import AppController
from app.ui.main_window import MainWindow


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "lamina.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def controller(qtbot: object, settings: QSettings) -> Iterator[AppController]:
    ctl = AppController(settings)
    yield ctl
    ctl.shutdown()


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
