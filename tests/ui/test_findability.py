"""Things a new user looks for: shortcuts in tooltips and Help, empty panels that say what to
do, recent files on the welcome page, the author filter."""

from __future__ import annotations

from lamina.ui.controller import AppController
from lamina.ui.main_window import MainWindow
from lamina.ui.preferences import account_name
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget, QToolBar

from tests.ui.conftest import open_file
from tests.ui.test_drawing import BOXES
from tests.ui.test_text_tools import click_page


def test_toolbar_tooltips_show_their_shortcuts_and_help_lists_them_all(
    qtbot, window: MainWindow
) -> None:
    open_file(qtbot, window, BOXES)
    for bar in window.findChildren(QToolBar):
        for act in bar.actions():
            keys = act.shortcut().toString()
            if keys and act.isEnabled():
                assert f"({keys})" in act.toolTip(), (act.text(), act.toolTip())
    assert window.tool_actions["ink"].toolTip() == "Pen (P)"
    assert window.fit_width_action.toolTip() == "Fit width (Ctrl+1)"

    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "Edit", "View", "Tools", "Help"]
    qtbot.keyClick(window.view, Qt.Key.Key_F1)
    table = window.findChild(QTableWidget, "shortcutsTable")
    assert table is not None and table.isVisible()
    rows = {
        tuple(table.item(r, c).text() for c in range(3))  # type: ignore[union-attr]
        for r in range(table.rowCount())
    }
    assert ("File", "Save annotations into PDF", "Ctrl+S") in rows
    assert ("Tools", "Sticky note", "N") in rows
    assert ("Edit", "Preferences…", "Ctrl+,") in rows
    assert ("Help", "Keyboard shortcuts", "F1") in rows
    assert ("File", "Close window", "Ctrl+W") in rows


def test_empty_panels_say_what_to_do_and_their_buttons_wait_for_a_selection(
    qtbot, window: MainWindow
) -> None:
    open_file(qtbot, window, BOXES)
    panel = window.comments
    assert panel.empty.isVisible() and not panel.table.isVisible()
    assert "No annotations yet" in panel.empty.text()
    assert not panel.reply_button.isEnabled()
    assert "Select an annotation" in panel.reply_button.toolTip()
    window.docks["conflicts"].show()
    window.docks["conflicts"].raise_()
    assert window.conflicts.empty.isVisible()
    assert not window.conflicts.reapply_button.isEnabled()
    assert window.properties.target.text() == "Select an annotation to change it, or pick a tool"

    window.tool_actions["free_text"].trigger()
    assert window.properties.target.text() == "New free text annotations"
    click_page(qtbot, window, (200, 300))
    assert window.inline_editor is not None
    qtbot.keyClicks(window.inline_editor, "hello")
    qtbot.keyClick(window.inline_editor, Qt.Key.Key_Return)
    assert panel.table.isVisible() and not panel.empty.isVisible()
    assert panel.model.rowCount() == 1
    panel.table.setCurrentIndex(panel.model.index(0, 0))
    assert panel.reply_button.isEnabled() and panel.delete_button.isEnabled()
    # Only authors that exist are offered; "All authors" first.
    authors = [panel.author_filter.itemText(i) for i in range(panel.author_filter.count())]
    assert authors == ["All authors", account_name()]  # the account's name, never "Me"


def test_the_welcome_page_offers_recent_files(
    qtbot, controller: AppController, window: MainWindow
) -> None:
    assert window.welcome.recent_buttons == []
    assert not window.welcome.recent_title.isVisible()
    open_file(qtbot, window, BOXES)
    window.close()
    again = controller.new_window()
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert again.welcome.recent_title.isVisible()
    (button,) = again.welcome.recent_buttons
    assert button.text() == BOXES.name and button.toolTip() == str(BOXES.resolve())
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: again.session is not None, timeout=20000)
    assert again.windowTitle().startswith(BOXES.name)
