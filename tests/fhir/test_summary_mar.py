"""Dose schedules (Timing expansion) and the MAR's given / due / overdue decisions."""

from __future__ import annotations

from datetime import timedelta

from standby.fhir.mar import WINDOW, medication_administration_record, next_change
from standby.fhir.timing import describe, dose_times
from support.summary_fixtures import NOW, administration, med_request

DAY = timedelta(hours=24)


def hours(times):
    return [t.strftime("%d %H:%M") for t in times]


def test_bid_uses_standard_times():
    t = {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}
    assert hours(dose_times(t, NOW, NOW + DAY)) == ["28 21:00", "29 09:00"]
    assert describe(t).text == "BID"


def test_every_six_hours_aligns_to_midnight():
    t = {"repeat": {"frequency": 1, "period": 6, "periodUnit": "h"}}
    assert hours(dose_times(t, NOW, NOW + DAY)) == ["28 12:00", "28 18:00", "29 00:00", "29 06:00"]
    assert describe(t).text == "q6h"


def test_time_of_day_and_when():
    t = {"repeat": {"timeOfDay": ["08:00:00", "20:00:00"]}}
    assert hours(dose_times(t, NOW, NOW + DAY)) == ["28 20:00", "29 08:00"]
    w = {"repeat": {"when": ["HS"]}}
    assert hours(dose_times(w, NOW, NOW + DAY)) == ["28 21:00"]


def test_bounds_period_limits_doses():
    t = {
        "repeat": {
            "frequency": 1,
            "period": 8,
            "periodUnit": "h",
            "boundsPeriod": {"start": "2026-11-28T15:00:00Z", "end": "2026-11-29T02:00:00Z"},
        }
    }
    # counted from the stated start (15:00), not from midnight
    assert hours(dose_times(t, NOW, NOW + DAY)) == ["28 15:00", "28 23:00"]


def test_code_only_timing_and_every_other_day():
    assert hours(dose_times({"code": {"coding": [{"code": "TID"}]}}, NOW, NOW + DAY)) == [
        "28 13:00",
        "28 17:00",
        "29 09:00",
    ]
    qod = {
        "repeat": {
            "frequency": 1,
            "period": 2,
            "periodUnit": "d",
            "boundsPeriod": {"start": "2026-11-27T00:00:00Z"},
        }
    }
    assert hours(dose_times(qod, NOW - DAY, NOW + 2 * DAY)) == ["29 09:00"]


def test_no_schedule_is_not_invented():
    assert dose_times({}, NOW, NOW + DAY) == []
    assert describe(None).text == "as directed"


def test_mar_given_overdue_due_and_upcoming():
    q4 = {"repeat": {"frequency": 1, "period": 4, "periodUnit": "h"}}
    req = med_request("m1", "Vancomycin", timing=q4)
    admins = [administration("a1", "m1", NOW - timedelta(hours=3, minutes=50))]  # 08:10
    mar = medication_administration_record([req], admins, NOW)
    entry = mar.scheduled[0]
    # no start stated: counted from the dose given
    states = {d.time.strftime("%H:%M"): d.state for d in entry.doses if d.time <= NOW}
    assert states["08:10"] == "given"
    assert states["04:10"] == "overdue"
    assert entry.doses[-1].time > NOW
    assert entry.next_due == NOW + timedelta(minutes=10)  # 12:10: due, within the window
    assert entry.doses[[d.time for d in entry.doses].index(entry.next_due)].state == "due"
    assert entry.last_given is not None and entry.last_given.id == "a1"
    assert [t.strftime("%H:%M") for t in entry.overdue] == ["00:10", "04:10"]
    due = mar.due_within(2)
    assert [t.strftime("%H:%M") for t, _ in due] == ["00:10", "04:10", "12:10"]


def test_no_dose_is_overdue_before_the_order_was_written():
    q4 = {"repeat": {"frequency": 1, "period": 4, "periodUnit": "h"}}
    req = med_request("m1", "Cefazolin", timing=q4)
    req["authoredOn"] = "2026-11-28T07:30:00Z"
    entry = medication_administration_record([req], [], NOW).scheduled[0]
    assert [t.strftime("%H:%M") for t in entry.overdue] == ["08:00"]


def test_not_done_is_documented_not_overdue():
    daily = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}
    req = med_request("m1", "Lisinopril", timing=daily)
    held = administration("a1", "m1", NOW - timedelta(hours=3), status="not-done")
    mar = medication_administration_record([req], [held], NOW)
    assert mar.scheduled[0].overdue == []
    assert mar.scheduled[0].doses[0].state == "not-given"
    assert mar.scheduled[0].last_given is None


def test_prn_is_separate_with_last_given():
    prn = med_request("m2", "Oxycodone", prn=True)
    sched = med_request(
        "m1", "Metoprolol", timing={"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}
    )
    admins = [
        administration("a1", "m2", NOW - timedelta(hours=2)),
        administration("a2", "m2", NOW - timedelta(hours=7)),
    ]
    mar = medication_administration_record([prn, sched], admins, NOW)
    assert [e.medication.name for e in mar.prn] == ["Oxycodone"]
    assert mar.prn[0].last_given.id == "a1"
    assert mar.prn[0].medication.frequency == "PRN"
    assert [e.medication.name for e in mar.scheduled] == ["Metoprolol"]
    assert len(mar.recent) == 2


def test_medication_reference_and_missing_dosage_tolerated():
    req = {
        "resourceType": "MedicationRequest",
        "id": "r",
        "status": "active",
        "medicationReference": {"reference": "Medication/med1"},
    }
    resolved = {
        "Medication/med1": {
            "resourceType": "Medication",
            "id": "med1",
            "code": {"text": "Insulin glargine"},
        }
    }
    mar = medication_administration_record([req], [], NOW, resolved)
    m = mar.scheduled[0].medication
    assert m.name == "Insulin glargine"
    assert m.dose == "" and m.frequency == "as directed"
    stopped = dict(req, status="stopped")
    assert medication_administration_record([stopped], [], NOW).scheduled == []


def test_next_change_is_when_a_dose_turns_due_or_overdue():
    q4 = {"repeat": {"frequency": 1, "period": 4, "periodUnit": "h"}}
    req = med_request("m1", "Vancomycin", timing=q4)
    mar = medication_administration_record([req], [], NOW)  # NOW is 12:00; doses at 12, 16
    edge = next_change(mar)
    assert edge == NOW + WINDOW  # the 12:00 dose, due now, turns overdue at 13:00
    just_before = medication_administration_record([req], [], edge)
    just_after = medication_administration_record([req], [], edge + timedelta(seconds=1))
    assert just_before.overdue_count < just_after.overdue_count


def test_next_change_ignores_given_doses_and_prn():
    daily = {"repeat": {"timeOfDay": ["12:00:00"]}}
    req = med_request("m1", "Aspirin", timing=daily)
    given = [administration("a1", "m1", NOW)]
    prn = med_request("m2", "Paracetamol", prn=True)
    assert next_change(medication_administration_record([req, prn], [], NOW)) == NOW + WINDOW
    assert next_change(medication_administration_record([req, prn], given, NOW)) is None
