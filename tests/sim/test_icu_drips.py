"""The synthetic ICU runs drips (heparin, insulin, norepinephrine, propofol) that the
read model shows as infusions: the current rate, the last rate change, the titration
rule (`standby.sim.generate.infusions`, `standby.fhir.infusion`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from standby.clinical.summary import patient_summary
from standby.sim.generate import generate_hospital
from standby.sim.generate.infusions import CODE_OF, DRIPS
from support.reports_support import load_ndjson

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
TITRATED_BY = {
    "heparin_drip": "anti-Xa every 6 hours",
    "insulin_drip": "hourly blood glucose",
    "norepinephrine_drip": "MAP >= 65",
    "propofol_drip": "RASS",
}


@pytest.fixture(scope="module")
def replica(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("icu")
    generate_hospital(60, 3, out, now=NOW)  # a seed whose ICU runs all four drips
    with (out / "MedicationRequest.ndjson").open("rb") as fh:
        orders = [r for r in map(orjson.loads, fh) if r["id"].startswith("drip")]
    return load_ndjson(out, out / "replica.db"), orders


def test_the_icu_runs_each_of_the_four_drips(replica: tuple[Any, list[dict[str, Any]]]) -> None:
    _store, orders = replica
    keys = {CODE_OF[mr["medicationCodeableConcept"]["coding"][0]["code"]] for mr in orders}
    assert keys == set(DRIPS)


def test_the_mar_reads_each_drip_with_a_current_rate_and_last_change(
    replica: tuple[Any, list[dict[str, Any]]],
) -> None:
    store, orders = replica
    seen: set[str] = set()
    for mr in orders:
        key = CODE_OF[mr["medicationCodeableConcept"]["coding"][0]["code"]]
        summary = patient_summary(store, mr["subject"]["reference"].split("/")[1], NOW)
        assert summary is not None
        entry = next(e for e in summary.mar.infusions if e.medication.id == mr["id"])
        assert entry.medication.continuous and entry.medication.frequency == "continuous"
        assert mr["id"] not in {e.medication.id for e in summary.mar.scheduled + summary.mar.prn}
        inf = entry.infusion
        assert inf is not None and inf.documented, mr["id"]
        assert inf.current_rate.endswith(DRIPS[key].unit + ("/min" if DRIPS[key].ratio else ""))
        assert inf.last_change is not None and inf.last_change.when <= NOW
        assert inf.last_change.rate == inf.current_rate
        assert TITRATED_BY[key] in inf.titration, inf.titration
        seen.add(key)
    assert seen == set(DRIPS)


def test_the_rate_changes_are_documented_as_running_then_completed(
    replica: tuple[Any, list[dict[str, Any]]],
) -> None:
    store, orders = replica
    for mr in orders:
        page = store.search(
            "MedicationAdministration",
            [("request", f"MedicationRequest/{mr['id']}"), ("status", "in-progress")],
            count=10,
        )
        assert len(page.resources) == 1, mr["id"]


def test_docs_describe_the_drips() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "synthetic-hospital.md").read_text()
    for drip in DRIPS.values():
        assert str(drip.concept["text"]) in doc
