"""Hand-made FHIR resources for the summary tests (the shapes of docs/data-model.md)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def patient(
    pid: str = "p1",
    family: str = "Smith",
    given: str = "John",
    birth: str = "1957-03-02",
    mrn: str = "100234",
) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
                "system": "https://standby.example.org/fhir/sid/mrn",
                "value": mrn,
            }
        ],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "birthDate": birth,
        "gender": "male",
        "telecom": [{"system": "phone", "value": "555-0100", "use": "home"}],
        "address": [{"use": "home", "line": ["1 Main St"], "city": "Springfield"}],
    }


def allergy(
    substance: str,
    code: str = "7980",
    reaction: str = "Hives",
    criticality: str = "high",
    pid: str = "p1",
) -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "id": f"a-{substance}",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "code": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": code,
                    "display": substance,
                }
            ]
        },
        "criticality": criticality,
        "reaction": [{"manifestation": [{"coding": [{"display": reaction}]}]}],
        "patient": {"reference": f"Patient/{pid}"},
    }


def nka(pid: str = "p1") -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "id": "nka",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {
            "coding": [{"system": SNOMED, "code": "716186003", "display": "No known allergy"}]
        },
        "patient": {"reference": f"Patient/{pid}"},
    }


def med_request(
    rid: str,
    name: str,
    *,
    dose: float = 5,
    unit: str = "mg",
    route: str = "oral",
    timing: dict[str, Any] | None = None,
    prn: bool = False,
    pid: str = "p1",
) -> dict[str, Any]:
    dosage: dict[str, Any] = {
        "text": f"{name} {dose} {unit}",
        "route": {"coding": [{"system": SNOMED, "code": "26643006", "display": route}]},
        "doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit}}],
    }
    if timing is not None:
        dosage["timing"] = timing
    if prn:
        dosage["asNeededBoolean"] = True
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": name},
        "subject": {"reference": f"Patient/{pid}"},
        "dosageInstruction": [dosage],
        "authoredOn": iso(NOW - timedelta(days=2)),
    }


def administration(
    aid: str, rid: str, when: datetime, status: str = "completed", pid: str = "p1"
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": aid,
        "status": status,
        "request": {"reference": f"MedicationRequest/{rid}"},
        "medicationCodeableConcept": {"text": "x"},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": iso(when),
        "dosage": {"dose": {"value": 5, "unit": "mg"}},
    }


def vital(oid: str, code: str, value: float, unit: str, when: datetime) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": iso(when),
        "valueQuantity": {"value": value, "unit": unit},
        "subject": {"reference": "Patient/p1"},
    }


def code_status(oid: str, snomed: str, when: datetime) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "100822-6"}]},
        "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": snomed}]},
        "effectiveDateTime": iso(when),
        "subject": {"reference": "Patient/p1"},
    }


# one test, one code (the summary groups results by it): the LOINC codes of the tests
# named here, else a code of the name's own
_LOINC_OF = {
    "potassium": "2823-3",
    "sodium": "2951-2",
    "chloride": "2075-0",
    "creatinine": "2160-0",
    "glucose": "2345-7",
    "hemoglobin": "718-7",
    "wbc": "6690-2",
    "platelets": "777-3",
    "inr": "6301-6",
    "lactate": "2524-7",
    "troponin": "6598-7",
}


def _loinc(name: str) -> str:
    return _LOINC_OF.get(name.lower(), "x-" + name.lower().replace(" ", "-"))


def lab(
    oid: str,
    name: str,
    value: float,
    low: float,
    high: float,
    when: datetime,
    interp: str | None = None,
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": _loinc(name), "display": name}]},
        "effectiveDateTime": iso(when),
        "valueQuantity": {"value": value, "unit": "mmol/L"},
        "referenceRange": [{"low": {"value": low}, "high": {"value": high}}],
        "subject": {"reference": "Patient/p1"},
    }
    if interp:
        r["interpretation"] = [{"coding": [{"code": interp}]}]
    return r


def note(nid: str, text: str, when: datetime) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": nid,
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": "11506-3"}]},
        "date": iso(when),
        "subject": {"reference": "Patient/p1"},
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(text.encode()).decode(),
                }
            }
        ],
    }


def encounter(bed: str = "bed1") -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "in-progress",
        "class": {"code": "IMP"},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": iso(NOW - timedelta(days=3, hours=2))},
        "location": [{"location": {"reference": f"Location/{bed}"}, "status": "active"}],
        "participant": [
            {
                "type": [{"coding": [{"code": "ATND"}]}],
                "individual": {"reference": "Practitioner/dr1"},
            }
        ],
        "reasonCode": [{"text": "Community-acquired pneumonia"}],
    }


LOCATIONS = {
    "Location/unit4w": {
        "resourceType": "Location",
        "id": "unit4w",
        "name": "4 West Medical",
        "alias": ["4W"],
        "physicalType": {"coding": [{"code": "wi"}]},
        "type": [{"coding": [{"code": "HU"}]}],
    },
    "Location/room412": {
        "resourceType": "Location",
        "id": "room412",
        "name": "412",
        "physicalType": {"coding": [{"code": "ro"}]},
        "partOf": {"reference": "Location/unit4w"},
    },
    "Location/bed1": {
        "resourceType": "Location",
        "id": "bed1",
        "name": "412-B",
        "physicalType": {"coding": [{"code": "bd"}]},
        "partOf": {"reference": "Location/room412"},
    },
    "Practitioner/dr1": {
        "resourceType": "Practitioner",
        "id": "dr1",
        "name": [{"family": "House", "given": ["Gregory"]}],
    },
}
