"""`lamina doc add|list|layers|remove` and `lamina revoke` on a data directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from lamina.cli import main
from lamina.server.store import SqliteStore

from tests.conftest import corpus_pdf


def test_doc_verbs_add_list_layers_remove(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    assert main(["doc", "add", str(corpus_pdf("annot-stamps")), "--id", "c1", "--data", data]) == 0
    assert capsys.readouterr().out.strip() == "c1"
    assert main(["doc", "add", str(corpus_pdf("annot-all-markup")), "--data", data]) == 0
    generated = capsys.readouterr().out.strip()
    assert len(generated) == 26  # a ULID
    assert main(["doc", "list", "--data", data]) == 0
    listing = capsys.readouterr().out
    assert "c1\t1 pages\t5 base records" in listing and generated in listing
    assert main(["doc", "layers", "c1", "--data", data]) == 0
    assert capsys.readouterr().out == ""  # no layer has changes yet
    assert main(["doc", "remove", "c1", "--data", data]) == 0
    assert main(["doc", "layers", "c1", "--data", data]) == 1
    assert "no document 'c1'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("prefix", "words"),
    [("not-a-pdf", "not a pdf"), ("zero-byte", "empty"), ("encrypted-aes256-user", "password")],
)
def test_doc_add_refuses_what_is_not_a_usable_pdf(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], prefix: str, words: str
) -> None:
    data = tmp_path / "data"
    assert main(["doc", "add", str(corpus_pdf(prefix)), "--data", str(data)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lamina: error: ") and words in err.lower()
    assert corpus_pdf(prefix).name in err  # says which file
    assert len(err.strip().splitlines()) == 1
    store = SqliteStore(data)
    assert store.list_documents() == []
    store.close()
    assert not any((data / "assets").iterdir())


def test_revoke_records_the_jti(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    assert main(["revoke", "tok-1", "--data", data]) == 0
    assert main(["revoke", "tok-1", "--data", data]) == 0
    out = capsys.readouterr().out
    assert "revoked tok-1" in out and "already revoked" in out
    store = SqliteStore(Path(data))
    assert store.revoked_jtis() == frozenset({"tok-1"})
    store.close()
