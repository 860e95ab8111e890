"""Helpers for the simulated-EHR tests: a small hand-made store and a TestClient."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from standby.sim.server import Faults, SmartAuthConfig, create_app
from standby.sim.server.ehr_store import ensure_inpatient_group
from standby.store import Store, open_store


def small_store(path: Path, patients: int = 12) -> Store:
    store = open_store(db=path / "ehr.db")
    for i in range(patients):
        pid = f"p{i}"
        store.update(
            {
                "resourceType": "Patient",
                "id": pid,
                "identifier": [{"system": "urn:mrn", "value": f"MRN{i}"}],
                "name": [{"family": f"Family{i}", "given": ["Test"]}],
                "gender": "female" if i % 2 else "male",
                "birthDate": "1970-01-01",
            }
        )
        store.update(
            {
                "resourceType": "Encounter",
                "id": f"e{i}",
                "status": "in-progress" if i < 5 else "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "IMP",
                },
                "subject": {"reference": f"Patient/{pid}"},
            }
        )
        for j in range(3):
            store.update(
                {
                    "resourceType": "Observation",
                    "id": f"o{i}-{j}",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                    "subject": {"reference": f"Patient/{pid}"},
                    "effectiveDateTime": f"2026-11-28T0{j}:00:00Z",
                    "valueQuantity": {"value": 70 + j, "unit": "/min"},
                }
            )
    ensure_inpatient_group(store)
    return store


def client(
    store: Store,
    *,
    auth: SmartAuthConfig | None = None,
    faults: Faults | None = None,
    per_file: int = 100_000,
    **kw: Any,
) -> TestClient:
    app = create_app(store, auth=auth, faults=faults or Faults(seed=1), per_file=per_file, **kw)
    return TestClient(app)


def close_exports(c: TestClient) -> None:
    """Remove the export files of the app behind `c`."""
    app: Any = c.app
    app.state.exports.close()
