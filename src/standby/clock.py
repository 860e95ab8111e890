"""Time as Standby stores it: one clock, one text format for every instant it writes.

Every instant that Standby itself records (audit lines, sessions, login failures,
break-the-glass accesses, incidents, probe results, the notification outbox, sync rounds
and census membership, quarantined input, applied migrations, the packets' manifest) is
written by `instant` and read back by `parse_instant`:

    2026-11-29T14:05:09.042117Z

that is `YYYY-MM-DDTHH:MM:SS.ffffffZ`: UTC, always six digits of fraction, always `Z`.
Why this one:

* **Fixed width (27 characters), one zone, one suffix**, so comparing two of these strings
  (SQL `<`, `>=`, `ORDER BY`, `MAX`, Python `<`) gives the same answer as comparing the
  times. Mixed forms do not: `…00.123Z` (milliseconds) sorts *after* `…00.123456Z`
  because `Z` > `4`, and `…+00:00` sorts before `…Z`. The columns are indexed and
  compared as text on both engines, so the text has to carry the order.
* **Microseconds**, because that is what a Python `datetime` holds: `instant` loses
  nothing, and `parse_instant(instant(t)) == t` for every aware `t`. Milliseconds would
  make two events in the same millisecond indistinguishable, and a bound one microsecond
  after an event compare as before it.
* **A valid FHIR `instant` and RFC 3339 timestamp**, so the same text can be shown,
  exported or sent without conversion.

Times that are FHIR *data* are not ours and keep the form their source gave them:
resource bodies, `meta.lastUpdated` (and the replica's `last_updated` column copied from
it), the high-water marks sent to an EHR as `_lastUpdated` / `_since`. Read those with
`standby.fhir.display.parse_instant`, which also accepts dates and partial dates.

This module imports nothing of standby, so every package may use it (docs/time.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

PATTERN = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z"
"""The stored form as a regular expression (for checks; `instant` is what writes it)."""


def now() -> datetime:
    """The time now, as an aware datetime in UTC."""
    return datetime.now(UTC)


def instant(dt: datetime) -> str:
    """`dt` in the one stored form, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC). A naive
    datetime is refused: its zone is unknown, so its instant is too."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"a naive datetime has no instant: {dt!r}")
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@overload
def parse_instant(text: str) -> datetime: ...
@overload
def parse_instant(text: None) -> None: ...
@overload
def parse_instant(text: str | None) -> datetime | None: ...
def parse_instant(text: str | None) -> datetime | None:
    """An aware UTC datetime from the stored form, or from any ISO 8601 instant with a date,
    a time and an offset (`Z` or `±HH:MM`; any number of fraction digits, cut to
    microseconds): what older rows and EHR data hold. None gives None; text that is not
    an instant (no time, no offset, not ISO 8601) raises ValueError."""
    if text is None:
        return None
    s = text.strip()
    if len(s) < 16 or s[10] != "T":
        raise ValueError(f"not an instant (no time of day): {text!r}")
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"not an ISO 8601 instant: {text!r}") from None
    if dt.tzinfo is None:
        raise ValueError(f"not an instant (no offset): {text!r}")
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise ValueError(f"not an instant (out of range in UTC): {text!r}") from None


# The forms Standby wrote before this module, and how each becomes the stored form (SQL
# LIKE patterns; `_` is any one character). All were UTC; only the fraction and the
# suffix differ, so plain text surgery rewrites them on both engines.
_OLD_FORMS = (
    ("____-__-__T__:__:__.______+00:00", "substr({c}, 1, 26) || 'Z'"),  # the monitor
    ("____-__-__T__:__:__.___Z", "substr({c}, 1, 23) || '000Z'"),  # the viewer, the store
    ("____-__-__T__:__:__+00:00", "substr({c}, 1, 19) || '.000000Z'"),
    ("____-__-__T__:__:__Z", "substr({c}, 1, 19) || '.000000Z'"),
)


def rewrite_sql(table: str, *columns: str) -> str:
    """One portable UPDATE (SQLite and PostgreSQL) that rewrites the instants Standby wrote
    in older forms (milliseconds, `+00:00`, no fraction) in `table`'s `columns` into the
    stored form; rows that hold none are not touched, other values are left as they are.
    For schema migrations."""
    sets, old = [], []
    for c in columns:
        old += [f"{c} LIKE '{like}'" for like, _ in _OLD_FORMS]
        cases = " ".join(
            f"WHEN {c} LIKE '{like}' THEN {expr.format(c=c)}" for like, expr in _OLD_FORMS
        )
        sets.append(f"{c} = CASE {cases} ELSE {c} END")
    return f"UPDATE {table} SET {', '.join(sets)} WHERE {' OR '.join(old)}"
