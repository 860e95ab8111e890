"""An edge node's round costs what its units hold, not what the hospital holds: it asks the
central node for its units' Encounters only (by `location`), so a hospital that grows
elsewhere adds no search and no resource to its round, and no other unit's Encounter or
Appointment reaches its replica (only the central node's `_history`, read for deletes,
still carries the hospital's changes since the last round); a patient moving onto the unit
is still picked up, and one moving off it leaves its census."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from standby.api import smart
from standby.clinical.census import units
from standby.fhir import display as d
from standby.settings import Settings
from standby.store import open_store
from standby.store.base import Store
from standby.sync.incremental import RoundResult
from standby.sync.jwks import generate_private_key, jwks, write_private_key
from standby.sync.runner import SyncRunner
from standby.web.app import create_app
from support.edge_nodes import NOW, census_ids, central_store, serve_on

pytestmark = pytest.mark.slow

STAMP = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from standby.sim.generate import generate_hospital

    d = tmp_path_factory.mktemp("hospital")
    generate_hospital(40, 11, d, now=NOW)
    return d


def inpatient(eid: str, pid: str, loc: str, version: int = 1) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": eid,
        "meta": {"versionId": str(version), "lastUpdated": STAMP},
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": STAMP},
        "location": [{"location": {"reference": f"Location/{loc}"}, "status": "active"}],
    }


def patient(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"versionId": "1", "lastUpdated": STAMP},
        "identifier": [{"system": "urn:test:mrn", "value": pid}],
        "name": [{"family": "Elsewhere", "given": [pid]}],
        "birthDate": "1950-01-01",
    }


def put(store: Store, *resources: dict[str, Any]) -> None:
    store.upsert_many([json.dumps(r).encode() for r in resources])


class Counted:
    """The GETs an edge node sends in a round (every search page, count and history)."""

    def __init__(self, runner: SyncRunner) -> None:
        client = runner.incremental.client
        self.paths: list[str] = []
        send = client.request

        def request(method: str, url: str, *a: Any, **kw: Any) -> Any:
            self.paths.append(url.split("?", 1)[0].rsplit("/fhir/", 1)[-1])
            return send(method, url, *a, **kw)

        client.request = request  # type: ignore[method-assign]

    def round(self, runner: SyncRunner) -> tuple[RoundResult, int]:
        """The round, and its searches: every GET but the `_history` pages, which carry
        the whole hospital's changes since the last round (deletes are found there)."""
        self.paths.clear()
        got = runner.run_round()
        assert got.ok
        return got, sum(1 for p in self.paths if not p.endswith("_history"))


def received(r: RoundResult) -> int:
    return r.stats.written + r.stats.unchanged


def of_others(edge: Store, kept: set[str]) -> Iterator[str]:
    """The Encounters and Appointments the edge node holds of patients it does not hold."""
    for sr in edge.iter_type("Encounter"):
        if d.reference_id(sr.json().get("subject"), "Patient") not in kept:
            yield f"Encounter/{sr.id}"
    for sr in edge.iter_type("Appointment"):
        actors = [
            d.reference_id((p or {}).get("actor"), "Patient")
            for p in sr.json().get("participant") or []
        ]
        if not {a for a in actors if a} <= kept:
            yield f"Appointment/{sr.id}"


def test_a_round_grows_with_the_unit_not_with_the_hospital(hospital: Path, tmp_path: Path) -> None:
    central = central_store(hospital, tmp_path / "central.db")
    cs = Settings(db=tmp_path / "central.db", db_encryption="off")
    key = generate_private_key("ES384")
    write_private_key(key, tmp_path / "edge.pem")
    client = smart.add_client(central, name="edge-3w", jwks=jwks(key), scope="system/*.read")
    edge = open_store(db=tmp_path / "edge.db")
    unit_3w = next(u for u in units(central) if u.alias == "3W")
    other = next(u for u in units(central) if u.alias != "3W" and u.kind != "ER")
    want = census_ids(central, "3W")

    with serve_on(cs, create_app(cs, central), 0) as url:
        es = Settings(
            db=tmp_path / "edge.db",
            db_encryption="off",
            source_url=f"{url}/fhir",
            auth="smart-backend",
            client_id=client.client_id,
            private_key=tmp_path / "edge.pem",
            sync_units=["3W"],
        )
        runner = SyncRunner(es, edge)
        runner.check_auth()
        runner.seed()
        counted = Counted(runner)
        counted.round(runner)  # pulls 3W's patients
        quiet, quiet_requests = counted.round(runner)  # nothing changed: the baseline

        # the hospital grows by 300 inpatients, none of them on 3W
        extra = [f"elsewhere-{i}" for i in range(300)]
        put(central, *(patient(p) for p in extra))
        put(central, *(inpatient(f"enc-{p}", p, other.id) for p in extra))
        counted.round(runner)  # their arrival passes through the central node's _history
        grown, grown_requests = counted.round(runner)
        assert (grown_requests, received(grown)) == (quiet_requests, received(quiet))
        assert grown.census == quiet.census == len(want)

        # one of them moves onto 3W: picked up; and off it again: off the census
        mover = extra[0]
        put(central, inpatient(f"enc-{mover}", mover, unit_3w.id, version=2))
        counted.round(runner)
        assert mover in census_ids(edge, "3W")
        put(central, inpatient(f"enc-{mover}", mover, other.id, version=3))
        counted.round(runner)
        assert mover not in census_ids(edge, "3W")
        assert census_ids(edge, "3W") == want
        runner.close()

    # the other units' patients' Encounters and Appointments never reached its replica
    held = {sr.id for sr in edge.iter_type("Patient")}
    assert held >= set(want)
    assert not list(of_others(edge, held))
    edge.close()
    central.close()
