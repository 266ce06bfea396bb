"""The bundled sample PDF: made by its script, opens, and carries annotations to show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lamina.model.records import HighlightAnnotation, NoteAnnotation, RectangleAnnotation
from lamina.pdf import open_pdf, read_records, render_page

from tests.conftest import REPO

SAMPLE = REPO / "resources" / "sample.pdf"


def test_sample_is_what_its_script_makes(tmp_path: Path) -> None:
    out = tmp_path / "sample.pdf"
    subprocess.run(
        [sys.executable, str(REPO / "resources" / "make_sample.py"), str(out)], check=True
    )
    assert out.read_bytes() == SAMPLE.read_bytes()


def test_sample_opens_with_three_annotations_and_a_rotated_page() -> None:
    with open_pdf(SAMPLE) as doc:
        assert doc.page_count == 3
        assert doc.page_info(2).rotation == 90
        records = read_records(doc)
        assert render_page(doc, 0, 0.2).width > 0
    kinds = {type(r) for r in records}
    assert kinds == {HighlightAnnotation, NoteAnnotation, RectangleAnnotation}
    assert {r.creator_name for r in records} == {"Sample Author"}
