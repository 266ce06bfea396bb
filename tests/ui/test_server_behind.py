"""A review server restored from an older backup: the window asks, and both answers work.

The server is real (SQLite in tmp_path); "restored from a backup" is a copy of its data
directory taken earlier and put back while it is stopped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lamina.ui.controller import AppController
from lamina.ui.hosting import PRESETS_BY_KEY, LocalReviewServer
from lamina.ui.main_window import MainWindow
from PySide6.QtWidgets import QMessageBox, QPushButton

from tests.ui.test_review import PDF, inks, joined_window, run, stroke


def restore_older_backup(qtbot, controller: AppController, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Ann draws two strokes; the server comes back from a backup taken after the first."""
    data = tmp_path / "server"
    server = LocalReviewServer(data)
    run(qtbot, server.start())
    document_id = run(qtbot, server.add_document(PDF))
    lead = PRESETS_BY_KEY["lead"]
    link = server.invite(document_id, lead, name="Ann")
    ann = joined_window(qtbot, controller, link, "Ann")
    stroke(qtbot, ann, [(100, 400), (150, 420), (200, 480)])
    qtbot.waitUntil(lambda: ann.sync_label.text() == "All changes saved", timeout=10000)

    run(qtbot, server.stop())
    shutil.copytree(data, tmp_path / "backup")
    run(qtbot, server.start())
    qtbot.waitUntil(lambda: "Online" in ann.connection_label.text(), timeout=20000)
    stroke(qtbot, ann, [(120, 500), (220, 540)])
    qtbot.waitUntil(lambda: ann.sync_label.text() == "All changes saved", timeout=10000)
    assert len(inks(ann)) == 2

    run(qtbot, server.stop())
    shutil.rmtree(data)
    shutil.copytree(tmp_path / "backup", data)
    run(qtbot, server.start())
    qtbot.waitUntil(lambda: dialog_of(ann) is not None, timeout=20000)
    return server, document_id, ann


def dialog_of(window: MainWindow) -> QMessageBox | None:
    box = window.findChild(QMessageBox, "serverBehindDialog")
    return box if box is not None and box.isVisible() else None


def click(box: QMessageBox, name: str) -> None:
    button = box.findChild(QPushButton, name)
    assert button is not None
    button.click()


@pytest.mark.parametrize("answer", ["keepMineButton", "useServerButton"])
def test_server_restored_from_an_older_backup_asks_and_each_answer_does_what_it_says(
    qtbot, controller: AppController, tmp_path: Path, answer: str
) -> None:
    server, document_id, ann = restore_older_backup(qtbot, controller, tmp_path)
    try:
        box = dialog_of(ann)
        assert box is not None
        assert "restored from an older backup" in box.text()
        assert "nothing was merged" in box.informativeText()
        # Nothing was merged: the copy still has both strokes, and syncing has stopped.
        assert len(inks(ann)) == 2
        assert "Disconnected" in ann.connection_label.text()

        click(box, answer)
        qtbot.waitUntil(lambda: "Online" in ann.connection_label.text(), timeout=10000)
        qtbot.waitUntil(lambda: ann.sync_label.text() == "All changes saved", timeout=10000)
        expected = 2 if answer == "keepMineButton" else 1
        assert len(inks(ann)) == expected

        # A newcomer sees what the server now has.
        link = server.invite(document_id, PRESETS_BY_KEY["lead"], name="Bob")
        bob = joined_window(qtbot, controller, link, "Bob")
        qtbot.waitUntil(lambda: len(inks(bob)) == expected, timeout=10000)
        assert {i.id for i in inks(bob)} == {i.id for i in inks(ann)}
    finally:
        for w in list(controller.windows):
            w.close_document()
        run(qtbot, server.stop())


def test_decide_later_keeps_the_copy_offline(
    qtbot, controller: AppController, tmp_path: Path
) -> None:
    server, _document_id, ann = restore_older_backup(qtbot, controller, tmp_path)
    try:
        box = dialog_of(ann)
        assert box is not None
        click(box, "decideLaterButton")
        assert len(inks(ann)) == 2
        assert "Disconnected" in ann.connection_label.text()
        assert "copy is kept" in ann.statusBar().currentMessage()
    finally:
        for w in list(controller.windows):
            w.close_document()
        run(qtbot, server.stop())
