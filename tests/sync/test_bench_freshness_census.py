"""`bench sync` counts a change as "never in the replica" only when the census sync is
meant to carry it: a change to a patient the census keeps fresh (or to a shared type).
A clinic appointment a week out, rescheduled at the EHR, is outside the census by design
(docs/sync.md, "Staying fresh") and is counted apart, not as a lost change."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from standby.bench.sync_bench import patients_of, synced_patients
from standby.store.sqlite import SQLiteStore
from standby.sync.checkpoints import mark_pulled, save_census


def test_changes_are_told_apart_by_whether_the_census_carries_their_patient(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "replica.db")
    now = datetime(2026, 11, 28, 10, tzinfo=UTC)
    save_census(store, "ehr", {"pt1": "inpatient", "pt2": "appointment"}, (), now)
    mark_pulled(store, "ehr", ["pt1"])  # pt2's full pull has not run yet
    assert synced_patients(store) == {"pt1"}
    appt = store.update(
        {
            "resourceType": "Appointment",
            "id": "ap1",
            "status": "booked",
            "participant": [
                {"actor": {"reference": "Practitioner/pr1"}, "status": "accepted"},
                {"actor": {"reference": "Patient/pt9"}, "status": "accepted"},
            ],
        }
    )
    obs = store.update(
        {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "code": {"text": "pulse"},
            "subject": {"reference": "Patient/pt1"},
        }
    )
    assert patients_of(store.read("Appointment", "ap1")) == {"pt9"}
    assert patients_of(store.read("Observation", "o1")) == {"pt1"}
    assert patients_of(store.read("Patient", "nobody")) == set()
    assert appt.id == "ap1" and obs.id == "o1"
    store.close()
