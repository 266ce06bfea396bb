"""The Instant JSON diff rule (DESIGN §3) and its inverse: a diff applied to its base gives back
what the user saw, and each rule on its own."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from lamina.model.diff import (
    CreateRecord,
    DeleteRecord,
    KeyChanges,
    PlannedChange,
    UpdateRecord,
    changes_for_diff,
    diff_against_base,
    key_changes,
)
from lamina.model.ids import RecordId
from lamina.model.instant_json import (
    Attachment,
    InstantDocument,
    instant_json_to_dict,
    parse_instant_json,
)
from lamina.model.records import (
    Annotation,
    Record,
    parse_record_as,
    record_from_json,
    record_to_json,
)

# --- records -----------------------------------------------------------------------------

_coord = st.integers(0, 600)
_bbox = st.tuples(_coord, _coord, st.integers(1, 200), st.integers(1, 200)).map(list)
_color = st.sampled_from(["#ff0000", "#00ff00", "#0000ff", None])
_text = st.text(max_size=8)


@st.composite
def _annotation_json(draw: st.DrawFn) -> dict[str, Any]:
    """One annotation's Instant JSON of a few types, with optional and unknown keys."""
    kind = draw(st.sampled_from(["note", "ink", "rectangle", "stamp", "highlight"]))
    content: dict[str, Any] = {"v": 2, "pageIndex": draw(st.integers(0, 3)), "bbox": draw(_bbox)}
    if kind == "note":
        content["type"] = "pspdfkit/note"
        content["text"] = {"format": "plain", "value": draw(_text)}
    elif kind == "ink":
        content["type"] = "pspdfkit/ink"
        points = draw(st.lists(st.tuples(_coord, _coord).map(list), min_size=1, max_size=3))
        content["lines"] = {"points": [points], "intensities": [[0.5] * len(points)]}
        content["lineWidth"] = draw(st.integers(1, 9))
    elif kind == "rectangle":
        content["type"] = "pspdfkit/shape/rectangle"
        content["strokeColor"] = draw(_color)
    elif kind == "stamp":
        content["type"] = "pspdfkit/stamp"
        content["stampType"] = draw(st.sampled_from(["Approved", "Draft", "Custom"]))
    else:
        content["type"] = "pspdfkit/markup/highlight"
        content["rects"] = [draw(_bbox)]
    if draw(st.booleans()):
        content["opacity"] = draw(st.sampled_from([0.25, 0.5, 1]))
    if draw(st.booleans()):
        content["note"] = draw(_text)
    if draw(st.booleans()):
        content["customData"] = {"tag": draw(_text)}
    return content


def _parse(content: Mapping[str, Any]) -> Record:
    return record_from_json(dict(content))


@st.composite
def _edited(draw: st.DrawFn, content: dict[str, Any]) -> dict[str, Any]:
    """``content`` with at least one key set, changed or removed (never id or type)."""
    out = dict(content)
    edits = draw(
        st.lists(st.sampled_from(["move", "opacity", "note", "drop", "custom"]), min_size=1)
    )
    for edit in edits:
        if edit == "move":
            out["bbox"] = [out["bbox"][0] + 1, *out["bbox"][1:]]
        elif edit == "opacity":
            out["opacity"] = 0.75 if out.get("opacity") != 0.75 else 0.5
        elif edit == "note":
            out["note"] = str(out.get("note", "")) + "!"
        elif edit == "custom":
            out["customData"] = {"edited": True}
        else:
            optional = [k for k in ("opacity", "note", "customData") if k in out]
            if optional:
                del out[draw(st.sampled_from(optional))]
            else:
                out["note"] = "added"
    return out


@st.composite
def base_and_current(draw: st.DrawFn) -> tuple[list[Record], list[Record]]:
    """The PDF's own annotations, and what the user made of them: some kept, some edited,
    some deleted, plus new records (a few with a ``pdfObjectId`` the base does not have)."""
    object_ids = draw(st.lists(st.integers(1, 500), unique=True, max_size=8))
    base_json = []
    for pdf_object_id in object_ids:
        content = draw(_annotation_json())
        content.update({"id": str(pdf_object_id), "pdfObjectId": pdf_object_id})
        base_json.append(content)
    current_json = []
    for content in base_json:
        fate = draw(st.sampled_from(["keep", "edit", "delete"]))
        if fate == "keep":
            current_json.append(content)
        elif fate == "edit":
            current_json.append(draw(_edited(content)))
    for n in range(draw(st.integers(0, 5))):
        content = draw(_annotation_json())
        content["id"] = f"01NEW{n:021d}"
        if draw(st.booleans()):
            # Copied from another PDF: its pdfObjectId is not one of this PDF's.
            content["pdfObjectId"] = 1000 + n
        current_json.append(content)
    order = draw(st.permutations(range(len(current_json))))
    return [_parse(c) for c in base_json], [_parse(current_json[i]) for i in order]


def view_of(records: Iterable[Record]) -> dict[RecordId, dict[str, Any]]:
    return {r.id: record_to_json(r) for r in records}


def apply(
    view: Mapping[RecordId, Mapping[str, Any]], plan: Iterable[PlannedChange]
) -> dict[RecordId, dict[str, Any]]:
    """Apply planned changes as a client session would (sync §2.2)."""
    out = {rid: dict(content) for rid, content in view.items()}
    for n, change in enumerate(plan):
        if isinstance(change, CreateRecord):
            rid = change.record_id or RecordId(f"minted-{n}")
            assert rid not in out, f"create of existing {rid}"
            out[rid] = {**change.content, "id": rid}
        elif isinstance(change, UpdateRecord):
            assert change.set or change.unset, "an update that changes nothing"
            content = out[change.record_id]
            content.update(change.set)
            for key in change.unset:
                del content[key]
        else:
            del out[change.record_id]
    return out


@settings(max_examples=300, deadline=None)
@given(base_and_current())
def test_a_diff_applied_to_its_base_gives_the_current_records(
    records: tuple[list[Record], list[Record]],
) -> None:
    base, current = records
    diff = diff_against_base(base, current)
    # The diff survives being written and read back as Instant JSON.
    diff = parse_instant_json(instant_json_to_dict(diff))
    assert apply(view_of(base), changes_for_diff(view_of(base), diff)) == view_of(current)


@settings(max_examples=100, deadline=None)
@given(base_and_current())
def test_a_diff_of_the_base_itself_is_empty(records: tuple[list[Record], list[Record]]) -> None:
    base, _ = records
    diff = diff_against_base(base, base)
    assert diff.records == ()
    assert diff.skipped_pdf_object_ids == ()
    assert changes_for_diff(view_of(base), diff) == []


# --- each rule ---------------------------------------------------------------------------


def _note(pdf_object_id: int | None, text: str, rid: str | None = None) -> Annotation:
    content: dict[str, Any] = {
        "v": 2,
        "type": "pspdfkit/note",
        "pageIndex": 0,
        "bbox": [10, 10, 32, 32],
        "text": {"format": "plain", "value": text},
    }
    if pdf_object_id is not None:
        content["pdfObjectId"] = pdf_object_id
        content["id"] = str(pdf_object_id)
    if rid is not None:
        content["id"] = rid
    return parse_record_as(Annotation, content)


BASE = [_note(7, "seven"), _note(8, "eight"), _note(9, "nine")]


def test_unchanged_originals_are_left_out() -> None:
    diff = diff_against_base(BASE, BASE)
    assert diff == InstantDocument(skipped_pdf_object_ids=())


def test_new_records_are_listed_without_skipping_anything() -> None:
    new = _note(None, "new", rid="01HNEW")
    diff = diff_against_base(BASE, [*BASE, new])
    assert diff.annotations == (new,)
    assert diff.skipped_pdf_object_ids == ()


def test_a_changed_original_is_listed_with_its_pdf_object_id_and_skipped() -> None:
    edited = _note(8, "eight, edited")
    diff = diff_against_base(BASE, [BASE[0], edited, BASE[2]])
    assert diff.annotations == (edited,)
    assert diff.annotations[0].pdf_object_id == 8
    assert diff.skipped_pdf_object_ids == (8,)
    assert diff.deleted_pdf_object_ids == frozenset()


def test_a_deleted_original_is_only_skipped() -> None:
    diff = diff_against_base(BASE, [BASE[0], BASE[2]])
    assert diff.records == ()
    assert diff.skipped_pdf_object_ids == (8,)
    assert diff.deleted_pdf_object_ids == frozenset({8})


def test_a_pdf_object_id_the_base_lacks_is_a_new_record() -> None:
    foreign = _note(70, "from another pdf")
    diff = diff_against_base(BASE, [*BASE, foreign])
    assert diff.annotations == (foreign,)
    assert diff.skipped_pdf_object_ids == ()


def test_base_records_without_a_pdf_object_id_are_not_originals() -> None:
    stray = _note(None, "not from the pdf", rid="01HSTRAY")
    diff = diff_against_base([*BASE, stray], BASE)
    assert diff.records == () and diff.skipped_pdf_object_ids == ()


def test_only_the_attachments_listed_images_name_are_carried() -> None:
    image = _parse(
        {
            "v": 2,
            "type": "pspdfkit/image",
            "id": "01HIMG",
            "pageIndex": 0,
            "bbox": [0, 0, 10, 10],
            "imageAttachmentId": "abc",
            "contentType": "image/png",
        }
    )
    stamp = _parse(
        {
            "v": 2,
            "type": "pspdfkit/stamp",
            "id": "01HSTAMP",
            "pageIndex": 0,
            "bbox": [0, 0, 10, 10],
            "stampType": "Custom",
            "imageAttachmentId": "def",
        }
    )
    png = Attachment(b"\x89PNG", "image/png")
    jpeg = Attachment(b"\xff\xd8", "image/jpeg")
    unused = Attachment(b"GIF8", "image/gif")
    diff = diff_against_base(
        BASE, [*BASE, image, stamp], attachments={"abc": png, "def": jpeg, "zzz": unused}
    )
    assert dict(diff.attachments) == {"abc": png, "def": jpeg}


def test_key_changes_are_exactly_the_keys_that_differ() -> None:
    current = {"id": "1", "type": "pspdfkit/note", "a": 1, "b": 2, "gone": 3}
    new = {"id": "other", "type": "pspdfkit/ink", "a": 1, "b": 20, "color": None}
    changes = key_changes(current, new)
    assert changes == KeyChanges({"b": 20, "color": None}, ("gone",))
    assert not key_changes(current, current)


def test_import_updates_changed_originals_and_deletes_skipped_ones() -> None:
    view = view_of(BASE)
    diff = diff_against_base(BASE, [_note(7, "seven, edited"), BASE[2]])
    plan = changes_for_diff(view, diff)
    assert plan == [
        UpdateRecord(
            RecordId("7"), "annotation", {"text": {"format": "plain", "value": "seven, edited"}}
        ),
        DeleteRecord(RecordId("8"), "annotation"),
    ]


def test_import_matches_originals_by_pdf_object_id_before_id() -> None:
    # A layer whose copy of original 7 lives under another id still gets the update.
    view = {RecordId("copy-of-7"): {**record_to_json(BASE[0]), "id": "copy-of-7"}}
    diff = InstantDocument(annotations=(_note(7, "edited"),), skipped_pdf_object_ids=(7, 8))
    plan = changes_for_diff(view, diff)
    assert [type(c) for c in plan] == [UpdateRecord]
    assert plan[0].record_id == "copy-of-7"


def test_import_creates_what_the_layer_lacks_and_skips_deletes_of_nothing() -> None:
    new = _note(None, "new", rid="01HNEW")
    no_id = parse_record_as(
        Annotation, {"v": 2, "type": "pspdfkit/note", "pageIndex": 0, "bbox": [0, 0, 1, 1]}
    )
    diff = InstantDocument(annotations=(new, no_id), skipped_pdf_object_ids=(99,))
    plan = changes_for_diff({}, diff)
    assert plan == [
        CreateRecord(RecordId("01HNEW"), "annotation", record_to_json(new)),
        CreateRecord(None, "annotation", record_to_json(no_id)),
    ]


def test_import_of_an_equal_record_changes_nothing() -> None:
    view = view_of(BASE)
    diff = InstantDocument(annotations=(BASE[1],), skipped_pdf_object_ids=(8,))
    assert changes_for_diff(view, diff) == []
