"""One ICU patient's medication record, as real EHRs send it: a scheduled beta blocker, an
albuterol PRN every 4 hours, a heparin drip (rateQuantity, titrated by protocol) and a
norepinephrine drip (rateRatio), their MedicationAdministrations, and a DNR code status.

The clock of these tests is Monday 30 November 2026, 03:00 UTC: last night's doses are on
Sunday, the next ones on Monday.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # Monday 03:00
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
DATA_AS_OF = "2026-11-30T00:20:00Z"  # the last the replica heard from the EHR
IV = {"coding": [{"system": SNOMED, "code": "47625008", "display": "intravenous"}]}


NAMES = {
    "metoprolol": "Metoprolol tartrate 25 mg tab",
    "albuterol": "Albuterol 90 mcg inhaler",
    "heparin": "Heparin 25,000 units in 250 mL D5W",
    "norepi": "Norepinephrine 4 mg in 250 mL NS",
}


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta() -> dict[str, Any]:
    return {"lastUpdated": DATA_AS_OF}


def request(rid: str, name: str, dosage: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "meta": _meta(),
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": name},
        "subject": {"reference": "Patient/icu1"},
        "authoredOn": iso(NOW - timedelta(days=2)),
        "dosageInstruction": [dosage],
    }


def given(
    aid: str,
    rid: str,
    when: datetime,
    *,
    dose: dict[str, Any] | None = None,
    rate: dict[str, Any] | None = None,
    status: str = "completed",
    period: bool = False,
) -> dict[str, Any]:
    dosage: dict[str, Any] = {}
    if dose:
        dosage["dose"] = dose
    if rate:
        dosage.update(rate)
    out: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": aid,
        "meta": _meta(),
        "status": status,
        "medicationCodeableConcept": {"text": NAMES[rid]},
        "subject": {"reference": "Patient/icu1"},
        "request": {"reference": f"MedicationRequest/{rid}"},
        "dosage": dosage,
        "performer": [{"actor": {"display": "R. Night RN"}}],
    }
    if period:
        out["effectivePeriod"] = {"start": iso(when)}
    else:
        out["effectiveDateTime"] = iso(when)
    return out


METOPROLOL = request(
    "metoprolol",
    "Metoprolol tartrate 25 mg tab",
    {
        "text": "25 mg by mouth every 4 hours",
        # first dose at 00:00 on Saturday: the series the doses given keep to
        "timing": {
            "repeat": {
                "frequency": 1,
                "period": 4,
                "periodUnit": "h",
                "boundsPeriod": {"start": "2026-11-28T00:00:00Z"},
            }
        },
        "route": {"coding": [{"system": SNOMED, "code": "26643006", "display": "oral"}]},
        "doseAndRate": [{"doseQuantity": {"value": 25, "unit": "mg"}}],
    },
)
ALBUTEROL = request(
    "albuterol",
    "Albuterol 90 mcg inhaler",
    {
        "text": "2 puffs every 4 hours as needed for wheeze",
        "timing": {"repeat": {"frequency": 1, "period": 4, "periodUnit": "h"}},
        "asNeededCodeableConcept": {"text": "wheeze"},
        "route": {"coding": [{"system": SNOMED, "code": "447694001", "display": "inhaled"}]},
        "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "puff"}}],
    },
)
HEPARIN = request(
    "heparin",
    "Heparin 25,000 units in 250 mL D5W",
    {
        "text": "Heparin infusion per weight-based protocol",
        "patientInstruction": "Titrate by anti-Xa every 6 hours per protocol",
        "additionalInstruction": [{"text": "Hold for 1 h and call if anti-Xa above 1.0"}],
        "route": IV,
        "doseAndRate": [{"rateQuantity": {"value": 1000, "unit": "units/h", "code": "[iU]/h"}}],
    },
)
NOREPINEPHRINE = request(
    "norepi",
    "Norepinephrine 4 mg in 250 mL NS",
    {
        "text": "Start 2 mcg/min; titrate by 1 mcg/min every 5 min to MAP >= 65",
        "route": IV,
        "doseAndRate": [
            {
                "rateRatio": {
                    "numerator": {"value": 2, "unit": "mcg", "system": UCUM, "code": "ug"},
                    "denominator": {"value": 1, "unit": "min", "system": UCUM, "code": "min"},
                }
            }
        ],
    },
)
MG = {"value": 25, "unit": "mg"}
PUFFS = {"value": 2, "unit": "puff"}


def heparin_rate(value: float) -> dict[str, Any]:
    return {"rateQuantity": {"value": value, "unit": "units/h", "code": "[iU]/h"}}


ADMINISTRATIONS = [
    given("met-16", "metoprolol", NOW - timedelta(hours=11, minutes=2), dose=MG),  # Sun 15:58
    given("met-20", "metoprolol", NOW - timedelta(hours=6, minutes=52), dose=MG),  # Sun 20:08
    # the 00:00 dose: nothing charted (the EHR went down)
    given("alb-1", "albuterol", NOW - timedelta(hours=3, minutes=50), dose=PUFFS),  # Sun 23:10
    given("hep-1", "heparin", NOW - timedelta(hours=9), rate=heparin_rate(1000), period=True),
    given("hep-2", "heparin", NOW - timedelta(hours=5), rate=heparin_rate(1000), period=True),
    given(
        "hep-3",
        "heparin",
        NOW - timedelta(hours=2, minutes=45),  # Mon 00:15: raised
        rate=heparin_rate(1200),
        status="in-progress",
        period=True,
    ),
]

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "icu1",
    "meta": _meta(),
    "identifier": [{"system": "https://standby.example.org/fhir/sid/mrn", "value": "ICU-0001"}],
    "name": [{"use": "official", "family": "Dripwell", "given": ["Nora"]}],
    "birthDate": "1948-05-06",
    "gender": "female",
}
DNR = {
    "resourceType": "Observation",
    "id": "code-1",
    "meta": _meta(),
    "status": "final",
    "code": {"coding": [{"system": LOINC, "code": "100822-6"}]},
    "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "304253006"}]},
    "effectiveDateTime": iso(NOW - timedelta(days=1)),
    "subject": {"reference": "Patient/icu1"},
}
UNIT = [
    {"resourceType": "Location", "id": "icu", "meta": _meta(), "name": "Medical ICU",
     "alias": ["MICU"], "physicalType": {"coding": [{"code": "wi"}]}},
    {"resourceType": "Location", "id": "bed1", "meta": _meta(), "name": "MICU-01",
     "physicalType": {"coding": [{"code": "bd"}]}, "partOf": {"reference": "Location/icu"}},
    {"resourceType": "Encounter", "id": "enc1", "meta": _meta(), "status": "in-progress",
     "class": {"code": "IMP"}, "subject": {"reference": "Patient/icu1"},
     "location": [{"location": {"reference": "Location/bed1"}, "status": "active"}],
     "period": {"start": iso(NOW - timedelta(days=3))}},
]  # fmt: skip
ORDERS = [METOPROLOL, ALBUTEROL, HEPARIN, NOREPINEPHRINE]


def compartment() -> list[dict[str, Any]]:
    """The patient's compartment (what `patient_summary` is built from)."""
    return [PATIENT, DNR, UNIT[2], *ORDERS, *ADMINISTRATIONS]


def everything() -> list[dict[str, Any]]:
    """What a replica of this ward holds."""
    return [*UNIT, PATIENT, DNR, *ORDERS, *ADMINISTRATIONS]
