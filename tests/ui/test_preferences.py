"""The Preferences dialog: values set in the widgets survive a reload; fresh homes get defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from lamina.ui.preferences import (
    DEFAULT_PRESENCE_COLOR,
    DEFAULT_TOOL_COLORS,
    Preferences,
    PreferencesDialog,
    load_preferences,
    save_preferences,
)
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog


def _ini(path: Path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


def test_fresh_home_gets_defaults(tmp_path: Path) -> None:
    prefs = load_preferences(_ini(tmp_path / "fresh.ini"))
    assert prefs == Preferences()
    assert prefs.presence_color == DEFAULT_PRESENCE_COLOR
    assert prefs.autosave == "immediate"
    assert prefs.tool_colors == DEFAULT_TOOL_COLORS


def test_dialog_values_survive_accept_and_reload(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "prefs.ini"
    dialog = PreferencesDialog(_ini(path))
    qtbot.addWidget(dialog)
    dialog.name_edit.clear()
    qtbot.keyClicks(dialog.name_edit, "Ada Lovelace")
    dialog.autosave_box.setCurrentIndex(dialog.autosave_box.findData("intelligent"))
    # The colour dialog is modal; answer it the way a user picking a colour would.
    answers = iter(["#00AA44", "#FF8800"])
    monkeypatch.setattr(
        QColorDialog, "getColor", staticmethod(lambda *_a, **_k: QColor(next(answers)))
    )
    qtbot.mouseClick(dialog.presence_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.tool_buttons["highlighter"], Qt.MouseButton.LeftButton)
    assert dialog.presence_button.text() == "#00AA44"
    dialog.accept()

    prefs = load_preferences(_ini(path))
    assert prefs.display_name == "Ada Lovelace"
    assert prefs.presence_color == "#00AA44"
    assert prefs.autosave == "intelligent"
    assert prefs.tool_color("highlighter") == "#FF8800"
    assert prefs.tool_color("ink") == DEFAULT_TOOL_COLORS["ink"]

    # A new dialog shows what was saved.
    again = PreferencesDialog(_ini(path))
    qtbot.addWidget(again)
    assert again.name_edit.text() == "Ada Lovelace"
    assert again.autosave_box.currentData() == "intelligent"
    assert again.preferences() == prefs


def test_cancel_keeps_the_old_values(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "prefs.ini"
    save_preferences(Preferences(display_name="Grace"), _ini(path))
    dialog = PreferencesDialog(_ini(path))
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("Someone else")
    dialog.reject()
    assert load_preferences(_ini(path)).display_name == "Grace"


def test_malformed_values_fall_back_to_defaults(tmp_path: Path) -> None:
    s = _ini(tmp_path / "bad.ini")
    s.setValue("color", "not a colour")
    s.setValue("autosave", "sometimes")
    s.setValue("tool_colors/ink", "#12")
    s.sync()
    prefs = load_preferences(_ini(tmp_path / "bad.ini"))
    assert prefs.presence_color == DEFAULT_PRESENCE_COLOR
    assert prefs.autosave == "immediate"
    assert prefs.tool_color("ink") == DEFAULT_TOOL_COLORS["ink"]


def test_main_window_reads_the_saved_display_name(window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    save_preferences(Preferences(display_name="Ada", presence_color="#00AA44"), window.settings)
    assert window.display_name() == "Ada"


def test_edit_menu_action_opens_the_dialog(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert window.preferences_action.shortcut().toString() == "Ctrl+,"
    window.preferences_action.trigger()
    dialog = window.findChild(PreferencesDialog, "preferencesDialog")
    assert dialog is not None and dialog.isVisible()
    dialog.name_edit.setText("Lin")
    dialog.accept()
    assert window.display_name() == "Lin"


class _Passwd:
    def __init__(self, gecos: str, name: str) -> None:
        self.pw_gecos, self.pw_name = gecos, name


@pytest.mark.parametrize(
    ("gecos", "expected"), [("Ann Example,Room 4,,", "Ann Example"), ("", "aexample")]
)
def test_the_default_author_is_the_accounts_full_name_or_login_never_me(  # type: ignore[no-untyped-def]
    qtbot, window, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gecos: str, expected: str
) -> None:
    """Issue 14 defect 8: "Me" was written into saved PDFs and shown to others."""
    import pwd
    import shutil

    from lamina.model.records import InkAnnotation

    from tests.conftest import corpus_pdf
    from tests.ui.conftest import open_file
    from tests.ui.test_forms import draw_ink

    monkeypatch.setattr(pwd, "getpwuid", lambda _uid: _Passwd(gecos, "aexample"))
    assert window.display_name() == expected
    pdf = tmp_path / "boxes.pdf"
    shutil.copyfile(corpus_pdf("geometry-rotations-offset-mediabox-cropbox"), pdf)
    open_file(qtbot, window, pdf)
    window.view.set_zoom(1.0)
    window.view.go_to_page(0)
    draw_ink(qtbot, window, 0, [(100, 400), (160, 430)])
    assert window.session is not None
    (ink,) = [a for a in window.session.annotations() if isinstance(a, InkAnnotation)]
    assert ink.creator_name == expected
