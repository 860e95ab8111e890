"""`standby recover gaps` on a crafted replica: an ICU patient whose vital signs stop for
3 hours and whose 06:00 dose has nothing recorded, as CSV rows naming the patient twice
(name and MRN, and birth date); a bad window is refused with a clear message."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from standby.cli import recover_gaps
from standby.store import open_store

PHYS = "http://terminology.hl7.org/CodeSystem/location-physical-type"
ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
VS = "http://terminology.hl7.org/CodeSystem/observation-category"


def _loc(lid: str, kind: str, part_of: str | None = None, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Location",
        "id": lid,
        "status": "active",
        "name": lid.upper(),
        "physicalType": {"coding": [{"system": PHYS, "code": kind}]},
        **kw,
    }
    if part_of:
        body["partOf"] = {"reference": f"Location/{part_of}"}
    return body


def _replica(path: Path) -> None:
    store = open_store(db=path)
    for r in [
        _loc("icu", "wi", alias=["ICU"], type=[{"coding": [{"system": ROLE, "code": "ICU"}]}]),
        _loc("icu-1", "bd", "icu", name="ICU-1"),
        {
            "resourceType": "Patient",
            "id": "p1",
            "identifier": [{"system": "urn:mrn", "value": "MRN-1234"}],
            "name": [{"family": "Okafor", "given": ["Adaeze"]}],
            "birthDate": "1984-06-12",
        },
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "in-progress",
            "class": {"code": "IMP"},
            "subject": {"reference": "Patient/p1"},
            "period": {"start": "2026-11-28T10:00:00Z"},
            "location": [{"location": {"reference": "Location/icu-1"}}],
        },
        {
            "resourceType": "MedicationRequest",
            "id": "mr1",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {"text": "Vancomycin 1 g IV"},
            "authoredOn": "2026-11-28T10:00:00Z",
            "dosageInstruction": [
                {
                    "timing": {
                        "repeat": {
                            "timeOfDay": ["06:00"],
                            "frequency": 1,
                            "period": 1,
                            "periodUnit": "d",
                        }
                    }
                }
            ],
        },
    ]:
        store.update(r)
    for i, hour in enumerate([0, 1, 2, 5, 6]):  # nothing between 02:00 and 05:00
        store.update(
            {
                "resourceType": "Observation",
                "id": f"o{i}",
                "status": "final",
                "category": [{"coding": [{"system": VS, "code": "vital-signs"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                "subject": {"reference": "Patient/p1"},
                "effectiveDateTime": f"2026-11-30T0{hour}:00:00Z",
                "valueQuantity": {"value": 90, "unit": "/min"},
            }
        )
    store.close()


def _app() -> typer.Typer:
    root = typer.Typer()
    recover = typer.Typer()
    recover_gaps.register(recover)
    root.add_typer(recover, name="recover")
    return root


def test_recover_gaps_writes_the_icu_gaps_as_csv(tmp_path: Path) -> None:
    db = tmp_path / "replica.db"
    _replica(db)
    args = [
        "recover",
        "gaps",
        "--db",
        str(db),
        "--from",
        "2026-11-30T00:00",
        "--to",
        "2026-11-30T07:00",
    ]
    result = CliRunner().invoke(_app(), args, env={"STANDBY_TIMEZONE": "UTC"})
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {(r["patient"], r["mrn"], r["birth_date"]) for r in rows} == {
        ("OKAFOR, Adaeze", "MRN-1234", "1984-06-12")
    }
    vitals = [r for r in rows if r["what"] == "vital signs"]
    assert [(v["from"], v["to_or_due"]) for v in vitals] == [
        ("2026-11-30T02:00+00:00", "2026-11-30T05:00+00:00")
    ]
    assert [(r["what"], r["to_or_due"]) for r in rows if r["what"] == "dose"] == [
        ("dose", "2026-11-30T06:00+00:00")
    ]


def test_recover_gaps_refuses_a_bad_window(tmp_path: Path) -> None:
    db = tmp_path / "replica.db"
    _replica(db)
    app = _app()
    bad = CliRunner().invoke(
        app, ["recover", "gaps", "--db", str(db), "--from", "yesterday", "--to", "2026-11-30T07:00"]
    )
    assert bad.exit_code == 2 and "not a time" in bad.output
    none = CliRunner().invoke(app, ["recover", "gaps", "--db", str(db)])
    assert none.exit_code == 1 and "no downtime has been declared" in none.output
    unknown = CliRunner().invoke(
        app,
        [
            "recover",
            "gaps",
            "--db",
            str(db),
            "--unit",
            "5E",
            "--from",
            "2026-11-30T00:00",
            "--to",
            "2026-11-30T07:00",
        ],
    )
    assert unknown.exit_code == 2 and "no such unit: 5E" in unknown.output
