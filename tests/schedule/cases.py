"""Items made by hand for the schedule's pure tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from standby.schedule.items import Item, Patient, Person

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
PATIENT = Patient("p1", "Rivera, Ana", "1960-02-03", "MRN100", ("555-0100",), "es", "Spanish")


def case(
    id: str = "ap1",
    *,
    kind: str = "surgery",
    priority: str = "elective",
    codes: frozenset[str] = frozenset(),
    what: str = "Laparoscopic cholecystectomy",
    start: datetime = T0,
    minutes: int = 90,
    room: str = "or1",
    surgeon: str = "dr1",
    patient: Patient = PATIENT,
) -> Item:
    return Item(
        id=id,
        kind=kind,
        start=start,
        end=start + timedelta(minutes=minutes),
        status="booked",
        priority=priority,
        what=what,
        codes=codes,
        words=what.lower(),
        specialty="",
        place_id=room,
        place=room.upper(),
        provider=Person(surgeon, f"Dr {surgeon}"),
        others=(Person("an1", "Dr Gas"),),
        patient=patient,
    )
