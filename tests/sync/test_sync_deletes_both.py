"""Deletes reach the replica from both FHIR servers: the simulated EHR (which offers
`_history`) and the second server (Medplum's router, which offers no type or system
`_history`: there, reconciliation of ids finds them)."""

from __future__ import annotations

import pytest

from support.second_server.replica import sync_against
from support.second_server.sources import FhirSource


@pytest.mark.slow
def test_a_delete_at_the_source_reaches_the_replica(fhir_source: FhirSource, tmp_path):
    with sync_against(
        fhir_source,
        tmp_path,
        sync_seed_mode="none",
        sync_reconcile_minutes=1e-6,
        sync_patient_types=["Patient", "Encounter", "Observation"],
        sync_shared_types=[],
        sync_rate=0,
    ) as runner:
        store = runner.store
        assert runner.run_round().ok
        census = [r.id for r in store.iter_type("Encounter")]
        assert census
        held = [r for r in store.iter_type("Observation")]
        assert held, "the census patients' Observations were pulled"
        gone, kept = held[0], held[-1]
        fhir_source.admin.delete("Observation", gone.id)
        # the first round may only find out what the server offers; a reconciliation runs
        # beside the rounds
        for _ in range(30):
            result = runner.run_round()
            assert result.ok, result
            runner.incremental.wait_reconciled()
            now = store.read("Observation", gone.id)
            if now is not None and now.deleted:
                break
        assert now is not None and now.deleted
        assert not store.read("Observation", kept.id).deleted
        level = runner.incremental.deletes.level
        assert level == ("system" if fhir_source.kind == "sim" else "none")
