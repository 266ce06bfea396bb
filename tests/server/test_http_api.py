"""The HTTP API against a real `lamina serve`, through httpx, checked against Document Engine's
OpenAPI 1.9.0 schemas (tests/support/openapi.py)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest

from tests.support.corpus import STAMPS, corpus_pdf
from tests.support.openapi import validate_component, validate_response
from tests.support.server_process import ServerProcess

SECRET = "s3cret-for-tests"
ADMIN = {"Authorization": f'Token token="{SECRET}"'}
FORMAT = "https://pspdfkit.com/instant-json/v1"
DOCS = "/api/documents"
DOC = "/api/documents/{documentId}"
LAYER = DOC + "/layers/{layerName}"
RECT_ID = "01J0000000000000000000RECT"


def rectangle(record_id: str = RECT_ID, **extra: Any) -> dict[str, Any]:
    """Return an Instant JSON v2 rectangle."""
    return {
        "v": 2,
        "type": "pspdfkit/shape/rectangle",
        "id": record_id,
        "pageIndex": 0,
        "bbox": [100, 100, 80, 40],
        "createdAt": "2024-05-01T10:00:00Z",
        "updatedAt": "2024-05-01T10:00:00Z",
        "strokeColor": "#ff0000",
        "strokeWidth": 2,
        "opacity": 1,
        **extra,
    }


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """`lamina serve` with a known admin secret."""
    running = ServerProcess(tmp_path / "data", args=["--api-auth-token", SECRET])
    running.start()
    yield running
    running.stop()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    """An admin HTTP client of the server."""
    with httpx.Client(
        base_url=f"http://127.0.0.1:{server.port}", headers=ADMIN, timeout=60
    ) as client:
        yield client


def upload(http: httpx.Client, document_id: str | None = None) -> str:
    """Upload the stamps PDF (multipart, as Document Engine's guide does); return its id."""
    data = {"document_id": document_id} if document_id else {}
    pdf = corpus_pdf(STAMPS).read_bytes()
    reply = http.post(DOCS, files={"file": ("stamps.pdf", pdf, "application/pdf")}, data=data)
    assert reply.status_code == 200, reply.text
    validate_response(reply.json(), DOCS, "post")
    return str(reply.json()["data"]["document_id"])


def test_health_and_documents_upload_list_info_copy_delete(
    server: ServerProcess, http: httpx.Client
) -> None:
    assert http.get("/healthcheck", headers={}).json() == {"ok": True}
    raw = http.post(
        DOCS, content=corpus_pdf(STAMPS).read_bytes(), headers={"Content-Type": "application/pdf"}
    )
    assert raw.status_code == 200
    validate_response(raw.json(), DOCS, "post")
    first = raw.json()["data"]["document_id"]
    second = upload(http, "contract")
    assert second == "contract"

    page = http.get(DOCS, params={"page_size": 1, "order_direction": "asc"})
    validate_response(page.json(), DOCS, "get")
    assert [d["document_id"] for d in page.json()["data"]] == [first]
    assert page.json()["next_cursor"] is not None and page.json()["prev_cursor"] is None
    rest = http.get(
        DOCS,
        params={"page_size": 1, "order_direction": "asc", "cursor": page.json()["next_cursor"]},
    )
    assert [d["document_id"] for d in rest.json()["data"]] == ["contract"]
    assert rest.json()["next_cursor"] is None

    info = http.get(f"{DOCS}/contract/document_info")
    assert info.status_code == 200
    validate_response(info.json(), DOC + "/document_info", "get")
    assert info.json()["data"]["pageCount"] == 1

    http.post(f"{DOCS}/contract/layers", json={"name": "alice"})
    applied = http.post(
        f"{DOCS}/contract/layers/alice/apply_instant_json",
        json={"format": FORMAT, "annotations": [rectangle()]},
    )
    assert applied.status_code == 200, applied.text
    copy = http.post(
        "/api/copy_document", json={"document_id": "contract", "new_document_id": "c2"}
    )
    assert copy.status_code == 200, copy.text
    validate_response(copy.json(), "/api/copy_document", "post")
    assert http.get(f"{DOCS}/c2/layers").json() == {"data": ["alice"]}
    copied = http.get(f"{DOCS}/c2/layers/alice/annotations").json()["data"]["annotations"]
    assert RECT_ID in {a["id"] for a in copied}

    assert http.delete(f"{DOCS}/contract").status_code == 200
    assert http.get(f"{DOCS}/contract/document_info").status_code == 404
    assert "contract" not in {d["document_id"] for d in http.get(DOCS).json()["data"]}


def test_layers_list_create_copy_from_instant_json_and_delete(
    server: ServerProcess, http: httpx.Client
) -> None:
    doc = upload(http)
    path = f"{DOCS}/{doc}/layers"
    created = http.post(path, json={"name": "alice"})
    assert created.status_code == 200
    validate_response(created.json(), DOC + "/layers", "post")
    assert created.json() == {"data": {"name": "alice", "errors": []}}
    http.post(
        f"{path}/alice/apply_instant_json", json={"format": FORMAT, "annotations": [rectangle()]}
    )
    copy = http.post(path, json={"name": "bob", "source_layer_name": "alice"})
    assert copy.status_code == 200, copy.text
    bob = http.get(f"{path}/bob/annotations").json()["data"]["annotations"]
    assert RECT_ID in {a["id"] for a in bob}
    other = rectangle("01J00000000000000000000TWO")
    multipart = http.post(
        path,
        data={"name": "carol"},
        files={"instant.json": ("instant.json", _json({"format": FORMAT, "annotations": [other]}))},
    )
    assert multipart.status_code == 200, multipart.text
    carol = {a["id"] for a in http.get(f"{path}/carol/annotations").json()["data"]["annotations"]}
    assert "01J00000000000000000000TWO" in carol and RECT_ID not in carol
    listed = http.get(path)
    validate_response(listed.json(), DOC + "/layers", "get")
    assert listed.json()["data"] == ["alice", "bob", "carol"]
    assert http.post(path, json={"name": "alice"}).status_code == 400  # exists
    assert http.delete(f"{path}/bob").status_code == 200
    assert http.get(path).json()["data"] == ["alice", "carol"]
    assert http.get(f"{path}/bob/document.json").status_code == 404


def test_per_layer_instant_json_pdf_xfdf_and_the_default_layer_forms(
    server: ServerProcess, http: httpx.Client
) -> None:
    doc = upload(http)
    http.post(f"{DOCS}/{doc}/layers", json={"name": "alice"})
    base = f"{DOCS}/{doc}/layers/alice"
    multipart = http.post(
        f"{base}/apply_instant_json",
        files={"instant.json": ("i.json", _json({"format": FORMAT, "annotations": [rectangle()]}))},
    )
    assert multipart.status_code == 200, multipart.text
    for version in (2, 1):
        got = http.get(f"{base}/document.json", params={"annotation_version": version})
        assert got.status_code == 200
        validate_response(got.json(), LAYER + "/document.json", "get")
        listed = {a.get("id") for a in got.json()["annotations"]}
        assert RECT_ID in listed
        assert all(a["v"] == version for a in got.json()["annotations"])
    pdf = http.get(f"{base}/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    annots = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].get("/Annots") or []
    assert any(a.get_object().get("/Subtype") == "/Square" for a in annots)
    flat = http.post(f"{base}/pdf", params={"flatten": "true"})
    flat_annots = pypdf.PdfReader(io.BytesIO(flat.content)).pages[0].get("/Annots") or []
    assert not any(a.get_object().get("/Subtype") == "/Square" for a in flat_annots)
    source = http.get(f"{base}/pdf", params={"source": "true"})
    assert source.content == corpus_pdf(STAMPS).read_bytes()
    extra = rectangle("01J0000000000000000000EXTR", bbox=[300, 300, 50, 50])
    with_more = http.post(
        f"{base}/pdf_with_instant_json",
        files={"instant.json": ("i.json", _json({"format": FORMAT, "annotations": [extra]}))},
    )
    assert with_more.status_code == 200, with_more.text
    more = pypdf.PdfReader(io.BytesIO(with_more.content)).pages[0].get("/Annots") or []
    assert sum(a.get_object().get("/Subtype") == "/Square" for a in more) == 2
    assert RECT_ID + "EXTR" not in http.get(f"{base}/document.json").text  # not stored
    xfdf = http.get(f"{base}/document.xfdf")
    assert xfdf.status_code == 200 and b"<square" in xfdf.content

    # The default layer: the same paths without /layers/{l}.
    default = f"{DOCS}/{doc}"
    assert (
        http.post(
            f"{default}/apply_instant_json", json={"format": FORMAT, "annotations": [extra]}
        ).status_code
        == 200
    )
    assert "01J0000000000000000000EXTR" in http.get(f"{default}/document.json").text
    assert RECT_ID not in http.get(f"{default}/document.json").text


def test_records_annotations_form_values_and_comments(
    server: ServerProcess, http: httpx.Client
) -> None:
    doc = upload(http)
    http.post(f"{DOCS}/{doc}/layers", json={"name": "alice"})
    base = f"{DOCS}/{doc}/layers/alice"
    rect = rectangle()
    one = http.post(f"{base}/annotations", json={"content": rect, "user_id": "ann", "group": "g1"})
    assert one.status_code == 200, one.text
    validate_response(one.json(), LAYER + "/annotations", "post")
    many = http.post(
        f"{base}/annotations",
        json={
            "annotations": [{"content": rectangle("01J00000000000000000000TWO"), "user_id": "bo"}]
        },
    )
    validate_response(many.json(), LAYER + "/annotations", "post")
    listed = http.get(f"{base}/annotations")
    validate_response(listed.json(), LAYER + "/annotations", "get")
    mine = http.get(f"{base}/annotations/{RECT_ID}")
    validate_response(mine.json(), LAYER + "/annotations/{annotationId}", "get")
    validate_component(mine.json(), "AnnotationRecord")
    assert mine.json()["createdBy"] == "ann" and mine.json()["group"] == "g1"
    changed = http.put(
        f"{base}/annotations/{RECT_ID}", json={"content": {**rect, "strokeWidth": 5}}
    )
    assert changed.status_code == 200, changed.text
    assert http.get(f"{base}/annotations/{RECT_ID}").json()["content"]["strokeWidth"] == 5
    assert http.delete(f"{base}/annotations/{RECT_ID}").status_code == 200
    assert http.get(f"{base}/annotations/{RECT_ID}").status_code == 404

    thread = http.post(
        f"{base}/comments",
        json={
            "annotation": {"content": _marker("01J0000000000000000000ROOT")},
            "comments": [{"text": {"format": "plain", "value": "first"}, "user_id": "ann"}],
        },
    )
    assert thread.status_code == 200, thread.text
    validate_response(thread.json(), LAYER + "/comments", "post")
    reply = http.post(
        f"{base}/annotations/01J0000000000000000000ROOT/comments",
        json={"comments": [{"text": {"format": "plain", "value": "second"}}]},
    )
    assert reply.status_code == 200, reply.text
    comments = http.get(f"{base}/annotations/01J0000000000000000000ROOT/comments").json()
    texts = sorted(c["content"]["text"]["value"] for c in comments["data"]["comments"])
    assert texts == ["first", "second"]

    values = http.get(f"{base}/form-field-values")
    assert values.status_code == 200
    validate_response(values.json(), LAYER + "/form-field-values", "get")


def test_errors_have_document_engine_status_codes_and_say_why(
    server: ServerProcess, http: httpx.Client
) -> None:
    doc = upload(http)
    anonymous = httpx.get(f"http://127.0.0.1:{server.port}{DOCS}")
    assert anonymous.status_code == 401 and "Token token=" in anonymous.json()["details"]
    wrong = http.get(DOCS, headers={"Authorization": 'Token token="nope"'})
    assert wrong.status_code == 401
    assert http.get(f"{DOCS}/missing/layers").status_code == 404
    missing_layer = http.get(f"{DOCS}/{doc}/layers/ghost/document.json")
    assert missing_layer.status_code == 404 and "ghost" in missing_layer.json()["details"]
    bad_json = http.post(f"{DOCS}/{doc}/apply_instant_json", content=b"{not json")
    assert bad_json.status_code == 400 and "Instant JSON" in bad_json.json()["details"]
    validate_component(bad_json.json(), "ErrorResponse")
    bad_ij = http.post(f"{DOCS}/{doc}/apply_instant_json", json={"annotations": "x"})
    assert bad_ij.status_code == 400
    not_pdf = http.post(DOCS, content=b"GIF89a...", headers={"Content-Type": "application/pdf"})
    assert not_pdf.status_code == 400 and "not a pdf" in not_pdf.json()["details"]
    refused = http.post(
        f"{DOCS}/{doc}/apply_instant_json",
        json={"format": FORMAT, "annotations": [rectangle(bbox="wide")]},
    )
    assert refused.status_code in (400, 422) and "bbox" in refused.json()["details"]


def test_a_reviewers_jwt_reads_its_layers_only_within_its_view_rules(
    server: ServerProcess, http: httpx.Client
) -> None:
    doc = upload(http)
    for name in ("alice", "bob"):
        http.post(f"{DOCS}/{doc}/layers", json={"name": name})
    http.post(
        f"{DOCS}/{doc}/layers/alice/apply_instant_json",
        json={"format": FORMAT, "annotations": [rectangle()]},
    )
    token = server.token(doc, layer="alice", user_id="alice")
    bearer = {"Authorization": f"Bearer {token}"}
    own = http.get(f"{DOCS}/{doc}/layers/alice/document.json", headers=bearer)
    assert own.status_code == 200 and RECT_ID in own.text
    assert http.get(f"{DOCS}/{doc}/layers/bob/document.json", headers=bearer).status_code == 403
    assert http.get(f"{DOCS}/{doc}/layers", headers=bearer).status_code == 403
    writes = http.post(f"{DOCS}/{doc}/layers/alice/apply_instant_json", headers=bearer, json={})
    assert writes.status_code == 403
    blind = server.token(doc, layer="alice", collaboration_permissions=[])
    hidden = http.get(
        f"{DOCS}/{doc}/layers/alice/annotations", headers={"Authorization": f"Bearer {blind}"}
    )
    assert hidden.status_code == 200 and hidden.json()["data"]["annotations"] == []
    other_doc = server.token("elsewhere", layer="alice")
    assert (
        http.get(
            f"{DOCS}/{doc}/layers/alice/document.json",
            headers={"Authorization": f"Bearer {other_doc}"},
        ).status_code
        == 401
    )


def test_revoke_ends_the_tokens_by_jti(server: ServerProcess, http: httpx.Client) -> None:
    doc = upload(http)
    token = server.token(doc, jti="t-1")
    reply = http.post("/api/revoke", json={"jwts": [token]})
    assert reply.status_code == 200, reply.text
    validate_response(reply.json(), "/api/revoke", "post")
    assert reply.json()["data"] == [token]
    again = http.get(f"{DOCS}/{doc}/document.json", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 401 and "revoked" in again.json()["details"]


def test_a_request_with_a_body_to_the_sync_path_gets_an_http_reply(
    server: ServerProcess, http: httpx.Client
) -> None:
    # websockets' handshake parser answered nothing to a request with a body.
    reply = http.post("/sync", content=b"x" * 1000)
    assert reply.status_code in (405, 426)
    assert http.get("/healthz").json()["status"] == "ok"


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


def _marker(record_id: str) -> dict[str, Any]:
    return {
        "v": 2,
        "type": "pspdfkit/comment-marker",
        "id": record_id,
        "pageIndex": 0,
        "bbox": [20, 20, 20, 20],
        "createdAt": "2024-05-01T10:00:00Z",
        "updatedAt": "2024-05-01T10:00:00Z",
    }
