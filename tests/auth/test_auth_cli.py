"""`lamina token` and `lamina invite` as a host uses them."""

from __future__ import annotations

import stat
from pathlib import Path

import jwt
import pytest
from lamina.auth.errors import TokenExpired
from lamina.auth.invite import parse_invite_link
from lamina.auth.keys import load_public_key
from lamina.auth.tokens import verify_token
from lamina.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_token_creates_keys_and_verifies_with_the_public_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        capsys,
        "token",
        "--data",
        str(tmp_path),
        "--doc",
        "doc-1",
        "--layer",
        "alice",
        "--user",
        "alice",
        "--name",
        "Alice",
        "--group",
        "reviewers",
        "--jti",
        "inv-1",
        "--collab",
        "annotations:view:all",
        "--collab",
        "annotations:edit:self",
        "--view-layer",
        "bob",
        "--ttl",
        "2h",
    )
    assert status == 0, err
    private = tmp_path / "keys" / "private.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    public = load_public_key(tmp_path / "keys" / "public.pem")
    claims = verify_token(out.strip(), public, document_id="doc-1", revoked_jtis={"other"})
    assert claims.layer == "alice"
    assert claims.user_id == "alice"
    assert claims.creator_name == "Alice"
    assert claims.default_group == "reviewers"
    assert claims.jti == "inv-1"
    assert claims.view_layers == ("bob",)
    assert claims.permissions == {"read-document", "write", "download"}
    assert claims.collaboration_permissions == ("annotations:view:all", "annotations:edit:self")
    assert claims.exp - (claims.iat or 0) == 7200
    with pytest.raises(TokenExpired):
        verify_token(out.strip(), public, now=claims.exp + 3600)


def test_collab_none_absent_and_permissions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path)
    _, absent, _ = run(capsys, "token", "--data", data, "--doc", "d")
    _, empty, _ = run(capsys, "token", "--data", data, "--doc", "d", "--collab", "none")
    _, reader, _ = run(
        capsys, "token", "--data", data, "--doc", "d", "--permissions", "read-document"
    )
    public = (tmp_path / "keys" / "public.pem").read_bytes()
    assert verify_token(absent.strip(), public).collaboration_permissions is None
    assert verify_token(empty.strip(), public).collaboration_permissions == ()
    assert verify_token(reader.strip(), public).permissions == {"read-document"}
    _, listed, _ = run(
        capsys,
        "token",
        "--data",
        data,
        "--doc",
        "d",
        "--collab",
        "comments:view:all, comments:reply:self",
        "--collab",
        "annotations:view:all",
    )
    assert verify_token(listed.strip(), public).collaboration_permissions == (
        "comments:view:all",
        "comments:reply:self",
        "annotations:view:all",
    )


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            ["--collab", "annotations:edit:mine"],
            "bad collaboration permission 'annotations:edit:mine'",
        ),
        (["--collab", "annotations:view:all", "--collab", "none"], "cannot be combined"),
        (["--collab", "annotations:view:all,annotations:edit:mine"], "'annotations:edit:mine'"),
        (["--collab", " "], "--collab needs a permission string"),
        (["--permissions", "read-document,admin"], "unknown permission 'admin'"),
        (["--ttl", "7 weeks"], "bad token lifetime"),
        (["--layer", "a*"], "contains '*'"),
        (["--view-layer", "b*"], "contains '*'"),
    ],
)
def test_bad_options_are_one_line_errors_and_create_no_keys(
    args: list[str], problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "token", "--data", str(tmp_path), "--doc", "d", *args)
    assert status == 1
    assert out == ""
    assert err.startswith("lamina: error: ") and problem in err
    assert err.count("\n") == 1
    assert not (tmp_path / "keys").exists()


def test_existing_key_keeps_its_algorithm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = run(
        capsys, "token", "--data", str(tmp_path), "--doc", "d", "--algorithm", "ES512"
    )
    assert status == 0
    status, out, _ = run(capsys, "token", "--data", str(tmp_path), "--doc", "d")
    assert status == 0
    assert jwt.get_unverified_header(out.strip())["alg"] == "ES512"
    status, _, err = run(
        capsys, "token", "--data", str(tmp_path), "--doc", "d", "--algorithm", "RS256"
    )
    assert status == 1 and "cannot sign RS256" in err


def test_invite_prints_a_link_that_opens_the_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        capsys,
        "invite",
        "--data",
        str(tmp_path),
        "--doc",
        "doc-9",
        "--user",
        "bob",
        "--server",
        "ws://192.168.1.20:8765",
    )
    assert status == 0, err
    link = out.strip()
    assert link.startswith("lamina://join?server=ws%3A%2F%2F192.168.1.20%3A8765&token=")
    invite = parse_invite_link(link)
    assert invite.server_url == "ws://192.168.1.20:8765"
    public = (tmp_path / "keys" / "public.pem").read_bytes()
    assert verify_token(invite.token, public, document_id="doc-9").user_id == "bob"


def test_invite_bad_server_and_bad_collab(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        capsys, "invite", "--data", str(tmp_path), "--doc", "d", "--server", "localhost:8765"
    )
    assert (status, out) == (1, "")
    assert "must start with ws:// or wss://" in err
    status, out, err = run(
        capsys,
        "invite",
        "--data",
        str(tmp_path),
        "--doc",
        "d",
        "--server",
        "ws://h:1",
        "--collab",
        "comments:fill:all",
    )
    assert (status, out) == (1, "")
    assert "fill applies to form-fields only" in err


@pytest.mark.parametrize("verb", ["token", "invite"])
def test_help(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([verb, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--collab" in out and "--data" in out and "--ttl" in out
