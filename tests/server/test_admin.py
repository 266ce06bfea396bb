"""Host administration on a real data directory: documents once, invites, invited layers,
revocation, and nothing made from bad input."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from lamina.auth import parse_invite_link, verify_token
from lamina.auth.errors import InviteError, PermissionStringError, TokenClaimsInvalid, TtlError
from lamina.auth.keys import public_key_path
from lamina.server.admin import INVITED_LAYERS_FILE, HostAdmin, TokenRequest
from lamina.server.errors import DocumentExistsError, DocumentNotFoundError
from lamina.server.store import SqliteStore

from tests.conftest import corpus_pdf

STAMPS = "annot-stamps"


def test_the_same_pdf_is_added_once(tmp_path: Path) -> None:
    copy = tmp_path / "renamed.pdf"
    shutil.copyfile(corpus_pdf(STAMPS), copy)
    with HostAdmin(tmp_path / "data") as admin:
        first = admin.add_document(corpus_pdf(STAMPS))
        assert admin.add_document(copy) == first  # same bytes, another name
        other = admin.add_document(corpus_pdf("annot-all-markup"))
        assert other.document_id != first.document_id
        assert [d.document_id for d in admin.documents()] == [first.document_id, other.document_id]
        assert first.base_record_count == 5 and first.page_count == 1


def test_an_explicit_id_is_kept_and_cannot_hold_another_pdf(tmp_path: Path) -> None:
    with HostAdmin(tmp_path) as admin:
        shared = admin.add_document(corpus_pdf(STAMPS))
        named = admin.add_document(corpus_pdf(STAMPS), "c1")
        assert named.document_id == "c1" != shared.document_id
        assert admin.add_document(corpus_pdf(STAMPS), "c1") == named
        with pytest.raises(DocumentExistsError):
            admin.add_document(corpus_pdf("annot-all-markup"), "c1")


def test_layers_and_removal_of_a_document(tmp_path: Path) -> None:
    with HostAdmin(tmp_path) as admin:
        info = admin.add_document(corpus_pdf(STAMPS))
        assert admin.document(info.document_id) == info
        assert admin.layers(info.document_id) == []
        admin.remove_document(info.document_id)
        with pytest.raises(DocumentNotFoundError, match="no document"):
            admin.layers(info.document_id)
        assert admin.documents() == []


def test_an_invite_opens_the_document_with_the_requested_claims(tmp_path: Path) -> None:
    request = TokenRequest(
        "doc-1",
        permissions=("read-document",),
        layer="ana",
        user_id="ana",
        creator_name="Ana",
        collaboration_permissions=("annotations:view:all",),
        view_layers=("*",),
        ttl=timedelta(hours=1),
        jti="inv-1",
    )
    with HostAdmin(tmp_path) as admin:
        invite = parse_invite_link(admin.invite("ws://127.0.0.1:9787", request))
    assert invite.server_url == "ws://127.0.0.1:9787"
    claims = verify_token(invite.token, public_key_path(tmp_path).read_bytes(), document_id="doc-1")
    assert (claims.layer, claims.user_id, claims.creator_name, claims.jti) == (
        "ana",
        "ana",
        "Ana",
        "inv-1",
    )
    assert claims.permissions == frozenset({"read-document"})
    assert claims.collaboration_permissions == ("annotations:view:all",)
    assert claims.view_layers == ("*",)


def test_invited_layers_are_remembered_in_order_across_restarts(tmp_path: Path) -> None:
    with HostAdmin(tmp_path) as admin:
        for layer in ("ana", "", "ben", "ana"):
            admin.mint_token(TokenRequest("d", layer=layer))
        admin.mint_token(TokenRequest("other", layer="x"))
    again = HostAdmin(tmp_path)
    assert again.invited_layers("d") == ["ana", "", "ben"]
    assert again.invited_layers("other") == ["x"]
    assert again.invited_layers("never") == []


def test_a_damaged_list_of_invited_layers_starts_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / INVITED_LAYERS_FILE).write_text("{not json", encoding="utf-8")
    admin = HostAdmin(tmp_path)
    with caplog.at_level("WARNING", logger="lamina.server.admin"):
        assert admin.invited_layers("d") == []
        admin.mint_token(TokenRequest("d", layer="ana"))
    assert "cannot read" in caplog.text
    saved = json.loads((tmp_path / INVITED_LAYERS_FILE).read_text(encoding="utf-8"))
    assert saved["documents"] == {"d": ["ana"]}


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (TokenRequest("d", permissions=("admin",)), TokenClaimsInvalid),
        (TokenRequest("d", layer="a*"), TokenClaimsInvalid),
        (TokenRequest("d", view_layers=("b*",)), TokenClaimsInvalid),
        (
            TokenRequest("d", collaboration_permissions=("annotations:edit:mine",)),
            PermissionStringError,
        ),
        (TokenRequest("d", ttl=timedelta(0)), TtlError),
    ],
)
def test_bad_claims_create_no_key_and_remember_no_layer(
    tmp_path: Path, request_: TokenRequest, error: type[Exception]
) -> None:
    with pytest.raises(error):
        HostAdmin(tmp_path).mint_token(request_)
    with pytest.raises(InviteError):
        HostAdmin(tmp_path).invite("localhost:1", TokenRequest("d"))
    assert list(tmp_path.iterdir()) == []


def test_revoke_reaches_the_store_once(tmp_path: Path) -> None:
    with HostAdmin(tmp_path) as admin:
        assert admin.revoke("tok-1") is True
        assert admin.revoke("tok-1") is False
    store = SqliteStore(tmp_path)
    try:
        assert store.revoked_jtis() == frozenset({"tok-1"})
    finally:
        store.close()


def test_a_given_store_is_used_and_left_open(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    try:
        with HostAdmin(tmp_path, store=store) as admin:
            info = admin.add_document(corpus_pdf(STAMPS))
        assert store.get_document(info.document_id) == info  # still open
    finally:
        store.close()
