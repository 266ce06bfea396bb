"""A PDF whose owner password forbids annotating: the app asks for it (issue 14 defect 10)."""

from __future__ import annotations

import shutil
from pathlib import Path

from lamina.model.records import InkAnnotation
from lamina.ui.main_window import MainWindow
from PySide6.QtWidgets import QInputDialog, QMessageBox
from pytestqt.exceptions import TimeoutError as QtTimeoutError

from tests.conftest import corpus_pdf
from tests.ui.test_forms import draw_ink

NO_ANNOTATE = corpus_pdf("encrypted-aes256-owner-only-no-annotate")
OWNER_PASSWORD = "master"


def _state(window: MainWindow) -> str:
    """What the window shows, for a failure message."""
    opening = window.opener.opening
    boxes = [b.text() for b in window.findChildren(QMessageBox) if b.isVisible()]
    return (
        f"session={window.session!r} read_only={window.view.read_only} "
        f"opening={opening!r} status={window.statusBar().currentMessage()!r} dialogs={boxes}"
    )


def owner_dialog(window: MainWindow) -> QInputDialog | None:
    shown = [d for d in window.findChildren(QInputDialog, "ownerPasswordDialog") if d.isVisible()]
    return shown[-1] if shown else None


def test_opening_asks_for_the_owner_password_and_the_right_one_makes_it_annotatable(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    pdf = tmp_path / "locked.pdf"
    shutil.copyfile(NO_ANNOTATE, pdf)
    assert window.open_path(pdf)
    qtbot.waitUntil(lambda: owner_dialog(window) is not None)
    assert window.view.read_only  # shown, read-only, while asked

    dialog = owner_dialog(window)
    assert dialog is not None
    dialog.setTextValue("wrong")
    dialog.accept()
    qtbot.waitUntil(lambda: owner_dialog(window) is not None)
    again = owner_dialog(window)
    assert again is not None and "not the owner password" in again.labelText()
    assert window.view.read_only

    again.setTextValue(OWNER_PASSWORD)
    again.accept()
    # The document opens again with the password in a worker thread (slow on a busy machine).
    try:
        qtbot.waitUntil(
            lambda: window.session is not None and not window.view.read_only, timeout=30000
        )
    except QtTimeoutError as exc:
        raise AssertionError(f"not annotatable after the owner password: {_state(window)}") from exc
    assert window.session is not None and window.session.read_only_reason is None
    window.view.set_zoom(1.0)
    window.view.go_to_page(0)
    draw_ink(qtbot, window, 0, [(100, 200), (160, 230)])
    assert any(isinstance(a, InkAnnotation) for a in window.session.annotations())


def test_cancel_keeps_the_pdf_open_read_only(qtbot, window: MainWindow, tmp_path: Path) -> None:
    pdf = tmp_path / "locked.pdf"
    shutil.copyfile(NO_ANNOTATE, pdf)
    assert window.open_path(pdf)
    qtbot.waitUntil(lambda: owner_dialog(window) is not None)
    dialog = owner_dialog(window)
    assert dialog is not None
    dialog.reject()
    qtbot.waitUntil(lambda: window.session is not None)
    assert window.view.read_only and window.session.read_only_reason is not None


def test_lamina_open_takes_the_password(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from lamina import cli
    from lamina.ui import app

    seen: dict[str, object] = {}
    monkeypatch.setattr(app, "run_app", lambda **kw: seen.update(kw) or 0)
    assert cli.main(["open", str(NO_ANNOTATE), "--password", OWNER_PASSWORD]) == 0
    assert seen == {"open_file": NO_ANNOTATE, "password": OWNER_PASSWORD}
