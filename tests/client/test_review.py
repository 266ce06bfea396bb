"""A review's upstream: reading the invite's token, naming its store."""

from __future__ import annotations

from pathlib import Path

import pytest
from lamina.auth import mint_token
from lamina.auth.invite import Invite
from lamina.auth.keys import load_or_create_keypair
from lamina.client.errors import ClientError
from lamina.client.review import decode_token_claims, review_store_path


def test_a_token_that_is_not_a_jwt_gives_a_clear_error() -> None:
    with pytest.raises(ClientError, match="not a jwt"):
        decode_token_claims("garbage")


def test_each_document_and_layer_of_a_server_has_a_store_of_its_own(tmp_path: Path) -> None:
    keys = load_or_create_keypair(tmp_path / "keys")

    def path(server: str, document_id: str, layer: str = "") -> Path:
        token = mint_token(keys, document_id=document_id, layer=layer)
        return review_store_path(Invite(server, token), tmp_path / "stores")

    first = path("ws://a:1", "doc")
    assert first.is_relative_to(tmp_path / "stores") and first == path("ws://a:1", "doc")
    others = {path("ws://a:1", "doc", "legal"), path("ws://a:1", "other"), path("ws://b:1", "doc")}
    assert first not in others and len(others) == 3
