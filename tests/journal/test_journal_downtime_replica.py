"""The replica a downtime leaves, as `standby bench journal-load` builds it
(`bench.downtime_replica.charted_after`): what the EHR charted from the declaration on
that the journal documents instead is left out; the rest of the hospital stays."""

from __future__ import annotations

from datetime import UTC, datetime

from standby.bench.downtime_replica import charted_after

DECLARED = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
VITALS = [{"coding": [{"code": "vital-signs"}]}]
LAB = [{"coding": [{"code": "laboratory"}]}]


def test_vital_signs_doses_notes_and_orders_charted_from_the_declaration_are_left_out() -> None:
    after, before = "2026-11-02T04:00:00Z", "2026-11-02T03:59:59Z"
    for at, left_out in ((after, True), (before, False)):
        made = [
            {"resourceType": "Observation", "category": VITALS, "effectiveDateTime": at},
            {"resourceType": "MedicationAdministration", "effectivePeriod": {"start": at}},
            {"resourceType": "DocumentReference", "date": at},
            {"resourceType": "ServiceRequest", "authoredOn": at},
        ]
        assert [charted_after(r, DECLARED) for r in made] == [left_out] * 4
    assert charted_after({"resourceType": "ServiceRequest", "authoredOn": "2026-11-03"}, DECLARED)


def test_lab_results_orders_encounters_and_allergies_stay() -> None:
    at = "2026-11-20T10:00:00Z"
    for r in (
        {"resourceType": "Observation", "category": LAB, "effectiveDateTime": at},
        {"resourceType": "MedicationRequest", "authoredOn": at},
        {"resourceType": "Encounter", "period": {"start": at}},
        {"resourceType": "AllergyIntolerance", "recordedDate": at},
    ):
        assert not charted_after(r, DECLARED)
