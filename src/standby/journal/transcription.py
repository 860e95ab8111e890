"""Transcribing the paper downtime forms (pure: no I/O; docs/journal.md#transcription-from-paper).

A clerk keys what clinicians wrote on the packets' paper forms (the vitals flowsheet, the
MAR, the notes) after the fact: each row becomes an entry with the time written on paper,
the clinician who wrote it as its author, `capture=transcribed` and the clerk as
`transcribed_by`. A sheet is keyed as many rows at once; each row is checked on its own
(`make_entry`: impossible values refused, unlikely ones asked to be confirmed), so a bad
row is shown back with its reason while the good rows are saved.

Here: the rows of a submitted form (`rows`), the time written on paper (`paper_time`), a
flowsheet row's measurements (`flowsheet_payload`), who wrote a row (`Author`,
`author_of`), and when transcription is open (`window`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from standby.journal.entries import VITALS, EntryError

# After a downtime has ended, its paper may still be transcribed for this long, unless
# back-entry has started filing it (then what is on paper goes into the EHR directly).
AFTER_END = timedelta(hours=72)
# A row may be timed this long before the outage began (paper started before the
# declaration); earlier than that it is not this downtime's paper.
BEFORE_START = timedelta(hours=1)
# fields that are choices with a default, not something written on the row
_CHOICES = frozenset({"by", "confirmed", "order", "status", "sched", "note_type"})
OTHER = "other"  # the "by" choice for the clinician without an account, named on the sheet


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a row on paper: an account (`username`), or a clinician without one
    (`username` empty, name and role as typed)."""

    username: str
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a keyed sheet: its number on the page, what was typed, and the UUID its
    entry will have (kept when the row is shown back, so a row is saved once)."""

    n: int
    values: dict[str, str]
    entry_id: str
    error: EntryError | None = None
    confirm: bool = False  # an unlikely value: the row asks to be confirmed

    @property
    def blank(self) -> bool:
        return not any(v.strip() for k, v in self.values.items() if k not in _CHOICES)


@dataclass(frozen=True, slots=True)
class Window:
    """Whether paper may be transcribed now: `drill` for a drill's paper; `start`/`end`
    bound the times a row may carry (`end` None: the downtime goes on)."""

    open: bool
    drill: bool = False
    reason: str = ""
    start: datetime | None = None
    end: datetime | None = None
    rule: str = field(default="")


def window(
    *,
    declared_at: datetime | None,
    outage_started_at: datetime | None,
    ended_at: datetime | None,
    drill: bool,
    now: datetime,
    back_entry_started_at: datetime | None = None,
) -> Window:
    """When paper may be transcribed, from the latest downtime (None: there was none):
    during it (a drill's paper as drill entries), and after a real downtime ended for
    `AFTER_END`, until back-entry starts filing it."""
    if declared_at is None:
        return Window(False, reason="There has been no declared EHR downtime to transcribe.")
    start = min(declared_at, outage_started_at or declared_at) - BEFORE_START
    if ended_at is None:
        return Window(True, drill=drill, start=start)
    if drill:
        return Window(False, reason="The drill has ended: its paper is not transcribed.")
    if back_entry_started_at is not None and back_entry_started_at >= ended_at:
        return Window(
            False,
            reason="Back-entry of this downtime has started: enter the remaining paper "
            "directly in the EHR, marked as late entries.",
        )
    if now - ended_at > AFTER_END:
        hours = int(AFTER_END.total_seconds() // 3600)
        return Window(
            False,
            reason=f"The downtime ended more than {hours} hours ago: enter its paper "
            "directly in the EHR, marked as late entries.",
        )
    return Window(True, drill=False, start=start, end=ended_at)


def rows(form: Mapping[str, str], names: Sequence[str], limit: int = 60) -> list[Row]:
    """The rows of a submitted sheet: fields `r{n}_{name}` for n in 0..limit-1 (and
    `r{n}_id`, the row's entry UUID; a missing or broken one gets a new UUID)."""
    out = []
    for n in range(limit):
        values = {k: form.get(f"r{n}_{k}", "") for k in names}
        if not any(f"r{n}_{k}" in form for k in names):
            continue
        try:
            entry_id = str(uuid.UUID(form.get(f"r{n}_id", "")))
        except ValueError:
            entry_id = str(uuid.uuid4())
        out.append(Row(n, values, entry_id))
    return out


def blank_rows(count: int, start: int = 0, **values: str) -> list[Row]:
    return [Row(start + k, dict(values), str(uuid.uuid4())) for k in range(count)]


_HHMM = re.compile(r"^(\d{1,2}):?(\d{2})$")


def paper_time(text: str, day: date, zone: tzinfo) -> datetime:
    """The time written on paper: "02:10", "0210" or "2:10" on the sheet's `day`, or a
    date and time ("2026-11-30 02:10"), in the hospital's zone."""
    text = text.strip()
    if not text:
        raise EntryError("time", "is required: the time written on the paper")
    m = _HHMM.match(text)
    if m:
        hour, minute = int(m[1]), int(m[2])
        if hour > 23 or minute > 59:
            raise EntryError("time", f"{text} is not a time of day (00:00–23:59)")
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    try:
        t = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise EntryError(
            "time", f"{text!r} is not a time: write 02:10, or 2026-11-30 02:10"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=zone)


def within(w: Window, t: datetime) -> None:
    """Refuse a time outside the downtime being transcribed."""
    if w.start is not None and t < w.start:
        raise EntryError("time", "is before this downtime began: check the date")
    if w.end is not None and t > w.end:
        raise EntryError("time", "is after this downtime ended: check the date")


def _number(name: str, text: str) -> float | int | None:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise EntryError(name, f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise EntryError(name, f"{text!r} is not a number")
    return int(value) if value.is_integer() and "." not in text else value


# the flowsheet's columns, as on the paper form (reports/forms.py): key, heading
FLOWSHEET = (
    ("bp", "BP (mmHg)"),
    ("heart_rate", "HR (/min)"),
    ("resp_rate", "RR (/min)"),
    ("temperature_c", "Temp (°C)"),
    ("spo2", "SpO2 (%)"),
    ("pain", "Pain (0–10)"),
)


def flowsheet_payload(values: Mapping[str, str]) -> dict[str, Any]:
    """A flowsheet row's measurements as a vitals payload ("124/76" → systolic and
    diastolic); `make_entry` checks them."""
    payload: dict[str, Any] = {}
    bp = values.get("bp", "").strip()
    if bp:
        parts = bp.replace(" ", "").split("/")
        if len(parts) != 2 or not all(parts):
            raise EntryError(
                "bp", f"{bp!r}: write the blood pressure as systolic/diastolic, 124/76"
            )
        payload["systolic"] = _number("systolic", parts[0])
        payload["diastolic"] = _number("diastolic", parts[1])
    for key, _ in FLOWSHEET[1:]:
        v = _number(key, values.get(key, ""))
        if v is not None:
            payload[key] = v
    if values.get("confirmed") == "yes":
        payload["confirmed"] = True
    assert set(payload) <= {*VITALS, "confirmed"}
    return payload


def author_of(
    choice: str, default: str, accounts: Mapping[str, Author], other: Author | None
) -> Author:
    """Who wrote a row: its own choice, else the sheet's; an account's username, or
    `OTHER` for the clinician without an account named on the sheet."""
    chosen = choice.strip() or default.strip()
    if not chosen:
        raise EntryError("by", "who wrote it: choose the clinician whose initials are on the row")
    if chosen == OTHER:
        if other is None:
            raise EntryError("by", "name the clinician without an account (name and role) above")
        return other
    if chosen not in accounts:
        raise EntryError("by", f"{chosen!r} is not a clinician's account here")
    return accounts[chosen]
