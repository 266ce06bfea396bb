"""Joining a server that cannot be reached: the reason, progress and Cancel (issue 14 #4)."""

from __future__ import annotations

import socket
from pathlib import Path

from lamina.ui.controller import AppController
from lamina.ui.hosting import PRESETS_BY_KEY, LocalReviewServer
from lamina.ui.main_window import MainWindow
from lamina.ui.opening import JoinProgress
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from tests.conftest import corpus_pdf
from tests.ui.conftest import run

PDF = corpus_pdf("geometry-rotations-offset-mediabox-cropbox")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_joining_an_unreachable_server_says_why_keeps_trying_and_cancels(
    qtbot, controller: AppController, window: MainWindow, tmp_path: Path
) -> None:
    # A real invite for a server that is not running any more: nothing listens on its port.
    host = LocalReviewServer(tmp_path / "hosted", port=free_port())
    run(qtbot, host.start())
    document_id = run(qtbot, host.add_document(PDF))
    link = host.invite(document_id, PRESETS_BY_KEY["reviewer"], name="Dana")
    run(qtbot, host.stop())

    controller.join(window, link)
    dialog = window.opener.joining
    assert isinstance(dialog, JoinProgress)
    qtbot.waitUntil(dialog.isVisible)
    qtbot.waitUntil(lambda: "Cannot reach" in dialog.labelText(), timeout=20000)
    text = dialog.labelText()
    assert f"127.0.0.1:{host.port}" in text
    assert "cannot connect" in text and "Trying again" in text  # the reason, and what next

    (cancel,) = [b for b in dialog.findChildren(QPushButton) if b.text() == "Cancel"]
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    task = window.opener.opening
    assert task is not None
    qtbot.waitUntil(task.done, timeout=10000)
    assert task.cancelled()
    assert window.session is None
    assert window.statusBar().currentMessage() == "Joining cancelled"
    assert window.findChild(JoinProgress) is None  # closed and gone
