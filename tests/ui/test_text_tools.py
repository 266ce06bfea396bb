"""Free text and sticky notes: click on the page, type in place, Enter keeps, Escape drops."""

from __future__ import annotations

from lamina.model.records import NoteAnnotation, TextAnnotation
from lamina.ui.main_window import MainWindow
from lamina.ui.page_view import page_rect_center
from PySide6.QtCore import Qt

from tests.ui.test_drawing import open_page


def click_page(qtbot, window: MainWindow, point: tuple[float, float]) -> None:  # type: ignore[no-untyped-def]
    view = window.view
    pos = page_rect_center(view, 0, point)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_free_text_typed_in_place_becomes_the_records_text(qtbot, window: MainWindow) -> None:
    open_page(qtbot, window, 0)
    view = window.view
    qtbot.keyClick(view, Qt.Key.Key_X)  # the free text tool's shortcut
    assert view.tool == "free_text"
    click_page(qtbot, window, (200, 300))
    editor = window.inline_editor
    assert editor is not None and editor.isVisible() and editor.hasFocus()
    # The box sits where the user clicked.
    aimed = page_rect_center(view, 0, (200, 300))
    assert abs(editor.x() - aimed.x()) <= 2 and abs(editor.y() - aimed.y()) <= 2
    assert window.session is not None and window.session.annotations() == []
    # Letters that are tool shortcuts (N, X, S, ...) are typed, not tool switches.
    qtbot.keyClicks(editor, "Needs a fix")
    assert view.tool == "free_text"
    qtbot.keyClick(editor, Qt.Key.Key_Return)

    (text,) = window.session.annotations()
    assert isinstance(text, TextAnnotation)
    assert text.text.value == "Needs a fix"
    assert round(text.bbox.left) == 200 and round(text.bbox.top) == 300
    assert window.inline_editor is None and not editor.isVisible()
    assert window.comments.row_count() == 1
    # One undo step removes it.
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.session.annotations() == []


def test_sticky_note_takes_several_lines_and_escape_drops_it(qtbot, window: MainWindow) -> None:
    open_page(qtbot, window, 0)
    view = window.view
    qtbot.keyClick(view, Qt.Key.Key_N)
    assert view.tool == "note"

    click_page(qtbot, window, (150, 150))
    editor = window.inline_editor
    assert editor is not None
    qtbot.keyClicks(editor, "never mind")
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert window.session is not None and window.session.annotations() == []
    assert window.inline_editor is None

    click_page(qtbot, window, (150, 150))
    editor = window.inline_editor
    assert editor is not None and editor.hasFocus()
    qtbot.keyClicks(editor, "First line")
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(editor, "second line")
    qtbot.keyClick(editor, Qt.Key.Key_Enter)
    (note,) = window.session.annotations()
    assert isinstance(note, NoteAnnotation)
    assert note.text.value == "First line\nsecond line"
    assert note.creator_name == window.display_name()


def test_clicking_elsewhere_keeps_the_typed_text_and_an_empty_box_adds_nothing(
    qtbot, window: MainWindow
) -> None:
    open_page(qtbot, window, 0)
    view = window.view
    window.tool_actions["free_text"].trigger()
    click_page(qtbot, window, (100, 100))
    assert window.inline_editor is not None
    click_page(qtbot, window, (300, 400))  # nothing typed: dropped; a new box opens here
    assert window.session is not None and window.session.annotations() == []
    assert window.statusBar().currentMessage() == "Empty free text not added."
    editor = window.inline_editor
    assert editor is not None
    qtbot.keyClicks(editor, "kept")
    view.setFocus()  # the user clicks away (e.g. on the page)
    qtbot.waitUntil(lambda: len(window.session.annotations()) == 1)  # type: ignore[union-attr]
    (text,) = window.session.annotations()
    assert isinstance(text, TextAnnotation) and text.text.value == "kept"
