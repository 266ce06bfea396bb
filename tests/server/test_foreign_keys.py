"""`lamina serve --public-key FILE` trusts tokens minted by another backend, and only those."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lamina.cli import main

from tests.conftest import corpus_pdf
from tests.server.conftest import STAMPS
from tests.support.server_process import ServerProcess


def _backend_key() -> tuple[bytes, bytes]:
    """Make an RSA key pair as another backend (say Document Engine's) would hold it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def test_tokens_of_another_backend_are_accepted_and_our_own_key_is_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert main(["doc", "add", "--data", str(data), str(corpus_pdf(STAMPS)), "--id", "d"]) == 0
    private, public = _backend_key()
    public_file = tmp_path / "backend.pem"
    public_file.write_bytes(public)
    serve = ServerProcess(data, args=["--public-key", str(public_file)])
    serve.start()
    try:
        url = serve.url
        # Minted exactly as Document Engine's Python example does, with PyJWT and RS256.
        foreign = jwt.encode(
            {
                "document_id": "d",
                "permissions": ["read-document", "write", "download"],
                "exp": int(time.time()) + 600,
            },
            private,
            algorithm="RS256",
        )
        out = tmp_path / "pulled.json"
        assert main(["pull", "--server", url, "--token", foreign, "-o", str(out)]) == 0
        assert json.loads(out.read_text())["format"].startswith("https://pspdfkit.com")
        capsys.readouterr()

        # A token signed with the data directory's own key is not trusted any more.
        assert main(["token", "--data", str(data), "--doc", "d"]) == 0
        own = capsys.readouterr().out.strip()
        assert main(["pull", "--server", url, "--token", own, "-o", str(out)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "signature" in err
    finally:
        serve.stop()
