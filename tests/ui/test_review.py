"""Live reviews: app windows joined to a real server on 127.0.0.1 (real SQLite in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from lamina.model.records import InkAnnotation
from lamina.ui.controller import AppController
from lamina.ui.hosting import PRESETS_BY_KEY, LocalReviewServer
from lamina.ui.main_window import MainWindow
from lamina.ui.page_view import page_rect_center
from PySide6.QtCore import Qt

from tests.conftest import corpus_pdf
from tests.ui.conftest import run

PDF = corpus_pdf("geometry-rotations-offset-mediabox-cropbox")


def inks(window: MainWindow) -> list[InkAnnotation]:
    if window.session is None:
        return []
    return [a for a in window.session.annotations() if isinstance(a, InkAnnotation)]


def stroke(qtbot, window: MainWindow, points: list[tuple[float, float]]) -> None:  # type: ignore[no-untyped-def]
    view = window.view
    view.set_zoom(1.0)
    view.go_to_page(0)
    qtbot.waitUntil(lambda: view.current_page == 0)
    window.tool_actions["ink"].trigger()  # the menu/toolbar action (shortcuts need focus)
    assert view.tool == "ink"
    vp = view.viewport()
    px = [page_rect_center(view, 0, p) for p in points]
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=px[0])
    for p in px[1:]:
        qtbot.mouseMove(vp, p)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=px[-1])


def joined_window(qtbot, controller: AppController, link: str, name: str) -> MainWindow:  # type: ignore[no-untyped-def]
    window = controller.new_window()
    window.settings_override = {"display_name": name, "color": "#C62828"}
    qtbot.addWidget(window)
    window.resize(1000, 760)
    window.show()
    controller.join(window, link)
    qtbot.waitUntil(lambda: window.session is not None, timeout=20000)
    qtbot.waitUntil(lambda: "Online" in window.connection_label.text(), timeout=20000)
    return window


def test_a_stroke_in_one_window_appears_in_the_other_and_offline_edits_sync_later(
    qtbot, controller: AppController, server: LocalReviewServer
) -> None:
    document_id = run(qtbot, server.add_document(PDF))
    lead = PRESETS_BY_KEY["lead"]
    ann = joined_window(qtbot, controller, server.invite(document_id, lead, name="Ann"), "Ann")
    bob = joined_window(qtbot, controller, server.invite(document_id, lead, name="Bob"), "Bob")
    # Presence: each sees the other, by name.
    qtbot.waitUntil(lambda: "Bob" in ann.presence_label.text(), timeout=10000)
    qtbot.waitUntil(lambda: "Ann" in bob.presence_label.text(), timeout=10000)

    stroke(qtbot, ann, [(100, 400), (150, 420), (200, 480)])
    assert len(inks(ann)) == 1
    qtbot.waitUntil(lambda: len(inks(bob)) == 1, timeout=10000)
    assert inks(bob)[0].id == inks(ann)[0].id
    qtbot.waitUntil(lambda: ann.sync_label.text() == "All changes saved", timeout=10000)

    run(qtbot, server.stop())
    qtbot.waitUntil(lambda: "reconnecting" in ann.connection_label.text(), timeout=10000)
    stroke(qtbot, ann, [(120, 500), (220, 540)])
    assert ann.sync_label.text() == "1 change pending"
    assert len(inks(bob)) == 1

    run(qtbot, server.start())  # the same port and data: the clients come back
    qtbot.waitUntil(lambda: ann.sync_label.text() == "All changes saved", timeout=20000)
    qtbot.waitUntil(lambda: len(inks(bob)) == 2, timeout=20000)
    assert "Online" in bob.connection_label.text()


def test_a_viewer_invite_disables_drawing_with_the_reason(
    qtbot, controller: AppController, server: LocalReviewServer
) -> None:
    document_id = run(qtbot, server.add_document(PDF))
    link = server.invite(document_id, PRESETS_BY_KEY["viewer"], name="Vic")
    window = joined_window(qtbot, controller, link, "Vic")
    pen = window.tool_actions["ink"]
    assert not pen.isEnabled()
    assert "no write permission" in pen.toolTip()
    pen.trigger()  # a disabled action does nothing
    assert window.view.tool != "ink"


def test_try_the_sample_review_opens_two_live_windows(
    qtbot, controller: AppController, window: MainWindow, server: LocalReviewServer
) -> None:
    qtbot.mouseClick(window.welcome.sample_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(controller.windows) == 2, timeout=20000)
    other = controller.windows[1]
    qtbot.addWidget(other)
    for w in (window, other):
        qtbot.waitUntil(lambda w=w: "Online" in w.connection_label.text(), timeout=20000)
    assert (
        window.session is not None
        and window.pdf_path is not None
        and window.pdf_path.read_bytes()[:5] == b"%PDF-"
    )
    # The user leads on layer "me" and already views Sam's layer "sam" (read-only); the
    # server also lists the shared layer (unticked).
    qtbot.waitUntil(lambda: window.layers.layer_names() == ["me", "sam", ""], timeout=10000)
    qtbot.waitUntil(lambda: window.layers.visible_layers() == ["me", "sam"], timeout=10000)
    assert other.layers.layer_names() == ["sam"]
    stroke(qtbot, other, [(100, 450), (200, 500)])
    sams = inks(other)
    qtbot.waitUntil(
        lambda: [a.id for a in window.view.layer_marks()] == [sams[0].id], timeout=10000
    )
    # ...and the user's own stroke stays on their layer, out of Sam's.
    stroke(qtbot, window, [(300, 450), (350, 500)])
    assert len(inks(window)) == 1 and len(inks(other)) == 1
    assert controller.server is not None and controller.server.data_dir.is_dir()


def test_host_review_makes_reviewer_invites_that_join_on_their_own_layer(
    qtbot, controller: AppController, window: MainWindow, tmp_path: Path
) -> None:
    from lamina.auth.invite import parse_invite_link
    from lamina.client.document import decode_token_claims
    from lamina.ui.host_dialog import HostReviewDialog

    from tests.ui.conftest import open_file

    open_file(qtbot, window, PDF)
    assert window.host_action.isEnabled()
    window.host_action.trigger()
    qtbot.waitUntil(lambda: bool(controller.dialogs), timeout=20000)
    dialog = controller.dialogs[-1]
    assert isinstance(dialog, HostReviewDialog)
    dialog.name_box.setText("Dana Lee")
    dialog.preset_box.setCurrentIndex(dialog.preset_box.findData("reviewer"))
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    link = dialog.link_box.toPlainText()
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == link
    invite = parse_invite_link(link)
    assert invite.server_url.startswith("ws://127.0.0.1:")
    claims = decode_token_claims(invite.token)
    assert claims["layer"] == "dana-lee"
    assert sorted(claims["permissions"]) == ["download", "read-document", "write"]
    dialog.close()

    dana = joined_window(qtbot, controller, link, "Dana Lee")
    assert "dana-lee" in dana.layers.list.item(0).text()
    stroke(qtbot, dana, [(100, 400), (180, 450)])
    qtbot.waitUntil(lambda: dana.sync_label.text() == "All changes saved", timeout=10000)


def test_a_conflicting_change_shows_both_versions_and_re_apply_wins(
    qtbot, controller: AppController, server: LocalReviewServer
) -> None:
    import dataclasses

    document_id = run(qtbot, server.add_document(PDF))
    lead = PRESETS_BY_KEY["lead"]
    ann = joined_window(qtbot, controller, server.invite(document_id, lead, name="Ann"), "Ann")
    bob = joined_window(qtbot, controller, server.invite(document_id, lead, name="Bob"), "Bob")
    stroke(qtbot, ann, [(100, 400), (150, 420)])
    qtbot.waitUntil(lambda: len(inks(bob)) == 1, timeout=10000)
    assert ann.session is not None and bob.session is not None
    run(qtbot, ann.session.document.disconnect())
    qtbot.waitUntil(lambda: ann.connection_label.text() == "Offline")

    theirs = inks(bob)[0]
    bob.session.update(dataclasses.replace(theirs, stroke_color="#00AA00"))
    qtbot.waitUntil(lambda: bob.sync_label.text() == "All changes saved", timeout=10000)
    mine = inks(ann)[0]
    ann.session.update(dataclasses.replace(mine, stroke_color="#FF0000"))
    assert ann.sync_label.text() == "1 change pending"

    ann.session.document.connect()
    qtbot.waitUntil(lambda: ann.conflicts.list.count() == 1, timeout=10000)
    assert ann.docks["conflicts"].isVisible()
    assert inks(ann)[0].stroke_color == "#00AA00"  # the first change to reach the server
    assert "#FF0000" in ann.conflicts.mine.toPlainText()
    assert "#00AA00" in ann.conflicts.theirs.toPlainText()

    qtbot.mouseClick(ann.conflicts.reapply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ann.conflicts.list.count() == 0, timeout=10000)
    qtbot.waitUntil(lambda: inks(bob)[0].stroke_color == "#FF0000", timeout=10000)
    assert inks(ann)[0].stroke_color == "#FF0000"
