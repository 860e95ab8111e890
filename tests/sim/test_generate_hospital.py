"""The synthetic hospital: valid FHIR R4, deterministic, and shaped as
docs/data-model.md says (allergy states, beds under units, schedules)."""

from __future__ import annotations

import base64
import itertools
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from standby.cli.main import app
from standby.sim.generate import generate_hospital

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-28T10:00:00Z"


def _read(out: Path, rtype: str) -> Iterator[dict[str, Any]]:
    path = out / f"{rtype}.ndjson"
    if not path.exists():
        return
    with path.open("rb") as fh:
        for line in fh:
            yield orjson.loads(line)


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("hospital")
    counts = generate_hospital(60, 11, out, now=NOW)
    return out, counts


@pytest.fixture(scope="module")
def everything(hospital: tuple[Path, dict[str, int]]) -> dict[str, dict[str, dict[str, Any]]]:
    out, counts = hospital
    return {t: {r["id"]: r for r in _read(out, t)} for t in counts}


def test_counts_match_files_and_types_are_all_there(hospital: tuple[Path, dict[str, int]]) -> None:
    out, counts = hospital
    expected = {
        "Organization",
        "Location",
        "Practitioner",
        "PractitionerRole",
        "Patient",
        "Encounter",
        "AllergyIntolerance",
        "Condition",
        "MedicationRequest",
        "MedicationAdministration",
        "Observation",
        "Flag",
        "DocumentReference",
        "CarePlan",
        "ServiceRequest",
        "Appointment",
        "Schedule",
        "Slot",
    }
    assert set(counts) == expected
    for rtype, n in counts.items():
        assert (out / f"{rtype}.ndjson").read_bytes().count(b"\n") == n
    assert 50_000 <= sum(counts.values()) <= 70_000  # ~1,000 resources per bed


def test_a_sample_of_every_type_validates_against_fhir_r4(
    hospital: tuple[Path, dict[str, int]],
) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    out, counts = hospital
    for rtype, n in counts.items():
        model = get_fhir_model_class(rtype)
        step = max(1, n // 150)
        with (out / f"{rtype}.ndjson").open("rb") as fh:
            for line in itertools.islice(fh, 0, None, step):
                model.model_validate(orjson.loads(line))


def test_every_resource_has_version_one_updated_before_now(
    everything: dict[str, dict[str, dict[str, Any]]],
) -> None:
    for rtype, items in everything.items():
        for r in items.values():
            assert r["resourceType"] == rtype and r["id"]
            assert r["meta"]["versionId"] == "1"
            assert r["meta"]["lastUpdated"] < NOW_TEXT, (rtype, r["id"])


def test_every_reference_resolves(everything: dict[str, dict[str, dict[str, Any]]]) -> None:
    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("reference"), str):
                yield node["reference"]
            for v in node.values():
                yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    for items in everything.values():
        for r in items.values():
            for reference in refs(r):
                rtype, rid = reference.split("/")
                assert rid in everything.get(rtype, {}), f"{r['resourceType']}/{r['id']}"


def _inpatients(everything: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [
        e
        for e in everything["Encounter"].values()
        if e["status"] == "in-progress" and e["class"]["code"] == "IMP"
    ]


def test_every_current_encounter_is_in_a_bed_under_a_unit(
    everything: dict[str, dict[str, dict[str, Any]]],
) -> None:
    locs = everything["Location"]
    current = [e for e in everything["Encounter"].values() if e["status"] == "in-progress"]
    assert len(_inpatients(everything)) >= 0.7 * 60
    assert any(e["class"]["code"] == "EMER" for e in current)
    beds_taken: set[str] = set()
    for e in current:
        active = [x for x in e["location"] if x["status"] == "active"]
        assert len(active) == 1
        bed = locs[active[0]["location"]["reference"].split("/")[1]]
        assert bed["physicalType"]["coding"][0]["code"] == "bd"
        assert bed["id"] not in beds_taken, "two patients in one bed"
        beds_taken.add(bed["id"])
        node, kinds = bed, []
        while "partOf" in node:
            node = locs[node["partOf"]["reference"].split("/")[1]]
            kinds.append(node["physicalType"]["coding"][0]["code"])
        assert kinds[:2] == ["ro", "wi"] and kinds[-1] == "si"
        assert any(p["type"][0]["coding"][0]["code"] == "ATND" for p in e["participant"])
        assert e["reasonCode"] and e["period"]["start"] < NOW_TEXT
    transferred = [e for e in current if len(e["location"]) > 1]
    assert transferred and all(e["location"][0]["status"] == "completed" for e in transferred)


def test_allergy_states_none_recorded_no_known_and_real(
    everything: dict[str, dict[str, dict[str, Any]]],
) -> None:
    by_patient: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in everything["AllergyIntolerance"].values():
        by_patient[a["patient"]["reference"]].append(a)
    states = {"none": 0, "nka": 0, "real": 0}
    for e in _inpatients(everything):
        items = by_patient.get(e["subject"]["reference"], [])
        codes = {a["code"]["coding"][0]["code"] for a in items}
        if not items:
            states["none"] += 1
        elif codes == {"716186003"}:
            states["nka"] += 1
        else:
            assert "716186003" not in codes, "NKA asserted beside a real allergy"
            assert all(a["reaction"][0]["manifestation"] and a["criticality"] for a in items)
            states["real"] += 1
    assert all(n > 0 for n in states.values()), states


def test_inpatients_have_what_a_downtime_summary_needs(
    everything: dict[str, dict[str, dict[str, Any]]],
) -> None:
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for rtype in (
        "MedicationRequest",
        "Observation",
        "DocumentReference",
        "CarePlan",
        "ServiceRequest",
        "Condition",
    ):
        for r in everything[rtype].values():
            enc = r.get("encounter") or (r.get("context") or {}).get("encounter", [None])[0]
            if enc:
                per[enc["reference"]][rtype] += 1
    code_status = {
        o["encounter"]["reference"]
        for o in everything["Observation"].values()
        if o["code"]["coding"][0]["code"] == "100822-6"
    }
    for e in _inpatients(everything):
        key = f"Encounter/{e['id']}"
        assert 3 <= per[key]["MedicationRequest"] <= 15
        assert per[key]["Observation"] >= 14 and per[key]["DocumentReference"] >= 1
        assert per[key]["CarePlan"] == 1 and per[key]["ServiceRequest"] >= 2
        assert key in code_status
    vitals = {o["code"]["coding"][0]["code"] for o in everything["Observation"].values()}
    assert {
        "85354-9",
        "8867-4",
        "9279-1",
        "8310-5",
        "59408-5",
        "72514-3",
        "29463-7",
        "8302-2",
        "718-7",
        "2951-2",
        "2160-0",
    } <= vitals
    flags = {
        o["interpretation"][0]["coding"][0]["code"]
        for o in everything["Observation"].values()
        if "interpretation" in o
    }
    assert {"N", "H", "L"} <= flags
    note = next(iter(everything["DocumentReference"].values()))
    text = base64.b64decode(note["content"][0]["attachment"]["data"]).decode()
    assert "Patient:" in text


def test_medication_administrations_follow_their_orders(
    everything: dict[str, dict[str, dict[str, Any]]],
) -> None:
    orders = everything["MedicationRequest"]
    statuses = set()
    for ma in everything["MedicationAdministration"].values():
        mr = orders[ma["request"]["reference"].split("/")[1]]
        assert mr["subject"] == ma["subject"]
        if "effectivePeriod" in ma:  # a drip's rate, from its start
            assert mr["authoredOn"] <= ma["effectivePeriod"]["start"] < NOW_TEXT
            assert ma["status"] in ("completed", "in-progress")
            assert (ma["status"] == "completed") == ("end" in ma["effectivePeriod"])
            continue
        assert mr["authoredOn"] <= ma["effectiveDateTime"] < NOW_TEXT
        statuses.add(ma["status"])
        if ma["status"] == "not-done":
            assert ma["statusReason"]
    assert statuses == {"completed", "not-done"}
    assert any(mr["dosageInstruction"][0].get("asNeededBoolean") for mr in orders.values())


def test_surgeries_sit_in_or_schedules_with_busy_and_free_slots(
    everything: dict[str, dict[str, dict[str, Any]]],
) -> None:
    slots = everything["Slot"]
    surgeries = [a for a in everything["Appointment"].values() if "basedOn" in a]
    assert surgeries
    for a in surgeries:
        sr = everything["ServiceRequest"][a["basedOn"][0]["reference"].split("/")[1]]
        assert sr["category"][0]["coding"][0]["code"] == "387713003"
        assert slots[a["slot"][0]["reference"].split("/")[1]]["status"] == "busy"
        kinds = {p["actor"]["reference"].split("/")[0] for p in a["participant"]}
        assert kinds == {"Patient", "Practitioner", "Location"}
        assert a["minutesDuration"] > 0 and a["comment"].startswith("Anesthesia")
    assert any(s["status"] == "free" for s in slots.values())
    assert any(a["start"][:10] == NOW_TEXT[:10] for a in surgeries)
    visits = [a for a in everything["Appointment"].values() if "basedOn" not in a]
    patients = everything["Patient"]
    for a in visits:
        pid = a["participant"][0]["actor"]["reference"].split("/")[1]
        assert patients[pid]["telecom"][0]["system"] == "phone"


def test_names_include_accents_and_deliberate_duplicates(
    everything: dict[str, dict[str, dict[str, Any]]],
) -> None:
    johns = [
        p
        for p in everything["Patient"].values()
        if p["name"][0]["family"] == "Smith" and p["name"][0]["given"][0] == "John"
    ]
    assert len(johns) >= 2 and all(p["gender"] == "male" for p in johns)
    assert len({p["birthDate"] for p in johns}) == len(johns)
    assert len({p["identifier"][0]["value"] for p in johns}) == len(johns)
    assert any(p["name"][0]["family"] == "Núñez" for p in everything["Patient"].values())
    mrns = [p["identifier"][0]["value"] for p in everything["Patient"].values()]
    assert len(mrns) == len(set(mrns))


def _digest(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.ndjson"))}


def test_same_seed_and_now_give_identical_bytes(tmp_path: Path) -> None:
    generate_hospital(20, 5, tmp_path / "a", now=NOW)
    generate_hospital(20, 5, tmp_path / "b", now=NOW)
    generate_hospital(20, 6, tmp_path / "c", now=NOW)
    a, b, c = (_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert a != c and a["Patient.ndjson"] != c["Patient.ndjson"]


def test_cli_generates_and_prints_counts(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "sim",
            "generate",
            "--beds",
            "20",
            "--seed",
            "3",
            "--out",
            str(tmp_path),
            "--now",
            NOW_TEXT,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Patient" in result.output and "total" in result.output
    assert (tmp_path / "Encounter.ndjson").stat().st_size > 0


def test_cli_rejects_a_bad_now(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["sim", "generate", "--beds", "20", "--out", str(tmp_path), "--now", "yesterday"]
    )
    assert result.exit_code != 0


def test_npis_carry_a_valid_luhn_check_digit() -> None:
    from standby.sim.generate.people import npi, npi_check_digit

    assert npi_check_digit("123456789") == "3"  # CMS's published example: 1234567893
    assert len(npi(42)) == 10 and npi(42).startswith("1")
