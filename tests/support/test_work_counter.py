"""The work counter sees work that grows with N grow, and a lookup stay flat."""

from __future__ import annotations

from lamina.model.ids import RecordId
from lamina.sync.outbox import Outbox
from lamina.sync.state import DeleteChange

from tests.support.work_counter import growth, lines_run


def _outbox(n: int) -> Outbox:
    return Outbox(DeleteChange(f"c{i}", RecordId(f"r{i}"), 1) for i in range(n))


def test_building_from_n_changes_grows_tenfold_and_one_lookup_stays_flat() -> None:
    few, many = _outbox(100), _outbox(1000)
    built_few, _ = lines_run(lambda: Outbox(few))
    built_many, _ = lines_run(lambda: Outbox(many))
    assert growth(built_few, built_many) > 8
    found_few, _ = lines_run(lambda: few.of_record(RecordId("r7")))
    found_many, _ = lines_run(lambda: many.of_record(RecordId("r7")))
    assert found_few == found_many > 0


def test_code_outside_lamina_is_not_counted() -> None:
    count, total = lines_run(lambda: sum(i for i in range(1000)))
    assert (count, total) == (0, 499500)
