"""During a downtime, a dose the EHR cannot have heard of is "not charted — check the paper
MAR", never overdue; the census says the same; every time off the row's day has its day."""

from __future__ import annotations

from datetime import timedelta

from standby.fhir.census import census_patient
from standby.fhir.mar import charting_cutoff
from standby.fhir.summary import patient_summary
from support.mar_fixtures import NOW, compartment

DECLARED = NOW - timedelta(minutes=90)  # Mon 01:30
AS_OF = NOW - timedelta(hours=2, minutes=40)  # Mon 00:20


def _states(s):
    entry = next(e for e in s.mar.scheduled if e.medication.id == "metoprolol")
    return {f"{d.time:%a %H:%M}": d.state for d in entry.doses}


def test_normal_operation_calls_the_missed_dose_overdue():
    s = patient_summary(compartment(), NOW)
    assert _states(s)["Mon 00:00"] == "overdue"
    assert s.mar.overdue_count == 1 and not s.mar.in_downtime


def test_cutoff_is_the_earlier_of_declaration_and_data_as_of():
    assert charting_cutoff(None, AS_OF) is None
    assert charting_cutoff(DECLARED, AS_OF) == AS_OF
    assert charting_cutoff(DECLARED, NOW) == DECLARED
    assert charting_cutoff(DECLARED, None) == DECLARED


def test_in_downtime_a_dose_after_data_as_of_is_not_charted_never_overdue():
    s = patient_summary(compartment(), NOW, charted_until=charting_cutoff(DECLARED, AS_OF))
    states = _states(s)
    assert states["Sun 16:00"] == "given" and states["Sun 20:00"] == "given"
    assert states["Mon 00:00"] == "not-charted"
    assert states["Mon 04:00"] == "not-charted"  # its window has opened: may be given on paper
    assert states["Mon 08:00"] == "upcoming"
    assert s.mar.overdue_count == 0
    assert s.mar.not_charted_count == 2
    assert s.mar.charted_until == AS_OF


def test_a_dose_already_overdue_when_the_ehr_went_down_stays_overdue():
    cutoff = NOW - timedelta(minutes=30)  # 02:30: the 00:00 dose was overdue at 01:00
    s = patient_summary(compartment(), NOW, charted_until=cutoff)
    assert _states(s)["Mon 00:00"] == "overdue"
    assert _states(s)["Mon 04:00"] == "not-charted"


def test_census_row_in_downtime_says_not_charted_not_overdue():
    row = census_patient(
        patient_summary(compartment(), NOW, charted_until=charting_cutoff(DECLARED, AS_OF))
    )
    assert row.overdue == 0 and row.not_charted == 2
    assert all("OVERDUE" not in d.text(NOW) for d in row.due)
    assert "NOT CHARTED since the EHR went down — check the paper MAR" in row.due[0].text(NOW)
    normal = census_patient(patient_summary(compartment(), NOW))
    assert normal.overdue == 1 and normal.not_charted == 0


def test_census_due_time_on_another_day_carries_its_day_and_no_repeated_strength():
    sunday_night = NOW - timedelta(hours=3, minutes=30)  # Sun 23:30: the 00:00 dose is Monday
    row = census_patient(patient_summary(compartment(), sunday_night))
    due = next(d for d in row.due if d.time.hour == 0)
    assert due.text(sunday_night).startswith("Mon 30 Nov 00:00 Metoprolol tartrate 25 mg tab")
    assert due.dose == ""  # "25 mg" is in the drug's name already
    assert " 25 mg oral" not in due.text(sunday_night).replace("25 mg tab", "")


def test_a_long_downtime_gives_one_census_line_per_order():
    """After a day and a half without charting, an order's doses not charted are one line
    (its first, and how many after it), so the printed census row still fits a page."""
    later = NOW + timedelta(hours=36)
    s = patient_summary(compartment(), later, charted_until=AS_OF)
    entry = next(e for e in s.mar.scheduled if e.medication.id == "metoprolol")
    assert len(entry.not_charted) >= 3  # what the MAR's lookback holds of them
    row = census_patient(s)
    lines = [d for d in row.due if d.not_charted and d.medication.startswith("Metoprolol")]
    assert len(lines) == 1
    assert lines[0].time == min(entry.not_charted)  # the first, and the count of the rest
    assert lines[0].later == len(entry.not_charted) - 1
    assert lines[0].text(later).endswith(f"check the paper MAR (and {lines[0].later} later doses)")
