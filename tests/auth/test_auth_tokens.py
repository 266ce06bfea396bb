"""Minting and verifying tokens: every algorithm, and every way a token can be bad."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina.auth.errors import (
    FORBIDDEN,
    TOKEN_EXPIRED,
    UNAUTHORIZED,
    AuthError,
    PermissionStringError,
    TokenAlgorithmRejected,
    TokenClaimsInvalid,
    TokenExpired,
    TokenInvalidSignature,
    TokenMalformed,
    TokenMissing,
    TokenNotYetValid,
    TokenRevoked,
    TokenWrongDocument,
    TtlError,
)
from lamina.auth.keys import KeyPair, load_or_create_keypair, new_keypair
from lamina.auth.tokens import (
    mint_token,
    parse_ttl,
    unverified_claims,
    unverified_payload,
    verify_token,
)

NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC
_FUZZ_KEY = new_keypair("ES256")


@pytest.fixture(scope="module")
def es256() -> KeyPair:
    return new_keypair("ES256")


@pytest.fixture(scope="module")
def other_es256() -> KeyPair:
    return new_keypair("ES256")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"


def _payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "document_id": "doc-1",
        "permissions": ["read-document", "write"],
        "exp": int(NOW) + 3600,
    }
    payload.update(overrides)
    return {key: value for key, value in payload.items() if value is not None}


def _sign(keypair: KeyPair, payload: dict[str, Any]) -> str:
    return jwt.encode(payload, keypair.private_pem, algorithm=keypair.algorithm)


@pytest.mark.parametrize("algorithm", ["ES256", "ES512", "RS256", "RS512"])
def test_every_algorithm_mints_a_token_the_public_key_verifies(
    algorithm: str, tmp_path: Path
) -> None:
    # RS256 and RS512 share one RSA key pair, as a host switching algorithm would.
    data = tmp_path / ("rsa" if algorithm.startswith("RS") else algorithm)
    keypair = load_or_create_keypair(data, algorithm)
    token = mint_token(
        keypair,
        document_id="doc-1",
        layer="review",
        user_id="alice",
        creator_name="Alice",
        collaboration_permissions=["annotations:view:all", "annotations:edit:self"],
        default_group="students",
        view_layers=["*"],
        jti="t-1",
        now=NOW,
    )
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    claims = verify_token(token, keypair.public_pem, document_id="doc-1", now=NOW + 60)
    assert claims.document_id == "doc-1"
    assert claims.layer == "review"
    assert claims.user_id == "alice"
    assert claims.creator_name == "Alice"
    assert claims.default_group == "students"
    assert claims.collaboration_permissions == ("annotations:view:all", "annotations:edit:self")
    assert claims.permissions == {"read-document", "write", "download"}
    assert claims.jti == "t-1"
    assert claims.exp == int(NOW) + 7 * 86400
    assert claims.may_view_layer("anything")


def test_defaults_claim_absent_layer_default_and_random_jti(es256: KeyPair) -> None:
    first = verify_token(mint_token(es256, document_id="d", now=NOW), es256.public_pem, now=NOW)
    second = verify_token(mint_token(es256, document_id="d", now=NOW), es256.public_pem, now=NOW)
    assert first.collaboration_permissions is None
    assert "collaboration_permissions" not in first.raw
    assert first.layer == ""
    assert first.user_id is None
    assert first.view_layers == ()
    assert first.may_view_layer("")
    assert not first.may_view_layer("bob")
    assert first.jti and second.jti and first.jti != second.jti


def test_empty_collaboration_list_is_kept_distinct_from_absent(es256: KeyPair) -> None:
    token = mint_token(es256, document_id="d", collaboration_permissions=[], now=NOW)
    claims = verify_token(token, es256.public_pem, now=NOW)
    assert claims.collaboration_permissions == ()
    assert claims.raw["collaboration_permissions"] == []


def test_one_of_several_public_keys_verifies(es256: KeyPair, other_es256: KeyPair) -> None:
    rsa = new_keypair("RS256")
    token = mint_token(es256, document_id="d", now=NOW)
    keys = [rsa.public_pem, other_es256.public_pem, es256.public_pem]
    assert verify_token(token, keys, now=NOW).document_id == "d"


def test_legacy_all_permission_expands_to_every_permission(es256: KeyPair) -> None:
    claims = verify_token(_sign(es256, _payload(permissions=["all"])), es256.public_pem, now=NOW)
    assert claims.permissions == {"read-document", "write", "download", "cover-image"}
    minted = mint_token(es256, document_id="d", permissions=["all"], now=NOW)
    written = jwt.decode(minted, options={"verify_signature": False})["permissions"]
    assert written == ["read-document", "write", "download", "cover-image"]


# --- bad tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "   "])
def test_no_token(token: str | None, es256: KeyPair) -> None:
    with pytest.raises(TokenMissing) as info:
        verify_token(token, es256.public_pem, now=NOW)
    assert info.value.code == UNAUTHORIZED


@pytest.mark.parametrize(
    "token",
    [
        "hello",
        "a.b",
        "a.b.c.d",
        "!!!.e30.sig",
        "e30.e30.sig",
        "W10.e30.sig",
        "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.sig",
        "eyJhbGciOiJFUzI1NiJ9.W10.sig",
    ],
)
def test_malformed_token(token: str, es256: KeyPair) -> None:
    with pytest.raises(TokenMalformed) as info:
        verify_token(token, es256.public_pem, now=NOW)
    assert info.value.code == UNAUTHORIZED
    assert "copy the whole invite" in str(info.value)


def test_expired_token_says_when_and_what_to_do(es256: KeyPair) -> None:
    token = mint_token(es256, document_id="d", ttl=timedelta(hours=1), now=NOW)
    verify_token(token, es256.public_pem, now=NOW + 3599)
    with pytest.raises(TokenExpired) as info:
        verify_token(token, es256.public_pem, now=NOW + 7200)
    assert info.value.code == TOKEN_EXPIRED
    assert str(info.value) == "token expired at 2027-01-15 09:00 UTC: ask the host for a new invite"


def test_leeway_tolerates_small_clock_differences(es256: KeyPair) -> None:
    token = mint_token(es256, document_id="d", ttl=timedelta(hours=1), now=NOW)
    assert verify_token(token, es256.public_pem, now=NOW + 3610).document_id == "d"
    with pytest.raises(TokenExpired):
        verify_token(token, es256.public_pem, now=NOW + 3610, leeway=0)


def test_not_yet_valid_token(es256: KeyPair) -> None:
    token = mint_token(es256, document_id="d", nbf=NOW + 3600, now=NOW)
    with pytest.raises(TokenNotYetValid) as info:
        verify_token(token, es256.public_pem, now=NOW)
    assert info.value.code == TOKEN_EXPIRED
    assert "not valid before 2027-01-15 09:00 UTC" in str(info.value)
    assert verify_token(token, es256.public_pem, now=NOW + 3600).nbf == int(NOW) + 3600


def test_token_signed_by_another_key(es256: KeyPair, other_es256: KeyPair) -> None:
    token = mint_token(other_es256, document_id="d", now=NOW)
    with pytest.raises(TokenInvalidSignature) as info:
        verify_token(token, es256.public_pem, now=NOW)
    assert info.value.code == UNAUTHORIZED


def test_tampered_payload_fails_the_signature(es256: KeyPair) -> None:
    token = mint_token(es256, document_id="d", permissions=["read-document"], now=NOW)
    header, _, signature = token.split(".")
    forged = _b64(json.dumps(_payload(document_id="d", permissions=["all"])).encode())
    with pytest.raises(TokenInvalidSignature):
        verify_token(f"{header}.{forged}.{signature}", es256.public_pem, now=NOW)


def test_alg_none_is_rejected(es256: KeyPair) -> None:
    token = _unsigned({"alg": "none", "typ": "JWT"}, _payload()) + "."
    with pytest.raises(TokenAlgorithmRejected) as info:
        verify_token(token, es256.public_pem, now=NOW)
    assert info.value.code == UNAUTHORIZED
    assert "'none'" in str(info.value)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_hs256_signed_with_the_public_key_is_rejected(algorithm: str) -> None:
    """The classic key-confusion attack: HMAC keyed with the server's public PEM."""
    keypair = new_keypair(algorithm)
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT"}, _payload(permissions=["all"]))
    mac = hmac.new(keypair.public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{_b64(mac)}"
    with pytest.raises(TokenAlgorithmRejected) as info:
        verify_token(token, keypair.public_pem, now=NOW)
    assert "HS256" in str(info.value)
    # The same MAC under an accepted algorithm name is just a bad signature.
    relabelled = _unsigned({"alg": algorithm, "typ": "JWT"}, _payload(permissions=["all"]))
    mac = hmac.new(keypair.public_pem, relabelled.encode(), hashlib.sha256).digest()
    with pytest.raises(TokenInvalidSignature):
        verify_token(f"{relabelled}.{_b64(mac)}", keypair.public_pem, now=NOW)


def test_algorithm_the_key_cannot_verify_is_a_bad_signature(es256: KeyPair) -> None:
    rsa = new_keypair("RS256")
    token = mint_token(rsa, document_id="d", now=NOW)
    with pytest.raises(TokenInvalidSignature):
        verify_token(token, es256.public_pem, now=NOW)


def test_wrong_document(es256: KeyPair) -> None:
    token = mint_token(es256, document_id="doc-1", now=NOW)
    with pytest.raises(TokenWrongDocument) as info:
        verify_token(token, es256.public_pem, document_id="doc-2", now=NOW)
    assert info.value.code == FORBIDDEN
    assert "'doc-1', not 'doc-2'" in str(info.value)


def test_revoked_jti(es256: KeyPair) -> None:
    token = mint_token(es256, document_id="d", jti="alice-1", now=NOW)
    assert verify_token(token, es256.public_pem, revoked_jtis={"bob-1"}, now=NOW).jti == "alice-1"
    with pytest.raises(TokenRevoked) as info:
        verify_token(token, es256.public_pem, revoked_jtis={"alice-1"}, now=NOW)
    assert info.value.code == FORBIDDEN


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (_payload(exp=None), "no exp claim"),
        (_payload(exp="tomorrow"), "exp must be a number"),
        (_payload(document_id=None), "no document_id"),
        (_payload(document_id=""), "no document_id"),
        (_payload(document_id=7), "no document_id"),
        (_payload(permissions=None), "no permissions claim"),
        (_payload(permissions="write"), "permissions must be a list"),
        (_payload(permissions=["read-document", "admin"]), "unknown permission 'admin'"),
        (_payload(layer="a*b"), "contains '*'"),
        (_payload(layer="x" * 257), "at most 256"),
        (_payload(user_id=12), "user_id must be a string"),
        (_payload(collaboration_permissions="annotations:view:all"), "must be a list"),
        (_payload(collaboration_permissions=["annotations:look:all"]), "unknown action 'look'"),
        (_payload(view_layers=["ok", "b*d"]), "contains '*'"),
    ],
)
def test_missing_or_invalid_claims(payload: dict[str, Any], expected: str, es256: KeyPair) -> None:
    with pytest.raises(TokenClaimsInvalid) as info:
        verify_token(_sign(es256, payload), es256.public_pem, now=NOW)
    assert info.value.code == UNAUTHORIZED
    assert expected in str(info.value)


def test_every_auth_error_is_lowercase_and_one_line(es256: KeyPair) -> None:
    bad = [None, "x", _unsigned({"alg": "none"}, _payload()) + ".", _sign(es256, _payload(exp=1))]
    for token in bad:
        with pytest.raises(AuthError) as info:
            verify_token(token, es256.public_pem, now=NOW)
        message = str(info.value)
        assert message[0].islower()
        assert "\n" not in message


# --- minting rejects what verifying would reject ------------------------------------------


def test_mint_rejects_bad_collaboration_strings_and_claims(es256: KeyPair) -> None:
    with pytest.raises(PermissionStringError, match="unknown scope"):
        mint_token(es256, document_id="d", collaboration_permissions=["annotations:view:mine"])
    with pytest.raises(TokenClaimsInvalid, match="unknown permission 'admin'"):
        mint_token(es256, document_id="d", permissions=["admin"])
    with pytest.raises(TokenClaimsInvalid, match="contains '\\*'"):
        mint_token(es256, document_id="d", layer="*")
    with pytest.raises(TtlError):
        mint_token(es256, document_id="d", ttl=timedelta(0))


def test_mint_from_private_pem_uses_the_keys_own_algorithm() -> None:
    keypair = new_keypair("ES512")
    token = mint_token(keypair.private_pem, document_id="d", now=NOW)
    assert jwt.get_unverified_header(token)["alg"] == "ES512"
    assert verify_token(token, keypair.public_pem, now=NOW).document_id == "d"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7d", 7 * 86400), ("12h", 43200), ("30m", 1800), ("3600s", 3600), (" 2H ", 7200)],
)
def test_parse_ttl(text: str, seconds: int) -> None:
    assert parse_ttl(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "7", "d", "7w", "-1d", "0s", "1.5h", "7 days"])
def test_parse_ttl_rejects(text: str) -> None:
    with pytest.raises(TtlError, match="bad token lifetime"):
        parse_ttl(text)


def test_absurd_nbf_and_oversized_tokens_are_clear_errors(es256: KeyPair) -> None:
    with pytest.raises(TokenNotYetValid, match="unix time 100000000000000000000"):
        verify_token(_sign(es256, _payload(nbf=10**20)), es256.public_pem, now=NOW)
    with pytest.raises(TokenMalformed, match="at most 65536"):
        verify_token("a" * 70000, es256.public_pem, now=NOW)
    nested = _b64(b"[" * 50000 + b"]" * 50000)
    with pytest.raises(TokenMalformed):
        verify_token(f"{nested}.e30.c2ln", es256.public_pem, now=NOW)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "alg",
                    "exp",
                    "nbf",
                    "document_id",
                    "permissions",
                    "layer",
                    "collaboration_permissions",
                    "view_layers",
                    "user_id",
                    "jti",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    header=_JSON,
    payload=_JSON,
    signature=st.text(alphabet="abcXYZ019-_=+/.", max_size=20),
)
def test_any_garbage_gives_an_auth_error_and_nothing_else(
    header: Any, payload: Any, signature: str
) -> None:
    keypair = _FUZZ_KEY
    token = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}.{signature}"
    for text in (token, token.replace(".", "", 1), signature):
        with pytest.raises(AuthError):
            verify_token(text, keypair.public_pem, now=NOW)


@settings(max_examples=100, deadline=None)
@given(payload=_JSON)
def test_any_signed_payload_verifies_or_gives_an_auth_error(payload: Any) -> None:
    if not isinstance(payload, dict):
        payload = {"value": payload}
    token = jwt.encode(payload, _FUZZ_KEY.private_pem, algorithm="ES256")
    try:
        claims = verify_token(token, _FUZZ_KEY.public_pem, now=NOW)
    except AuthError as exc:
        assert str(exc)
    else:
        assert claims.document_id == payload["document_id"]


def test_unverified_claims_read_any_signature_and_expiry(
    es256: KeyPair, other_es256: KeyPair
) -> None:
    # A client cannot verify (it has no key) and still names its store from the claims.
    token = mint_token(
        other_es256,
        document_id="doc-1",
        layer="review",
        user_id="ann",
        ttl=timedelta(seconds=1),
        now=NOW - 86400,
    )
    claims = unverified_claims(token)
    assert (claims.document_id, claims.layer, claims.user_id) == ("doc-1", "review", "ann")
    assert unverified_payload(f"  {token}\n")["document_id"] == "doc-1"
    with pytest.raises(TokenExpired):
        verify_token(token, other_es256.public_pem, now=NOW)


@pytest.mark.parametrize(
    ("token", "error", "message"),
    [
        ("garbage", TokenMalformed, "not a jwt"),
        (f"{_b64(b'{}')}.{_b64(b'[1]')}.sig", TokenMalformed, "payload is not a json object"),
        (f"{_b64(b'{}')}.!!!.sig", TokenMalformed, "not base64url json"),
        ("x" * 70000, TokenMalformed, "at most"),
        (_unsigned({"alg": "ES256"}, {"permissions": []}) + ".sig", TokenClaimsInvalid, "exp"),
    ],
)
def test_unverified_claims_of_bad_text_are_auth_errors(
    token: str, error: type[AuthError], message: str
) -> None:
    with pytest.raises(error, match=message):
        unverified_claims(token)
