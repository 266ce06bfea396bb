"""The host's key pair in the data directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lamina.auth.errors import KeyFileError
from lamina.auth.keys import load_or_create_keypair, load_public_key
from lamina.auth.tokens import mint_token, verify_token


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_use_creates_a_private_key_only_the_owner_can_read(tmp_path: Path) -> None:
    data = tmp_path / "data"
    old_umask = os.umask(0o000)  # even a permissive umask must not widen the private key
    try:
        keypair = load_or_create_keypair(data)
    finally:
        os.umask(old_umask)
    private = data / "keys" / "private.pem"
    public = data / "keys" / "public.pem"
    assert _mode(private) == 0o600
    assert _mode(data / "keys") == 0o700
    assert keypair.algorithm == "ES256"
    assert private.read_bytes() == keypair.private_pem
    assert public.read_bytes() == keypair.public_pem
    assert b"PRIVATE" not in public.read_bytes()
    assert sorted(p.name for p in (data / "keys").iterdir()) == ["private.pem", "public.pem"]
    assert "PRIVATE" not in repr(keypair)


def test_second_use_loads_the_same_key_and_old_tokens_still_verify(tmp_path: Path) -> None:
    first = load_or_create_keypair(tmp_path)
    token = mint_token(first, document_id="d")
    second = load_or_create_keypair(tmp_path)
    assert second == first
    assert verify_token(token, load_public_key(tmp_path / "keys" / "public.pem")).document_id == "d"


@pytest.mark.parametrize(
    ("algorithm", "key_type", "detail"),
    [("ES512", ec.EllipticCurvePrivateKey, "secp521r1"), ("RS512", rsa.RSAPrivateKey, 3072)],
)
def test_other_algorithms_make_matching_keys(
    algorithm: str, key_type: type, detail: object, tmp_path: Path
) -> None:
    keypair = load_or_create_keypair(tmp_path, algorithm)
    key = serialization.load_pem_private_key(keypair.private_pem, password=None)
    assert isinstance(key, key_type)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        assert key.curve.name == detail
    else:
        assert isinstance(key, rsa.RSAPrivateKey)
        assert key.key_size == detail
    # Loaded again without naming an algorithm, the key signs with its own.
    expected = "ES512" if algorithm == "ES512" else "RS256"
    assert load_or_create_keypair(tmp_path).algorithm == expected


def test_existing_key_refuses_an_algorithm_it_cannot_sign(tmp_path: Path) -> None:
    load_or_create_keypair(tmp_path, "ES256")
    with pytest.raises(KeyFileError, match="cannot sign RS256: use ES256"):
        load_or_create_keypair(tmp_path, "RS256")


def test_missing_public_key_is_written_again_from_the_private_key(tmp_path: Path) -> None:
    keypair = load_or_create_keypair(tmp_path)
    public = tmp_path / "keys" / "public.pem"
    public.unlink()
    assert load_or_create_keypair(tmp_path) == keypair
    assert public.read_bytes() == keypair.public_pem


def test_damaged_private_key_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir(mode=0o700)
    (tmp_path / "keys" / "private.pem").write_bytes(b"not a key")
    with pytest.raises(KeyFileError, match=r"private\.pem: .*not a pem private key"):
        load_or_create_keypair(tmp_path)
    assert (tmp_path / "keys" / "private.pem").read_bytes() == b"not a key"


def test_small_rsa_key_is_refused(tmp_path: Path) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    (tmp_path / "keys").mkdir(mode=0o700)
    (tmp_path / "keys" / "private.pem").write_bytes(
        small.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(KeyFileError, match="rsa 1024-bit key: tokens need rsa of at least 2048"):
        load_or_create_keypair(tmp_path)


def test_load_public_key_errors(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="does not exist: run `lamina token"):
        load_public_key(tmp_path / "nope.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello")
    with pytest.raises(KeyFileError, match="is not a pem public key"):
        load_public_key(garbage)
    load_or_create_keypair(tmp_path)
    with pytest.raises(KeyFileError, match="holds a private key: give the public key"):
        load_public_key(tmp_path / "keys" / "private.pem")
