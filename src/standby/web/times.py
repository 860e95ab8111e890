"""Time in the viewer: a clock that tests can set, and the short forms clinicians read
("12 min ago", "Sun 29 Nov 14:05"), in the hospital's time zone (the setting `timezone`;
the filters are bound to it in `context.py`). Instants written to the database use
`standby.clock` (docs/time.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo

from standby.fhir.display import wall_clock

Clock = Callable[[], datetime]


def parse(text: str | None) -> datetime | None:
    """For display: any ISO 8601 date-time (UTC when it has no offset); None when not one."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return parse(value)
    return None


def zone_label(tz: tzinfo, at: datetime | None = None) -> str:
    """The zone's abbreviation at `at` (now): "UTC", "EST", "EDT", "CET"."""
    when = (at or datetime.now(UTC)).astimezone(tz)
    return when.tzname() or str(tz)


def shown(value: object, tz: tzinfo = UTC) -> str:
    """`2026-11-29 14:05 EST` in the hospital's zone (or the date alone for a date)."""
    if value is None or value == "":
        return ""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    dt = as_datetime(value)
    if dt is None:
        return str(value)
    local = dt.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or str(tz))


def short(value: object, tz: tzinfo = UTC) -> str:
    """`28 Nov 16:34` in the hospital's zone: for tables where the year is obvious."""
    dt = as_datetime(value)
    return "" if dt is None else wall_clock(dt.astimezone(tz), "%d %b %H:%M")


def clock_time(value: object, tz: tzinfo = UTC) -> str:
    """`14:05`; a time of the hour repeated when the clocks go back carries its zone's
    abbreviation (`01:30 EDT`, `01:30 EST`), here and in `short` and `clock_seconds`."""
    dt = as_datetime(value)
    return "" if dt is None else wall_clock(dt.astimezone(tz))


def clock_seconds(value: object, tz: tzinfo = UTC) -> str:
    dt = as_datetime(value)
    return "" if dt is None else wall_clock(dt.astimezone(tz), "%H:%M:%S")


def ago(seconds: float | None) -> str:
    """`45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`."""
    if seconds is None:
        return "unknown"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"
