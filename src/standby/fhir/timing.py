"""Dose schedules: expanding a FHIR `Timing` into the clock times of the next doses.

https://hl7.org/fhir/R4/datatypes.html#Timing

Rules, in order (the first that applies decides):

1. `repeat.timeOfDay` (e.g. ["08:00:00", "20:00:00"]): those times every day (every
   `period` days when `periodUnit` is `d` and `period` > 1).
2. `repeat.when` (event codes MORN, AFT, EVE, NIGHT, HS, WAKE, C/CM/CD/CV, AC*/PC*): the
   hospital's standard time for each event (table `WHEN_TIMES`).
3. `repeat.frequency` per `period` `periodUnit`:
   - per day (`d`, period 1): the hospital's standard administration times for that many
     doses a day (`standard`, the setting `mar_standard_times`; by default `DAILY_TIMES`:
     1 → 09:00; 2 → 09:00, 21:00; 3 → 09:00, 13:00, 17:00 ...);
   - every N hours (`h`, e.g. q6h): N real hours apart, counted from the order's stated
     first dose (`boundsPeriod.start`, else `event[0]`) while the doses given keep to it;
     from the **last dose given** (`last_given`, the caller's) when the order states no
     start or that dose was given more than `RETIME_AFTER` off its time (the series was
     moved); else (derived) from local midnight;
   - every N days or weeks: at the standard daily time on the days counted from the last
     dose given, else `boundsPeriod.start`, `event[0]`, the day the order was written.
4. `code` alone (v3 GTSAbbreviation: QD, BID, TID, QID, Q4H, Q6H, Q8H, Q12H, QHS, AM, PM).
5. `event` alone: those instants, as they are.

`boundsPeriod` limits the doses (start inclusive, end exclusive); `count` is not
enforced (the MAR shows what the order says; the pharmacist ends the order). A Timing
with none of the above is not a schedule (shown as "as directed", never invented).
Every schedule is computed in the hospital's time zone (`tz`, the setting `timezone`),
whatever offset the EHR's timestamps carry (an `authoredOn` in `Z` included). Two kinds
of schedule behave differently on the nights the clocks change:

- **Clock-time doses** (`timeOfDay`, `when`, BID/TID/daily, every N days) keep the wall
  clock: 09:00 is 09:00 local every day. On the night a time is repeated (fall back) the
  dose is given once, at its first occurrence (01:30 EDT, not 01:30 EST); on the night a
  time does not exist (spring forward, 02:30) the dose falls at the instant it would have
  been on the old offset (03:30 EDT), and `skipped_wall_time` says so for display.
- **Interval doses** (qNh) keep real intervals: q8h is 8 real hours apart across the
  change (06:00 EDT → 13:00 EST...), so no dose is lost or doubled.

Times the EHR states (`timeOfDay`, `event`, a qNh series from a dose given or from the
order's stated start) are not marked; times Standby chose (standard times, `when`
times, qNh from midnight) are: `derived_from` names the frequency they come from.

Arithmetic and comparisons are done on instants (UTC), never on wall clocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from standby.fhir.display import concept_text, parse_instant

WHEN_TIMES: dict[str, tuple[int, int]] = {
    "WAKE": (6, 0),
    "MORN": (8, 0),
    "MORN.early": (6, 0),
    "MORN.late": (10, 0),
    "NOON": (12, 0),
    "AFT": (14, 0),
    "AFT.early": (13, 0),
    "AFT.late": (16, 0),
    "EVE": (18, 0),
    "EVE.early": (17, 0),
    "EVE.late": (20, 0),
    "NIGHT": (22, 0),
    "HS": (21, 0),
    "PHS": (21, 0),
    "C": (8, 0),
    "CM": (8, 0),
    "CD": (12, 0),
    "CV": (18, 0),
    "AC": (7, 30),
    "ACM": (7, 30),
    "ACD": (11, 30),
    "ACV": (17, 30),
    "PC": (8, 30),
    "PCM": (8, 30),
    "PCD": (12, 30),
    "PCV": (18, 30),
}

DAILY_TIMES: dict[int, list[tuple[int, int]]] = {
    1: [(9, 0)],
    2: [(9, 0), (21, 0)],
    3: [(9, 0), (13, 0), (17, 0)],
    4: [(9, 0), (13, 0), (17, 0), (21, 0)],
}

CODE_REPEAT: dict[str, dict[str, Any]] = {
    "QD": {"frequency": 1, "period": 1, "periodUnit": "d"},
    "QOD": {"frequency": 1, "period": 2, "periodUnit": "d"},
    "BID": {"frequency": 2, "period": 1, "periodUnit": "d"},
    "TID": {"frequency": 3, "period": 1, "periodUnit": "d"},
    "QID": {"frequency": 4, "period": 1, "periodUnit": "d"},
    "Q1H": {"frequency": 1, "period": 1, "periodUnit": "h"},
    "Q2H": {"frequency": 1, "period": 2, "periodUnit": "h"},
    "Q3H": {"frequency": 1, "period": 3, "periodUnit": "h"},
    "Q4H": {"frequency": 1, "period": 4, "periodUnit": "h"},
    "Q6H": {"frequency": 1, "period": 6, "periodUnit": "h"},
    "Q8H": {"frequency": 1, "period": 8, "periodUnit": "h"},
    "Q12H": {"frequency": 1, "period": 12, "periodUnit": "h"},
    "QHS": {"when": ["HS"]},
    "AM": {"when": ["MORN"]},
    "PM": {"when": ["EVE"]},
    "WK": {"frequency": 1, "period": 1, "periodUnit": "wk"},
}

# a dose given further than this from its qNh time moves the series (the MAR's window)
RETIME_AFTER = timedelta(minutes=60)

# doses a day → their clock times (hour, minute): the setting `mar_standard_times`
StandardTimes = Mapping[int, Sequence[tuple[int, int]]]

UNIT_HOURS = {"s": 1 / 3600, "min": 1 / 60, "h": 1.0, "d": 24.0, "wk": 168.0}


@dataclass(frozen=True, slots=True)
class Schedule:
    """What a Timing means: scheduled (with times) or not."""

    scheduled: bool
    text: str  # "q6h", "BID (09:00, 21:00)", "as directed"


def _repeat(timing: Mapping[str, Any]) -> dict[str, Any]:
    rep = dict(timing.get("repeat") or {})
    if not any(k in rep for k in ("timeOfDay", "when", "frequency", "period")):
        for c in (timing.get("code") or {}).get("coding") or []:
            code = str(c.get("code") or "").upper()
            if code in CODE_REPEAT:
                rep.update(CODE_REPEAT[code])
                break
    return rep


def repeat_of(timing: Mapping[str, Any] | None) -> dict[str, Any]:
    """The timing's `repeat`, with a `code` alone (BID, Q4H) expanded into one."""
    return _repeat(timing) if timing else {}


def _hm(text: str) -> tuple[int, int] | None:
    try:
        t = time.fromisoformat(text)
    except ValueError:
        return None
    return (t.hour, t.minute)


def wall_instant(day: date, hour: int, minute: int, tz: tzinfo) -> datetime:
    """The instant (UTC) of the wall-clock time `hour:minute` on `day` in `tz`: the first
    occurrence of a repeated time; for a time that does not exist (skipped when the clocks
    go forward), the instant it would have been on the old offset (02:30 → 03:30 EDT)."""
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)  # fold=0
    return local.astimezone(UTC)


def skipped_wall_time(t: datetime, planned: Sequence[tuple[int, int]]) -> str:
    """The planned wall-clock time ("02:30") of a clock-time dose `t` (aware, in the
    hospital's zone) that falls elsewhere because that time did not exist on its day (the
    clocks went forward: 02:30 is 03:30 EDT); "" for a dose at its planned time."""
    if t.tzinfo is None or (t.hour, t.minute) in planned:
        return ""
    for h, m in planned:
        if wall_instant(t.date(), h, m, t.tzinfo) == t.astimezone(UTC):
            return f"{h:02d}:{m:02d}"
    return ""


def _daily(
    day_times: list[tuple[int, int]],
    start: datetime,
    end: datetime,
    every_days: int,
    anchor: datetime | None,
    tz: tzinfo,
) -> list[datetime]:
    out = set()
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    anchor_day = anchor.astimezone(tz).date() if anchor else None
    while day <= last:
        if every_days <= 1 or anchor_day is None or (day - anchor_day).days % every_days == 0:
            for h, m in day_times:
                t = wall_instant(day, h, m, tz)
                if start <= t < end:
                    out.add(t)
        day += timedelta(days=1)
    return sorted(out)


def _table(standard: StandardTimes | None) -> StandardTimes:
    return DAILY_TIMES if standard is None else {**DAILY_TIMES, **standard}


def _kind(rep: Mapping[str, Any], table: StandardTimes) -> str:
    """Which rule decides the times: "times" (timeOfDay), "when", "daily" (N a day at
    standard times), "hours" (every N hours), "days" (every N days), "continuous" (more
    often than every 15 minutes: not doses), "" (no repeat: `event` or no schedule)."""
    if any(_hm(str(x)) for x in rep.get("timeOfDay") or []):
        return "times"
    if any(w in WHEN_TIMES for w in rep.get("when") or []):
        return "when"
    if "frequency" not in rep and "period" not in rep:
        return ""
    period = float(rep.get("period") or 1)
    unit = str(rep.get("periodUnit") or "d")
    freq = int(rep.get("frequency") or 1)
    if unit == "d" and period == 1 and freq in table:
        return "daily"
    hours = period * UNIT_HOURS.get(unit, 24.0) / max(freq, 1)
    if hours < 0.25:
        return "continuous"
    return "days" if hours >= 24 else "hours"


def _stated_start(timing: Mapping[str, Any], rep: Mapping[str, Any]) -> datetime | None:
    """The order's first dose as the EHR states it: `boundsPeriod.start`, else the
    timing's first `event` (an instant, not a bare date)."""
    start = (rep.get("boundsPeriod") or {}).get("start")
    for text in [start, *(timing.get("event") or [])[:1]]:
        if text and "T" in str(text):
            t = parse_instant(text)
            if t is not None and t.tzinfo is not None:
                return t.astimezone(UTC)
    return None


def _series_start(
    stated: datetime | None, last_given: datetime | None, interval: timedelta
) -> datetime | None:
    """Where a qNh (or every-N-days) series is counted from: the order's stated first dose
    while the doses given keep to it (each within `RETIME_AFTER` of its time), else the
    last dose given (the series was moved: late, early, or never stated)."""
    if last_given is None:
        return stated
    given = last_given.astimezone(UTC)
    if stated is None:
        return given
    off = (given - stated) % interval
    return stated if min(off, interval - off) <= RETIME_AFTER else given


def planned_wall_times(
    timing: Mapping[str, Any] | None, standard: StandardTimes | None = None
) -> list[tuple[int, int]]:
    """The wall-clock times (hour, minute) of a clock-time schedule ([] for qNh, events or
    no schedule): what a dose time that was moved off a missing hour is compared with."""
    if not timing:
        return []
    rep = _repeat(timing)
    table = _table(standard)
    kind = _kind(rep, table)
    if kind == "times":
        return sorted({hm for hm in (_hm(str(x)) for x in rep.get("timeOfDay") or []) if hm})
    if kind == "when":
        return sorted({WHEN_TIMES[w] for w in rep.get("when") or [] if w in WHEN_TIMES})
    if kind == "daily":
        freq = int(rep.get("frequency") or 1)
        return list(table[freq])
    if kind == "days":
        return list(table[1][:1])
    return []


def dose_times(
    timing: Mapping[str, Any] | None,
    start: datetime,
    end: datetime,
    tz: tzinfo | None = None,
    *,
    standard: StandardTimes | None = None,
    last_given: datetime | None = None,
    written: datetime | None = None,
) -> list[datetime]:
    """Every scheduled dose time in [start, end), sorted, in the hospital's zone `tz` (by
    default the zone of `start`). [] for a Timing that is not a schedule (PRN orders are
    decided by the caller: `asNeeded` is not part of Timing). `standard`: the hospital's
    standard times (doses a day → clock times; default `DAILY_TIMES`); `last_given`: the
    last dose given of the order (qNh and every-N-days are counted from it); `written`:
    when the order was written (every N days, when nothing else says which days)."""
    if not timing:
        return []
    zone = tz or start.tzinfo or UTC
    instants = _instants(timing, start, end, zone, _table(standard), last_given, written)
    return [t.astimezone(zone) for t in instants]


def _instants(
    timing: Mapping[str, Any],
    start: datetime,
    end: datetime,
    tz: tzinfo,
    table: StandardTimes,
    last_given: datetime | None,
    written: datetime | None,
) -> list[datetime]:
    rep = _repeat(timing)
    bounds = rep.get("boundsPeriod") or {}
    b_start = parse_instant(bounds.get("start"))
    b_end = parse_instant(bounds.get("end"))
    b_start = b_start.astimezone(UTC) if b_start else None
    lo = start.astimezone(UTC)
    hi = end.astimezone(UTC)
    lo = max(lo, b_start) if b_start else lo
    hi = min(hi, b_end.astimezone(UTC)) if b_end else hi
    if lo >= hi:
        return []
    period = float(rep.get("period") or 1)
    unit = str(rep.get("periodUnit") or "d")
    freq = int(rep.get("frequency") or 1)
    kind = _kind(rep, table)
    if kind == "times":
        tod = sorted({hm for hm in (_hm(str(x)) for x in rep.get("timeOfDay") or []) if hm})
        every = int(period) if unit == "d" and period >= 1 else 1
        return _daily(tod, lo, hi, every, b_start, tz)
    if kind == "when":
        when = sorted({WHEN_TIMES[w] for w in rep.get("when") or [] if w in WHEN_TIMES})
        return _daily(when, lo, hi, 1, None, tz)
    if kind == "":
        events = [parse_instant(e) for e in timing.get("event") or []]
        return sorted(u for u in (e.astimezone(UTC) for e in events if e) if lo <= u < hi)
    if kind == "daily":
        return _daily(list(table[freq]), lo, hi, 1, None, tz)
    if kind == "continuous":
        return []  # continuous or nonsense: not a list of doses
    interval = timedelta(hours=period * UNIT_HOURS.get(unit, 24.0) / max(freq, 1))
    anchor = _series_start(_stated_start(timing, rep), last_given, interval)
    if kind == "days":
        days = max(1, round(interval / timedelta(days=1)))
        return _daily(list(table[1][:1]), lo, hi, days, anchor or written or lo, tz)
    if anchor is None:  # nothing stated: Standby's choice, marked (`derived_from`)
        anchor = wall_instant(lo.astimezone(tz).date(), 0, 0, tz)
    t = anchor + ((lo - anchor) // interval) * interval  # real time, never the wall clock
    out = []
    while t < hi:
        if t >= lo:
            out.append(t)
        t += interval
    return out


def describe(timing: Mapping[str, Any] | None) -> Schedule:
    """Frequency as a clinician writes it ("q6h", "BID", "daily", "at 08:00, 20:00")."""
    if not timing:
        return Schedule(False, "as directed")
    code = concept_text(timing.get("code"))
    rep = _repeat(timing)
    tod = [str(x)[:5] for x in rep.get("timeOfDay") or []]
    if tod:
        return Schedule(True, f"{code + ' ' if code else ''}at {', '.join(tod)}")
    if rep.get("when"):
        return Schedule(True, code or ", ".join(str(w) for w in rep["when"]))
    if "frequency" not in rep and "period" not in rep:
        return Schedule(bool(timing.get("event")), code or "as directed")
    freq = int(rep.get("frequency") or 1)
    period = float(rep.get("period") or 1)
    unit = str(rep.get("periodUnit") or "d")
    p = int(period) if period.is_integer() else period
    if code:
        return Schedule(True, code)
    if unit == "d" and p == 1:
        return Schedule(True, {1: "daily", 2: "BID", 3: "TID", 4: "QID"}.get(freq, f"{freq}×/day"))
    if freq == 1:
        names = {"h": "h", "d": "d", "wk": "wk", "min": "min"}
        return Schedule(True, f"q{p}{names.get(unit, unit)}")
    return Schedule(True, f"{freq}× every {p} {unit}")


def derived_from(
    timing: Mapping[str, Any] | None,
    standard: StandardTimes | None = None,
    *,
    given: bool = False,
) -> str:
    """What Standby worked the clock times out from when the order does not state them
    ("q8h", "BID"); "" when the EHR states them (`timeOfDay`, `event`, a qNh series
    counted from a dose given — `given` — or from the order's stated start) or when the
    Timing is not a schedule. Standard times (BID 09:00/21:00, MORN 08:00, every N days at
    09:00) and qNh from midnight are the hospital's usual times, not necessarily this
    order's: the MAR says so ("derived from q8h — check the order")."""
    if not timing:
        return ""
    rep = _repeat(timing)
    kind = _kind(rep, _table(standard))
    if kind in ("times", "", "continuous"):
        return ""
    if kind == "hours" and (given or _stated_start(timing, rep) is not None):
        return ""
    return describe(timing).text


def next_after(times: list[datetime], t: datetime) -> datetime | None:
    for x in times:
        if x.astimezone(UTC) >= t.astimezone(UTC):
            return x
    return None
