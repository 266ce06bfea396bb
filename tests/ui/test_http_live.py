"""The desktop app and the HTTP API on one real server (issue 12, "What must be shown").

A write through ``apply_instant_json`` shows in a joined window at once, and a stroke drawn in
the window appears in the layer's change feed (long-poll), read with httpx, not our own code.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from lamina.auth.invite import make_invite_link
from lamina.ui.controller import AppController

from tests.support.server_thread import ServerThread
from tests.ui.test_review import inks, joined_window, stroke

RECT_ID = "01J0000000000000000000HTTP"


def _rect() -> dict[str, object]:
    return {
        "v": 2,
        "type": "pspdfkit/shape/rectangle",
        "id": RECT_ID,
        "pageIndex": 0,
        "bbox": [100, 100, 80, 40],
        "createdAt": "2024-05-01T10:00:00Z",
        "updatedAt": "2024-05-01T10:00:00Z",
        "creatorName": "Backend",
        "strokeColor": "#ff0000",
        "strokeWidth": 2,
        "opacity": 1,
    }


def test_an_http_write_shows_in_the_window_and_its_stroke_reaches_the_change_feed(
    qtbot, controller: AppController, tmp_path: Path
) -> None:
    with ServerThread(tmp_path / "srv", api_token="http-live-secret") as st:
        document_id = st.add_document()
        admin = {"Authorization": f'Token token="{st.server.api_token}"'}
        base = f"http://127.0.0.1:{st.port}/api/documents/{document_id}"
        layer = f"{base}/layers/lea"
        with httpx.Client(headers=admin, timeout=30) as http:
            # As Document Engine's guide does: a layer per reviewer, then the reviewer's token.
            assert http.post(f"{base}/layers", json={"name": "lea"}).status_code == 200
            token = st.token(document_id, layer="lea", creator_name="Lea")
            window = joined_window(qtbot, controller, make_invite_link(st.url, token), "Lea")
            applied = http.post(
                f"{layer}/apply_instant_json",
                json={"format": "https://pspdfkit.com/instant-json/v1", "annotations": [_rect()]},
            )
            assert applied.status_code == 200, applied.text
            # Live: the window shows the backend's rectangle without any reconnect.
            qtbot.waitUntil(
                lambda: RECT_ID in {a.id for a in window.view.annotations()}, timeout=10000
            )
            feed = http.get(f"{layer}/changes", params={"since": 0, "timeout": 0})
            assert feed.status_code == 200, feed.text
            since = feed.json()["seq"]
            assert [c["id"] for c in feed.json()["changes"]] == [RECT_ID]

            # The long-poll waits in another thread: this one runs the app's event loop.
            with ThreadPoolExecutor(1) as pool:
                waiting = pool.submit(
                    http.get, f"{layer}/changes", params={"since": since, "timeout": 30}
                )
                stroke(qtbot, window, [(100, 400), (150, 420), (200, 480)])
                assert len(inks(window)) == 1
                ink_id = inks(window)[0].id
                qtbot.waitUntil(waiting.done, timeout=30000)
                feed = waiting.result()
            assert feed.status_code == 200, feed.text
            changes = feed.json()["changes"]
            assert [(c["id"], c["content"]["type"]) for c in changes] == [(ink_id, "pspdfkit/ink")]
            assert changes[0]["seq"] > since
        window.close_document()
