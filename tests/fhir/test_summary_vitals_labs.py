"""Vital signs as complete sets with flags in words; labs by panel with the previous
value; UCUM units as people write them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from standby.fhir.summary import patient_summary
from standby.fhir.units import quantity_text, written
from support.summary_fixtures import LOINC, NOW, iso, lab, patient, vital

H = timedelta(hours=1)
M = timedelta(minutes=1)


def bp(oid: str, systolic: int, diastolic: int, when: Any) -> dict[str, Any]:
    r = vital(oid, "85354-9", 0, "", when)
    del r["valueQuantity"]
    r["component"] = [
        {
            "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
            "valueQuantity": {"value": systolic, "unit": "mm[Hg]"},
        },
        {
            "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
            "valueQuantity": {"value": diastolic, "unit": "mm[Hg]"},
        },
    ]
    return r


def full_set(prefix: str, when: Any, hr: float = 80, spo2: float = 97) -> list[dict[str, Any]]:
    return [
        bp(f"{prefix}bp", 120, 75, when),
        vital(f"{prefix}hr", "8867-4", hr, "/min", when + 2 * M),
        vital(f"{prefix}rr", "9279-1", 16, "/min", when + 3 * M),
        vital(f"{prefix}t", "8310-5", 37.0, "Cel", when + 4 * M),
        vital(f"{prefix}s", "59408-5", spo2, "%", when + 5 * M),
    ]


def test_readings_taken_together_make_one_set_and_the_last_full_set_is_found():
    res = [
        patient(),
        *full_set("a", NOW - 8 * H),
        *full_set("b", NOW - 4 * H, hr=118),
        vital("late-hr", "8867-4", 90, "/min", NOW - H),  # a single reading since
    ]
    v = patient_summary(res, NOW).vitals
    assert len(v.rows) == 3  # two full sets and one partial, not eleven fragments
    assert [r.complete for r in v.rows] == [False, True, True]
    assert v.rows[0].missing == ["BP", "RR", "Temp", "SpO2"]
    full = v.last_full
    assert full is not None and full.when == NOW - 4 * H
    assert full.values == {
        "BP": "120/75",
        "HR": "118 /min",
        "RR": "16 /min",
        "Temp": "37 °C",
        "SpO2": "97 %",
    }


def test_abnormal_vitals_are_flagged_in_words():
    res = [patient(), *full_set("a", NOW - 2 * H, hr=118, spo2=89), bp("b2", 150, 70, NOW - H)]
    v = patient_summary(res, NOW).vitals
    assert v.last_full is not None and v.last_full.flags == {"HR": "H", "SpO2": "L"}
    assert v.rows[0].flags == {"BP": "H"}
    assert "adult ranges" in v.ranges


def test_a_childs_vitals_are_not_flagged_against_adult_ranges():
    res = [patient(birth="2021-05-01"), *full_set("a", NOW - 2 * H, hr=118)]
    v = patient_summary(res, NOW).vitals
    assert v.rows[0].flags == {} and v.ranges == ""


def test_the_ehrs_own_interpretation_flags_a_vital():
    hr = vital("hr", "8867-4", 75, "/min", NOW - H)
    hr["interpretation"] = [{"coding": [{"code": "L"}]}]
    v = patient_summary([patient(birth="2021-05-01"), hr], NOW).vitals
    assert v.rows[0].flags == {"HR": "L"}


def coded_lab(oid: str, code: str, name: str, value: float, unit: str, when: Any) -> dict:
    r = lab(oid, name, value, 0, 1000, when)
    r["code"]["coding"][0]["code"] = code
    r["valueQuantity"] = {"value": value, "unit": unit, "code": unit}
    return r


def test_labs_are_grouped_by_panel_with_the_previous_value_beside_the_latest():
    res = [
        patient(),
        coded_lab("na1", "2951-2", "Sodium", 138, "mmol/L", NOW - 30 * H),
        coded_lab("na2", "2951-2", "Sodium", 131, "mmol/L", NOW - 6 * H),
        coded_lab("wbc0", "6690-2", "WBC", 9.9, "10*3/uL", NOW - 80 * H),  # before 48 h
        coded_lab("wbc1", "6690-2", "WBC", 11.2, "10*3/uL", NOW - 6 * H),
        coded_lab("hgb", "718-7", "Hemoglobin", 10.1, "g/dL", NOW - 6 * H),
        coded_lab("crp", "1988-5", "CRP", 12, "mg/L", NOW - 6 * H),
        coded_lab("k-old", "2823-3", "Potassium", 4.0, "mmol/L", NOW - 72 * H),
    ]
    labs = patient_summary(res, NOW).labs.items
    assert [(r.panel, r.name) for r in labs] == [
        ("Complete blood count", "WBC"),
        ("Complete blood count", "Hemoglobin"),
        ("Basic metabolic panel", "Sodium"),
        ("Other results", "CRP"),
    ]
    na = labs[2]
    assert na.value == "131 mmol/L"
    assert na.previous is not None and na.previous.value == "138 mmol/L"
    assert na.previous.when == NOW - 30 * H
    wbc = labs[0]
    assert wbc.value == "11.2 10³/µL"  # not "10*3/uL"
    assert wbc.previous is not None and wbc.previous.when == NOW - 80 * H  # of any age
    assert labs[1].previous is None


def test_a_panel_observation_names_its_members_panel():
    panel = {
        "resourceType": "Observation",
        "id": "lipids",
        "status": "final",
        "category": [{"coding": [{"code": "laboratory"}]}],
        "code": {"text": "Lipid panel"},
        "effectiveDateTime": iso(NOW - H),
        "hasMember": [{"reference": "Observation/ldl"}],
    }
    ldl = coded_lab("ldl", "13457-7", "LDL", 3.1, "mmol/L", NOW - H)
    labs = patient_summary([patient(), panel, ldl], NOW).labs.items
    assert [(r.panel, r.name) for r in labs] == [("Lipid panel", "LDL")]


@pytest.mark.parametrize(
    ("ucum", "shown"),
    [
        ("10*3/uL", "10³/µL"),
        ("10*6/uL", "10⁶/µL"),
        ("10*9/L", "10⁹/L"),
        ("10*12/L", "10¹²/L"),
        ("umol/L", "µmol/L"),
        ("ug/L", "µg/L"),
        ("/uL", "/µL"),
        ("kg/m2", "kg/m²"),
        ("mL/min/{1.73_m2}", "mL/min/1.73 m²"),
        ("meq/L", "mEq/L"),
        ("mosm/kg", "mOsm/kg"),
        ("[iU]/L", "units/L"),
        ("[IU]", "units"),
        ("mm[Hg]", "mmHg"),
        ("Cel", "°C"),
        ("[degF]", "°F"),
        ("{beats}/min", "/min"),
        ("{score}", ""),
        ("[lb_av]", "lb"),
        ("[in_i]", "in"),
        ("mmol/L", "mmol/L"),
        ("g/dL", "g/dL"),
        ("fL", "fL"),
        ("%", "%"),
    ],
)
def test_ucum_units_are_written_as_people_write_them(ucum: str, shown: str):
    assert written(ucum) == shown


def test_quantity_text_keeps_the_value_as_sent():
    assert quantity_text({"value": 0.1, "code": "10*9/L", "comparator": "<"}) == "<0.1 10⁹/L"
    assert quantity_text({"value": 7.38, "code": "[pH]"}) == "7.38"
    assert quantity_text(None, "—") == "—"
