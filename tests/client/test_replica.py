"""The replica both kinds of document share: its subscribers."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from lamina.client.events import Event, SyncStateChanged
from lamina.client.replica import Replica
from lamina.client.store import LocalStore


@pytest.mark.expect_error_log(r"ERROR lamina\.client: event subscriber .* failed")
def test_a_failing_subscriber_is_logged_as_an_error_and_the_others_still_hear(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    replica = Replica(LocalStore.open(tmp_path / "store.sqlite"))
    heard: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("the ui bridge crashed")

    replica.subscribe(broken)
    replica.subscribe(heard.append)
    with caplog.at_level(logging.ERROR, "lamina.client"):
        replica.emit(SyncStateChanged(1))
    assert heard == [SyncStateChanged(1)]
    (record,) = [r for r in caplog.records if r.name == "lamina.client"]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert "the ui bridge crashed" in caplog.text
    replica.store.close()
