"""Reading an annotation Lamina wrote and nobody changed takes the private copy directly.

``untouched_record`` skips reading the standard keys when the fingerprint matches; its result
must be exactly what reading the standard keys and completing them from the private copy
(``with_private``) gives. Checked on every annotation of the corpus files and Instant JSON
files as Lamina writes them, and on a file another program then changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
import pytest
from lamina.model.instant_json import parse_instant_json
from lamina.pdf import annotations as reader
from lamina.pdf import apply_instant_json, dump_instant_json, open_pdf, private_data, read_records

from tests.conftest import CORPUS_PDFS
from tests.pdf.test_fidelity_corpus import strip_with_pypdf
from tests.support.corpus import CORPUS_INSTANT_JSON

ANNOT_FILES = sorted(CORPUS_PDFS.glob("annot-*.pdf"))
INSTANT_FILES = sorted(CORPUS_INSTANT_JSON.glob("*.json"))


def _read_both(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list, int]:
    """Return the records read with and without the shortcut, and how often it answered."""
    taken = 0
    shortcut = private_data.untouched_record

    def counting(*args: object) -> object:
        nonlocal taken
        record = shortcut(*args)  # type: ignore[arg-type]
        taken += record is not None
        return record

    with monkeypatch.context() as m:
        m.setattr(reader, "untouched_record", counting)
        with open_pdf(data) as doc:
            fast = read_records(doc)
    with monkeypatch.context() as m:
        m.setattr(reader, "untouched_record", lambda *args: None)
        with open_pdf(data) as doc:
            slow = read_records(doc)
    return fast, slow, taken


@pytest.mark.parametrize("path", ANNOT_FILES, ids=lambda p: p.name.split("__")[0])
def test_a_corpus_file_rewritten_by_lamina_reads_the_same_through_the_shortcut(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_pdf(path) as doc:
        dumped = dump_instant_json(doc)
    written = apply_instant_json(strip_with_pypdf(path), dumped)
    fast, slow, _ = _read_both(written, monkeypatch)
    assert fast == slow


@pytest.mark.parametrize("path", INSTANT_FILES, ids=lambda p: p.stem.split("_")[0])
def test_corpus_instant_json_written_by_lamina_reads_the_same_through_the_shortcut(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = parse_instant_json(path.read_bytes())
    blank = pymupdf.open()
    for _ in range(max([r.page_index or 0 for r in document.annotations] + [0]) + 1):
        blank.new_page(width=612, height=792)
    written = apply_instant_json(bytes(blank.tobytes()), document)
    fast, slow, taken = _read_both(written, monkeypatch)
    assert fast == slow
    assert taken > 0  # the shortcut was taken at all


def test_an_annotation_another_program_changed_is_read_from_its_standard_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = INSTANT_FILES[0]
    document = parse_instant_json(path.read_bytes())
    blank = pymupdf.open()
    for _ in range(max([r.page_index or 0 for r in document.annotations] + [0]) + 1):
        blank.new_page(width=612, height=792)
    written = apply_instant_json(bytes(blank.tobytes()), document)
    edited = pymupdf.open(stream=written, filetype="pdf")
    moved = 0
    for page in edited:
        for annot in page.annots() or ():
            if annot.type[1] in ("Square", "Ink", "FreeText", "Text", "Circle"):
                rect = annot.rect
                annot.set_rect(pymupdf.Rect(rect.x0 + 7, rect.y0, rect.x1 + 7, rect.y1))
                annot.update()
                moved += 1
    assert moved
    changed = bytes(edited.tobytes())
    fast, slow, _ = _read_both(changed, monkeypatch)
    assert fast == slow
    with open_pdf(written) as doc:
        before = {str(r.id): r for r in read_records(doc)}
    shifted = [r for r in fast if str(r.id) in before and r != before[str(r.id)]]
    assert len(shifted) >= moved, json.dumps([str(r.id) for r in fast])
