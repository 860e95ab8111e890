"""A generic FHIR client from PyPI (fhirpy) reads, searches and pages through Standby's API
over real HTTP (the viewer's app under uvicorn, as `standby serve` runs it), authenticated
the SMART Backend Services way by Standby's own sync client; and every clinical example of
FHIR R4 loaded into the replica comes back JSON-equal, decimals included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fhirpy import SyncFHIRClient

from standby.api import smart
from standby.settings import Settings
from standby.store import open_store
from standby.store.base import Store
from standby.sync.auth import SmartBackendAuth
from standby.sync.jwks import generate_private_key, jwks
from standby.web.app import create_app
from support.fhir_api import small_replica, vital
from support.fhir_examples import TGZ, clinical_examples
from support.web_server import served


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Store, dict[str, str]]]:
    """(FHIR base URL, the replica, auth headers) of a served replica."""
    db = tmp_path / "replica.db"
    store = open_store(db=db)
    small_replica(store)
    settings = Settings(db=db)
    key = generate_private_key("RS384")
    client = smart.add_client(store, name="analytics", jwks=jwks(key), scope="system/*.rs")
    with served(settings, create_app(settings, store)) as url:
        base = f"{url}/fhir"
        auth = SmartBackendAuth(base, client.client_id, key, scope="system/*.rs")
        yield base, store, auth.headers()
    store.close()


def test_fhirpy_reads_searches_and_pages(live: tuple[str, Store, dict[str, str]]) -> None:
    base, store, headers = live
    store.upsert_many([vital(f"hr-x{k}", "pat-1", 8 + k % 20, 70.0 + k) for k in range(40)])
    fhir = SyncFHIRClient(base, authorization=headers["Authorization"])
    patient = fhir.reference("Patient", "pat-1").to_resource()
    assert patient["name"][0]["family"] == "Alpha"
    assert fhir.resources("Patient").search(name="bet").fetch()[0]["id"] == "pat-2"
    vitals = fhir.resources("Observation").search(patient="pat-1").sort("-date").limit(6)
    got = vitals.fetch_all()  # follows Bundle.link next, 6 at a time
    assert len(got) == 47 and len({r["id"] for r in got}) == 47
    dates = [r["effectiveDateTime"] for r in got]
    assert dates == sorted(dates, reverse=True)
    assert vitals.count() == 47
    assert fhir.resources("Observation").search(patient="pat-2").count() == 1
    # and a write through the same client is refused
    with pytest.raises(Exception, match="read-only downtime replica"):
        fhir.resource("Patient", id="pat-9", name=[{"family": "New"}]).save()
    assert store.read("Patient", "pat-9") is None


@pytest.mark.slow
def test_every_r4_example_comes_back_json_equal(live: tuple[str, Store, dict[str, str]]) -> None:
    if not TGZ.exists():
        pytest.fail(f"{TGZ} is missing: run `make {TGZ.relative_to(TGZ.parents[1])}`")
    base, store, headers = live
    examples = list(clinical_examples())
    assert len(examples) > 600
    for k in range(0, len(examples), 200):
        store.upsert_many([raw for _, raw in examples[k : k + 200]])
    fhir = SyncFHIRClient(base, authorization=headers["Authorization"])
    with httpx.Client(base_url=base, headers=headers) as http:
        for name, raw in examples:
            want = json.loads(raw)
            got = fhir.reference(want["resourceType"], want["id"]).to_resource().serialize()
            assert got == want, name
            exact = http.get(f"/{want['resourceType']}/{want['id']}")
            assert json.loads(exact.content, parse_float=Decimal) == json.loads(
                raw, parse_float=Decimal
            ), name
    # and through search: every Observation example, paged
    want_ids = {json.loads(raw)["id"] for _, raw in examples if b'"Observation"' in raw[:200]}
    want_ids = {i for i in want_ids if store.read("Observation", i) is not None}
    paged = fhir.resources("Observation").limit(20).fetch_all()
    assert {r["id"] for r in paged} >= want_ids and len(paged) == len({r["id"] for r in paged})
