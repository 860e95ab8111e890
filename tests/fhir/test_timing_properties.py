"""Property-based: random orders and a random `now` over two years in several zones. Over
48 real hours no scheduled dose is lost or doubled, qNh doses are N real hours apart,
clock-time doses are at that local time every day (or, on the night it does not exist,
where it falls, marked), and due/overdue follow real elapsed time."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from standby.fhir.mar import WINDOW, medication_administration_record
from standby.fhir.timing import (
    DAILY_TIMES,
    derived_from,
    dose_times,
    planned_wall_times,
    skipped_wall_time,
    wall_instant,
)

ZONES = [
    "America/New_York",
    "America/Chicago",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
    "UTC",
]
FEW = settings(max_examples=60, deadline=None)
HOURS = timedelta(hours=48)

zones = st.sampled_from(ZONES).map(ZoneInfo)
# any minute of 2026 and 2027, as an instant
instants = st.integers(0, 2 * 365 * 24 * 60 - 1).map(
    lambda m: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=m)
)
clock_times = st.lists(
    st.tuples(st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
    min_size=1,
    max_size=4,
    unique=True,
)


def _utc(times: list[datetime]) -> list[datetime]:
    return [t.astimezone(UTC) for t in times]


@FEW
@given(zones, instants, st.sampled_from([1, 2, 3, 4, 6, 8, 12]))
def test_qnh_doses_are_n_real_hours_apart_none_lost_or_doubled(tz, now, n) -> None:
    timing = {"repeat": {"frequency": 1, "period": n, "periodUnit": "h"}}
    times = _utc(dose_times(timing, now.astimezone(tz), now + HOURS, tz))
    assert len(times) == 48 // n
    assert all(b - a == timedelta(hours=n) for a, b in itertools.pairwise(times))
    assert all(now <= t < now + HOURS for t in times)


def _check_clock_times(tz: ZoneInfo, now: datetime, timing: dict[str, Any]) -> None:
    planned = planned_wall_times(timing)
    got = dose_times(timing, now.astimezone(tz), now + HOURS, tz)
    assert len(set(_utc(got))) == len(got)  # none doubled
    expected = set()
    day = now.astimezone(tz).date() - timedelta(days=1)
    while day <= (now + HOURS).astimezone(tz).date():
        for h, m in planned:
            t = wall_instant(day, h, m, tz)
            if now <= t < now + HOURS:
                expected.add(t)
        day += timedelta(days=1)
    assert set(_utc(got)) == expected  # none lost: each planned time once a day
    for t in got:
        if (t.hour, t.minute) not in planned:  # only a time that did not exist that day
            was = skipped_wall_time(t, planned)
            assert was, t
            h, m = (int(x) for x in was.split(":"))
            local = datetime(t.year, t.month, t.day, h, m, tzinfo=tz)
            assert local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local.replace(
                tzinfo=None
            )


@FEW
@given(zones, instants, clock_times)
def test_clock_time_doses_are_at_that_local_time_every_day(tz, now, hm) -> None:
    timing = {"repeat": {"timeOfDay": [f"{h:02d}:{m:02d}:00" for h, m in hm]}}
    _check_clock_times(tz, now, timing)


@FEW
@given(zones, instants, st.sampled_from(sorted(DAILY_TIMES)))
def test_n_times_daily_doses_keep_the_wall_clock(tz, now, freq) -> None:
    _check_clock_times(tz, now, {"repeat": {"frequency": freq, "period": 1, "periodUnit": "d"}})


@FEW
@given(zones, instants, st.integers(2, 7))
def test_every_n_days_doses_are_at_nine_on_every_nth_day(tz, now, n) -> None:
    start = (now - timedelta(days=10)).isoformat()
    rep = {"frequency": 1, "period": n, "periodUnit": "d", "boundsPeriod": {"start": start}}
    timing = {"repeat": rep}
    got = dose_times(timing, now.astimezone(tz), now + timedelta(days=14), tz)
    assert got and all((t.hour, t.minute) == (9, 0) for t in got)
    assert all((b.date() - a.date()).days == n for a, b in itertools.pairwise(got))


@FEW
@given(zones, instants, st.integers(1, 72), st.integers(1, 72))
def test_bounded_orders_have_no_dose_outside_their_bounds(tz, now, before, after) -> None:
    lo, hi = now - timedelta(hours=before), now + timedelta(hours=after)
    bounds = {"start": lo.isoformat(), "end": hi.isoformat()}
    for timing in (
        {"repeat": {"frequency": 1, "period": 6, "periodUnit": "h", "boundsPeriod": bounds}},
        {"repeat": {"timeOfDay": ["09:00:00", "21:00:00"], "boundsPeriod": bounds}},
    ):
        got = _utc(dose_times(timing, now.astimezone(tz) - HOURS, now + HOURS, tz))
        assert all(lo <= t < hi for t in got)


def _request(timing: dict[str, Any], prn: bool = False) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest", "id": "m1", "status": "active",
        "intent": "order", "medicationCodeableConcept": {"text": "Drug"},
        "authoredOn": "2025-06-01T00:00:00Z",
        "dosageInstruction": [{"timing": timing, "asNeededBoolean": prn}],
    }  # fmt: skip


@FEW
@given(
    zones,
    instants,
    st.one_of(
        st.sampled_from([1, 2, 4, 6, 8, 12]).map(
            lambda n: {"repeat": {"frequency": 1, "period": n, "periodUnit": "h"}}
        ),
        clock_times.map(
            lambda hm: {"repeat": {"timeOfDay": [f"{h:02d}:{m:02d}:00" for h, m in hm]}}
        ),
    ),
)
def test_due_and_overdue_follow_real_elapsed_time(tz, now, timing) -> None:
    mar = medication_administration_record([_request(timing)], [], now.astimezone(tz))
    assert not mar.prn
    for d in mar.scheduled[0].doses:
        late = now - d.time.astimezone(UTC)
        want = "overdue" if late > WINDOW else "due" if late >= -WINDOW else "upcoming"
        assert d.state == want, (d.time, now)
    prn = medication_administration_record([_request(timing, prn=True)], [], now.astimezone(tz))
    assert not prn.scheduled and prn.prn and not prn.prn[0].doses


any_hours = st.sampled_from([1, 2, 3, 4, 6, 8, 12, 24 // 5, 7, 10])  # some divide 24, some not


@FEW
@given(zones, instants, any_hours, st.integers(0, 10 * 24 * 60), st.booleans())
def test_qnh_counted_from_a_stated_start_or_a_dose_given_keeps_real_intervals(
    tz, now, n, minutes_before, stated
) -> None:
    """From the order's first dose or the last dose given: 48/N doses in 48 real hours,
    N real hours apart, every one a whole number of intervals from that dose."""
    first = now - timedelta(minutes=minutes_before)
    rep: dict[str, Any] = {"frequency": 1, "period": n, "periodUnit": "h"}
    if stated:
        rep["boundsPeriod"] = {"start": first.astimezone(tz).isoformat()}
    given_at = None if stated else first
    times = _utc(dose_times({"repeat": rep}, now.astimezone(tz), now + HOURS, tz,
                            last_given=given_at))  # fmt: skip
    every = timedelta(hours=n)
    assert len(times) == 48 // n or (len(times) == 48 // n + 1 and 48 % n)
    assert all(b - a == every for a, b in itertools.pairwise(times))
    assert all((t - first) % every == timedelta(0) for t in times)
    assert not derived_from({"repeat": rep}, given=given_at is not None)


@FEW
@given(zones, instants, st.integers(2, 7), st.integers(1, 60))
def test_every_n_days_keeps_its_days_as_time_passes(tz, now, n, hours_later) -> None:
    """The days are counted from the order (here: when it was written), not from the time
    the MAR is built: two MARs built hours apart agree on the doses they both show."""
    timing = {"repeat": {"frequency": 1, "period": n, "periodUnit": "d"}}
    written = now - timedelta(days=9, hours=5)
    later = now + timedelta(hours=hours_later)
    a = set(_utc(dose_times(timing, now.astimezone(tz), now + HOURS, tz, written=written)))
    b = set(_utc(dose_times(timing, later.astimezone(tz), later + HOURS, tz, written=written)))
    assert {t for t in a if t >= later} == {t for t in b if t < now + HOURS}


standard_tables = st.fixed_dictionaries(
    {
        n: st.lists(
            st.tuples(st.integers(0, 23), st.sampled_from([0, 30])),
            min_size=n,
            max_size=n,
            unique=True,
        ).map(sorted)
        for n in (1, 2, 3, 4)
    }
)


@FEW
@given(zones, instants, st.sampled_from([1, 2, 3, 4]), standard_tables)
def test_n_times_daily_doses_are_at_the_hospitals_standard_times(tz, now, freq, table) -> None:
    timing = {"repeat": {"frequency": freq, "period": 1, "periodUnit": "d"}}
    assert planned_wall_times(timing, table) == table[freq]
    got = dose_times(timing, now.astimezone(tz), now + HOURS, tz, standard=table)
    assert len(set(_utc(got))) == len(got)
    for t in got:
        assert (t.hour, t.minute) in table[freq] or skipped_wall_time(t, table[freq])
    assert derived_from(timing, table) in ("daily", "BID", "TID", "QID")
