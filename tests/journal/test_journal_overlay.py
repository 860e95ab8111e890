"""The journal beside the replica, read by the same summary builder: a dose given during
downtime counts as given and the next dose follows it; vital signs, notes and allergies
documented during downtime appear, each marked as not yet in the EHR; struck entries do
not."""

from __future__ import annotations

from datetime import timedelta

from standby.fhir.summary import patient_summary
from standby.journal.entries import Kind
from standby.journal.overlay import as_resources, is_from_journal
from support.journal_entries import PAYLOADS, entry
from support.summary_fixtures import (
    LOCATIONS,
    NOW,
    administration,
    encounter,
    med_request,
    patient,
)

Q6H = {"repeat": {"frequency": 1, "period": 6, "periodUnit": "h"}}


def _replica() -> list[dict]:
    return [
        patient(),
        encounter(),
        med_request("mr-1", "Metoprolol tartrate", dose=25, timing=Q6H),
        administration("a1", "mr-1", NOW - timedelta(hours=6)),
    ]


def _journal(kind: Kind, minutes_ago: int, **kw):
    return entry(kind, now=NOW, minutes_ago=minutes_ago, encounter_id="e1", **kw)


def test_a_dose_given_during_downtime_moves_the_next_dose() -> None:
    before = patient_summary(_replica(), NOW, resolved=LOCATIONS)
    (line,) = before.mar.scheduled
    recent = NOW - timedelta(hours=3)
    due = [t for t in line.overdue if t >= recent] or [line.next_due]
    assert due and due[0] is not None and due[0] <= NOW, "the replica alone says a dose is due"
    given = _journal(Kind.ADMINISTRATION, 20)
    extra = as_resources([given])
    after = patient_summary(_replica() + extra, NOW, resolved=LOCATIONS)
    (line,) = after.mar.scheduled
    assert line.last_given is not None and line.last_given.when == given.performed_at
    assert line.last_given.dose == "25 mg"
    assert line.next_due is not None and line.next_due > NOW
    assert not [t for t in line.overdue if t >= recent]
    assert all(is_from_journal(r) for r in extra)
    assert extra[0]["id"] == f"journal-{given.id}"


def test_vitals_notes_and_allergies_documented_during_downtime_are_in_the_summary() -> None:
    extra = as_resources(
        [_journal(Kind.VITALS, 15), _journal(Kind.NOTE, 10), _journal(Kind.ALLERGY, 5)]
    )
    s = patient_summary(_replica() + extra, NOW, resolved=LOCATIONS)
    assert s.vitals.rows and s.vitals.rows[0].when == NOW - timedelta(minutes=15)
    assert any("Latex" in a.substance for a in s.allergies.items)
    assert s.notes.items and s.notes.items[0].text.startswith("Patient comfortable")


def test_struck_and_drill_entries_are_not_shown() -> None:
    wrong = _journal(Kind.ALLERGY, 30)
    strike = _journal(Kind.STRIKE, 1, corrects=wrong.id, payload={"reason": "wrong patient"})
    drill = _journal(Kind.VITALS, 5, drill=True)
    assert as_resources([wrong, strike, drill]) == []
    assert [r["resourceType"] for r in as_resources([drill], drill=True)] == ["Observation"] * (
        len(PAYLOADS[Kind.VITALS]) - 1
    )
