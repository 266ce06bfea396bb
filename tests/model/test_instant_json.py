"""Instant JSON: every real file loads and writes back to what was loaded; bad input is precise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lamina.model.errors import InstantJsonError
from lamina.model.instant_json import (
    FORMAT,
    InstantDocument,
    document_from_records,
    dumps_instant_json,
    instant_json_to_dict,
    parse_instant_json,
)
from lamina.model.records import (
    HighlightAnnotation,
    InkAnnotation,
    NoteAnnotation,
    Text,
    TextAnnotation,
    UnknownAnnotation,
    WidgetAnnotation,
)

from tests.conftest import CORPUS_INSTANT_JSON

CORPUS_FILES = sorted(CORPUS_INSTANT_JSON.glob("*.json"))


def _version_of(obj: dict[str, Any]) -> int:
    versions = {a.get("v", 2) for a in obj.get("annotations", [])}
    assert len(versions) <= 1, "corpus files use one annotation version each"
    return versions.pop() if versions else 2


def test_the_corpus_is_there() -> None:
    assert len(CORPUS_FILES) >= 4


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.stem)
def test_corpus_file_round_trips_unchanged(path: Path) -> None:
    obj = json.loads(path.read_text(encoding="utf-8"))
    document = parse_instant_json(obj)
    written = instant_json_to_dict(document, version=_version_of(obj))
    expected = {"format": FORMAT, **obj}
    assert written == expected


def test_corpus_types_become_typed_records() -> None:
    obj = json.loads(
        (
            CORPUS_INSTANT_JSON / "nutrient-dws-ruby_mixed-annotations-widget-formfield-v2.json"
        ).read_text(encoding="utf-8")
    )
    document = parse_instant_json(obj)
    kinds = {type(a) for a in document.annotations}
    assert {TextAnnotation, InkAnnotation, NoteAnnotation, HighlightAnnotation} <= kinds
    assert WidgetAnnotation in kinds
    text = next(a for a in document.annotations if isinstance(a, TextAnnotation))
    assert text.text == Text("Welcome to\nPSPDFKit")
    assert text.bbox.width == 150
    ink = next(a for a in document.annotations if isinstance(a, InkAnnotation))
    assert ink.lines.points[0][1] == (200, 50)
    assert len(document.form_fields) == 1


def test_v1_note_text_is_a_string_and_converts_to_v2_object() -> None:
    obj = json.loads(
        (
            CORPUS_INSTANT_JSON / "pspdfkit-dotnet-example_rectangle-and-updated-note-v1.json"
        ).read_text(encoding="utf-8")
    )
    document = parse_instant_json(obj)
    note = document.annotations[1]
    assert isinstance(note, NoteAnnotation)
    assert note.pdf_object_id == 162 and note.id == "162"
    v2 = instant_json_to_dict(document, version=2)["annotations"][1]
    assert v2["text"] == {"format": "plain", "value": "New Contents"} and v2["v"] == 2
    v1 = instant_json_to_dict(parse_instant_json(json.dumps({**obj, **{}})), version=1)
    assert v1["annotations"][1]["text"] == "New Contents"


def test_unknown_types_and_keys_survive() -> None:
    obj = {
        "format": FORMAT,
        "annotations": [
            {
                "v": 2,
                "type": "pspdfkit/media",
                "id": "a",
                "pageIndex": 0,
                "bbox": [1, 2, 3, 4],
                "mediaThing": {"x": [1, 2]},
            },
            {
                "v": 2,
                "type": "pspdfkit/ink",
                "id": "b",
                "pageIndex": 1,
                "bbox": [1, 2, 3, 4],
                "lines": {"points": [[[1, 2], [3, 4]]], "intensities": [[0.5, 0.5]]},
                "lineWidth": 2,
                "futureKey": [None, True],
            },
        ],
        "somethingNew": {"keep": "me"},
    }
    document = parse_instant_json(obj)
    assert isinstance(document.annotations[0], UnknownAnnotation)
    assert document.annotations[0].type == "pspdfkit/media"
    assert document.annotations[1].extra == {"futureKey": [None, True]}
    assert instant_json_to_dict(document) == obj


def test_null_color_means_no_color_and_is_kept() -> None:
    obj = {
        "format": FORMAT,
        "annotations": [
            {
                "v": 2,
                "type": "pspdfkit/shape/rectangle",
                "id": "r",
                "pageIndex": 0,
                "bbox": [0, 0, 10, 10],
                "fillColor": None,
                "strokeColor": "#FF0000",
            }
        ],
    }
    assert instant_json_to_dict(parse_instant_json(obj)) == obj


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"bbox": [1, 2, 3]}, "annotations[0].bbox: expected 4 numbers, got 3"),
        ({"bbox": "wide"}, "annotations[0].bbox: expected 4 numbers, got a string"),
        ({"pageIndex": "one"}, "annotations[0].pageIndex: expected an integer, got a string"),
        ({"strokeColor": "red"}, "annotations[0].strokeColor: expected a color like #RRGGBB"),
        ({"lines": {"points": [[[1, 2, 3]]]}}, "annotations[0].lines.points[0][0]: expected 2"),
        ({"opacity": float("nan")}, "annotations[0].opacity: expected a number"),
        ({"type": None}, "annotations[0].type: missing record type"),
        ({"v": 3}, "annotations[0].v: unsupported version 3"),
    ],
)
def test_invalid_annotation_gives_a_precise_error(patch: dict[str, Any], message: str) -> None:
    ink = {
        "v": 2,
        "type": "pspdfkit/ink",
        "id": "x",
        "pageIndex": 0,
        "bbox": [0, 0, 1, 1],
        "lines": {"points": [[[0, 0]]], "intensities": [[0.5]]},
        "lineWidth": 1,
    }
    ink.update(patch)
    with pytest.raises(InstantJsonError) as info:
        parse_instant_json({"format": FORMAT, "annotations": [ink]})
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "expected a JSON object at the top level"),
        ('{"format": "other"}', "format: expected"),
        ('{"annotations": {}}', "annotations: expected a list"),
        ('{"annotations": [{"type": "pspdfkit/ink", "v": 2}]}', "annotations[0].pageIndex"),
        ('{"skippedPdfObjectIds": [1, "2"]}', "skippedPdfObjectIds[1]: expected an integer"),
        ('{"attachments": {"k": {"binary": "***"}}}', "attachments.k.binary: not valid base64"),
        ('{"comments": [{"type": "pspdfkit/comment", "v": 2}]}', "comments[0].rootId"),
        ('{"comments": [{"type": "pspdfkit/ink"}]}', "comments[0].type: expected a Comment"),
    ],
)
def test_invalid_document_gives_a_precise_error(source: str, message: str) -> None:
    with pytest.raises(InstantJsonError) as info:
        parse_instant_json(source)
    assert message in str(info.value)


def test_diff_semantics_of_skipped_ids() -> None:
    document = parse_instant_json(
        {
            "annotations": [
                {
                    "v": 2,
                    "type": "pspdfkit/note",
                    "id": "7",
                    "pdfObjectId": 7,
                    "pageIndex": 0,
                    "bbox": [0, 0, 20, 20],
                    "text": {"format": "plain", "value": "edited"},
                }
            ],
            "skippedPdfObjectIds": [7, 9],
        }
    )
    assert document.deleted_pdf_object_ids == frozenset({9})


def test_document_from_records_sorts_by_kind_and_omits_empty_lists() -> None:
    source = json.loads(
        (
            CORPUS_INSTANT_JSON / "document-engine-openapi_apply-instant-json-all-keys.json"
        ).read_text(encoding="utf-8")
    )
    document = parse_instant_json(source)
    rebuilt = document_from_records(
        reversed(document.records), attachments=document.attachments, skipped_pdf_object_ids=[]
    )
    assert len(rebuilt.comments) == len(document.comments) >= 1
    assert rebuilt.form_field_values == document.form_field_values
    out = json.loads(dumps_instant_json(InstantDocument()))
    assert out == {"format": FORMAT}


_finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
_points = st.lists(st.tuples(_finite, _finite).map(list), min_size=1, max_size=5)


@given(
    bbox=st.tuples(_finite, _finite, _finite, _finite).map(list),
    strokes=st.lists(_points, min_size=1, max_size=3),
    page=st.integers(0, 10_000),
    opacity=st.one_of(st.none(), st.floats(0, 1)),
    note=st.one_of(st.none(), st.text(max_size=20)),
)
def test_ink_round_trip_is_lossless(
    bbox: list[float],
    strokes: list[list[list[float]]],
    page: int,
    opacity: float | None,
    note: str | None,
) -> None:
    ink: dict[str, Any] = {
        "v": 2,
        "type": "pspdfkit/ink",
        "id": "01HZ5BHHGEJEXECJJ9H4R70WJV",
        "pageIndex": page,
        "bbox": bbox,
        "lines": {"points": strokes, "intensities": [[0.5] * len(s) for s in strokes]},
        "lineWidth": 3,
    }
    if opacity is not None:
        ink["opacity"] = opacity
    if note is not None:
        ink["note"] = note
    obj = {"format": FORMAT, "annotations": [ink]}
    assert instant_json_to_dict(parse_instant_json(json.dumps(obj))) == obj
