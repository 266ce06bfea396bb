"""Checked JSON readers: a typed value back, or an error naming the path and what was found."""

from __future__ import annotations

from typing import Any

import pytest
from lamina.model.errors import InstantJsonError, JsonValueError
from lamina.model.instant_json import parse_instant_json
from lamina.model.json_values import (
    as_boolean,
    as_integer,
    as_number,
    as_object,
    as_one_of,
    as_string,
    as_strings,
    required,
)
from lamina.model.records import record_from_json


@pytest.mark.parametrize(
    ("read", "value", "message"),
    [
        (as_object, [1, 2], "a.b: expected an object, got a list of 2"),
        (as_string, None, "a.b: expected a string, got null"),
        (lambda v, p: as_string(v, p, nonempty=True), "", "a.b: expected a non-empty string"),
        (lambda v, p: as_string(v, p, max_len=2), "abc", "expected at most 2 characters, got 3"),
        (as_integer, True, "a.b: expected an integer, got a boolean"),
        (as_integer, 1.5, "a.b: expected an integer, got a number"),
        (lambda v, p: as_integer(v, p, minimum=0), -1, "expected an integer >= 0, got -1"),
        (as_number, float("nan"), "a.b: expected a number, got a number"),
        (as_number, "1", "a.b: expected a number, got a string"),
        (as_boolean, 0, "a.b: expected true or false, got a number"),
        (as_strings, ["x", 2], "a.b[1]: expected a string, got a number"),
        (lambda v, p: as_one_of(v, p, ("ink", "note")), "pen", "expected ink or note, got 'pen'"),
    ],
)
def test_a_wrong_value_names_its_path_and_kind(read: Any, value: Any, message: str) -> None:
    with pytest.raises(JsonValueError) as info:
        read(value, "a.b")
    assert message in str(info.value)
    assert info.value.path.startswith("a.b")


def test_right_values_come_back_typed() -> None:
    assert as_integer(3, "n") == 3 and as_number(2, "n") == 2 and as_number(0.5, "n") == 0.5
    assert as_strings(["a"], "s") == ("a",) and as_boolean(False, "b") is False
    assert required({"k": None}, "k", "o") is None
    with pytest.raises(JsonValueError, match=r"^o\.k: is required$"):
        required({}, "k", "o")


def test_instant_json_reports_them_as_instant_json_errors() -> None:
    with pytest.raises(InstantJsonError, match=r"annotations\[0\]\.pageIndex: expected an integer"):
        parse_instant_json(
            {"annotations": [{"type": "pspdfkit/note", "pageIndex": "1", "bbox": [0, 0, 1, 1]}]}
        )
    with pytest.raises(InstantJsonError, match=r"skippedPdfObjectIds\[1\]: expected an integer"):
        parse_instant_json({"skippedPdfObjectIds": [1, "2"]})
    with pytest.raises(InstantJsonError, match=r"^opacity: expected a number, got a string$"):
        record_from_json(
            {"type": "pspdfkit/ink", "pageIndex": 0, "bbox": [0, 0, 1, 1], "opacity": "x"}
        )
