"""Hosting from the app: the port kept across restarts, the bind address in invite links,
the host's window overlaying invited layers, and the Invites list with Revoke (issue 14 #2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lamina.auth.invite import parse_invite_link
from lamina.model.records import InkAnnotation
from lamina.ui import hosting
from lamina.ui.controller import AppController
from lamina.ui.host_dialog import HostReviewDialog
from lamina.ui.hosting import ALL_INTERFACES, PRESETS_BY_KEY, LocalReviewServer
from lamina.ui.main_window import MainWindow
from PySide6.QtCore import Qt

from tests.conftest import corpus_pdf
from tests.ui.conftest import open_file, run
from tests.ui.test_review import joined_window, stroke

PDF = corpus_pdf("geometry-rotations-offset-mediabox-cropbox")


def test_the_hosted_review_keeps_its_port_and_so_its_invites_across_app_restarts(
    qtbot, controller: AppController, tmp_path: Path
) -> None:
    data = tmp_path / "hosted"
    first = LocalReviewServer(data)  # as the app makes it: no port given
    port = run(qtbot, first.start())
    document_id = run(qtbot, first.add_document(PDF))
    link = first.invite(document_id, PRESETS_BY_KEY["reviewer"], name="Dana")
    run(qtbot, first.stop())

    again = LocalReviewServer(data)  # the app restarted
    assert run(qtbot, again.start()) == port
    try:
        dana = joined_window(qtbot, controller, link, "Dana")  # yesterday's invite works
        assert dana.session is not None
    finally:
        for w in list(controller.windows):
            w.close_document()
        run(qtbot, again.stop())


def test_invite_links_carry_the_bind_address_and_join_through_it(
    qtbot, controller: AppController, tmp_path: Path
) -> None:
    server = LocalReviewServer(tmp_path / "hosted", bind="127.0.0.2")  # loopback, not .1
    run(qtbot, server.start())
    try:
        document_id = run(qtbot, server.add_document(PDF))
        link = server.invite(document_id, PRESETS_BY_KEY["reviewer"], name="Eve")
        assert parse_invite_link(link).server_url == f"ws://127.0.0.2:{server.port}"
        eve = joined_window(qtbot, controller, link, "Eve")
        assert eve.session is not None
    finally:
        for w in list(controller.windows):
            w.close_document()
        run(qtbot, server.stop())
    # Kept for the next start, with the port.
    assert LocalReviewServer(tmp_path / "hosted").bind == "127.0.0.2"


def test_serving_on_the_local_network_puts_this_computers_address_in_links(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(hosting, "network_address", lambda: "192.0.2.7")  # TEST-NET-1
    server = LocalReviewServer(tmp_path / "hosted", port=9787, bind=ALL_INTERFACES)
    assert server.on_network
    assert server.url == "ws://192.0.2.7:9787"
    assert server.local_url == "ws://127.0.0.1:9787"
    assert not LocalReviewServer(tmp_path / "other").on_network  # loopback by default


def test_the_hosts_window_overlays_the_layer_it_invited_and_revoke_cuts_the_reviewer_off(
    qtbot, controller: AppController, window: MainWindow, tmp_path: Path
) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(PDF.read_bytes())
    open_file(qtbot, window, pdf)
    window.host_action.trigger()
    qtbot.waitUntil(lambda: bool(controller.dialogs), timeout=20000)
    dialog = controller.dialogs[-1]
    assert isinstance(dialog, HostReviewDialog)
    # The host's window is now in the review, as its lead.
    qtbot.waitUntil(
        lambda: window.session is not None and not window.session.standalone, timeout=20000
    )
    dialog.name_box.setText("Dana Lee")
    dialog.preset_box.setCurrentIndex(dialog.preset_box.findData("reviewer"))
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    link = dialog.link_box.toPlainText()
    assert dialog.invites.tree.topLevelItemCount() == 1
    assert dialog.invites.tree.topLevelItem(0).text(0) == "Dana Lee"

    dana = joined_window(qtbot, controller, link, "Dana Lee")
    stroke(qtbot, dana, [(100, 400), (180, 450)])
    qtbot.waitUntil(lambda: dana.sync_label.text() == "All changes saved", timeout=10000)

    def overlaid() -> list[InkAnnotation]:
        if window.session is None:
            return []
        return [
            a
            for layer, a in window.session.overlay_annotations()
            if layer == "dana-lee" and isinstance(a, InkAnnotation)
        ]

    qtbot.waitUntil(lambda: len(overlaid()) == 1, timeout=20000)
    assert window.view.layer_marks()  # framed in the layer's colour

    dialog.invites.tree.topLevelItem(0).setSelected(True)
    assert dialog.invites.revoke_button.isEnabled()
    qtbot.mouseClick(dialog.invites.revoke_button, Qt.MouseButton.LeftButton)
    assert dialog.invites.tree.topLevelItem(0).text(4) == "revoked"
    qtbot.waitUntil(lambda: "Online" not in dana.connection_label.text(), timeout=10000)
    assert "revoked" in dana.connection_label.text().lower() or "revoked" in (
        dana.session.connection_reason.lower() if dana.session else ""
    )
    dialog.close()
