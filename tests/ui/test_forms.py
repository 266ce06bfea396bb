"""Fillable forms in the app: annotating a form PDF, and filling each kind of field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pymupdf
import pytest
from lamina.model.records import InkAnnotation
from lamina.server.admin import TokenRequest
from lamina.ui.controller import AppController
from lamina.ui.hosting import PRESETS_BY_KEY, LocalReviewServer
from lamina.ui.main_window import MainWindow
from lamina.ui.page_view import page_rect_center
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QListWidget, QMessageBox

from tests.conftest import corpus_pdf
from tests.ui.conftest import open_file, run
from tests.ui.test_review import joined_window

FORM_1040 = corpus_pdf("form-acroform-242-widgets")


def make_form_pdf(path: Path) -> None:
    """Write a one-page form with a text field, a check box, a radio group of two, a
    combo box and a list box (PyMuPDF makes the widgets; the radio states are fixed by hand)."""
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=400)

    def add(kind, name, rect, **kw):
        w = pymupdf.Widget()
        w.field_type = kind
        w.field_name = name
        w.rect = pymupdf.Rect(*rect)
        for k, v in kw.items():
            setattr(w, k, v)
        page.add_widget(w)
        return w

    add(pymupdf.PDF_WIDGET_TYPE_TEXT, "name", (50, 50, 250, 70), field_value="")
    add(pymupdf.PDF_WIDGET_TYPE_CHECKBOX, "agree", (50, 90, 66, 106), field_value=False)
    add(
        pymupdf.PDF_WIDGET_TYPE_RADIOBUTTON,
        "size",
        (50, 130, 66, 146),
        field_value=False,
        button_caption="S",
    )
    add(pymupdf.PDF_WIDGET_TYPE_RADIOBUTTON, "size", (90, 130, 106, 146), field_value=False)
    add(
        pymupdf.PDF_WIDGET_TYPE_COMBOBOX,
        "colour",
        (50, 170, 200, 190),
        choice_values=["Red", "Green", "Blue"],
        field_value="Red",
    )
    add(
        pymupdf.PDF_WIDGET_TYPE_LISTBOX,
        "fruit",
        (50, 210, 200, 270),
        choice_values=["Apple", "Pear", "Plum"],
        field_value="Apple",
    )
    # PyMuPDF names both radio buttons' on state "False": give them real, distinct states.
    for w, state in zip(
        [w for w in page.widgets() if w.field_type_string == "RadioButton"], ("S", "L"), strict=True
    ):
        off, on = doc.xref_get_key(w.xref, "AP/N/Off")[1], doc.xref_get_key(w.xref, "AP/N/False")[1]
        doc.xref_set_key(w.xref, "AP/N", f"<< /Off {off} /{state} {on} >>")
        doc.xref_set_key(w.xref, "AS", "/Off")
        parent = int(doc.xref_get_key(w.xref, "Parent")[1].split()[0])
    doc.xref_set_key(parent, "V", "/Off")
    doc.save(str(path))


def draw_ink(qtbot, window: MainWindow, page: int, points: list[tuple[float, float]]) -> None:  # type: ignore[no-untyped-def]
    view = window.view
    window.tool_actions["ink"].trigger()  # the menu/toolbar action (shortcuts need focus)
    assert view.tool == "ink"
    pixels = [page_rect_center(view, page, p) for p in points]
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=pixels[0])
    for px in pixels[1:]:
        qtbot.mouseMove(vp, px)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=pixels[-1])


def test_a_fillable_form_pdf_can_be_annotated(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 10 defect 10: the 242-widget form opened, but its values had no id and nothing drew."""
    pdf = tmp_path / "f1040.pdf"
    shutil.copyfile(FORM_1040, pdf)
    open_file(qtbot, window, pdf)
    session = window.session
    assert session is not None
    window.view.set_zoom(1.0)
    window.view.go_to_page(0)
    draw_ink(qtbot, window, 0, [(300.0, 400.0), (340.0, 420.0), (380.0, 470.0)])
    inks = [a for a in session.annotations() if isinstance(a, InkAnnotation)]
    assert len(inks) == 1
    assert inks[0].page_index == 0


@pytest.mark.expect_error_log("opening .* failed")
def test_an_unexpected_failure_reading_annotations_is_said_not_swallowed(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = tmp_path / "f1040.pdf"
    shutil.copyfile(FORM_1040, pdf)

    async def broken(path: Path, password: str | None = None) -> object:
        raise KeyError("id")

    monkeypatch.setattr(window.documents, "open_local", broken)
    assert window.open_path(pdf)
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "errorDialog") is not None)
    box = window.findChild(QMessageBox, "errorDialog")
    assert "KeyError" in box.text()
    assert window.pdf is None


def click_field(qtbot, window: MainWindow, name: str, index: int = 0) -> None:  # type: ignore[no-untyped-def]
    """Click the ``index``-th widget (left to right) of field ``name`` with the select tool."""
    view = window.view
    window.tool_actions["select"].trigger()
    assert view.filler is not None
    widgets = sorted(
        (fw.widget for fw in view.filler.field_widgets(0) if fw.field.name == name),
        key=lambda w: (w.bbox.top, w.bbox.left),
    )
    box = widgets[index].bbox
    pos = page_rect_center(view, 0, (box.left + box.width / 2, box.top + box.height / 2))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def field_value(window: MainWindow, name: str) -> object:
    assert window.view.filler is not None
    return window.view.filler.value(name)


def test_filling_each_kind_of_field_in_one_window_shows_in_another_on_a_real_server(  # type: ignore[no-untyped-def]
    qtbot, controller: AppController, server: LocalReviewServer, tmp_path: Path
) -> None:
    pdf = tmp_path / "form.pdf"
    make_form_pdf(pdf)
    document_id = run(qtbot, server.add_document(pdf))
    lead = PRESETS_BY_KEY["lead"]
    ann = joined_window(qtbot, controller, server.invite(document_id, lead, name="Ann"), "Ann")
    bob = joined_window(qtbot, controller, server.invite(document_id, lead, name="Bob"), "Bob")
    for w in (ann, bob):
        w.view.set_zoom(1.0)
        w.view.go_to_page(0)

    click_field(qtbot, ann, "name")
    editor = ann.view.filler.editor
    assert isinstance(editor, QLineEdit)
    qtbot.keyClicks(editor, "Ann Example")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert field_value(ann, "name") == "Ann Example"

    click_field(qtbot, ann, "agree")
    assert field_value(ann, "agree") == ["Yes"]

    click_field(qtbot, ann, "size", 1)
    assert field_value(ann, "size") == ["L"]
    click_field(qtbot, ann, "size", 0)
    assert field_value(ann, "size") == ["S"]

    click_field(qtbot, ann, "colour")
    combo = ann.view.filler.editor
    assert isinstance(combo, QComboBox)
    combo.setCurrentIndex(2)
    combo.activated.emit(2)
    assert field_value(ann, "colour") == ["Blue"]

    click_field(qtbot, ann, "fruit")
    listing = ann.view.filler.editor
    assert isinstance(listing, QListWidget)
    item = listing.item(2)
    qtbot.mouseClick(
        listing.viewport(), Qt.MouseButton.LeftButton, pos=listing.visualItemRect(item).center()
    )
    assert field_value(ann, "fruit") == ["Plum"]

    expected = {
        "name": "Ann Example",
        "agree": ["Yes"],
        "size": ["S"],
        "colour": ["Blue"],
        "fruit": ["Plum"],
    }
    qtbot.waitUntil(
        lambda: all(field_value(bob, k) == v for k, v in expected.items()), timeout=10000
    )
    # Undo takes back the last fill, in both windows.
    ann.window_actions.undo_action.trigger()
    assert field_value(ann, "fruit") == "Apple"
    qtbot.waitUntil(lambda: field_value(bob, "fruit") == "Apple", timeout=10000)
    # The filled values are painted over the widgets in Bob's window.
    assert bob.view.filler is not None and bob.view.filler.changed("agree")
    qtbot.waitUntil(lambda: ann.sync_label.text() == "All changes saved", timeout=10000)


def test_a_token_without_form_fields_fill_cannot_fill_and_is_told_why(  # type: ignore[no-untyped-def]
    qtbot, controller: AppController, server: LocalReviewServer, tmp_path: Path
) -> None:
    pdf = tmp_path / "form.pdf"
    make_form_pdf(pdf)
    document_id = run(qtbot, server.add_document(pdf))
    request = TokenRequest(
        document_id=document_id,
        permissions=("read-document", "write"),
        creator_name="Cy",
        collaboration_permissions=("annotations:view:all", "form-fields:view:all"),
    )
    link = server._running_admin().invite(server.url, request)
    cy = joined_window(qtbot, controller, link, "Cy")
    cy.view.set_zoom(1.0)
    cy.view.go_to_page(0)
    click_field(qtbot, cy, "agree")
    assert field_value(cy, "agree") == []
    assert "Cannot fill agree" in cy.statusBar().currentMessage()
