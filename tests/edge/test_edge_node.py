"""An edge node copies unit 3W from a central Standby over real HTTP (SMART Backend
Services), keeps serving and printing 3W while the central node is stopped, tells that
apart from the EHR being down, and catches up without loss when the central node returns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from standby.api import smart
from standby.edge.upstream import edge_state
from standby.settings import Settings
from standby.store import open_store
from standby.store.base import Store
from standby.sync.jwks import generate_private_key, jwks, write_private_key
from standby.sync.runner import SyncRunner
from standby.web.app import create_app
from support.edge_nodes import NOW, census_ids, central_store, serve_on

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from standby.sim.generate import generate_hospital

    d = tmp_path_factory.mktemp("hospital")
    generate_hospital(60, 7, d, now=NOW)
    return d


def compartment(store: Store, pid: str, rtype: str) -> dict[str, str]:
    page = store.search(rtype, [("patient", f"Patient/{pid}")], count=1000)
    return {sr.id: sr.json().get("meta", {}).get("versionId", "") for sr in page.resources}


def test_edge_node_serves_and_prints_while_cut_and_catches_up(
    hospital: Path, tmp_path: Path
) -> None:
    central_db = tmp_path / "central.db"
    central = central_store(hospital, central_db)
    cs = Settings(db=central_db, db_encryption="off")
    key = generate_private_key("ES384")
    write_private_key(key, tmp_path / "edge.pem")
    client = smart.add_client(central, name="edge-3w", jwks=jwks(key), scope="system/*.read")
    edge_db = tmp_path / "edge.db"
    edge = open_store(db=edge_db)
    want = census_ids(central, "3W")
    assert want, "the synthetic hospital has patients on 3W"

    with serve_on(cs, create_app(cs, central), 0) as url:
        port = int(url.rsplit(":", 1)[1])
        es = Settings(
            db=edge_db,
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
        first = runner.run_round()
        assert first.ok
        second = runner.run_round()  # the patients pulled in the first are kept fresh
        assert second.ok
        said = httpx.get(f"{url}/status/node.json").json()
        assert set(said) >= {"data_as_of", "ehr", "sync"}

    # 3W's patients and no one else's
    assert census_ids(edge, "3W") == want
    held = {sr.id for sr in edge.search("Patient", [], count=5000).resources}
    assert held == set(want)
    state = edge_state(edge)
    assert state is not None and state.state == "ok"

    # the link is cut: the central node is stopped
    cut = runner.run_round()
    assert not cut.ok
    state = edge_state(edge)
    assert state is not None and state.state == "central-unreachable"
    # the edge node's viewer still serves 3W, and its packets print
    assert census_ids(edge, "3W") == want
    with serve_on(es, create_app(es, edge), 0) as edge_url:
        assert httpx.get(f"{edge_url}/status/node.json").json()["edge_of"] == es.source_url
        assert httpx.get(f"{edge_url}/healthz").text == "ok"
    out = tmp_path / "packets"
    env = {**os.environ, "STANDBY_DB_ENCRYPTION": "off"}
    subprocess.run(
        [
            str(Path(sys.executable).parent / "standby"),
            "report",
            "--db",
            str(edge_db),
            "--out",
            str(out),
            "--unit",
            "3W",
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    pdfs = [p.name for p in out.rglob("*.pdf")]
    assert any("mar" in n.lower() or "medication" in n.lower() for n in pdfs), pdfs
    from pypdf import PdfReader

    mar = PdfReader(next(out.rglob("mar.pdf"))).pages[0].extract_text()
    assert "(copy of the central Standby)" in " ".join(mar.split())  # whose data it is

    # while it is cut, the EHR's changes reach the central node
    pid = want[0]
    changed = NOW + timedelta(seconds=5)
    new_obs = {
        "resourceType": "Observation",
        "id": "edge-while-cut",
        "meta": {"versionId": "1", "lastUpdated": changed.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": changed.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "valueQuantity": {"value": 77, "unit": "/min"},
    }
    central.upsert_many([json.dumps(new_obs).encode()])

    # the central node returns on the same address: the edge node catches up
    with serve_on(cs, create_app(cs, central), port):
        back = runner.run_round()
        assert back.ok
    runner.close()
    assert edge.read("Observation", "edge-while-cut") is not None
    for p in want:
        for rtype in ("Observation", "MedicationRequest", "MedicationAdministration"):
            assert compartment(edge, p, rtype) == compartment(central, p, rtype), (p, rtype)
    state = edge_state(edge)
    assert state is not None and state.state == "ok"
    edge.close()
    central.close()
