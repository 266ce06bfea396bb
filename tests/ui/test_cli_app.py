"""The whole app started the way a user does: `lamina join INVITE` (lamina.cli.main)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lamina.cli import main
from lamina.model.records import InkAnnotation
from lamina.ui.documents import ensure_loop
from lamina.ui.hosting import PRESETS_BY_KEY, LocalReviewServer
from lamina.ui.main_window import MainWindow
from lamina.ui.preferences import Preferences, save_preferences
from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QApplication

from tests.ui.test_review import PDF, run, stroke


@pytest.fixture
def user_settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Point the app's own QSettings() at a temporary directory for this test."""
    fmt, scope = QSettings.Format.NativeFormat, QSettings.Scope.UserScope
    QSettings.setPath(fmt, scope, str(tmp_path / "config"))
    yield
    default = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    QSettings.setPath(fmt, scope, default)


def app_windows() -> list[MainWindow]:
    return [
        w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()
    ]


def test_lamina_join_opens_the_review_online_and_the_app_ends_when_its_window_closes(
    qtbot, tmp_path: Path, user_settings: None
) -> None:
    server = LocalReviewServer(tmp_path / "server")
    run(qtbot, server.start())
    try:
        document_id = run(qtbot, server.add_document(PDF))
        link = server.invite(document_id, PRESETS_BY_KEY["lead"], name="Tess")
        save_preferences(Preferences(display_name="Tess", tool_colors={"ink": "#00AA44"}))
        seen: dict[str, object] = {}

        async def use_the_app() -> None:
            """What the user does once `lamina join` has opened the window."""
            try:
                for _ in range(400):
                    windows = app_windows()
                    w = windows[0] if windows else None
                    if w is not None and w.session and "Online" in w.connection_label.text():
                        break
                    await asyncio.sleep(0.05)
                (window,) = app_windows()
                seen["title"] = window.windowTitle()
                seen["connection"] = window.connection_label.text()
                seen["pages"] = window.view.page_count
                stroke(qtbot, window, [(100, 400), (150, 420), (200, 480)])
                for _ in range(200):
                    if window.sync_label.text() == "All changes saved":
                        break
                    await asyncio.sleep(0.05)
                seen["sync"] = window.sync_label.text()
                assert window.session is not None
                seen["inks"] = [
                    a for a in window.session.annotations() if isinstance(a, InkAnnotation)
                ]
            finally:
                for w in app_windows():
                    w.close()

        user = ensure_loop().create_task(use_the_app())
        status = main(["join", link])  # returns when the last window is closed
        assert user.done()
        user.result()
        assert status == 0
        assert "Review" in str(seen["title"])
        assert "Online" in str(seen["connection"])
        assert seen["pages"] == 8
        assert seen["sync"] == "All changes saved"
        (ink,) = seen["inks"]  # type: ignore[misc]
        assert ink.stroke_color == "#00AA44" and ink.creator_name == "Tess"
        assert app_windows() == []
    finally:
        run(qtbot, server.stop())


def test_lamina_serve_with_a_port_out_of_range_says_so_in_one_line_not_a_traceback() -> None:
    """Issue 14 defect 11: ``lamina serve --port 99999`` printed an OverflowError traceback."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "lamina.cli", "serve", "--port", "99999"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "lamina serve: error: argument --port: port 99999 is out of range (0 to 65535)"
    )
