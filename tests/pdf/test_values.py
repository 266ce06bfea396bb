"""PDF <-> Instant JSON value spellings: each written value reads back as itself."""

from __future__ import annotations

import pytest
from lamina.pdf.values import (
    CAPS_TO_LINE_ENDS,
    LINE_ENDS_TO_CAPS,
    NOTE_ICONS_FROM_PDF,
    NOTE_ICONS_TO_PDF,
    flags_from_pdf,
    flags_to_pdf,
    hex_to_rgb,
    iso_to_pdf_date,
    pdf_date_to_iso,
    rgb_to_hex,
    stamp_type_from_name,
)


@pytest.mark.parametrize(
    ("pdf", "iso"),
    [
        ("D:20220110155530+08'00'", "2022-01-10T07:55:30Z"),
        ("D:20240501100000Z", "2024-05-01T10:00:00Z"),
        ("D:20240501100000-02'30'", "2024-05-01T12:30:00Z"),
        ("D:2024", "2024-01-01T00:00:00Z"),
        ("20240501", "2024-05-01T00:00:00Z"),
    ],
)
def test_pdf_dates_read_as_utc(pdf: str, iso: str) -> None:
    assert pdf_date_to_iso(pdf) == iso


@pytest.mark.parametrize("text", [None, "", "yesterday", "D:20241301", "D:20240501+24'00'"])
def test_unreadable_pdf_dates_are_none(text: str | None) -> None:
    assert pdf_date_to_iso(text) is None


def test_iso_dates_write_as_pdf_dates_and_read_back() -> None:
    assert iso_to_pdf_date("2024-05-01T10:00:00.123Z") == "D:20240501100000Z"
    assert iso_to_pdf_date("2024-05-01T12:00:00+02:00") == "D:20240501100000Z"
    assert iso_to_pdf_date("not a date") is None
    written = iso_to_pdf_date("2022-01-10T07:55:30Z")
    assert pdf_date_to_iso(written) == "2022-01-10T07:55:30Z"


def test_flags_round_trip_and_print_is_the_default() -> None:
    assert flags_from_pdf(4) == ()
    assert flags_from_pdf(0) == ("noPrint",)
    assert flags_to_pdf(()) == 4
    names = ("noPrint", "hidden", "readOnly", "locked", "lockedContents")
    assert set(flags_from_pdf(flags_to_pdf(names))) == set(names)
    assert flags_from_pdf(flags_to_pdf(["invisible", "noZoom"])) == ("invisible", "noZoom")


def test_colours_gray_rgb_and_cmyk_become_hex() -> None:
    assert rgb_to_hex([0.5]) == "#808080"
    assert rgb_to_hex((1, 0, 0)) == "#ff0000"
    assert rgb_to_hex((0, 1, 1, 0)) == "#ff0000"  # CMYK red
    assert rgb_to_hex(()) is None and rgb_to_hex(None) is None
    assert rgb_to_hex(hex_to_rgb("#12abef")) == "#12abef"
    assert hex_to_rgb("transparent") is None and hex_to_rgb("#fff") is None


def test_stamp_names_and_the_name_tables_invert() -> None:
    assert stamp_type_from_name("Approved") == "Approved"
    assert stamp_type_from_name("SBApproved") == "Approved"
    assert stamp_type_from_name("#SHDraft") == "Draft"
    assert stamp_type_from_name("Checked by QA") == "Custom"
    assert stamp_type_from_name(None) == "Custom"
    assert {CAPS_TO_LINE_ENDS[c] for c in LINE_ENDS_TO_CAPS.values()} == set(LINE_ENDS_TO_CAPS)
    assert {NOTE_ICONS_TO_PDF[i] for i in NOTE_ICONS_FROM_PDF.values()} == set(NOTE_ICONS_FROM_PDF)


def test_da_strings_are_parsed_in_values_only() -> None:
    """One rule, one place: no module of the PDF bridge but values.py reads ``/DA`` with a
    regular expression of its own (annotations.py had copies beside the public reader)."""
    import re
    from pathlib import Path

    import lamina.pdf

    root = Path(lamina.pdf.__file__).parent
    own = [
        str(path.relative_to(root))
        for path in sorted(root.rglob("*.py"))
        if path.name != "values.py"
        and re.search(r"re\.compile\(r?[\"'][^\"']*\\s\+(?:Tf|rg|RG)", path.read_text())
    ]
    assert own == []
