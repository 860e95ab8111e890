"""The sync against two FHIR servers over real sockets: the simulated EHR and a server no one
here wrote (Medplum's FhirRouter, tests/support/second_server), the same small hospital in
each, behind the same fault proxy. Seed by search, then rounds in type and census mode;
what the replica holds is compared byte for byte with what the server serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.second_server.replica import (
    PATIENT_TYPES,
    SHARED_TYPES,
    missing_or_different,
    sync_against,
)
from support.second_server.sources import FhirSource, source_over

ALL_TYPES = PATIENT_TYPES + SHARED_TYPES


def new_observation(id: str, patient: str, value: str = "72") -> dict:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2026-11-29T10:00:00Z",
        "valueQuantity": {"value": float(value), "unit": "/min"},
    }


def inpatients(source: FhirSource) -> list[str]:
    """Patients of in-progress inpatient encounters, as the census will find them."""
    out = []
    for enc in source.admin.search("Encounter", status="in-progress"):
        if enc.get("class", {}).get("code") in ("IMP", "ACUTE", "NONAC", "EMER", "OBSENC"):
            out.append(enc["subject"]["reference"].split("/", 1)[1])
    return sorted(set(out))


def test_search_seed_copies_every_resource_byte_for_byte(fhir_source: FhirSource, tmp_path: Path):
    with sync_against(fhir_source, tmp_path, sync_seed_mode="search") as sync:
        result = sync.seed()
        assert result is not None and result.ok
        assert missing_or_different(fhir_source, sync.store, ALL_TYPES) == {}
        assert sync.store.counts_by_type()["Observation"] > 100


def test_type_mode_rounds_bring_creates_and_updates(fhir_source: FhirSource, tmp_path: Path):
    with sync_against(fhir_source, tmp_path, sync_seed_mode="search", sync_mode="type") as sync:
        assert sync.seed().ok
        patient = next(iter(sorted(fhir_source.admin.ids("Patient"))))
        fhir_source.admin.put(new_observation("new-obs-1", patient))
        changed = fhir_source.admin.read("Patient", patient)
        changed["gender"] = "unknown" if changed.get("gender") != "unknown" else "other"
        fhir_source.admin.put(changed)
        assert sync.run_round().ok
        assert missing_or_different(fhir_source, sync.store, ALL_TYPES) == {}
        assert sync.store.read("Observation", "new-obs-1") is not None


@pytest.mark.slow
def test_census_mode_pulls_the_census_then_brings_every_change(
    fhir_source: FhirSource, tmp_path: Path
):
    with sync_against(fhir_source, tmp_path, sync_seed_mode="none") as sync:
        assert sync.run_round().ok  # first round: the census, and a full pull of each patient
        census = inpatients(fhir_source)
        assert census
        for pid in census:
            assert sync.store.read("Patient", pid) is not None, pid
        for i in range(8):  # 8 changes to patients on the census
            fhir_source.admin.put(new_observation(f"census-obs-{i}", census[i % len(census)]))
        assert sync.run_round().ok
        arrived = [i for i in range(8) if sync.store.read("Observation", f"census-obs-{i}")]
        assert arrived == list(range(8))


@pytest.mark.slow
def test_seed_survives_30_percent_faults(fhir_source: FhirSource, tmp_path: Path):
    fhir_source.proxy.set_error_rate(0.3)
    with sync_against(fhir_source, tmp_path, sync_seed_mode="search", sync_max_attempts=12) as sync:
        result = sync.seed()
        fhir_source.proxy.set_error_rate(0.0)
        assert result is not None and result.ok
        assert missing_or_different(fhir_source, sync.store, ALL_TYPES) == {}


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("sim"),  # its searches send the stored bytes (they re-serialised floats)
        pytest.param("second", marks=pytest.mark.second_server),
    ],
)
def test_the_r4_examples_seed_byte_for_byte(examples_dir: Path, tmp_path: Path, kind: str):
    with (
        source_over(kind, examples_dir, tmp_path) as source,
        sync_against(source, tmp_path, sync_seed_mode="search") as sync,
    ):
        result = sync.seed()
        assert result is not None and result.ok
        assert missing_or_different(source, sync.store, ALL_TYPES) == {}
        assert sum(sync.store.counts_by_type().values()) > 100
