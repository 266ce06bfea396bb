"""A write that cannot be done is an error naming the record, never a silent drop (issue 10).

``lamina apply`` exits 1 with one line that names the record, and writes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
import pytest
from lamina.cli import main


def test_apply_refuses_a_record_it_cannot_write_and_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "blank.pdf"
    doc = pymupdf.open()
    doc.new_page()
    doc.save(source)
    changes = tmp_path / "changes.json"
    link = {
        "v": 2,
        "type": "pspdfkit/link",
        "id": "01HZ0000000000000000000099",
        "pageIndex": 0,
        "bbox": [10, 10, 50, 20],
        "action": {"type": "javaScript", "script": "app.alert(1)"},
    }
    changes.write_text(
        json.dumps({"format": "https://pspdfkit.com/instant-json/v1", "annotations": [link]})
    )
    out = tmp_path / "out.pdf"
    assert main(["apply", str(source), str(changes), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "pspdfkit/link 01HZ0000000000000000000099" in err and "javaScript" in err
    assert not out.exists()
