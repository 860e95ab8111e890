"""Helpers of the packet tests (imported by name: `conftest` is not a unique module name)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def open_test_store(db: Path):
    from standby.store import open_store

    return open_store(db=db)


def load_ndjson(data: Path, db: Path):
    store = open_test_store(db)
    for f in sorted(data.glob("*.ndjson")):
        with open(f, "rb") as fh:
            store.ingest_ndjson(fh, file=str(f))
    return store


def add_allergy_conflict(data: Path) -> None:
    """Order, for one inpatient with a drug allergy, a drug that the allergy names.

    The generator never orders such a drug (its plausibility rules), so the MAR's
    "CHECK ALLERGY" warning is tested on this one order, added to the NDJSON."""
    import orjson

    from standby.sim.generate.medications import MEDS

    same_drug = {"11124": "vancomycin", "1191": "aspirin", "5640": "ibuprofen_prn"}
    same_drug.update(dict.fromkeys(("70618", "723"), "piptazo"))  # penicillins
    allergic: dict[str, str] = {}
    for line in (data / "AllergyIntolerance.ndjson").read_bytes().splitlines():
        a = orjson.loads(line)
        code = a["code"]["coding"][0]["code"]
        if code in same_drug:
            allergic.setdefault(a["patient"]["reference"], same_drug[code])
    path = data / "MedicationRequest.ndjson"
    for line in path.read_bytes().splitlines():
        mr = orjson.loads(line)
        key = allergic.get(mr["subject"]["reference"])
        if key and mr["status"] == "active" and "encounter" in mr:
            conflict = {
                **mr,
                "id": "mr-allergy-conflict",
                "medicationCodeableConcept": MEDS[key].concept,
            }
            with path.open("ab") as fh:
                fh.write(orjson.dumps(conflict) + b"\n")
            return
    raise AssertionError("no inpatient with a drug allergy to add a conflicting order for")
