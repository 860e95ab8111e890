"""Each kind of journal entry as the FHIR R4 resources it will be filed as (pure: no I/O).

Every resource carries an identifier made from the entry's UUID (`entry_identifier`):
`{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:<uuid>"}`, the form FHIR gives a
globally unique identifier. Back-entry sends each resource with
`If-None-Exist: identifier=urn:ietf:rfc:3986|urn:uuid:<uuid>`, so a resource sent twice is
created once. An entry that becomes several resources (a set of vital signs: one
Observation per measurement, as the vital-signs profile has it) gives each a UUID derived
from the entry's and the measurement's code (`uuid5`): the same every time.

References to the patient and encounter are given by the caller (`Subject`): the replica's
ids while the EHR knows the patient, or the registration's `urn:uuid:` while it does not
(back-entry files the registration first and substitutes the id the EHR gave it).

entry → resources:
- vitals → an Observation per measurement (vital-signs category, LOINC, UCUM); the blood
  pressure as one Observation with two components;
- administration → MedicationAdministration (`completed`, or `not-done` with the reason);
- note → DocumentReference (LOINC progress note 11506-3, nurse note 34746-8), text/plain;
- order → MedicationRequest (medication) or ServiceRequest (lab, imaging, nursing),
  `active`, intent `order`;
- allergy, no-known-allergies → AllergyIntolerance (`unconfirmed`; "no known allergy" is
  SNOMED 716186003);
- admit, transfer, discharge → Encounter (a new one, or the current one with its new bed
  or its end);
- registration → Patient and Encounter, with the downtime MRN and encounter number;
- strike → nothing (the struck entry is not filed; one already filed goes to review).

Spec: https://hl7.org/fhir/R4/observation-vitalsigns.html,
https://hl7.org/fhir/R4/medicationadministration.html, https://hl7.org/fhir/R4/http.html#ccreate
"""

from __future__ import annotations

import base64
import copy
import functools
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from standby.journal.entries import Capture, Entry, Kind

JSON = dict[str, Any]
URI_SYSTEM = "urn:ietf:rfc:3986"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DOWNTIME_TAG = {
    "system": "https://standby.example.org/fhir/CodeSystem/origin",
    "code": "downtime",
    "display": "Entered during EHR downtime (Standby)",
}
MRN_TYPE = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}],
    "text": "Downtime MRN",
}
DOWNTIME_MRN_SYSTEM = "https://standby.example.org/fhir/sid/downtime-mrn"
DOWNTIME_ENCOUNTER_SYSTEM = "https://standby.example.org/fhir/sid/downtime-encounter"

# LOINC code, display, UCUM unit, unit as written
VITAL_CODES: dict[str, tuple[str, str, str, str]] = {
    "temperature_c": ("8310-5", "Body temperature", "Cel", "°C"),
    "heart_rate": ("8867-4", "Heart rate", "/min", "/min"),
    "resp_rate": ("9279-1", "Respiratory rate", "/min", "/min"),
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%"),
    "weight_kg": ("29463-7", "Body weight", "kg", "kg"),
    "pain": (
        "72514-3",
        "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
        "{score}",
        "{score}",
    ),
}
BP = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
NOTE_CODES = {"progress": ("11506-3", "Progress note"), "nursing": ("34746-8", "Nurse note")}
SERVICE_CATEGORY = {
    "lab": ("108252007", "Laboratory procedure"),
    "imaging": ("363679005", "Imaging"),
    "nursing": ("9632001", "Nursing procedure"),
}


@dataclass(frozen=True, slots=True)
class Subject:
    """How the resources refer to the patient and the encounter."""

    patient: JSON  # {"reference": "Patient/123"} or {"reference": "urn:uuid:..."}
    encounter: JSON | None = None

    @classmethod
    def of(cls, entry: Entry) -> Subject:
        """The replica's ids, as the entry names them; a patient or encounter the journal
        made (a local id `journal-<uuid>`: registered or admitted during downtime) as the
        `urn:uuid:` back-entry gives it until the EHR has given it an id."""
        enc = _filed(entry.encounter_id, "Encounter") if entry.encounter_id else None
        return cls(_filed(entry.patient_id, "Patient"), enc)

    @classmethod
    def local(cls, entry: Entry) -> Subject:
        """The ids as the read model shows them (the replica's, or `journal-<uuid>`)."""
        enc = {"reference": f"Encounter/{entry.encounter_id}"} if entry.encounter_id else None
        return cls({"reference": f"Patient/{entry.patient_id}"}, enc)


JOURNAL_ID_PREFIX = "journal-"


def _filed(local: str, rtype: str) -> JSON:
    if local.startswith(JOURNAL_ID_PREFIX):
        return {"reference": f"urn:uuid:{uuid.UUID(local.removeprefix(JOURNAL_ID_PREFIX))}"}
    return {"reference": f"{rtype}/{local}"}


def registration_patient_id(entry_id: str) -> str:
    """The local id of the patient a registration makes (`journal-<uuid>`)."""
    return f"{JOURNAL_ID_PREFIX}{uuid.UUID(entry_id)}"


def registration_encounter_id(entry_id: str) -> str:
    """The local id of the encounter a registration makes."""
    return f"{JOURNAL_ID_PREFIX}{uuid.uuid5(uuid.UUID(entry_id), 'encounter')}"


def entry_identifier(entry_id: str, part: str = "") -> JSON:
    """The identifier of the resource made from an entry (or from one part of it)."""
    return {"system": URI_SYSTEM, "value": _uuid_value(entry_id, part)}


@functools.lru_cache(maxsize=8192)  # ~2.5 MB full (65,536: ~21 MB, filled over hours)
def _uuid_value(entry_id: str, part: str) -> str:
    """ "urn:uuid:…" of an entry or one part of it: the same every time (kept, since a
    summary converts the same entries at every view)."""
    value = uuid.uuid5(uuid.UUID(entry_id), part) if part else uuid.UUID(entry_id)
    return f"urn:uuid:{value}"


def forget_kept_identifiers() -> None:
    """Drop the kept identifier values (what a newly started process has)."""
    _uuid_value.cache_clear()


def _instant(entry: Entry, which: str = "performed") -> str:
    dt = entry.performed_at if which == "performed" else entry.recorded_at
    return dt.isoformat(timespec="seconds")


def _meta() -> JSON:
    return {"tag": [dict(DOWNTIME_TAG)]}


def _author(entry: Entry) -> JSON:
    return {"display": entry.author_name or entry.author}


def _notes(entry: Entry) -> list[JSON]:
    """How it was captured, said in words on the resource (for whoever reads it later)."""
    text = f"Entered during EHR downtime on Standby node {entry.node} by {entry.author_name}"
    if entry.capture is Capture.TRANSCRIBED:
        text = (
            f"Transcribed from the paper downtime record by {entry.transcribed_by} on Standby "
            f"node {entry.node}; performed by {entry.author_name}"
        )
    return [{"text": f"{text}, recorded {_instant(entry, 'recorded')}."}]


def _cc(system: str, code: str, display: str) -> JSON:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _vital_observations(entry: Entry, subject: Subject) -> list[JSON]:
    p = entry.payload
    performed, recorded = _instant(entry), _instant(entry, "recorded")
    note = _notes(entry)[0]["text"]

    def base() -> dict[str, Any]:  # a new one per Observation: they share no objects
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "meta": _meta(),
            "status": "final",
            "category": [_cc(OBS_CATEGORY, "vital-signs", "Vital Signs")],
            "subject": dict(subject.patient),
            "effectiveDateTime": performed,
            "issued": recorded,
            "performer": [_author(entry)],
            "note": [{"text": note}],
        }
        if subject.encounter:
            obs["encounter"] = dict(subject.encounter)
        return obs

    out = []
    for key, (code, display, unit, shown) in VITAL_CODES.items():
        if p.get(key) is None:
            continue
        obs = base()
        obs["identifier"] = [entry_identifier(entry.id, code)]
        obs["code"] = _cc(LOINC, code, display)
        obs["valueQuantity"] = {"value": p[key], "unit": shown, "system": UCUM, "code": unit}
        out.append(obs)
    if p.get("systolic") is not None:
        obs = base()
        obs["identifier"] = [entry_identifier(entry.id, BP[0])]
        obs["code"] = _cc(LOINC, *BP)
        obs["component"] = [
            {
                "code": _cc(LOINC, *part),
                "valueQuantity": {"value": p[k], "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
            }
            for part, k in ((SYSTOLIC, "systolic"), (DIASTOLIC, "diastolic"))
        ]
        out.append(obs)
    return out


_DOSE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-zµ%][A-Za-zµ%/]*)\s*$")


def _administration(entry: Entry, subject: Subject) -> list[JSON]:
    p = entry.payload
    given = p["status"] == "given"
    ma: JSON = {
        "resourceType": "MedicationAdministration",
        "meta": _meta(),
        "identifier": [entry_identifier(entry.id)],
        "status": "completed" if given else "not-done",
        "medicationCodeableConcept": {"text": p["medication"]},
        "subject": subject.patient,
        "effectiveDateTime": _instant(entry),
        "performer": [{"actor": _author(entry)}],
        "request": {"reference": f"MedicationRequest/{p['request_id']}"},
        "note": _notes(entry),
    }
    if subject.encounter:
        ma["context"] = subject.encounter
    if given:
        dosage: JSON = {"text": p["dose"], "route": {"text": p["route"]}}
        amount = _DOSE.match(p["dose"])
        if amount:  # "25 mg" as a quantity too, for whoever computes with it
            value = float(amount[1])
            dosage["dose"] = {
                "value": int(value) if value.is_integer() else value,
                "unit": amount[2],
            }
        if p.get("site"):
            dosage["site"] = {"text": p["site"]}
        ma["dosage"] = dosage
    else:
        ma["statusReason"] = [{"text": f"{p['status']}: {p['reason']}"}]
    return [ma]


def _note(entry: Entry, subject: Subject) -> list[JSON]:
    p = entry.payload
    code, display = NOTE_CODES[p["note_type"]]
    doc: JSON = {
        "resourceType": "DocumentReference",
        "meta": _meta(),
        "identifier": [entry_identifier(entry.id)],
        "status": "current",
        "docStatus": "final",
        "type": _cc(LOINC, code, display),
        "subject": subject.patient,
        "date": _instant(entry, "recorded"),
        "author": [_author(entry)],
        "description": p["title"],
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(p["text"].encode()).decode(),
                    "title": p["title"],
                    "creation": _instant(entry),
                }
            }
        ],
    }
    if subject.encounter:
        doc["context"] = {"encounter": [subject.encounter]}
    return [doc]


def _order(entry: Entry, subject: Subject) -> list[JSON]:
    p = entry.payload
    common: JSON = {
        "meta": _meta(),
        "identifier": [entry_identifier(entry.id)],
        "status": "active",
        "intent": "order",
        "priority": p["priority"],
        "subject": subject.patient,
        "authoredOn": _instant(entry),
        "requester": {"display": p["orderer"]},
        "note": _notes(entry),
    }
    if subject.encounter:
        common["encounter"] = subject.encounter
    if p["category"] == "medication":
        sig = f"{p['dose']} {p['route']} {p['frequency']}"
        return [
            {
                "resourceType": "MedicationRequest",
                **common,
                "medicationCodeableConcept": {"text": p["medication"]},
                "dosageInstruction": [
                    {"text": f"{sig}. {p['text']}".strip(), "route": {"text": p["route"]}}
                ],
            }
        ]
    code, display = SERVICE_CATEGORY[p["category"]]
    return [
        {
            "resourceType": "ServiceRequest",
            **common,
            "category": [_cc(SNOMED, code, display)],
            "code": {"text": p["text"]},
        }
    ]


def _allergy(entry: Entry, subject: Subject) -> list[JSON]:
    p = entry.payload
    ai: JSON = {
        "resourceType": "AllergyIntolerance",
        "meta": _meta(),
        "identifier": [entry_identifier(entry.id)],
        "clinicalStatus": _cc(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"
        ),
        "verificationStatus": _cc(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
            "unconfirmed",
            "Unconfirmed",
        ),
        "patient": subject.patient,
        "recordedDate": _instant(entry),
        "recorder": _author(entry),
        "note": _notes(entry),
    }
    if subject.encounter:
        ai["encounter"] = subject.encounter
    if entry.kind is Kind.NO_KNOWN_ALLERGIES:
        ai["code"] = _cc(SNOMED, "716186003", "No known allergy")
        return [ai]
    ai["code"] = {"text": p["substance"]}
    if p.get("criticality"):
        ai["criticality"] = p["criticality"]
    if p.get("reaction"):
        ai["reaction"] = [{"manifestation": [{"text": p["reaction"]}]}]
    return [ai]


def _encounter(entry: Entry, subject: Subject, current: Mapping[str, Any] | None) -> list[JSON]:
    """Admit: a new inpatient Encounter. Transfer and discharge: the current Encounter
    (as the replica holds it; back-entry sends it with If-Match on its version) with the
    new bed from the performed time, or finished at the performed time."""
    p = entry.payload
    at = _instant(entry)
    if entry.kind is Kind.ADMIT or current is None:
        enc: JSON = {
            "resourceType": "Encounter",
            "meta": _meta(),
            "identifier": [entry_identifier(entry.id)],
            "status": "in-progress",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "IMP",
                "display": "inpatient encounter",
            },
            "subject": subject.patient,
            "period": {"start": at},
        }
        if p.get("location_id"):
            enc["location"] = [
                {"location": {"reference": f"Location/{p['location_id']}"}, "period": {"start": at}}
            ]
        return [enc]
    enc = copy.deepcopy(dict(current))
    enc.pop("meta", None)
    enc["meta"] = _meta()
    locations = enc.get("location") or []
    for loc in locations:  # the bed they leave ends now
        if loc.get("status") in (None, "active"):
            loc["status"] = "completed"
            loc.setdefault("period", {})["end"] = at
    if entry.kind is Kind.TRANSFER:
        locations.append(
            {
                "location": {"reference": f"Location/{p['location_id']}"},
                "status": "active",
                "period": {"start": at},
            }
        )
    else:  # discharge
        enc["status"] = "finished"
        enc.setdefault("period", {})["end"] = at
        enc.setdefault("hospitalization", {})["dischargeDisposition"] = {"text": p["disposition"]}
    enc["location"] = locations
    return [enc]


ENCOUNTER_CLASSES = {  # a registration's setting → v3-ActCode
    "inpatient": ("IMP", "inpatient encounter"),
    "emergency": ("EMER", "emergency"),
    "ambulatory": ("AMB", "ambulatory"),
}


def _registration(entry: Entry, subject: Subject) -> list[JSON]:
    p = entry.payload
    identifiers: list[JSON] = [
        entry_identifier(entry.id),
        {"use": "temp", "type": MRN_TYPE, "system": DOWNTIME_MRN_SYSTEM, "value": p["mrn"]},
    ]
    if p.get("ehr_mrn"):  # as the patient or family said it: for matching, not verified
        identifiers.append(
            {
                "use": "secondary",
                "type": {"text": "EHR MRN as stated, not verified"},
                "value": p["ehr_mrn"],
            }
        )
    if p.get("other_identifier"):
        identifiers.append(
            {
                "use": "secondary",
                "type": {"text": p.get("other_identifier_type") or "Other identifier"},
                "value": p["other_identifier"],
            }
        )
    name: JSON = {"use": "official", "family": p["family"]}
    if p.get("given"):
        name["given"] = [p["given"]]
    patient: JSON = {
        "resourceType": "Patient",
        "meta": _meta(),
        "identifier": identifiers,
        "name": [name],
        "gender": p["sex"],
        "birthDate": p["birth_date"],
    }
    if p.get("phone"):
        patient["telecom"] = [{"system": "phone", "value": p["phone"]}]
    if p.get("address"):
        patient["address"] = [{"text": p["address"]}]
    if p.get("brought_by"):
        patient["contact"] = [
            {
                "name": {"text": p["brought_by"]},
                "relationship": [{"text": "Brought the patient in"}],
            }
        ]
    code, display = ENCOUNTER_CLASSES[p.get("setting") or "inpatient"]
    encounter: JSON = {
        "resourceType": "Encounter",
        "meta": _meta(),
        "identifier": [
            entry_identifier(entry.id, "encounter"),
            {"use": "temp", "system": DOWNTIME_ENCOUNTER_SYSTEM, "value": p["encounter_number"]},
        ],
        "status": "in-progress",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": code,
            "display": display,
        },
        "subject": subject.patient,
        "period": {"start": _instant(entry)},
    }
    if p.get("location_id"):
        encounter["location"] = [
            {
                "location": {"reference": f"Location/{p['location_id']}"},
                "status": "active",
                "period": {"start": _instant(entry)},
            }
        ]
    return [patient, encounter]


def registration_reference(entry_id: str) -> str:
    """How resources refer to a patient registered during downtime until the EHR has
    given them an id (the registration's Patient has this `fullUrl` in a transaction)."""
    return f"urn:uuid:{uuid.UUID(entry_id)}"


def to_fhir(
    entry: Entry, subject: Subject | None = None, *, current: Mapping[str, Any] | None = None
) -> list[JSON]:
    """The FHIR R4 resources `entry` will be filed as (none for a strike). `current`: the
    Encounter a transfer or discharge changes, as the replica holds it."""
    if subject is None and entry.kind is Kind.REGISTRATION:
        subject = Subject({"reference": registration_reference(entry.id)})
    subject = subject or Subject.of(entry)
    match entry.kind:
        case Kind.VITALS:
            return _vital_observations(entry, subject)
        case Kind.ADMINISTRATION:
            return _administration(entry, subject)
        case Kind.NOTE:
            return _note(entry, subject)
        case Kind.ORDER:
            return _order(entry, subject)
        case Kind.ALLERGY | Kind.NO_KNOWN_ALLERGIES:
            return _allergy(entry, subject)
        case Kind.ADMIT | Kind.TRANSFER | Kind.DISCHARGE:
            return _encounter(entry, subject, current)
        case Kind.REGISTRATION:
            return _registration(entry, subject)
        case Kind.STRIKE:
            return []
