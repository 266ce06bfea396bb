"""Record times are ISO 8601 UTC with milliseconds, whatever zone the moment is given in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from lamina.model.timestamps import format_utc_iso, utc_now_iso


def test_a_moment_is_written_in_utc_with_milliseconds() -> None:
    moment = datetime(2026, 3, 1, 10, 30, 0, 125999, tzinfo=timezone(timedelta(hours=1)))
    assert format_utc_iso(moment) == "2026-03-01T09:30:00.125Z"


def test_now_reads_back_as_the_same_instant() -> None:
    text = utc_now_iso()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert abs(parsed - datetime.now(UTC)) < timedelta(minutes=5)
