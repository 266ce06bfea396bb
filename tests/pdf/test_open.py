"""Opening every corpus file: it opens and renders, or it gives its typed one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest
from lamina.pdf import (
    DamagedPdfError,
    EmptyFileError,
    NotAPdfError,
    PageOutOfRangeError,
    PasswordRequiredError,
    PdfError,
    WrongPasswordError,
    open_pdf,
    render_page,
    render_tile,
)

from tests.conftest import CORPUS_PDFS, corpus_pdf

PASSWORDS = {
    "encrypted-rc4-user-pw": "openpassword",
    "encrypted-aes256-user-pw": "foo",
}
EXPECTED_ERRORS: dict[str, type[PdfError]] = {
    "zero-byte": EmptyFileError,
    "not-a-pdf-png-renamed": NotAPdfError,
    "damaged-truncated-50pct": DamagedPdfError,
}
REPAIRED = ("damaged-one-byte-missing", "damaged-scan-trailing-garbage", "long-429p-broken-xref")


def _manifest_pages() -> dict[str, int]:
    rows = (CORPUS_PDFS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    pages = {}
    for row in rows:
        cells = row.split("\t")
        if cells[2]:
            pages[cells[0]] = int(cells[2])
    return pages


def _prefix(path: Path) -> str:
    return path.name.split("__")[0].removesuffix("-SELFMADE")


CORPUS_FILES = sorted(CORPUS_PDFS.glob("*.pdf"))


def test_corpus_is_there() -> None:
    assert len(CORPUS_FILES) == 30


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: _prefix(p))
def test_every_corpus_file_opens_and_renders_or_gives_its_typed_error(path: Path) -> None:
    prefix = _prefix(path)
    expected = EXPECTED_ERRORS.get(prefix)
    if expected is not None:
        with pytest.raises(expected) as info:
            open_pdf(path)
        message = str(info.value)
        assert path.name in message
        assert "\n" not in message and message == message.lower().replace(
            path.name.lower(), path.name
        )
        return
    with open_pdf(path, password=PASSWORDS.get(prefix)) as doc:
        assert doc.page_count == _manifest_pages()[path.name]
        assert doc.repaired == (prefix in REPAIRED)
        if doc.page_count > 30:
            pages = [*range(0, doc.page_count, doc.page_count // 12), doc.page_count - 1]
        else:
            pages = list(range(doc.page_count))
        for index in pages:
            info = doc.page_info(index)
            if info.width * info.height > 4_000_000:
                # The 8400 pt page: one tile from its middle, never the whole page.
                image = render_tile(doc, index, 1.0, (4000, 4000, 4256, 4256))
                assert (image.width, image.height) == (256, 256)
            else:
                image = render_page(doc, index, 0.1)
                width, height = doc.page_geometry(index).display_size(0.1)
                assert abs(image.width - width) <= 1 and abs(image.height - height) <= 1
            assert image.stride == image.width * 4
            assert len(image.data) == image.stride * image.height


def test_encrypted_file_without_password_asks_for_one() -> None:
    path = corpus_pdf("encrypted-aes256-user-pw")
    with pytest.raises(PasswordRequiredError) as info:
        open_pdf(path)
    assert not isinstance(info.value, WrongPasswordError)
    assert str(info.value) == f"{path.name} is encrypted: a password is needed to open it"


@pytest.mark.parametrize("prefix", ["encrypted-aes256-user-pw", "encrypted-rc4-user-pw"])
def test_wrong_password_is_its_own_error(prefix: str) -> None:
    with pytest.raises(WrongPasswordError, match="does not open"):
        open_pdf(corpus_pdf(prefix), password="not-the-password")


def test_owner_password_opens_too() -> None:
    with open_pdf(corpus_pdf("encrypted-aes256-user-pw"), password="bar") as doc:
        assert doc.page_count == 1
        assert doc.read_only_reason is None


def test_permissions_forbidding_annotations_open_read_only_with_a_reason() -> None:
    path = corpus_pdf("encrypted-aes256-owner-only-no-annotate")
    with open_pdf(path) as doc:
        assert doc.page_count == 30
        assert doc.read_only_reason is not None
        assert "forbid" in doc.read_only_reason
    with open_pdf(path, password="master") as doc:
        assert doc.read_only_reason is None


def test_ordinary_pdf_is_writable_and_has_its_id() -> None:
    with open_pdf(corpus_pdf("annot-all-markup-types")) as doc:
        assert doc.read_only_reason is None
        assert not doc.repaired
        assert doc.pdf_id is not None and doc.pdf_id.permanent


def test_bytes_open_like_files() -> None:
    data = corpus_pdf("geometry-rotations").read_bytes()
    with open_pdf(data) as doc:
        assert doc.page_count == 8
    with pytest.raises(EmptyFileError, match="document is empty"):
        open_pdf(b"")
    with pytest.raises(NotAPdfError):
        open_pdf(b"just some text, not a pdf")


def test_garbage_after_a_pdf_header_is_damaged_not_a_crash() -> None:
    with pytest.raises(DamagedPdfError, match="damaged"):
        open_pdf(b"%PDF-1.7\n" + b"\x00garbage" * 50)


def test_page_out_of_range_names_the_page_count() -> None:
    with (
        open_pdf(corpus_pdf("geometry-rotations")) as doc,
        pytest.raises(PageOutOfRangeError, match=r"page 8 does not exist \(.* has 8 pages"),
    ):
        doc.page_info(8)
