"""Record times: ISO 8601 in UTC with milliseconds, ``2026-03-01T09:30:00.125Z``.

This is the format records carry (``createdAt``/``updatedAt``, set by the server at commit,
app/sync §2.3) and what the client stamps on its own notes of time. Readers accept any ISO
8601 text (:meth:`datetime.fromisoformat`), so older values with microseconds still read.
"""

from __future__ import annotations

from datetime import UTC, datetime


def format_utc_iso(moment: datetime) -> str:
    """Return ``moment`` as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC (a naive time is local)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now_iso() -> str:
    """Return the current time as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (see :func:`format_utc_iso`)."""
    return format_utc_iso(datetime.now(UTC))
