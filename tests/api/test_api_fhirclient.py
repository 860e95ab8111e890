"""A second generic FHIR client from PyPI, SMART's `fhirclient` (client-py, R4 models),
over real HTTP: it parses the CapabilityStatement into its R4 model, and pages (following
`Bundle.link` next) through a search of every type of the official R4 examples loaded into
the replica; each example comes back JSON-equal, through its models and as the bytes a
plain client reads from the same pages."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhirclient.models import fhirelementfactory
from fhirclient.models.bundle import Bundle
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.fhirsearch import FHIRSearch
from fhirclient.models.patient import Patient
from fhirclient.server import FHIRServer

from standby.api import smart
from standby.settings import Settings
from standby.store import open_store
from standby.store.base import Store
from standby.sync.auth import SmartBackendAuth
from standby.sync.jwks import generate_private_key, jwks
from standby.web.app import create_app
from support.fhir_api import small_replica
from support.fhir_examples import TGZ, clinical_examples
from support.web_server import served


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[FHIRServer, Store, dict[str, str]]]:
    """fhirclient's server object on a served replica, with a bearer token got the SMART
    Backend Services way (fhirclient has no such flow: the header is set on its session)."""
    db = tmp_path / "replica.db"
    store = open_store(db=db)
    settings = Settings(db=db)
    key = generate_private_key("ES384")
    client = smart.add_client(store, name="bedboard", jwks=jwks(key), scope="system/*.rs")
    with served(settings, create_app(settings, store)) as url:
        base = f"{url}/fhir/"
        headers = SmartBackendAuth(base, client.client_id, key, scope="system/*.rs").headers()
        fhir = FHIRServer(None, base_uri=base)
        fhir.session.headers.update(headers)
        yield fhir, store, headers
    store.close()


def test_fhirclient_reads_the_capability_statement_and_a_patient(
    server: tuple[FHIRServer, Store, dict[str, str]],
) -> None:
    fhir, store, _ = server
    small_replica(store)
    cs = CapabilityStatement.read_from("metadata", fhir)  # strict R4 model
    assert cs.fhirVersion == "4.0.1" and cs.rest[0].mode == "server"
    patient = Patient.read("pat-1", fhir)
    assert patient.name[0].family == "Alpha"
    found = list(FHIRSearch(Patient, {"name": "bet"}).perform_resources_iter(fhir))
    assert [p.id for p in found] == ["pat-2"]


def _as_json(resource: Any) -> dict[str, Any]:
    got: dict[str, Any] = resource.as_json()
    return got


@pytest.mark.slow
def test_every_example_type_pages_back_json_equal(
    server: tuple[FHIRServer, Store, dict[str, str]],
) -> None:
    if not TGZ.exists():
        pytest.fail(f"{TGZ} is missing: run `make {TGZ.relative_to(TGZ.parents[1])}`")
    fhir, store, headers = server
    raws = [raw for _, raw in clinical_examples()]
    assert len(raws) > 600
    for k in range(0, len(raws), 200):
        store.upsert_many(raws[k : k + 200])
    examples = [json.loads(raw) for raw in raws]
    exact_by_key = {
        (e["resourceType"], e["id"]): json.loads(raw, parse_float=Decimal)
        for e, raw in zip(examples, raws, strict=True)
    }
    by_type: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for e in examples:
        by_type[e["resourceType"]][e["id"]] = e
    assert len(by_type) > 100 and sum(len(w) for w in by_type.values()) == len(raws)
    unreadable: list[str] = []
    refused = set()  # types of which fhirclient's models refuse an example file itself
    for rtype, wanted in by_type.items():
        cls = type(fhirelementfactory.FHIRElementFactory.instantiate(rtype, None))
        for want in wanted.values():
            try:
                cls(want)
            except Exception:
                refused.add(rtype)
    with httpx.Client(headers=headers) as http:
        for rtype, wanted in sorted(by_type.items()):
            # fhirclient: its R4 models, following Bundle.link next 7 at a time
            cls = type(fhirelementfactory.FHIRElementFactory.instantiate(rtype, None))
            seen: dict[str, dict[str, Any]] = {}
            try:
                for bundle in FHIRSearch(cls, {"_count": "7"}).perform_iter(fhir):
                    assert isinstance(bundle, Bundle) and bundle.type == "searchset"
                    for entry in bundle.entry or []:
                        assert entry.search.mode == "match" and entry.resource.id not in seen
                        seen[entry.resource.id] = _as_json(entry.resource)
            except Exception as ex:  # a model that refuses an example: listed below
                unreadable.append(rtype)
                assert rtype in refused, f"{rtype}: {type(ex).__name__}: {str(ex)[:300]}"
                seen = {}
            for rid, want in wanted.items():
                if rid in seen:  # the same as the example through the same models
                    # (they drop what they do not model, such as `_event` extensions)
                    assert seen[rid] == _as_json(cls(want)), f"{rtype}/{rid}"
            # a plain client: the same pages by their next links, the exact JSON
            url: str | None = f"{fhir.base_uri}{rtype}?_count=7"
            got: dict[str, Any] = {}
            while url:
                page = http.get(url)
                assert page.status_code == 200, page.text
                b = json.loads(page.content, parse_float=Decimal)
                for entry in b.get("entry", []):
                    got[entry["resource"]["id"]] = entry["resource"]
                url = next((lk["url"] for lk in b["link"] if lk["relation"] == "next"), None)
            assert set(got) == set(wanted), rtype
            for rid in wanted:
                assert got[rid] == exact_by_key[(rtype, rid)], f"{rtype}/{rid}"
    # (the R4 examples' Questionnaire has an item without its mandatory linkId)
    assert sorted(unreadable) == sorted(refused) and len(refused) <= 3, refused
