"""The ``lamina dump``, ``apply`` and ``diff`` verbs: results, one-line errors, no stray files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lamina.cli import main
from lamina.pdf import open_pdf, read_records

from tests.conftest import corpus_pdf

BAD_INPUTS = [
    ("zero-byte", None, "is empty (0 bytes)"),
    ("not-a-pdf-png-renamed", None, "is not a pdf but a png image"),
    ("damaged-truncated-50pct", None, "no page could be recovered"),
    ("encrypted-aes256-user-pw", None, "is encrypted: a password is needed to open it"),
    ("encrypted-rc4-user-pw", "wrong", "the password given does not open"),
]


@pytest.mark.parametrize(("prefix", "password", "message"), BAD_INPUTS)
@pytest.mark.parametrize("verb", ["dump", "apply", "diff"])
def test_bad_input_gives_one_line_error_exit_1_and_no_output(
    verb: str,
    prefix: str,
    password: str | None,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = corpus_pdf(prefix)
    changes = tmp_path / "changes.json"
    changes.write_text('{"format": "https://pspdfkit.com/instant-json/v1"}')
    out = tmp_path / ("out.pdf" if verb == "apply" else "out.json")
    argv = {
        "dump": ["dump", str(path), "-o", str(out)],
        "apply": ["apply", str(path), str(changes), "-o", str(out)],
        "diff": ["diff", str(path), str(path), "-o", str(out)],
    }[verb]
    if password is not None:
        argv += ["--password", password]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("lamina: error: ")
    assert message in lines[0]
    assert "Traceback" not in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["changes.json"]


def test_apply_to_a_pdf_that_forbids_annotating_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changes = tmp_path / "changes.json"
    changes.write_text(
        json.dumps(
            {
                "format": "https://pspdfkit.com/instant-json/v1",
                "annotations": [
                    {
                        "v": 2,
                        "type": "pspdfkit/shape/rectangle",
                        "pageIndex": 0,
                        "bbox": [10, 10, 50, 50],
                        "strokeColor": "#ff0000",
                    }
                ],
            }
        )
    )
    out = tmp_path / "out.pdf"
    path = corpus_pdf("encrypted-aes256-owner-only-no-annotate")
    assert main(["apply", str(path), str(changes), "-o", str(out)]) == 1
    assert "forbid adding or changing annotations" in capsys.readouterr().err
    assert not out.exists()
    assert main(["apply", str(path), str(changes), "-o", str(out), "--password", "master"]) == 0
    assert out.exists()


def test_invalid_instant_json_names_the_bad_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changes = tmp_path / "changes.json"
    changes.write_text('{"annotations": [{"type": "pspdfkit/ink", "pageIndex": 0, "bbox": [1]}]}')
    out = tmp_path / "out.pdf"
    path = corpus_pdf("annot-stamps-acrobat")
    assert main(["apply", str(path), str(changes), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "annotations[0].bbox" in err and len(err.strip().splitlines()) == 1
    assert "changes.json is not valid Instant JSON" in err  # which file is wrong
    assert not out.exists()
    changes.write_text('{"annotations": [')  # truncated
    assert main(["apply", str(path), str(changes), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lamina: error: changes.json is not valid Instant JSON: not valid JSON")
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_dump_apply_diff_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = corpus_pdf("annot-irt-group")
    dumped = tmp_path / "dump.json"
    assert main(["dump", str(source), "-o", str(dumped)]) == 0
    document = json.loads(dumped.read_text())
    assert len(document["annotations"]) == 18
    assert all(a["v"] == 2 and "pdfObjectId" in a for a in document["annotations"])

    # v1 on stdout
    assert main(["dump", str(source), "--instant-json-version", "1"]) == 0
    v1 = json.loads(capsys.readouterr().out)
    assert {a["v"] for a in v1["annotations"]} == {1}

    # Delete the first original, add a new ellipse.
    first = document["annotations"][0]["pdfObjectId"]
    changes = tmp_path / "changes.json"
    changes.write_text(
        json.dumps(
            {
                "format": "https://pspdfkit.com/instant-json/v1",
                "skippedPdfObjectIds": [first],
                "annotations": [
                    {
                        "v": 2,
                        "id": "01HZ0000000000000000000099",
                        "type": "pspdfkit/shape/ellipse",
                        "pageIndex": 0,
                        "bbox": [300, 300, 80, 40],
                        "strokeColor": "#00aa00",
                        "creatorName": "cli test",
                    }
                ],
            }
        )
    )
    edited = tmp_path / "edited.pdf"
    assert main(["apply", str(source), str(changes), "-o", str(edited)]) == 0
    with open_pdf(edited) as doc:
        records = read_records(doc)
    assert first not in {r.pdf_object_id for r in records}
    assert any(getattr(r, "creator_name", None) == "cli test" for r in records)

    diff_out = tmp_path / "diff.json"
    assert main(["diff", str(source), str(edited), "-o", str(diff_out)]) == 0
    diff = json.loads(diff_out.read_text())
    assert diff["skippedPdfObjectIds"] == [first]
    assert [a["type"] for a in diff["annotations"]] == ["pspdfkit/shape/ellipse"]
    assert "pdfObjectId" not in diff["annotations"][0]

    flat = tmp_path / "flat.pdf"
    assert main(["apply", str(source), str(changes), "-o", str(flat), "--flatten"]) == 0
    with open_pdf(flat) as doc:
        assert read_records(doc) == []


@pytest.mark.parametrize("verb", ["dump", "apply", "diff"])
def test_every_verb_has_help(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([verb, "--help"])
    assert exit_info.value.code == 0
    assert "Example: lamina" in capsys.readouterr().out.replace("\n", " ")


def test_encrypted_pdf_dumps_with_its_password(capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus_pdf("encrypted-aes256-user-pw")
    assert main(["dump", str(path), "--password", "foo"]) == 0
    assert json.loads(capsys.readouterr().out)["format"].startswith("https://pspdfkit.com")
