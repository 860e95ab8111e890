"""The simulated EHR's change feed: valid resources, mostly vitals and labs for the
current inpatients, and admissions, transfers and discharges that keep one patient per bed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from standby.sim.changes import ChangeFeed
from standby.sim.generate import generate_hospital
from standby.store.ingest import ingest_directory
from standby.store.memory import MemoryStore

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("feed")
    generate_hospital(20, 4, out, now=NOW)
    return out


def _loaded(hospital: Path) -> MemoryStore:
    store = MemoryStore()
    ingest_directory(store, hospital)
    return store


def _encounters(store: MemoryStore) -> list[dict[str, Any]]:
    return [sr.json() for sr in store.iter_type("Encounter")]


def _run(store: MemoryStore, seed: int, steps: int, n: int) -> list[dict[str, Any]]:
    feed = ChangeFeed(store, seed)
    made: list[dict[str, Any]] = []
    for i in range(steps):
        batch = feed.step(n, NOW + timedelta(seconds=5 * i))
        assert len(batch) == n
        for r in batch:
            store.update(r)
        made.extend(batch)
    return made


def test_changes_are_valid_fhir_without_meta(hospital: Path) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    made = _run(_loaded(hospital), 1, 60, 10)
    kinds = Counter(r["resourceType"] for r in made)
    assert kinds["Observation"] > len(made) / 2
    assert kinds["MedicationAdministration"] > 0
    assert {"Patient", "Encounter", "Appointment"} <= set(kinds)
    for r in made:
        assert "meta" not in r
        get_fhir_model_class(r["resourceType"]).model_validate(r)


def test_census_stays_one_patient_per_bed(hospital: Path) -> None:
    store = _loaded(hospital)
    made = _run(store, 2, 150, 8)
    encounters = [r for r in made if r["resourceType"] == "Encounter"]
    assert any(e["status"] == "finished" for e in encounters), "no discharge"
    assert any(len(e["location"]) > 1 and e["status"] == "in-progress" for e in encounters)
    beds = [
        x["location"]["reference"]
        for e in _encounters(store)
        if e["status"] == "in-progress"
        for x in e["location"]
        if x["status"] == "active"
    ]
    assert len(beds) == len(set(beds))
    for e in _encounters(store):
        if e["status"] == "finished":
            assert all(x["status"] == "completed" for x in e.get("location", []))
    new_ids = {r["id"] for r in made if r["resourceType"] == "Observation"}
    assert len(new_ids) == sum(1 for r in made if r["resourceType"] == "Observation")


def test_same_seed_same_changes(hospital: Path) -> None:
    a = _run(_loaded(hospital), 7, 20, 5)
    b = _run(_loaded(hospital), 7, 20, 5)
    c = _run(_loaded(hospital), 8, 20, 5)
    assert a == b
    assert a != c


def test_feed_runs_on_the_sqlite_store(hospital: Path, tmp_path: Path) -> None:
    """The same journey through the real engine (`store.update` assigns the versions)."""
    sqlite = pytest.importorskip("standby.store.sqlite", reason="SQLite engine not landed yet")
    store = sqlite.SQLiteStore(tmp_path / "ehr.db")
    try:
        for path in sorted(hospital.glob("*.ndjson")):
            with path.open("rb") as fh:
                store.ingest_ndjson(fh, file=path.name)
        feed = ChangeFeed(store, 3)
        versions: dict[str, str] = {}
        for i in range(60):
            for r in feed.step(10, NOW + timedelta(seconds=5 * i)):
                versions[f"{r['resourceType']}/{r['id']}"] = store.update(r).version_id
        assert any(k.startswith("Observation/") and v == "1" for k, v in versions.items())
        assert any(k.startswith("Encounter/") and v == "2" for k, v in versions.items())
        current = store.search("Encounter", [("status", "in-progress")], count=1000)
        beds = [
            x["location"]["reference"]
            for sr in current.resources
            for x in sr.json()["location"]
            if x["status"] == "active"
        ]
        assert beds and len(beds) == len(set(beds))
    finally:
        store.close()
