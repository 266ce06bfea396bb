"""A big PDF's own annotations are read in a process of their own (lamina.pdf.reader_process):
the same records as read in the caller, errors with their type, and no reading in the caller's
process."""

from __future__ import annotations

from pathlib import Path

import pytest
from lamina.pdf import NotAPdfError, WrongPasswordError
from lamina.pdf.backend import PdfBackendImpl
from lamina.pdf.reader_process import ReadingApartBackend

from tests.conftest import corpus_pdf

MARKUP = corpus_pdf("annot-all-markup-types")


def test_records_read_apart_are_those_read_in_the_caller() -> None:
    apart = ReadingApartBackend(apart_bytes=0).read_base_records(MARKUP)
    assert apart and apart == PdfBackendImpl().read_base_records(MARKUP)


def test_a_big_pdf_is_read_in_another_process_and_a_small_one_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Read on a thread of the desktop app, the 2,199 links of the 429-page corpus PDF held
    the GIL for most of a second while its first pages scrolled."""
    from lamina.pdf import backend

    def refuse(_doc: object) -> list[object]:
        raise AssertionError("read in the caller's process")

    monkeypatch.setattr(backend, "read_records", refuse)
    size = MARKUP.stat().st_size
    records = ReadingApartBackend(apart_bytes=size).read_base_records(MARKUP)
    assert {r["type"] for r in records} >= {"pspdfkit/markup/highlight", "pspdfkit/note"}
    with pytest.raises(AssertionError, match="caller's process"):
        ReadingApartBackend(apart_bytes=size + 1).read_base_records(MARKUP)


def test_errors_come_back_with_their_type(tmp_path: Path) -> None:
    reader = ReadingApartBackend(apart_bytes=0)
    with pytest.raises(WrongPasswordError):
        reader.read_base_records(corpus_pdf("encrypted-aes256-user-pw"), "not-the-password")
    text = tmp_path / "notes.pdf"
    text.write_text("not a pdf at all\n" * 100)
    with pytest.raises(NotAPdfError):
        reader.read_base_records(text)
    with pytest.raises(FileNotFoundError):
        reader.read_base_records(tmp_path / "missing.pdf")
