"""The simulated EHR's change feed: valid resources, mostly vitals and labs for the
current inpatients, and admissions, transfers and discharges that keep one patient per bed
and the census where it started. The patient flow follows the clock, so the tests step a
simulated clock (no sleeping)."""

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
    generate_hospital(20, 10, out, now=NOW)  # free beds for transfers among its first changes
    return out


def _loaded(hospital: Path) -> MemoryStore:
    store = MemoryStore()
    ingest_directory(store, hospital)
    return store


def _encounters(store: MemoryStore) -> list[dict[str, Any]]:
    return [sr.json() for sr in store.iter_type("Encounter")]


def _run(
    store: MemoryStore, seed: int, steps: int, n: int, every: timedelta = timedelta(minutes=30)
) -> list[dict[str, Any]]:
    feed = ChangeFeed(store, seed)
    made: list[dict[str, Any]] = []
    for i in range(steps):
        batch = feed.step(n, NOW + every * i)
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
    made = _run(store, 2, 150, 8, every=timedelta(hours=1))
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
            for r in feed.step(10, NOW + timedelta(hours=i)):
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


def _inpatient(e: dict[str, Any]) -> bool:
    return e["status"] == "in-progress" and e["class"]["code"] == "IMP"


@pytest.fixture(scope="module")
def larger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("feed100")
    generate_hospital(100, 4, out, now=NOW)
    return out


def test_occupancy_stays_within_ten_percent_for_a_simulated_day(larger: Path) -> None:
    """A day of single-change steps (as the demo's feed writes them at its default rate):
    admissions and discharges both happen, and the census never strays more than 10% from
    where it started."""
    from standby.sim.generate import plausibility as rules

    store = _loaded(larger)
    inpatient = {sr.id: _inpatient(sr.json()) for sr in store.iter_type("Encounter")}
    start = sum(inpatient.values())
    feed = ChangeFeed(store, 5)
    made: list[dict[str, Any]] = []
    lowest = highest = start
    for i in range(24 * 30):  # every two minutes for a day
        for r in feed.step(1, NOW + timedelta(minutes=2 * i)):
            store.update(r)
            made.append(r)
            if r["resourceType"] == "Encounter":
                inpatient[r["id"]] = _inpatient(r)
        now_in = sum(inpatient.values())
        lowest, highest = min(lowest, now_in), max(highest, now_in)
    print(f"census {start}: lowest {lowest}, highest {highest}")
    assert start * 0.9 <= lowest and highest <= start * 1.1, (start, lowest, highest)
    admitted = [r for r in made if r["resourceType"] == "Patient"]
    discharged = [r for r in made if r["resourceType"] == "Encounter" and r["status"] == "finished"]
    assert len(admitted) >= 5 and len(discharged) >= 5, (len(admitted), len(discharged))
    # new patients fit the unit they are admitted to; visits fall on weekdays, in clinics
    # that see the patient
    locs = {sr.id: sr.json() for sr in store.iter_type("Location")}
    for e in made:
        if e["resourceType"] == "Encounter" and e["id"].startswith("enc-"):
            held = store.read("Patient", e["subject"]["reference"].split("/")[1])
            assert held is not None
            patient = held.json()
            bed = locs[e["location"][0]["location"]["reference"].split("/")[1]]
            unit = locs[
                locs[bed["partOf"]["reference"].split("/")[1]]["partOf"]["reference"].split("/")[1]
            ]
            band = rules.admission_band(
                e["reasonCode"][0],
                rules.unit_band(unit["type"][0]["coding"][0]["code"], unit["name"]),
            )
            born = datetime.fromisoformat(patient["birthDate"]).date()
            day = datetime.fromisoformat(e["period"]["start"].replace("Z", "+00:00")).date()
            age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
            assert band.fits(age, patient["gender"]), (e["id"], age, band)
    visits = [r for r in made if r["resourceType"] == "Appointment"]
    assert visits
    for a in visits:
        assert datetime.fromisoformat(a["start"].replace("Z", "+00:00")).weekday() < 5
        clinic = locs[a["participant"][-1]["actor"]["reference"].split("/")[1]]
        assert rules.clinic_named(clinic["name"]) is not None


@pytest.fixture(scope="module")
def icu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("icu-feed")
    generate_hospital(60, 2, out, now=NOW)
    return out


def test_running_drips_are_titrated_now_and_then(icu: Path) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    from standby.fhir.infusion import rate_text

    store = _loaded(icu)
    made = _run(store, 3, 100, 20, every=timedelta(minutes=1))
    changes = [r for r in made if r["resourceType"] == "MedicationAdministration"]
    started = [r for r in changes if r["status"] == "in-progress"]
    assert started, "no rate change in 2,000 changes"
    for r in started:
        get_fhir_model_class(r["resourceType"]).model_validate(r)
        assert rate_text(r["dosage"])
    for order in {r["request"]["reference"] for r in started}:
        rates = [
            sr.json()
            for sr in store.iter_type("MedicationAdministration")
            if sr.json()["request"]["reference"] == order and "effectivePeriod" in sr.json()
        ]
        rates.sort(key=lambda m: m["effectivePeriod"]["start"])
        assert [m["status"] for m in rates] == ["completed"] * (len(rates) - 1) + ["in-progress"]
        newest = rates[-1]
        assert newest["id"] in {r["id"] for r in started}
        assert rates[-2]["effectivePeriod"]["end"] == newest["effectivePeriod"]["start"]
        assert rates[-2]["dosage"] != newest["dosage"]


def test_a_lab_result_before_any_step_has_an_id_of_its_own_run(hospital: Path) -> None:
    """The demo's critical result (`POST /_admin/lab-result`) may come before the feed's first
    step: its id carries the run's token all the same (it was `obs-None-1`, the same in
    every run, so a second run's result replaced the first's in a kept store)."""
    store = _loaded(hospital)
    first = ChangeFeed(store, 1)
    first._refresh_census()
    patient = first._census[0].patient
    ids = [
        ChangeFeed(store, 1).lab_result(patient, "2823-3", 6.9, "HH", NOW + timedelta(minutes=k))
        for k in (0, 1)
    ]
    ids = [made[0]["id"] for made in ids]
    assert all("None" not in i for i in ids)
    assert ids[0] != ids[1]
