"""A fresh start: the welcome page, and `lamina` verbs that start the app."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from lamina.commands import desktop
from lamina.ui.controller import AppController
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QPushButton


def test_a_fresh_home_opens_on_the_welcome_page(qtbot, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "fresh" / "lamina.ini"), QSettings.Format.IniFormat)
    assert settings.allKeys() == []
    controller = AppController(settings)
    window = controller.new_window()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.stack.currentWidget() is window.welcome
    labels = {b.text() for b in window.welcome.findChildren(QPushButton)}
    assert {"Open PDF…", "Try the sample review", "Join review…"} <= labels
    # Without a document, editing and export are off, so nothing claims to work on nothing.
    assert not window.save_action.isEnabled()
    assert not window.export_pdf_action.isEnabled()
    controller.shutdown()


def test_join_with_a_bad_link_shows_a_clear_error(qtbot, controller, window) -> None:  # type: ignore[no-untyped-def]
    controller.join(window, "https://example.com/not-an-invite")
    qtbot.waitUntil(lambda: bool(window._open_dialogs))
    box = window._open_dialogs[-1]
    assert "lamina://join" in box.text()  # type: ignore[attr-defined]
    box.close()


def test_open_and_join_verbs_parse_and_reject_bad_input(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        desktop.run_open(argparse.Namespace(file=tmp_path / "a.pdf"))
    from lamina.model.errors import LaminaError

    with pytest.raises(LaminaError, match="lamina://join"):
        desktop.run_join(argparse.Namespace(invite="https://example.com/not-an-invite"))


def test_drawing_tools_are_disabled_with_a_reason_on_a_no_annotate_pdf(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import corpus_pdf
    from tests.ui.conftest import open_file

    open_file(qtbot, window, corpus_pdf("encrypted-aes256-owner-only-no-annotate"))
    pen = window.tool_actions["ink"]
    assert not pen.isEnabled()
    assert "read-only" in pen.toolTip().lower()
    qtbot.keyClick(window.view, Qt.Key.Key_P)
    assert window.view.tool != "ink"
