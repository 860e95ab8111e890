"""Dose schedules in the hospital's zone on every night of the year (New York, the 2026
change nights: 8 March spring forward, 1 November fall back): schedules computed in the
hospital's zone whatever offset the EHR writes, due and overdue decided on instants,
qNh in real hours, clock-time doses on the wall clock."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from standby.fhir.mar import medication_administration_record
from standby.fhir.timing import dose_times

NY = ZoneInfo("America/New_York")


def _order(timing: dict[str, Any], authored: str = "2026-01-01T12:00:00Z") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest", "id": "m1", "status": "active",
        "intent": "order", "medicationCodeableConcept": {"text": "Cefazolin 1 g"},
        "subject": {"reference": "Patient/p1"}, "authoredOn": authored,
        "dosageInstruction": [{"timing": timing}],
    }  # fmt: skip


def _times(timing: dict[str, Any], now: datetime, authored: str = "2026-01-01T12:00:00Z"):
    mar = medication_administration_record([_order(timing, authored)], [], now)
    return mar.scheduled[0]


def test_an_order_written_in_utc_is_scheduled_on_the_hospitals_clock() -> None:
    now = datetime(2026, 11, 30, 7, 0, tzinfo=NY)  # 12:00Z
    daily = _times({"repeat": {"timeOfDay": ["09:00:00"]}}, now, "2026-11-30T10:00:00Z")
    assert daily.next_due == datetime(2026, 11, 30, 9, 0, tzinfo=NY)
    assert daily.next_due is not None and daily.next_due.strftime("%H:%M") == "09:00"
    bid = _times({"code": {"coding": [{"code": "BID"}]}}, now, "2026-11-30T10:00:00Z")
    assert [t.strftime("%d %H:%M") for t in bid.upcoming] == ["30 09:00", "30 21:00"]
    # another offset than the hospital's changes nothing either
    other = _times({"repeat": {"timeOfDay": ["09:00:00"]}}, now, "2026-11-30T15:00:00+05:30")
    assert other.next_due == datetime(2026, 11, 30, 9, 0, tzinfo=NY)


def test_due_and_overdue_are_decided_on_real_elapsed_time() -> None:
    # fall back, 1 Nov 2026: 00:45 EDT is 04:45Z; 01:00 EST is 06:00Z, 75 real minutes later
    late = datetime(2026, 11, 1, 6, 0, tzinfo=UTC).astimezone(NY)
    e = _times({"repeat": {"timeOfDay": ["00:45:00"]}}, late)
    assert [d.state for d in e.doses][:1] == ["overdue"]
    # 02:30 EST is 07:30Z; at 01:40 EDT (05:40Z) it is 110 real minutes away: not due yet
    early = datetime(2026, 11, 1, 5, 40, tzinfo=UTC).astimezone(NY)
    e = _times({"repeat": {"timeOfDay": ["02:30:00"]}}, early)
    assert e.doses[0].time.astimezone(UTC) == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)
    assert e.doses[0].state == "upcoming"


def _gaps(times: list[datetime]) -> list[timedelta]:
    u = [t.astimezone(UTC) for t in times]
    return [b - a for a, b in itertools.pairwise(u)]


def test_qnh_keeps_real_intervals_and_clock_times_keep_the_wall_clock() -> None:
    q8 = {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}}
    q1 = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "h"}}
    at9 = {"repeat": {"timeOfDay": ["09:00:00"]}}
    for day in (datetime(2026, 3, 7, 12, tzinfo=NY), datetime(2026, 10, 31, 12, tzinfo=NY)):
        end = day.astimezone(UTC) + timedelta(hours=48)  # 48 real hours
        assert set(_gaps(dose_times(q8, day, end, NY))) == {timedelta(hours=8)}
        hourly = dose_times(q1, day, end, NY)
        assert set(_gaps(hourly)) == {timedelta(hours=1)}
        assert len(hourly) == 48  # none lost (fall back), none doubled (spring forward)
        assert [t.strftime("%H:%M") for t in dose_times(at9, day, end, NY)] == ["09:00"] * 2


def test_times_derived_from_a_frequency_are_said_to_be() -> None:
    from standby.fhir.timing import derived_from

    assert derived_from({"repeat": {"timeOfDay": ["08:00:00"]}}) == ""
    assert derived_from({"event": ["2026-11-30T14:00:00Z"]}) == ""
    assert derived_from({"code": {"coding": [{"code": "BID"}]}}) == "BID"
    assert derived_from({"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}}) == "q8h"
    assert derived_from({"repeat": {"when": ["HS"]}}) == "HS"
    start = {"start": "2026-11-30T14:00:00Z"}
    stated = {"frequency": 1, "period": 5, "periodUnit": "h", "boundsPeriod": start}
    assert derived_from({"repeat": stated}) == ""
