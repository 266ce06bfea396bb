"""Layers: a lead reviewer overlays reviewers' layers read-only and exports them merged.

Real server on 127.0.0.1 (SQLite in tmp_path), real windows joined with real invites.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from lamina.auth.invite import make_invite_link
from lamina.model.records import InkAnnotation
from lamina.pdf import open_pdf, read_records
from lamina.ui.controller import AppController
from lamina.ui.export_layers_dialog import ExportLayersDialog
from lamina.ui.hosting import PRESETS_BY_KEY, LocalReviewServer
from lamina.ui.main_window import MainWindow
from lamina.ui.page_view import page_rect_center
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from tests.support.server_thread import ServerThread
from tests.ui.test_review import PDF, inks, joined_window, run, stroke


def layer_inks(window: MainWindow) -> list[InkAnnotation]:
    """Return the inks of other layers drawn (framed) in ``window``."""
    return [a for a in window.view.layer_marks() if isinstance(a, InkAnnotation)]


def drawn_ids(window: MainWindow) -> set[str]:
    return {a.id for a in window.view.annotations()}


def test_a_lead_overlays_a_reviewers_layer_read_only_and_exports_both_merged(
    qtbot, controller: AppController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = LocalReviewServer(tmp_path / "server")
    controller.server = server  # the app hosts: the lead's window offers the invited layers
    run(qtbot, server.start())
    document_id = run(qtbot, server.add_document(PDF))
    reviewer = PRESETS_BY_KEY["reviewer"]
    ana_link = server.invite(document_id, reviewer, name="Ana", layer="ana")
    ben_link = server.invite(document_id, reviewer, name="Ben", layer="ben")
    lead_link = server.invite(document_id, PRESETS_BY_KEY["lead"], name="Lea", layer="lea")
    ana = joined_window(qtbot, controller, ana_link, "Ana")
    ben = joined_window(qtbot, controller, ben_link, "Ben")
    lead = joined_window(qtbot, controller, lead_link, "Lea")

    # The lead's Layers panel: own layer first, then the layers the server lists (the
    # shared one and those the host invited), unticked; the host's app may create layers,
    # so it also gets the "Add layer…" field.
    qtbot.waitUntil(lambda: lead.layers.layer_names() == ["lea", "", "ana", "ben"], timeout=10000)
    assert lead.layers.visible_layers() == ["lea"]
    assert not lead.layers.add_row.isHidden()
    # A reviewer without view_layers sees only their own layer, and no "Add layer…".
    assert ben.layers.layer_names() == ["ben"]
    assert ben.layers.add_row.isHidden()
    assert "your layer only" in ben.layers.hint.text()

    stroke(qtbot, ana, [(100, 400), (150, 420), (200, 480)])
    stroke(qtbot, lead, [(300, 200), (350, 260)])
    qtbot.waitUntil(lambda: ana.sync_label.text() == "All changes saved", timeout=10000)
    ana_ink = inks(ana)[0]
    assert not layer_inks(lead) and ana_ink.id not in drawn_ids(lead)

    # Tick "ana": her stroke is drawn in the lead's view, framed in the layer's colour.
    item = lead.layers.item_of("ana")
    assert item is not None
    item.setCheckState(Qt.CheckState.Checked)
    qtbot.waitUntil(lambda: [a.id for a in layer_inks(lead)] == [ana_ink.id], timeout=10000)
    assert ana_ink.id in drawn_ids(lead)
    row = lead.layers.item_of("ana")
    assert row is not None and "Ana" in row.text() and "1 annotation" in row.text()
    # The Comments panel lists it with its layer's name.
    layers = [
        lead.comments.layer_filter.itemText(i) for i in range(lead.comments.layer_filter.count())
    ]
    assert "ana" in layers and "lea (mine)" in layers
    shown = lead.comments.model
    rows = [
        (shown.data(shown.index(i, 1)), shown.data(shown.index(i, 2)))
        for i in range(shown.rowCount())
    ]
    assert ("Ana", "ana") in rows and ("Lea", "lea (mine)") in rows

    # Read-only: clicking selects it, but Delete and dragging change nothing.
    lead.tool_actions["select"].trigger()
    vp = lead.view.viewport()
    at = page_rect_center(lead.view, 0, (150, 420))
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=at)
    assert lead.view.selected_id == ana_ink.id
    assert not lead.delete_action.isEnabled()
    assert lead.delete_action.toolTip() == "Read-only: ana layer"
    assert "Read-only: ana layer" in lead.statusBar().currentMessage()
    lead.delete_selected()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseMove(vp, at + at / 4)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=at + at / 4)
    assert [a.bbox for a in layer_inks(lead)] == [ana_ink.bbox]
    assert lead.session is not None and lead.session.pending == 0
    # Clicking its row in the Comments panel goes to it; Delete there is disabled too.
    lead.view.set_selected(None)
    ana_row = next(i for i in range(shown.rowCount()) if shown.data(shown.index(i, 1)) == "Ana")
    rect = lead.comments.row_rect(
        str(shown.data(shown.index(ana_row, 0), Qt.ItemDataRole.UserRole))
    )
    assert rect is not None
    qtbot.mouseClick(lead.comments.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert lead.view.selected_id == ana_ink.id
    assert not lead.comments.delete_button.isEnabled()
    assert lead.comments.delete_button.toolTip() == "Read-only: ana layer"

    # Live: Ana's next stroke appears in the lead's view.
    stroke(qtbot, ana, [(120, 600), (220, 640)])
    qtbot.waitUntil(lambda: len(layer_inks(lead)) == 2, timeout=10000)

    # File → Export → Merged PDF of chosen layers: the lead's own and Ana's strokes.
    out = tmp_path / "merged.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    lead.export_layers_action.trigger()
    dialog = next(d for d in lead._open_dialogs if isinstance(d, ExportLayersDialog))
    assert list(dialog.boxes) == ["lea", "ana"]
    assert not dialog.boxes["lea"].isEnabled()  # the own layer is always in
    with qtbot.waitSignal(lead.exported, timeout=20000):
        dialog.accept()
    pdf = open_pdf(out)
    try:
        written = [r for r in read_records(pdf) if isinstance(r, InkAnnotation)]
    finally:
        pdf.close()
    assert sorted(r.creator_name or "" for r in written) == ["Ana", "Ana", "Lea"]

    # Untick: Ana's strokes leave the lead's view.
    item = lead.layers.item_of("ana")
    assert item is not None
    item.setCheckState(Qt.CheckState.Unchecked)
    qtbot.waitUntil(lambda: not layer_inks(lead), timeout=5000)
    assert ana_ink.id not in drawn_ids(lead)
    assert len(inks(lead)) == 1  # the lead's own stroke stays

    # Ticking Ben's layer shows his strokes live.
    item = lead.layers.item_of("ben")
    assert item is not None
    item.setCheckState(Qt.CheckState.Checked)
    qtbot.waitUntil(lambda: "ben" in lead.layers.visible_layers(), timeout=10000)
    stroke(qtbot, ben, [(100, 300), (160, 330)])
    qtbot.waitUntil(lambda: len(layer_inks(lead)) == 1, timeout=10000)
    assert layer_inks(lead)[0].creator_name == "Ben"

    # "Add layer…" (the host's app): a new layer is created, remembered and shown; Ben's
    # invite views no other layer, so his list does not grow.
    lead.layers.add_box.setText("dan")
    qtbot.mouseClick(lead.layers.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "dan" in lead.layers.visible_layers(), timeout=10000)
    assert server.invited_layers(document_id)[-1] == "dan"
    assert ben.layers.layer_names() == ["ben"]


def test_a_reviewer_with_named_view_layers_is_offered_exactly_those(
    qtbot, controller: AppController, server: LocalReviewServer
) -> None:
    document_id = run(qtbot, server.add_document(PDF))
    link = server.invite(
        document_id, PRESETS_BY_KEY["reviewer"], name="Cy", layer="cy", view_layers=("ana",)
    )
    cy = joined_window(qtbot, controller, link, "Cy")
    assert cy.layers.layer_names() == ["cy", "ana"]
    assert cy.layers.add_row.isHidden()  # only "*" may name any layer


def test_the_layers_panel_lists_the_servers_layers_live_and_stops_viewing_a_hidden_one(
    qtbot, controller: AppController, tmp_path: Path
) -> None:
    """Against a real server (ServerThread): the panel lists what the server lists for the
    token (no names typed), a layer created through the HTTP API appears at once, ticking
    overlays it, unticking makes the server stop relaying it; nothing asks for a name, as
    this app does not host the review."""
    with ServerThread(tmp_path / "srv", api_token="layers-test-secret") as st:
        document_id = st.add_document()
        token = st.token(document_id, layer="lea", creator_name="Lea", view_layers=("*",))
        lead = joined_window(qtbot, controller, make_invite_link(st.url, token), "Lea")
        qtbot.waitUntil(lambda: lead.layers.layer_names() == ["lea", ""], timeout=10000)
        assert lead.layers.visible_layers() == ["lea"]
        assert lead.layers.add_row.isHidden()  # only the host creates layers
        assert lead.layers.item_of("") is not None

        admin = {"Authorization": f'Token token="{st.server.api_token}"'}
        base = f"http://127.0.0.1:{st.port}/api/documents/{document_id}"
        rect = {
            "v": 2,
            "type": "pspdfkit/shape/rectangle",
            "id": "01J0000000000000000000RECT",
            "pageIndex": 0,
            "bbox": [100, 100, 80, 40],
            "createdAt": "2024-05-01T10:00:00Z",
            "updatedAt": "2024-05-01T10:00:00Z",
            "creatorName": "Zoe",
            "strokeColor": "#ff0000",
            "strokeWidth": 2,
            "opacity": 1,
        }
        with httpx.Client(headers=admin, timeout=30) as http:
            assert http.post(f"{base}/layers", json={"name": "zoe"}).status_code < 300
            applied = http.post(
                f"{base}/layers/zoe/apply_instant_json",
                json={"format": "https://pspdfkit.com/instant-json/v1", "annotations": [rect]},
            )
            assert applied.status_code < 300, applied.text
        # Live: the new layer gets an unticked row without any reconnect.
        qtbot.waitUntil(lambda: lead.layers.layer_names() == ["lea", "", "zoe"], timeout=10000)
        assert lead.layers.visible_layers() == ["lea"]

        item = lead.layers.item_of("zoe")
        assert item is not None
        item.setCheckState(Qt.CheckState.Checked)
        qtbot.waitUntil(
            lambda: [a.id for a in lead.view.layer_marks()] == [rect["id"]], timeout=10000
        )
        row = lead.layers.item_of("zoe")
        assert row is not None and "Zoe" in row.text() and "1 annotation" in row.text()

        async def viewing() -> list[str]:
            return sorted(layer for conn in st.server.connections for layer in conn.viewing)

        assert st.call(viewing()) == ["zoe"]
        item = lead.layers.item_of("zoe")
        assert item is not None
        item.setCheckState(Qt.CheckState.Unchecked)
        qtbot.waitUntil(lambda: not lead.view.layer_marks(), timeout=5000)
        qtbot.waitUntil(lambda: st.call(viewing()) == [], timeout=5000)
        assert lead.layers.layer_names() == ["lea", "", "zoe"]  # still listed, unticked
        lead.close_document()
