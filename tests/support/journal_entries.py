"""Journal entries of every kind, as a form would make them (for the journal tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from standby.journal.entries import Capture, Entry, Kind, make_entry

NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)

PAYLOADS: dict[Kind, dict[str, Any]] = {
    Kind.VITALS: {
        "temperature_c": 37.2,
        "heart_rate": 88,
        "resp_rate": 16,
        "systolic": 128,
        "diastolic": 76,
        "spo2": 97,
        "weight_kg": 71.5,
        "pain": 3,
    },
    Kind.ADMINISTRATION: {
        "request_id": "mr-1",
        "medication": "Metoprolol tartrate 25 mg tablet",
        "status": "given",
        "dose": "25 mg",
        "route": "oral",
        "scheduled_for": "2026-11-30T09:00:00Z",
    },
    Kind.NOTE: {
        "note_type": "progress",
        "title": "Downtime progress note",
        "text": "Patient comfortable overnight.\n\nPlan: continue current therapy.",
    },
    Kind.ORDER: {
        "category": "lab",
        "text": "Basic metabolic panel",
        "orderer": "Dr. Gregory House",
        "priority": "stat",
    },
    Kind.ALLERGY: {"substance": "Latex", "reaction": "Hives", "criticality": "low"},
    Kind.NO_KNOWN_ALLERGIES: {},
    Kind.ADMIT: {"location_id": "loc-4w-401-a"},
    Kind.TRANSFER: {"location_id": "loc-icu-201-a"},
    Kind.DISCHARGE: {"disposition": "Home"},
    Kind.REGISTRATION: {
        "family": "Doe",
        "given": "Jordan",
        "birth_date": "1980-02-29",
        "sex": "unknown",
        "mrn": "DT4W-0001",
        "encounter_number": "DE4W-0001",
        "location_id": "loc-ed-101-a",
        "phone": "555-0199",
    },
}

MEDICATION_ORDER = {
    "category": "medication",
    "text": "for pain",
    "orderer": "Dr. Gregory House",
    "priority": "routine",
    "medication": "Acetaminophen 500 mg tablet",
    "dose": "1000 mg",
    "route": "oral",
    "frequency": "every 6 hours",
}


def entry(kind: Kind, *, patient_id: str = "p1", minutes_ago: int = 10, **kw: Any) -> Entry:
    payload = kw.pop("payload", PAYLOADS.get(kind, {"reason": "entered on the wrong patient"}))
    now = kw.pop("now", NOW)
    return make_entry(
        kind,
        patient_id=patient_id,
        encounter_id=kw.pop("encounter_id", "enc-1"),
        author=kw.pop("author", "nurse.a"),
        author_name=kw.pop("author_name", "Dana Whitfield, RN"),
        role=kw.pop("role", "nurse"),
        node=kw.pop("node", "node-4w"),
        now=now,
        performed_at=kw.pop("performed_at", now - timedelta(minutes=minutes_ago)),
        payload=payload,
        capture=kw.pop("capture", Capture.BEDSIDE),
        **kw,
    )
