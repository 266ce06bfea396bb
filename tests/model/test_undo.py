"""Per-user undo history, headless: one gesture per step, never undoing others' work."""

from __future__ import annotations

import dataclasses

import pytest
from lamina.model.geometry import Rect
from lamina.model.ids import RecordId
from lamina.model.records import Record, RectangleAnnotation
from lamina.model.undo import Create, Delete, UndoError, UndoHistory, Update


class Doc:
    """A dict of records that applies changes, as the client would."""

    def __init__(self) -> None:
        self.records: dict[RecordId, Record] = {}

    def get(self, record_id: RecordId) -> Record | None:
        return self.records.get(record_id)

    def apply(self, changes) -> None:
        for c in changes:
            if isinstance(c, Create):
                self.records[c.record.id] = c.record
            elif isinstance(c, Delete):
                del self.records[c.record.id]
            else:
                self.records[c.after.id] = c.after


def rect(rid: str = "a", color: str = "#000000", x: float = 0) -> RectangleAnnotation:
    return RectangleAnnotation(
        id=RecordId(rid), page_index=0, bbox=Rect(x, 0, 10, 10), stroke_color=color
    )


def test_undo_create_deletes_and_redo_brings_it_back() -> None:
    doc, history = Doc(), UndoHistory()
    r = rect()
    doc.apply([Create(r)])
    history.record(Create(r))
    assert history.undo_label == "create rectangle"
    doc.apply(history.undo(doc.get))
    assert doc.records == {}
    assert history.can_redo
    doc.apply(history.redo(doc.get))
    assert doc.records == {r.id: r}


def test_undo_update_restores_only_my_fields() -> None:
    doc, history = Doc(), UndoHistory()
    base = rect()
    doc.apply([Create(base)])
    moved = dataclasses.replace(base, bbox=Rect(50, 0, 10, 10))
    doc.apply([Update(base, moved)])
    history.record(Update(base, moved))
    # Someone else recolours it meanwhile; undoing my move must keep their colour.
    doc.apply([Update(moved, dataclasses.replace(moved, stroke_color="#ff0000"))])
    doc.apply(history.undo(doc.get))
    now = doc.records[base.id]
    assert isinstance(now, RectangleAnnotation)
    assert now.bbox == base.bbox and now.stroke_color == "#ff0000"


def test_undo_skips_a_step_overtaken_by_others() -> None:
    doc, history = Doc(), UndoHistory()
    first, second = rect("a"), rect("b")
    for r in (first, second):
        doc.apply([Create(r)])
        history.record(Create(r))
    doc.apply([Delete(second)])  # another user deleted my second rectangle
    doc.apply(history.undo(doc.get))
    assert doc.records == {}  # the next step (first rectangle) was undone instead
    assert not history.can_undo


def test_undo_delete_recreates_the_last_version() -> None:
    doc, history = Doc(), UndoHistory()
    r = rect(color="#00ff00")
    doc.apply([Create(r)])
    doc.apply([Delete(r)])
    history.record(Delete(r))
    doc.apply(history.undo(doc.get))
    assert doc.records[r.id] == r


def test_a_group_is_one_step_and_abort_records_nothing() -> None:
    doc, history = Doc(), UndoHistory()
    history.begin("move two")
    for rid in ("a", "b"):
        doc.apply([Create(rect(rid))])
        history.record(Create(rect(rid)))
    history.commit()
    history.begin("cancelled")
    history.record(Create(rect("c")))
    history.abort()
    assert history.undo_label == "move two"
    doc.apply(history.undo(doc.get))
    assert doc.records == {}
    with pytest.raises(UndoError):
        history.commit()
    history.begin("x")
    with pytest.raises(UndoError):
        history.begin("y")


def test_new_change_clears_redo_and_limit_drops_oldest() -> None:
    doc, history = Doc(), UndoHistory(limit=2)
    for rid in ("a", "b", "c"):
        doc.apply([Create(rect(rid))])
        history.record(Create(rect(rid)))
    doc.apply(history.undo(doc.get))
    history.record(Create(rect("d")))
    assert not history.can_redo
    doc.apply(history.undo(doc.get))
    doc.apply(history.undo(doc.get))
    assert not history.can_undo
    assert set(doc.records) == {"a"}  # "a" fell off the two-step history
