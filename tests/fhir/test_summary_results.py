"""Code status, vital signs, labs with abnormal flags, notes and the census row."""

from __future__ import annotations

from datetime import timedelta

from standby.fhir.census import census_patient
from standby.fhir.summary import SectionStatus, patient_summary
from support.summary_fixtures import (
    LOCATIONS,
    NOW,
    code_status,
    encounter,
    lab,
    med_request,
    note,
    patient,
    vital,
)

H = timedelta(hours=1)


def test_newest_code_status_wins():
    res = [
        patient(),
        code_status("c1", "304252001", NOW - 30 * H),
        code_status("c2", "304253006", NOW - 2 * H),
    ]
    s = patient_summary(res, NOW)
    assert s.header.code_status.text.startswith("DNR")
    assert patient_summary([patient()], NOW).header.code_status.text == ("Code status not recorded")


def test_vitals_table_series_and_window():
    res = [
        patient(),
        vital("v1", "8867-4", 88, "/min", NOW - 2 * H),
        vital("v2", "8867-4", 92, "/min", NOW - 1 * H),
        vital("v3", "8867-4", 70, "/min", NOW - 60 * H),  # outside 48 h
        vital("w", "29463-7", 72.5, "kg", NOW - 70 * H),
    ]
    s = patient_summary(res, NOW)
    assert [r.values["HR"] for r in s.vitals.rows] == ["92 /min", "88 /min"]
    assert [v for _, v in s.vitals.series["HR"]] == [88.0, 92.0]
    assert s.header.weight is not None and s.header.weight.value == "72.5 kg"
    assert s.vitals_status is SectionStatus.PRESENT


def test_labs_flag_abnormal_from_interpretation_or_range():
    res = [
        patient(),
        lab("k", "Potassium", 5.9, 3.5, 5.1, NOW - 3 * H, "H"),
        lab("na", "Sodium", 128, 135, 145, NOW - 3 * H),
        lab("ok", "Chloride", 100, 98, 107, NOW - 3 * H),
        lab("old", "Old", 1, 2, 3, NOW - 72 * H),
    ]
    s = patient_summary(res, NOW)
    flags = {r.name: (r.flag, r.abnormal, r.reference_range) for r in s.labs}
    assert flags["Potassium"] == ("H", True, "3.5–5.1")
    assert flags["Sodium"] == ("L", True, "135–145")
    assert flags["Chloride"] == ("", False, "98–107")
    assert "Old" not in flags


def test_notes_are_decoded_newest_first():
    res = [
        patient(),
        note("n1", "Older note", NOW - 20 * H),
        note("n2", "Plan: continue IV antibiotics", NOW - H),
    ]
    s = patient_summary(res, NOW)
    assert [n.text for n in s.notes] == ["Plan: continue IV antibiotics", "Older note"]
    assert s.notes.items[0].kind == "Progress note"


def test_census_row_lists_doses_due_in_two_hours():
    q6 = {"repeat": {"frequency": 1, "period": 6, "periodUnit": "h"}}
    daily = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}
    res = [
        patient(),
        encounter(),
        med_request("m1", "Heparin", timing=q6),
        med_request("m2", "Aspirin", timing=daily),
    ]
    row = census_patient(patient_summary(res, NOW, resolved=LOCATIONS))
    assert row.mrn == "100234" and row.attending == "Gregory House"
    # heparin 00:00 and 06:00 missed (overdue), 12:00 due now; aspirin 09:00 missed
    assert [(d.time.strftime("%H:%M"), d.medication, d.overdue) for d in row.due] == [
        ("00:00", "Heparin", True),
        ("06:00", "Heparin", True),
        ("09:00", "Aspirin", True),
        ("12:00", "Heparin", False),
    ]
    assert row.allergies.flag == "NOT RECORDED"
