"""Dose times come from what the EHR states whenever it states them: `timeOfDay`,
`timing.event`, the order's start, the doses already given. qNh is counted in real hours
from the last dose given, else from the order's stated start (`boundsPeriod.start`,
`event[0]`), and only else from a time Standby chooses (midnight), which the MAR marks.
Standard administration times (BID 09:00/21:00...) are the hospital's setting."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from standby.fhir.mar import TIME_RULE, medication_administration_record
from standby.fhir.timing import DAILY_TIMES, dose_times, planned_wall_times
from standby.settings import Settings, standard_times

NY = ZoneInfo("America/New_York")
Q8H = {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}}
BID = {"code": {"coding": [{"code": "BID"}]}}


def _order(timing: dict[str, Any], authored: str = "2026-11-20T12:00:00Z") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest", "id": "m1", "status": "active",
        "intent": "order", "medicationCodeableConcept": {"text": "Cefazolin 1 g"},
        "subject": {"reference": "Patient/p1"}, "authoredOn": authored,
        "dosageInstruction": [{"timing": timing}],
    }  # fmt: skip


def _given(aid: str, at: datetime, status: str = "completed") -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration", "id": aid, "status": status,
        "medicationCodeableConcept": {"text": "Cefazolin 1 g"},
        "subject": {"reference": "Patient/p1"}, "request": {"reference": "MedicationRequest/m1"},
        "effectiveDateTime": at.astimezone(UTC).isoformat(),
    }  # fmt: skip


def _hm(times: list[datetime]) -> list[str]:
    return [t.astimezone(NY).strftime("%H:%M") for t in times]


def test_q8h_is_counted_from_the_last_dose_given() -> None:
    # first given at 14:00: the next are 22:00 and 06:00, not 00:00/08:00/16:00
    now = datetime(2026, 11, 25, 15, 0, tzinfo=NY)
    given = [_given("a1", datetime(2026, 11, 25, 14, 0, tzinfo=NY))]
    e = medication_administration_record([_order(Q8H)], given, now).scheduled[0]
    assert _hm(e.upcoming) == ["22:00", "06:00", "14:00"]
    assert e.next_due == datetime(2026, 11, 25, 22, 0, tzinfo=NY)
    assert e.derived_note == ""  # the dose given is what the EHR states
    # a later dose given late moves the series: the next is 8 real hours after it
    given.append(_given("a2", datetime(2026, 11, 25, 22, 40, tzinfo=NY)))
    later = datetime(2026, 11, 25, 23, 0, tzinfo=NY)
    e = medication_administration_record([_order(Q8H)], given, later).scheduled[0]
    assert e.next_due == datetime(2026, 11, 26, 6, 40, tzinfo=NY)


def test_q8h_is_counted_from_the_orders_stated_start() -> None:
    now = datetime(2026, 11, 25, 13, 0, tzinfo=NY)
    start = {"boundsPeriod": {"start": "2026-11-25T14:00:00-05:00"}}
    timing = {"repeat": {**Q8H["repeat"], **start}}
    e = medication_administration_record([_order(timing)], [], now).scheduled[0]
    assert _hm(e.upcoming) == ["14:00", "22:00", "06:00"]
    assert e.derived_note == ""
    # the same with the start as the timing's first event
    timing = {"repeat": Q8H["repeat"], "event": ["2026-11-25T19:00:00Z"]}
    e = medication_administration_record([_order(timing)], [], now).scheduled[0]
    assert _hm(e.upcoming) == ["14:00", "22:00", "06:00"]
    assert e.derived_note == ""


def test_q8h_with_nothing_stated_is_counted_from_midnight_and_marked() -> None:
    now = datetime(2026, 11, 25, 13, 0, tzinfo=NY)
    e = medication_administration_record([_order(Q8H)], [], now).scheduled[0]
    assert _hm(e.upcoming) == ["16:00", "00:00", "08:00"]
    assert e.derived_note == "times derived from q8h — check the order"
    # a dose documented not given is no anchor: nothing was given then
    refused = [_given("a1", datetime(2026, 11, 25, 11, 0, tzinfo=NY), "not-done")]
    e = medication_administration_record([_order(Q8H)], refused, now).scheduled[0]
    assert _hm(e.upcoming) == ["16:00", "00:00", "08:00"]


@pytest.mark.parametrize(
    "first",
    [datetime(2026, 10, 31, 14, 0, tzinfo=NY), datetime(2026, 3, 7, 14, 0, tzinfo=NY)],
    ids=["fall-back", "spring-forward"],
)
def test_q8h_from_its_first_dose_stays_8_real_hours_apart_over_the_change(
    first: datetime,
) -> None:
    timing = {"repeat": {**Q8H["repeat"], "boundsPeriod": {"start": first.isoformat()}}}
    times = dose_times(timing, first, first.astimezone(UTC) + timedelta(hours=48), NY)
    gaps = {b - a for a, b in itertools.pairwise(t.astimezone(UTC) for t in times)}
    assert gaps == {timedelta(hours=8)} and len(times) == 6
    assert times[0] == first


def test_timing_event_times_are_used_as_they_are() -> None:
    now = datetime(2026, 11, 25, 7, 0, tzinfo=NY)
    timing = {"event": ["2026-11-25T13:17:00Z", "2026-11-25T23:45:00Z"]}
    e = medication_administration_record([_order(timing)], [], now).scheduled[0]
    assert _hm(e.upcoming) == ["08:17", "18:45"]
    assert e.derived_note == ""


def test_every_other_day_keeps_its_days_whatever_the_time_now() -> None:
    # the days are counted from the order's start, not from the moment the MAR is built
    timing = {
        "repeat": {"frequency": 1, "period": 2, "periodUnit": "d"},
    }
    days = set()
    for hour in range(0, 48, 5):
        now = datetime(2026, 11, 25, 0, 0, tzinfo=NY) + timedelta(hours=hour)
        order = _order(timing, "2026-11-21T15:00:00Z")  # 21 Nov 10:00 EST
        e = medication_administration_record([order], [], now).scheduled[0]
        days |= {t.astimezone(NY).day for t in e.upcoming}
    assert days <= {25, 27, 29}


def test_standard_times_are_a_setting() -> None:
    # the default is the table the MAR uses when it is given none
    assert standard_times(Settings()) == {n: tuple(t) for n, t in DAILY_TIMES.items()}
    table = standard_times(
        Settings(mar_standard_times="BID=08:00,20:00; TID=06:00,14:00,22:00; daily=10:00")
    )
    assert table[2] == ((8, 0), (20, 0)) and table[1] == ((10, 0),)
    assert table[4] == ((9, 0), (13, 0), (17, 0), (21, 0))  # not named: the default
    now = datetime(2026, 11, 25, 7, 0, tzinfo=NY)
    bid = dose_times(BID, now, now + timedelta(days=1), NY, standard=table)
    assert _hm(bid) == ["08:00", "20:00"]
    e = medication_administration_record([_order(BID)], [], now, standard=table).scheduled[0]
    assert _hm(e.upcoming) == ["08:00", "20:00"]
    assert planned_wall_times(BID, table) == [(8, 0), (20, 0)]
    assert e.derived_note == "times derived from BID — check the order"
    qod = {"repeat": {"frequency": 1, "period": 2, "periodUnit": "d"}}
    assert {t.strftime("%H:%M") for t in dose_times(qod, now, now + timedelta(days=4), NY,
                                                  standard=table)} == {"10:00"}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("BID=09:00", "BID needs 2 times"),
        ("BID=09:00,25:00", "25:00"),
        ("FOO=09:00", "FOO"),
        ("BID 09:00,21:00", "BID 09:00,21:00"),
        ("BID=21:00,09:00", "in order"),
    ],
)
def test_bad_standard_times_are_refused_with_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Settings(mar_standard_times=text)


def test_the_legend_says_how_times_are_worked_out() -> None:
    assert "from the last dose given" in TIME_RULE
    assert "derived" in TIME_RULE


def test_each_dose_given_documents_the_dose_nearest_it() -> None:
    # q1h, doses 60 minutes apart: the dose given at 05:00 is the 05:00 dose, not the
    # 04:00 one (60 minutes is still inside its window), so 06:00 is not left "overdue"
    now = datetime(2026, 11, 25, 6, 30, tzinfo=NY)
    start = {"boundsPeriod": {"start": "2026-11-25T04:00:00-05:00"}}
    q1h = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "h", **start}}
    given = [_given(f"a{h}", datetime(2026, 11, 25, h, 0, tzinfo=NY)) for h in (5, 6)]
    e = medication_administration_record([_order(q1h)], given, now).scheduled[0]
    states = {d.time.strftime("%H:%M"): d.state for d in e.doses if d.time <= now}
    assert states == {"04:00": "overdue", "05:00": "given", "06:00": "given"}
