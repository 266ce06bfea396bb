"""Saving keeps who may read a PDF; exports follow the umask (issue 14 defect 3)."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from lamina.ui.files import export_pdf
from lamina.ui.main_window import MainWindow
from PySide6.QtCore import Qt

from tests.conftest import corpus_pdf
from tests.ui.conftest import open_file
from tests.ui.test_forms import draw_ink

BOXES = corpus_pdf("geometry-rotations-offset-mediabox-cropbox")


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("original_mode", [0o644, 0o640])
def test_ctrl_s_keeps_the_mode_of_the_pdf_and_gives_it_to_the_orig_copy(
    qtbot, window: MainWindow, tmp_path: Path, original_mode: int
) -> None:
    pdf = tmp_path / "boxes.pdf"
    shutil.copyfile(BOXES, pdf)
    pdf.chmod(original_mode)
    open_file(qtbot, window, pdf)
    window.view.set_zoom(1.0)
    window.view.go_to_page(0)
    draw_ink(qtbot, window, 0, [(100, 400), (160, 430)])
    with qtbot.waitSignal(window.bridge.pdf_saved, timeout=20000):  # type: ignore[union-attr]
        qtbot.keyClick(window.view, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    (backup,) = tmp_path.glob("boxes.orig*.pdf")
    assert oct(mode(pdf)) == oct(original_mode)
    assert oct(mode(backup)) == oct(original_mode)


def test_export_pdf_follows_the_umask(
    qtbot, window: MainWindow, tmp_path: Path, umask_027: None
) -> None:
    pdf = tmp_path / "boxes.pdf"
    shutil.copyfile(BOXES, pdf)
    pdf.chmod(0o600)  # a private source does not make the export private, nor public
    open_file(qtbot, window, pdf)
    out = tmp_path / "out.pdf"
    task = export_pdf(window, flatten=False, path=out)
    assert task is not None
    qtbot.waitUntil(task.done, timeout=20000)
    assert oct(mode(out)) == oct(0o640)
