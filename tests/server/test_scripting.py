"""`lamina push`, `pull` and `layer-pdf` against a real server."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from lamina.auth import make_invite_link
from lamina.cli import main
from lamina.model.records import record_to_json
from lamina.pdf import open_pdf
from lamina.pdf.annotations import read_records

from tests.conftest import corpus_pdf
from tests.server.conftest import STAMPS, ServerThread
from tests.server.test_permissions import STUDENT

NEW_RECT = {
    "type": "pspdfkit/shape/rectangle",
    "v": 2,
    "id": "01HXAMPLERECT000000000000A",
    "pageIndex": 0,
    "bbox": [20, 400, 100, 60],
    "strokeColor": "#2255ff",
    "strokeWidth": 3,
}


def _diff(**extra: Any) -> dict[str, Any]:
    moved = {
        "type": "pspdfkit/stamp",
        "v": 2,
        "pdfObjectId": 37,
        "pageIndex": 0,
        "bbox": [75.2, 500.0, 100.0, 30.0],
        "stampType": "Accepted",
    }
    diff = {
        "format": "https://pspdfkit.com/instant-json/v1",
        "annotations": [NEW_RECT, moved],
        "skippedPdfObjectIds": [37, 58],
    }
    diff.update(extra)
    return diff


def _write(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def test_push_pull_and_layer_pdf_round_trip(
    server: ServerThread, doc: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"ws://127.0.0.1:{server.port}"
    token = server.token(doc, layer="review", user_id="bot")
    changes = _write(tmp_path / "changes.json", _diff())
    assert main(["push", "--server", url, "--token", token, str(changes)]) == 0
    assert "saved 3 of 3 changes (1 creates, 1 updates, 1 deletes)" in capsys.readouterr().out

    out = tmp_path / "pulled.json"
    invite = make_invite_link(url, token)
    assert main(["pull", "--invite", invite, "-o", str(out)]) == 0
    pulled = json.loads(out.read_text())
    assert sorted(pulled["skippedPdfObjectIds"]) == [37, 58]
    by_id = {a["id"]: a for a in pulled["annotations"]}
    assert by_id[NEW_RECT["id"]]["strokeColor"] == "#2255ff"
    assert by_id["37"]["bbox"] == [75.2, 500.0, 100.0, 30.0]
    assert len(pulled["annotations"]) == 2  # unchanged originals stay in the PDF only

    # Pushing the same file again changes nothing.
    assert main(["push", "--server", url, "--token", token, str(changes)]) == 0
    assert "saved 0 of 0 changes" in capsys.readouterr().out

    pdf_path = tmp_path / "layer.pdf"
    assert main(["layer-pdf", "--invite", invite, "-o", str(pdf_path)]) == 0
    with open_pdf(pdf_path) as pdf:
        records = [record_to_json(r) for r in read_records(pdf)]
    stamps = [r for r in records if r["type"] == "pspdfkit/stamp"]
    assert len(stamps) == 4  # 5 originals, one deleted
    assert any(r["type"] == "pspdfkit/shape/rectangle" for r in records)
    # The default layer never saw any of it.
    assert main(["pull", "--server", url, "--token", server.token(doc), "-o", str(out)]) == 0
    assert json.loads(out.read_text()).get("annotations") is None


def test_push_lists_forbidden_changes_and_fails(
    server: ServerThread, doc: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"ws://127.0.0.1:{server.port}"
    student = server.token(
        doc, user_id="sam", collaboration_permissions=STUDENT, default_group="students"
    )
    teacher = server.token(doc, user_id="tina")
    moved = _diff()["annotations"][1]
    # The teacher's layer has the stamps; the student may not touch (or even see) them.
    assert (
        main(
            [
                "push",
                "--server",
                url,
                "--token",
                teacher,
                str(
                    _write(
                        tmp_path / "t.json", {"annotations": [moved], "skippedPdfObjectIds": [37]}
                    )
                ),
            ]
        )
        == 0
    )
    capsys.readouterr()
    mine = _write(tmp_path / "s.json", {"annotations": [NEW_RECT]})
    assert main(["push", "--server", url, "--token", student, str(mine)]) == 0
    capsys.readouterr()
    theirs = dict(NEW_RECT, id="01HXAMPLERECT000000000000B")
    assert (
        main(
            [
                "push",
                "--server",
                url,
                "--token",
                teacher,
                str(_write(tmp_path / "t2.json", {"annotations": [theirs]})),
            ]
        )
        == 0
    )
    capsys.readouterr()
    # The student pulls only what they may see: their own rectangle.
    out = tmp_path / "student.json"
    assert main(["pull", "--server", url, "--token", student, "-o", str(out)]) == 0
    pulled = json.loads(out.read_text())
    assert [a["id"] for a in pulled["annotations"]] == [NEW_RECT["id"]]
    # Changing the teacher's record by id: the student cannot see it, so it is a create of
    # an id that exists, which the server refuses with a reason.
    bad = _write(tmp_path / "bad.json", {"annotations": [dict(theirs, strokeColor="#000000")]})
    assert main(["push", "--server", url, "--token", student, str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"rejected {theirs['id']}:" in err


def test_layer_pdf_needs_download(
    server: ServerThread, doc: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"ws://127.0.0.1:{server.port}"
    token = server.token(doc, permissions=["read-document", "write"])
    assert (
        main(["layer-pdf", "--server", url, "--token", token, "-o", str(tmp_path / "x.pdf")]) == 1
    )
    assert "download" in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()


def test_unreachable_or_wrong_server_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import http.server
    import threading

    # A plain web server answers on the port: it is not a Lamina server.
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    out = tmp_path / "layer.json"
    try:
        url = f"ws://127.0.0.1:{web.server_address[1]}"
        assert main(["pull", "--server", url, "--token", "x.y.z", "-o", str(out)]) == 1
        assert "is not a lamina server" in capsys.readouterr().err
    finally:
        web.shutdown()
        web.server_close()
    assert main(["pull", "--server", "ws://127.0.0.1:99999", "--token", "x.y.z"]) == 1
    assert "server url must look like ws://host:port" in capsys.readouterr().err
    assert not out.exists()


def test_push_of_a_malformed_file_names_it_and_connects_to_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "changes.json"
    bad.write_text('{"annotations": [', encoding="utf-8")
    # No server listens there: the file is refused before any connection is tried.
    assert main(["push", "--server", "ws://127.0.0.1:1", "--token", "x.y.z", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lamina: error: changes.json is not valid Instant JSON: not valid JSON")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("verb", ["pull", "layer-pdf"])
def test_an_output_in_a_missing_directory_is_refused_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    out = tmp_path / "no-such-dir" / "out.file"
    # No server listens there: the path is refused before any connection is tried.
    argv = [verb, "--server", "ws://127.0.0.1:1", "--token", "x.y.z", "-o", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err == f"lamina: error: directory {out.parent} does not exist: choose another -o path\n"


def test_pull_carries_the_bytes_of_an_image_it_lists(
    server: ServerThread, doc: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Object 58 of the stamps PDF is an image stamp: moving it puts it in the layer's diff,
    # and the diff must carry its picture, or nobody could apply it elsewhere.
    url = f"ws://127.0.0.1:{server.port}"
    token = server.token(doc, layer="images", user_id="bot")
    dumped = tmp_path / "dump.json"
    assert main(["dump", str(corpus_pdf(STAMPS)), "-o", str(dumped)]) == 0
    image = next(a for a in json.loads(dumped.read_text())["annotations"] if a["id"] == "58")
    assert image["type"] == "pspdfkit/image"
    moved = {**image, "bbox": [image["bbox"][0] + 10, *image["bbox"][1:]]}
    changes = _write(
        tmp_path / "move.json",
        {
            "format": "https://pspdfkit.com/instant-json/v1",
            "annotations": [moved],
            "skippedPdfObjectIds": [58],
        },
    )
    assert main(["push", "--server", url, "--token", token, str(changes)]) == 0
    out = tmp_path / "pulled.json"
    assert main(["pull", "--server", url, "--token", token, "-o", str(out)]) == 0
    pulled = json.loads(out.read_text())
    (listed,) = pulled["annotations"]
    assert listed["imageAttachmentId"] == image["imageAttachmentId"]
    attachment = pulled["attachments"][image["imageAttachmentId"]]
    data = base64.b64decode(attachment["binary"])
    assert hashlib.sha256(data).hexdigest() == image["imageAttachmentId"]
