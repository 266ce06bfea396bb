"""Export from the window, read back by the PDF bridge and the Instant JSON codec."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lamina.cli import main
from lamina.model.instant_json import parse_instant_json
from lamina.model.records import EllipseAnnotation, InkAnnotation, StampAnnotation
from lamina.pdf import open_pdf
from lamina.pdf.annotations import read_records
from lamina.ui import files
from lamina.ui.controller import AppController
from lamina.ui.main_window import MainWindow
from lamina.ui.page_view import page_rect_center
from PySide6.QtCore import Qt

from tests.conftest import corpus_pdf
from tests.ui.conftest import open_file

BOXES = corpus_pdf("geometry-rotations-offset-mediabox-cropbox")


def draw(qtbot, window: MainWindow, key: Qt.Key, points: list[tuple[float, float]]) -> None:  # type: ignore[no-untyped-def]
    view = window.view
    vp = view.viewport()
    qtbot.keyClick(view, key)
    px = [page_rect_center(view, 0, p) for p in points]
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=px[0])
    for p in px[1:]:
        qtbot.mouseMove(vp, p)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=px[-1])


@pytest.mark.parametrize("flatten", [False, True])
def test_export_instant_json_and_pdf_read_back(
    qtbot, window: MainWindow, tmp_path: Path, flatten: bool
) -> None:
    open_file(qtbot, window, BOXES)
    window.view.set_zoom(1.0)
    window.view.go_to_page(0)
    draw(qtbot, window, Qt.Key.Key_P, [(100, 400), (150, 420), (200, 480)])
    draw(qtbot, window, Qt.Key.Key_E, [(250, 500), (350, 560)])

    json_path = tmp_path / "out.json"
    files.export_instant_json(window, json_path)
    exported = parse_instant_json(json_path.read_bytes())
    assert sorted(type(a).__name__ for a in exported.annotations) == [
        "EllipseAnnotation",
        "InkAnnotation",
    ]

    pdf_path = tmp_path / "out.pdf"
    job = files.export_pdf(window, flatten, pdf_path)
    assert job is not None
    with qtbot.waitSignal(window.exported, timeout=20000) as signal:
        pass
    assert signal.args == [str(pdf_path)]
    with open_pdf(pdf_path) as doc:
        back = read_records(doc)
        text = doc.fitz_page(0).get_text()
    if flatten:
        assert back == []  # burnt into the page: no annotations left to edit
        assert "Rotate: 0" in text
    else:
        kinds = {type(r) for r in back}
        assert {InkAnnotation, EllipseAnnotation} <= kinds
        (ellipse,) = [r for r in back if isinstance(r, EllipseAnnotation)]
        assert abs(ellipse.bbox.left - 250) < 2 and abs(ellipse.bbox.top - 500) < 2
    # What a user would run: `lamina dump` reads the exported PDF back.
    dumped = tmp_path / "dumped.json"
    assert main(["dump", str(pdf_path), "-o", str(dumped)]) == 0
    types = sorted(a.type for a in parse_instant_json(dumped.read_bytes()).annotations)
    assert types == ([] if flatten else ["pspdfkit/ink", "pspdfkit/shape/ellipse"])


def test_a_broken_file_gets_a_clear_dialog_and_nothing_opens(qtbot, window: MainWindow) -> None:
    assert not window.open_path(corpus_pdf("not-a-pdf-png-renamed"))
    qtbot.waitUntil(lambda: bool(window._open_dialogs))
    box = window._open_dialogs[-1]
    assert "not a pdf" in box.text().lower()  # type: ignore[attr-defined]
    assert window.session is None
    assert window.stack.currentWidget() is window.welcome
    box.close()


def test_a_wrong_password_is_asked_again_saying_so(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QInputDialog

    pdf = tmp_path / "locked.pdf"
    pdf.write_bytes(corpus_pdf("encrypted-aes256-user-pw").read_bytes())
    answers, prompts = ["wrong", "foo"], []

    def answer() -> None:  # type the next password into the modal dialog
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog):
            QTimer.singleShot(20, answer)
            return
        prompts.append(dialog.labelText())
        dialog.setTextValue(answers.pop(0))
        dialog.accept()
        if answers:
            QTimer.singleShot(20, answer)

    QTimer.singleShot(20, answer)
    assert window.open_path(pdf)
    assert prompts == [
        "locked.pdf is protected by a password.",
        "That password does not open the file. Try again.",
    ]
    qtbot.waitUntil(lambda: window.session is not None, timeout=20000)


def test_a_pdf_that_forbids_annotating_has_nothing_to_save_or_import(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    pdf = tmp_path / "locked.pdf"
    pdf.write_bytes(corpus_pdf("encrypted-aes256-owner-only-no-annotate").read_bytes())
    before = pdf.read_bytes()
    open_file(qtbot, window, pdf)
    for dialog in list(window._open_dialogs):  # "Owner password?": read it only
        dialog.reject()
    for action in (window.save_action, window.import_json_action):
        assert not action.isEnabled()
        assert action.toolTip().startswith("Read-only: the pdf's security settings forbid")
    qtbot.keyClick(window.view, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(200)
    assert not window._open_dialogs  # no "Cannot annotate" error
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == ["locked.pdf"]  # no backup
    assert pdf.read_bytes() == before
    # An ordinary PDF can be saved again.
    open_file(qtbot, window, BOXES)
    assert window.save_action.isEnabled() and window.import_json_action.isEnabled()
    assert window.save_action.toolTip() == "Save annotations into PDF (Ctrl+S)"


def pdf_stamps(path: Path) -> list[str]:
    """Return the /Name of every stamp annotation in the PDF, read by pypdf (not our bridge)."""
    import pypdf

    names = []
    for page in pypdf.PdfReader(path).pages:
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            if annot.get("/Subtype") == "/Stamp":
                names.append(str(annot.get("/Name")))
    return names


def test_a_deleted_original_stamp_stays_deleted_in_export_pdf_after_reopening(
    qtbot, controller: AppController, tmp_path: Path
) -> None:
    pdf = tmp_path / "stamps.pdf"
    shutil.copyfile(corpus_pdf("annot-stamps-acrobat"), pdf)
    assert len(pdf_stamps(pdf)) == 5
    first = controller.new_window()
    qtbot.addWidget(first)
    first.show()
    open_file(qtbot, first, pdf)
    assert first.session is not None
    stamp = next(a for a in first.session.annotations() if isinstance(a, StampAnnotation))
    first.view.go_to_page(stamp.page_index)
    qtbot.keyClick(first.view, Qt.Key.Key_V)
    first.view.set_selected(stamp.id)
    qtbot.keyClick(first.view, Qt.Key.Key_Delete)
    assert stamp.id not in {a.id for a in first.session.annotations()}
    first.close()  # no save: the delete is kept in the local store

    second = controller.new_window()
    qtbot.addWidget(second)
    second.show()
    open_file(qtbot, second, pdf)
    out = tmp_path / "exported.pdf"
    assert files.export_pdf(second, False, out) is not None
    with qtbot.waitSignal(second.exported, timeout=20000):
        pass
    assert len(pdf_stamps(out)) == 4
    # Export Instant JSON agrees: the PDF's stamp is listed as skipped, not exported again.
    json_path = tmp_path / "out.json"
    files.export_instant_json(second, json_path)
    assert stamp.pdf_object_id in (
        parse_instant_json(json_path.read_bytes()).skipped_pdf_object_ids or ()
    )


def test_import_instant_json_adds_the_files_changes_as_one_undo_step(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.pdf", tmp_path / "second.pdf"
    for path in (first, second):
        shutil.copyfile(BOXES, path)
    open_file(qtbot, window, first)
    window.view.set_zoom(1.0)
    window.view.go_to_page(0)
    draw(qtbot, window, Qt.Key.Key_P, [(100, 400), (150, 420), (200, 480)])
    draw(qtbot, window, Qt.Key.Key_E, [(250, 500), (350, 560)])
    json_path = tmp_path / "changes.json"
    files.export_instant_json(window, json_path)

    open_file(qtbot, window, second)
    assert window.session is not None and window.session.annotations() == []
    files.import_instant_json(window, json_path)
    kinds = sorted(type(a).__name__ for a in window.session.annotations())
    assert kinds == ["EllipseAnnotation", "InkAnnotation"]
    assert window.statusBar().currentMessage() == "Imported 2 changes from changes.json"
    assert window.window_actions.undo_action.text() == "&Undo import changes.json"
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.session.annotations() == []
