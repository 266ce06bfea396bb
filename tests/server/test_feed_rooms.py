"""A backend polling the change feed of a layer nobody is connected to: each poll used to load
the whole layer into a room and forget it on answering (O(records) per poll, in every process
a load balancer sent it to). The room now lingers for the next poll."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from lamina.server import api_feed

from tests.server.conftest import ServerThread
from tests.support.waiting import async_test, eventually

SECRET = "s3cret"
ADMIN = {"Authorization": f'Token token="{SECRET}"'}


@async_test
async def test_polling_the_change_feed_keeps_one_room_then_forgets_it(
    tmp_path: Path, store_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ServerThread(tmp_path / "data", database=store_url, api_token=SECRET) as server:
        doc = server.add_document(document_id="polled")
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base, headers=ADMIN, timeout=30) as http:
            made = await http.post(f"/api/documents/{doc}/layers", json={"name": "watched"})
            assert made.status_code < 300, made.text
            rect = {
                "v": 2,
                "type": "pspdfkit/shape/rectangle",
                "id": "01J0000000000000000000RECT",
                "pageIndex": 0,
                "bbox": [100, 100, 80, 40],
                "strokeColor": "#ff0000",
            }
            added = await http.post(
                f"/api/documents/{doc}/layers/watched/annotations", json={"content": rect}
            )
            assert added.status_code < 300, added.text
            feed = f"/api/documents/{doc}/layers/watched/changes"
            key = (doc, "watched")
            admin = server.server.admin
            listed = admin.layer_names
            lookups: list[str] = []

            def counted(document_id: str) -> list[str]:
                lookups.append(document_id)  # counts every live record of the document
                return listed(document_id)

            monkeypatch.setattr(admin, "layer_names", counted)
            first = await http.get(feed, params={"since": 0, "timeout": 0})
            assert first.status_code == 200, first.text
            assert key in server.server.rooms, "the room was forgotten on answering"
            room = server.server.rooms[key]
            again = await http.get(feed, params={"since": first.json()["seq"], "timeout": 0})
            assert again.status_code == 200 and again.json()["changes"] == []
            assert server.server.rooms.get(key) is room, "the second poll loaded it again"
            assert lookups == [doc], "the second poll looked the layer up in the layer list"
            # Once nobody has polled for FEED_LINGER seconds, the room is forgotten.
            monkeypatch.setattr(api_feed, "FEED_LINGER", 0.2)
            await http.get(feed, params={"since": 0, "timeout": 0})
            await eventually(lambda: key not in server.server.rooms, what="the room forgotten")
            assert key in server.server.evictions


@async_test
async def test_a_deleted_layer_is_not_found_though_its_room_lingers(
    tmp_path: Path, store_url: str | None
) -> None:
    with ServerThread(tmp_path / "data", database=store_url, api_token=SECRET) as server:
        doc = server.add_document(document_id="polled")
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base, headers=ADMIN, timeout=30) as http:
            layer = f"/api/documents/{doc}/layers/brief"
            assert (
                await http.post(f"/api/documents/{doc}/layers", json={"name": "brief"})
            ).is_success
            rect = {
                "v": 2,
                "type": "pspdfkit/shape/rectangle",
                "id": "01J0000000000000000000RECT",
                "pageIndex": 0,
                "bbox": [10, 10, 20, 20],
            }
            assert (await http.post(f"{layer}/annotations", json={"content": rect})).is_success
            assert (await http.get(f"{layer}/changes", params={"timeout": 0})).status_code == 200
            assert (doc, "brief") in server.server.rooms  # lingering after the poll
            assert (await http.delete(layer)).is_success
            gone = await http.get(f"{layer}/changes", params={"timeout": 0})
            assert gone.status_code == 404, gone.text
