"""Preferences at work: tool colours, name, presence colour and autosave reach open windows."""

from __future__ import annotations

from lamina.model.records import InkAnnotation, RectangleAnnotation
from lamina.ui.controller import AppController
from lamina.ui.hosting import PRESETS_BY_KEY, LocalReviewServer
from lamina.ui.main_window import MainWindow
from lamina.ui.page_view import page_rect_center
from lamina.ui.preferences import Preferences, PreferencesDialog, save_preferences
from PySide6.QtCore import Qt

from tests.ui.conftest import open_file
from tests.ui.test_review import PDF, inks, run, stroke


def drag(
    qtbot, window: MainWindow, tool: str, a: tuple[float, float], b: tuple[float, float]
) -> None:  # type: ignore[no-untyped-def]
    view = window.view
    window.tool_actions[tool].trigger()
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=page_rect_center(view, 0, a))
    qtbot.mouseMove(vp, page_rect_center(view, 0, ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=page_rect_center(view, 0, b))


def accept_preferences(qtbot, window: MainWindow, **changes: str) -> None:  # type: ignore[no-untyped-def]
    """Change the Preferences through the dialog the Edit menu opens, and press OK."""
    window.preferences_action.trigger()
    dialog = window.findChild(PreferencesDialog, "preferencesDialog")
    assert dialog is not None and dialog.isVisible()
    if "name" in changes:
        dialog.name_edit.setText(changes["name"])
    if "color" in changes:
        dialog.presence_button.set_color(changes["color"])
    if "autosave" in changes:
        dialog.autosave_box.setCurrentIndex(dialog.autosave_box.findData(changes["autosave"]))
    for kind in ("ink", "highlighter", "shape", "text"):
        if kind in changes:
            dialog.tool_buttons[kind].set_color(changes[kind])
    qtbot.mouseClick(dialog.ok_button(), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()


def test_default_tool_colours_and_name_go_on_new_annotations_and_changes_reach_every_window(
    qtbot, controller: AppController, server: LocalReviewServer
) -> None:
    save_preferences(
        Preferences(
            display_name="Ada",
            tool_colors={"ink": "#00AA44", "highlighter": "#FFEB3B", "shape": "#7B1FA2"},
        ),
        controller.settings,
    )
    window = controller.new_window()
    other = controller.new_window()
    for w in (window, other):
        qtbot.addWidget(w)
        w.resize(1000, 760)
        w.show()
    open_file(qtbot, window, PDF)
    window.view.set_zoom(1.0)
    window.view.go_to_page(0)
    qtbot.waitUntil(lambda: window.view.current_page == 0)

    stroke(qtbot, window, [(100, 400), (150, 420), (200, 480)])
    (ink,) = inks(window)
    assert ink.stroke_color == "#00AA44" and ink.creator_name == "Ada"
    drag(qtbot, window, "rectangle", (300, 300), (400, 360))
    assert window.session is not None
    (rect,) = [a for a in window.session.annotations() if isinstance(a, RectangleAnnotation)]
    assert rect.stroke_color == "#7B1FA2"
    # The Properties panel shows the colour the pen starts with.
    window.tool_actions["ink"].trigger()
    assert window.properties.color_button.text() == "#00AA44"

    accept_preferences(qtbot, window, name="Ada L.", ink="#112233")
    assert window.properties.color_button.text() == "#112233"
    assert other.view.style_for("ink").color == "#112233"  # the other open window too
    stroke(qtbot, window, [(100, 500), (200, 540)])
    newest = next(a for a in inks(window) if a.id != ink.id)
    assert newest.stroke_color == "#112233" and newest.creator_name == "Ada L."
    assert "Ada L." in window.layers.list.item(0).text()
    assert isinstance(newest, InkAnnotation)


def test_autosave_mode_decides_when_review_changes_are_sent_and_name_reaches_the_others(
    qtbot, controller: AppController, server: LocalReviewServer
) -> None:
    document_id = run(qtbot, server.add_document(PDF))
    lead = PRESETS_BY_KEY["lead"]
    save_preferences(Preferences(display_name="Ann", autosave="disabled"), controller.settings)
    ann = controller.new_window()
    bob = controller.new_window()
    bob.settings_override = {"display_name": "Bob", "color": "#C62828"}
    for w, name in ((ann, "Ann"), (bob, "Bob")):
        qtbot.addWidget(w)
        w.resize(1000, 760)
        w.show()
        controller.join(w, server.invite(document_id, lead, name=name))
        qtbot.waitUntil(lambda w=w: w.session is not None, timeout=20000)
        qtbot.waitUntil(lambda w=w: "Online" in w.connection_label.text(), timeout=20000)
    assert ann.session is not None and ann.session.document.autosave.value == "disabled"
    qtbot.waitUntil(lambda: "Ann" in bob.presence_label.text(), timeout=10000)

    # "Only when I save": online, yet the stroke stays pending until Ctrl+S.
    stroke(qtbot, ann, [(100, 400), (150, 420), (200, 480)])
    assert ann.sync_label.text() == "1 change pending"
    qtbot.wait(300)
    assert ann.sync_label.text() == "1 change pending"
    assert inks(bob) == []
    ann.save_action.trigger()
    qtbot.waitUntil(lambda: ann.sync_label.text() == "All changes saved", timeout=10000)
    qtbot.waitUntil(lambda: len(inks(bob)) == 1, timeout=10000)

    # "When an edit gesture ends", a new name and colour: applied to the open review.
    accept_preferences(qtbot, ann, name="Ann Smith", color="#00897B", autosave="intelligent")
    assert ann.session.document.autosave.value == "intelligent"
    qtbot.waitUntil(lambda: "Ann Smith" in bob.presence_label.text(), timeout=10000)
    assert "#00897B" in bob.presence_label.text()
    stroke(qtbot, ann, [(120, 500), (220, 540)])
    qtbot.waitUntil(lambda: ann.sync_label.text() == "All changes saved", timeout=10000)
    qtbot.waitUntil(lambda: len(inks(bob)) == 2, timeout=10000)
    # The invite fixes the creator name on records (the server refuses any other).
    assert {i.creator_name for i in inks(bob)} == {"Ann"}
