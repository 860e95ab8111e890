"""The census rounds' first pulls, checked, against both FHIR servers (the simulated EHR and
Medplum's FhirRouter, tests/support/second_server), and `standby sync --plan` for each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from standby.cli.main import app
from standby.store import Store
from standby.sync import status
from support.second_server.replica import sync_against
from support.second_server.sources import FhirSource


def census_patients(source: FhirSource) -> set[str]:
    out = set()
    for enc in source.admin.search("Encounter", status="in-progress"):
        if enc.get("class", {}).get("code") in ("IMP", "ACUTE", "NONAC", "EMER", "OBSENC"):
            out.add(enc["subject"]["reference"].split("/", 1)[1])
    return out


def pulled(store: Store) -> dict[str, int]:
    with store.read_transaction() as tx:
        return {str(p): int(d) for p, d in tx.query("SELECT patient_id, pulled FROM sync_census")}


def observations(source: FhirSource, pids: set[str]) -> set[str]:
    return {
        r["id"]
        for r in source.admin.search("Observation")
        if r.get("subject", {}).get("reference", "").removeprefix("Patient/") in pids
    }


@pytest.mark.slow
def test_a_census_round_pulls_every_census_patient_in_full(
    fhir_source: FhirSource, tmp_path: Path
) -> None:
    with sync_against(fhir_source, tmp_path, sync_seed_mode="none") as sync:
        result = sync.run_round()
        assert result.ok
        census = census_patients(fhir_source)
        assert census
        held = pulled(sync.store)
        assert {p: held.get(p) for p in census} == {p: 1 for p in census}
        in_replica = {r.id for r in sync.store.iter_type("Observation")}
        assert observations(fhir_source, census) <= in_replica


def _drop_one_observation(path: str, body: bytes) -> bytes:
    """A page of an Observation search, less its first entry (counts left alone)."""
    if not path.split("?", 1)[0].endswith("/Observation") or "_summary=count" in path:
        return body
    page = json.loads(body)
    if page.get("entry"):
        page["entry"] = page["entry"][1:]
    return json.dumps(page).encode()


@pytest.mark.slow
def test_a_first_pull_that_loses_data_is_not_marked_pulled(
    fhir_source: FhirSource, tmp_path: Path
) -> None:
    fhir_source.proxy.set_rewrite(_drop_one_observation)
    with sync_against(fhir_source, tmp_path, sync_seed_mode="none") as sync:
        result = sync.run_round()
        assert not result.ok
        census = census_patients(fhir_source)
        held = pulled(sync.store)
        lost = [p for p in census if observations(fhir_source, {p})]
        assert lost and not any(held.get(p) for p in lost)
        (src,) = status.source_status(sync.store)
        assert src.last_round == "failed" and "_summary=count" in (src.last_error or "")
        fhir_source.proxy.set_rewrite(None)
        assert sync.run_round().ok  # the source answers whole again: pulled in full now
        held = pulled(sync.store)
        assert {p: held.get(p) for p in census} == {p: 1 for p in census}


def test_plan_against_each_server(fhir_source: FhirSource, tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    r = CliRunner().invoke(
        app, ["sync", "--source", fhir_source.base_url, "--db", str(db), "--plan"]
    )
    assert r.exit_code == 0, r.output
    assert not db.exists()
    seed = "seed: bulk" if fhir_source.kind == "sim" else "seed: search"
    assert seed in r.stdout and "CapabilityStatement read" in r.stdout
