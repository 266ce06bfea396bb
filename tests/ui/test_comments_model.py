"""The Comments model: page order, comments under their annotation, one change = its rows.

Checked against a plain sorted list after every step of random edits, with Qt's own model
tester watching every signal, and counting what each step reported: a change never resets
the model or lays it out again, and touches only the rows of the records it names.
"""

from __future__ import annotations

import random

import pytest
from lamina.model.geometry import Rect
from lamina.model.records import Annotation, Comment, NoteAnnotation, Text
from lamina.ui.comments_model import COMMENT_PREFIX, CommentRow, CommentsModel, page_order
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QAbstractItemModelTester


class Log:
    """The model's structure signals, as (kind, first, last) with rows counted."""

    def __init__(self, model: CommentsModel) -> None:
        self.events: list[tuple[str, int, int]] = []
        model.rowsInserted.connect(lambda _p, a, b: self.events.append(("inserted", a, b)))
        model.rowsRemoved.connect(lambda _p, a, b: self.events.append(("removed", a, b)))
        model.rowsMoved.connect(lambda _p, a, b, _d, to: self.events.append(("moved", a, b)))
        model.dataChanged.connect(
            lambda a, b, *_: self.events.append(("changed", a.row(), b.row()))
        )
        model.modelReset.connect(lambda: self.events.append(("reset", 0, 0)))
        model.layoutChanged.connect(lambda *_: self.events.append(("layout", 0, 0)))

    def take(self) -> list[tuple[str, int, int]]:
        out, self.events = self.events, []
        return out

    def rows_touched(self) -> int:
        return sum(b - a + 1 for kind, a, b in self.take() if kind != "reset")


def note(rid: str, page: int, top: float, left: float = 10.0, who: str = "ann") -> Annotation:
    return NoteAnnotation(
        id=rid, page_index=page, bbox=Rect(left, top, 20, 20), text=Text(rid), creator_name=who
    )


def comment(rid: str, root: str, text: str) -> Comment:
    return Comment(id=rid, root_id=root, page_index=0, text=Text(text), creator_name="bo")


def row(annotation: Annotation, comments: list[Comment] = (), layer: str = "mine") -> CommentRow:  # type: ignore[assignment]
    return (annotation, annotation.creator_name or "", layer, list(comments))


def shown(model: CommentsModel) -> list[str]:
    return [
        str(model.data(model.index(r, 0), Qt.ItemDataRole.UserRole))
        for r in range(model.rowCount())
    ]


def test_rows_in_page_order_with_comments_below_and_labels_made_when_asked(qapp: object) -> None:
    model = CommentsModel()
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    b = note("b", page=1, top=10)
    a = note("a", page=0, top=500)
    c = note("c", page=0, top=100)
    model.reset([row(b), row(a, [comment("a1", "a", "why?")]), row(c)])
    assert shown(model) == ["c", "a", "a1", "b"]
    assert model.data(model.index(0, 0)) == "p. 1 \u00b7 Note: c"
    assert model.data(model.index(2, 0)) == COMMENT_PREFIX + "why?"
    assert model.data(model.index(2, 1)) == "bo"
    assert model.row_of("a1") == 2 and model.id_at(3) == "b"
    assert model.ids() == ["c", "a", "b"]


def test_a_move_on_the_page_moves_its_rows_and_keeps_the_pick(qapp: object) -> None:
    from PySide6.QtWidgets import QTableView

    model = CommentsModel()
    view = QTableView()
    view.setModel(model)
    rows = [row(note(f"n{i}", page=0, top=100.0 * i)) for i in range(5)]
    rows[2] = row(rows[2][0], [comment("k", "n2", "first"), comment("l", "n2", "second")])
    model.reset(rows)
    view.setCurrentIndex(model.index(model.row_of("n2") or 0, 0))
    log = Log(model)
    moved = note("n2", page=0, top=450.0)  # below n4 now
    model.put([row(moved, rows[2][3])])
    assert shown(model) == ["n0", "n1", "n3", "n4", "n2", "k", "l"]
    kinds = [kind for kind, _a, _b in log.take()]
    assert kinds == ["moved", "changed"]  # never removed and inserted again
    assert model.id_at(view.currentIndex().row()) == "n2"  # the pick went with it


def test_filters_show_only_their_rows_and_a_change_that_leaves_the_filter_hides_it(
    qapp: object,
) -> None:
    model = CommentsModel()
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    model.reset([row(note("a", 0, 10, who="ann")), row(note("b", 0, 20, who="bo"))])
    assert model.authors() == ["ann", "bo"]
    model.set_filter("bo", None)
    assert shown(model) == ["b"]
    model.put([row(note("a", 0, 30, who="bo"))])  # now by bo: shown where its page puts it
    assert shown(model) == ["b", "a"]
    model.put([row(note("b", 0, 20, who="ann"))])
    assert shown(model) == ["a"]
    assert model.authors() == ["ann", "bo"]
    model.set_filter(None, None)
    assert shown(model) == ["b", "a"]
    assert model.ids() == ["b", "a"] and len(model) == 2


@pytest.mark.parametrize("seed", range(6))
def test_random_edits_match_a_sorted_list_and_touch_only_their_rows(
    qapp: object, seed: int
) -> None:
    rng = random.Random(seed)
    model = CommentsModel()
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    live: dict[str, tuple[Annotation, list[Comment]]] = {}
    first_seen: dict[str, int] = {}

    def expected() -> list[str]:
        out: list[str] = []
        order = sorted(live, key=lambda rid: (*page_order(live[rid][0]), first_seen[rid]))
        for rid in order:
            out.append(rid)
            out.extend(c.id for c in live[rid][1])
        return out

    def new_annotation(rid: str) -> Annotation:
        first_seen.setdefault(rid, len(first_seen))
        return note(rid, rng.randrange(3), float(rng.randrange(0, 400, 50)), rng.choice([5, 9]))

    start = [f"s{i}" for i in range(30)]
    for rid in start:
        live[rid] = (new_annotation(rid), [])
    model.reset(row(a, c) for a, c in live.values())
    assert shown(model) == expected()
    log = Log(model)
    for step in range(120):
        action = rng.choice(["add", "move", "edit", "delete", "reply", "unreply"])
        ids = sorted(live)
        if action == "add" or not ids:
            rid = f"n{step}"
            live[rid] = (new_annotation(rid), [])
            model.put([row(*live[rid])])
            size = 1
        elif action == "delete":
            rid = rng.choice(ids)
            size = 1 + len(live.pop(rid)[1])
            model.remove([rid])
        elif action in ("reply", "unreply"):
            rid = rng.choice(ids)
            annotation, comments = live[rid]
            if action == "reply":
                comments = [*comments, comment(f"c{step}", rid, f"reply {step}")]
            else:
                comments = comments[1:]
            size = 1 + max(len(comments), len(live[rid][1]))
            live[rid] = (annotation, comments)
            model.set_thread(rid, comments)
        else:
            rid = rng.choice(ids)
            annotation, comments = live[rid]
            if action == "move":
                moved = new_annotation(rid)
                annotation = note(rid, moved.page_index, moved.bbox.top, moved.bbox.left)
            else:
                annotation = note(
                    rid,
                    annotation.page_index,
                    annotation.bbox.top,
                    annotation.bbox.left,
                    who="edited",
                )
            live[rid] = (annotation, comments)
            model.put([row(annotation, comments)])
            size = 1 + len(comments)
        assert shown(model) == expected(), (step, action, rid)
        events = log.events
        assert not [e for e in events if e[0] in ("reset", "layout")], events
        # Only the rows of the record named (a move reports them moved and changed).
        assert log.rows_touched() <= 2 * size + 1, (step, action)
    assert model.rowCount(QModelIndex()) == len(expected())


def test_a_role_the_model_does_not_answer_costs_no_lookup(qapp: object) -> None:
    # A view asks each visible cell for a dozen roles on every repaint (after each edit):
    # those the model never answers return at once, without finding the row.
    from tests.support.work_counter import lines_run

    model = CommentsModel()
    model.reset([row(note(f"n{i}", page=0, top=10.0 * i)) for i in range(20)])
    index = model.index(5, 0)
    unanswered, value = lines_run(lambda: model.data(index, Qt.ItemDataRole.FontRole))
    answered, label = lines_run(lambda: model.data(index, Qt.ItemDataRole.DisplayRole))
    assert value is None and label == "p. 1 \u00b7 Note: n5"
    assert unanswered <= 2 < answered
