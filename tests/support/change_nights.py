"""Orders on the nights the clocks change in New York (8 March 2026, spring forward; 1
November 2026, fall back), at 00:30 local: q8h counted from its first dose (14:00 the day
before, given on time since), q2h from the last dose given, q12h with nothing stated
(derived, from midnight), BID at standard times (derived), 02:30 and 01:30/13:30 at clock
times. What the change-night tests and the MAR's screenshots are made of."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def order(
    rid: str, name: str, timing: dict[str, Any], authored: str, dose: tuple[float, str] = (1, "g")
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": name},
        "subject": {"reference": "Patient/p1"},
        "authoredOn": authored,
        "dosageInstruction": [
            {
                "timing": timing,
                "doseAndRate": [{"doseQuantity": {"value": dose[0], "unit": dose[1]}}],
            }
        ],
    }


def given(
    aid: str, rid: str, name: str, at: str, dose: tuple[float, str] = (1, "g")
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": aid,
        "status": "completed",
        "medicationCodeableConcept": {"text": name},
        "subject": {"reference": "Patient/p1"},
        "request": {"reference": f"MedicationRequest/{rid}"},
        "effectiveDateTime": at,
        "dosage": {"dose": {"value": dose[0], "unit": dose[1]}},
    }


PLACE: list[dict[str, Any]] = [
    {
        "resourceType": "Location",
        "id": "u1",
        "name": "4 West",
        "alias": ["4W"],
        "physicalType": {"coding": [{"code": "wi"}]},
    },
    {
        "resourceType": "Location",
        "id": "b1",
        "name": "401-A",
        "physicalType": {"coding": [{"code": "bd"}]},
        "partOf": {"reference": "Location/u1"},
    },
    {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"family": "Nightshift", "given": ["Ada"]}],
        "identifier": [{"system": "urn:mrn", "value": "MRN-DST-1"}],
        "birthDate": "1950-01-01",
    },
    {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "in-progress",
        "class": {"code": "IMP"},
        "subject": {"reference": "Patient/p1"},
        "location": [{"location": {"reference": "Location/b1"}, "status": "active"}],
        "period": {"start": "2026-02-20T15:00:00Z"},
    },
]


def night(now: datetime, cef_given: list[str], morphine_given: list[str]) -> list[dict[str, Any]]:
    """Orders written 30 minutes before now (nothing earlier is due), except cefazolin,
    q8h from its first dose the afternoon before, given on time since."""
    w = (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        *PLACE,
        order(
            "m1",
            "Cefazolin 1 g inj",
            {
                "repeat": {
                    "frequency": 1,
                    "period": 8,
                    "periodUnit": "h",
                    "boundsPeriod": {"start": cef_given[0]},
                }
            },
            cef_given[0],
        ),
        *[given(f"c{i}", "m1", "Cefazolin 1 g inj", t) for i, t in enumerate(cef_given)],
        order(
            "m2",
            "Morphine 2 mg inj",
            {"repeat": {"frequency": 1, "period": 2, "periodUnit": "h"}},
            (now - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            (2, "mg"),
        ),
        *[
            given(f"g{i}", "m2", "Morphine 2 mg inj", t, (2, "mg"))
            for i, t in enumerate(morphine_given)
        ],
        order("m3", "Metoprolol 25 mg tab", {"code": {"coding": [{"code": "BID"}]}}, w, (25, "mg")),
        order(
            "m4",
            "Levothyroxine 50 mcg tab",
            {"repeat": {"timeOfDay": ["02:30:00"]}},
            w,
            (50, "mcg"),
        ),
        order(
            "m5",
            "Famotidine 20 mg tab",
            {"repeat": {"timeOfDay": ["01:30:00", "13:30:00"]}},
            w,
            (20, "mg"),
        ),
        order(
            "m6",
            "Vancomycin 1 g inj",
            {"repeat": {"frequency": 1, "period": 12, "periodUnit": "h"}},
            w,
        ),
    ]


SPRING = datetime(2026, 3, 8, 5, 30, tzinfo=UTC)  # 00:30 EST; 02:00 EST -> 03:00 EDT
FALL = datetime(2026, 11, 1, 4, 30, tzinfo=UTC)  # 00:30 EDT; 02:00 EDT -> 01:00 EST
NIGHTS = {
    # cefazolin first given 14:00 EST (19:00Z), then 22:00 EST; morphine q2h last 23:10 EST
    "spring": (
        SPRING,
        night(
            SPRING,
            ["2026-03-07T19:00:00Z", "2026-03-08T03:02:00Z"],
            ["2026-03-08T02:05:00Z", "2026-03-08T04:10:00Z"],
        ),
    ),
    # cefazolin first given 14:00 EDT (18:00Z), then 22:00 EDT; morphine q2h last 23:10 EDT
    "fall": (
        FALL,
        night(
            FALL,
            ["2026-10-31T18:00:00Z", "2026-11-01T02:03:00Z"],
            ["2026-11-01T01:05:00Z", "2026-11-01T03:10:00Z"],
        ),
    ),
}
