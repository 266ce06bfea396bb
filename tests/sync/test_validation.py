"""What a record may contain: the fast check agrees with the one that names the reason."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import lamina.sync.validation as validation
import pytest
from lamina.sync.validation import (
    DEFAULT_LIMITS,
    MAX_SAFE_INTEGER,
    RECEIVED_LIMITS,
    Limits,
    record_problem,
    value_problem,
)

TIGHT = Limits(string_chars=5, array_items=3, depth=3)

VALUES: list[Any] = [
    None,
    True,
    0,
    MAX_SAFE_INTEGER,
    MAX_SAFE_INTEGER + 1,
    -MAX_SAFE_INTEGER - 1,
    1.5,
    math.nan,
    math.inf,
    -math.inf,
    float(MAX_SAFE_INTEGER) * 2,
    "abcde",
    "abcdef",
    [1, 2, 3],
    [1, 2, 3, 4],
    (1, 2),
    {"a": 1},
    {"abcdef": 1},
    {1: "not a str key"},
    {"a": {"b": {"c": 1}}},
    {"a": {"b": {"c": {"d": 1}}}},
    [[[[1]]]],
    OrderedDict(a=math.nan),  # a Mapping that is not a dict: left to the slow walk
    {"a": [1, {"b": math.inf}]},
    object(),
    b"bytes",
]


@pytest.mark.parametrize("limits", [DEFAULT_LIMITS, TIGHT], ids=["default", "tight"])
def test_the_fast_path_never_hides_a_problem(limits: Limits) -> None:
    for value in VALUES:
        slow = validation._walk(value, limits, "value", 0)
        assert value_problem(value, limits) == slow, value
        if validation._fine(value, limits, 0):
            assert slow is None, value


def test_a_received_record_is_not_encoded_again_to_learn_its_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The client takes every record against limits with no size bound: encoding each of
    # 100,000 records to measure it was a fifth of the time spent on them.
    encoded: list[object] = []
    real = validation.dumps
    monkeypatch.setattr(validation, "dumps", lambda v: encoded.append(v) or real(v))
    note = {
        "v": 2,
        "type": "pspdfkit/note",
        "id": "01J00000000000000000000000",
        "pageIndex": 0,
        "bbox": [1, 2, 3, 4],
        "text": {"format": "plain", "value": "hi"},
    }
    assert record_problem("annotation", note, RECEIVED_LIMITS) is None
    assert encoded == []
    assert record_problem("annotation", note, DEFAULT_LIMITS) is None
    assert len(encoded) == 1  # the server's limits do bound the size
    big = dict(note, text={"format": "plain", "value": "x" * 600_000})
    assert record_problem("annotation", big, RECEIVED_LIMITS) is None
    problem = record_problem("annotation", big, DEFAULT_LIMITS)
    assert problem is not None and problem.limit in ("string_chars", "record_bytes")
