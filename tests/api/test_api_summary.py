"""`Patient/{id}/$summary` over real HTTP: the viewer's downtime summary as an IPS document
Bundle, valid against `fhir.resources` (R4B) and carrying the sections IPS requires; an
empty section says "no information" (emptyReason), never "none", unless the record
asserts it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from standby.api import smart
from standby.settings import Settings
from standby.store import open_store
from standby.store.base import Store
from standby.sync.auth import SmartBackendAuth
from standby.sync.jwks import generate_private_key, jwks
from standby.web.app import create_app
from support.r4b import validate
from support.summary_fixtures import NOW, allergy, lab, med_request, nka, patient, vital
from support.web_server import served

LOINC = "http://loinc.org"
REQUIRED = {"10160-0", "48765-2", "11450-4"}  # IPS: medications, allergies, problems


def _condition(cid: str, text: str, pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"text": text},
        "subject": {"reference": f"Patient/{pid}"},
    }


def _with_meta(r: dict[str, Any]) -> bytes:
    return orjson.dumps({**r, "meta": {"versionId": "1", "lastUpdated": "2026-11-28T08:00:00Z"}})


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Store, dict[str, str], Any]]:
    db = tmp_path / "replica.db"
    store = open_store(db=db)
    store.upsert_many(
        _with_meta(r)
        for r in [
            patient("p1"),
            allergy("Penicillin"),
            med_request("mr-1", "Metoprolol"),
            vital("v-hr", "8867-4", 72, "/min", NOW - timedelta(hours=2)),
            lab("l-k", "Potassium", 5.9, 3.5, 5.1, NOW - timedelta(hours=3)),
            _condition("c-1", "Pneumonia", "p1"),
            patient("p2", family="Jones", mrn="100235"),
            patient("p3", family="Brown", mrn="100236"),
            nka("p3"),
        ]
    )
    settings = Settings(db=db)
    key = generate_private_key("ES384")
    client = smart.add_client(store, name="ips", jwks=jwks(key), scope="system/*.read")
    with served(settings, create_app(settings, store, clock=lambda: NOW)) as url:
        base = f"{url}/fhir"
        auth = SmartBackendAuth(base, client.client_id, key, scope="system/*.read")
        yield base, store, auth.headers(), key
    store.close()


def _summary(base: str, headers: dict[str, str], pid: str) -> dict[str, Any]:
    r = httpx.get(f"{base}/Patient/{pid}/$summary", headers=headers)
    assert r.status_code == 200, r.text
    doc = r.json()
    validate(doc)
    for e in doc["entry"]:
        validate(e["resource"])
    return doc


def _sections(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    comp = doc["entry"][0]["resource"]
    return {s["code"]["coding"][0]["code"]: s for s in comp["section"]}


def test_summary_is_an_ips_document_with_the_viewers_sections(live: Any) -> None:
    base, _store, headers, _ = live
    doc = _summary(base, headers, "p1")
    assert doc["type"] == "document" and doc["identifier"]["value"] and doc["timestamp"]
    comp = doc["entry"][0]["resource"]
    assert comp["resourceType"] == "Composition"  # a document's first entry
    assert comp["type"]["coding"][0] == {
        "system": LOINC, "code": "60591-5", "display": "Patient summary Document",
    }  # fmt: skip
    assert comp["subject"] == {"reference": "Patient/p1"}
    secs = _sections(doc)
    assert secs.keys() >= REQUIRED | {"30954-2", "8716-3"}
    held = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in doc["entry"]}
    for s in comp["section"]:  # every section has entries or says why not; entries resolve
        if s["code"]["coding"][0]["code"] in REQUIRED | {"30954-2", "8716-3"}:
            assert ("entry" in s) != ("emptyReason" in s)
        assert s["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
        assert all(e["reference"] in held for e in s.get("entry", []))
    assert secs["48765-2"]["entry"] == [{"reference": "AllergyIntolerance/a-Penicillin"}]
    assert "Penicillin" in secs["48765-2"]["text"]["div"]
    assert secs["10160-0"]["entry"] == [{"reference": "MedicationRequest/mr-1"}]
    assert secs["11450-4"]["entry"] == [{"reference": "Condition/c-1"}]
    assert secs["30954-2"]["entry"] == [{"reference": "Observation/l-k"}]
    assert secs["8716-3"]["entry"] == [{"reference": "Observation/v-hr"}]
    tags = doc["meta"]["tag"]
    assert tags[0]["system"].endswith("data-as-of")


def test_no_data_is_not_none_unless_asserted(live: Any) -> None:
    base, _store, headers, _ = live
    secs = _sections(_summary(base, headers, "p2"))
    allergies = secs["48765-2"]
    assert "entry" not in allergies
    assert allergies["emptyReason"]["coding"][0]["code"] == "unavailable"
    assert "not recorded" in allergies["text"]["div"]
    assert "No known" not in allergies["text"]["div"]
    for code in ("10160-0", "11450-4"):
        assert secs[code]["emptyReason"]["coding"][0]["code"] == "unavailable"
        assert "none" not in secs[code]["text"]["div"].lower()
    # asserted: the record's "no known allergy" is the entry, in its own words
    nka_secs = _sections(_summary(base, headers, "p3"))
    assert nka_secs["48765-2"]["entry"] == [{"reference": "AllergyIntolerance/nka"}]
    assert "No known allergies" in nka_secs["48765-2"]["text"]["div"]


def test_summary_needs_the_types_it_reads_and_an_existing_patient(live: Any) -> None:
    base, store, headers, _ = live
    assert httpx.get(f"{base}/Patient/nobody/$summary", headers=headers).status_code == 404
    key = generate_private_key("ES384")
    c = smart.add_client(store, name="pts", jwks=jwks(key), scope="system/Patient.read")
    h = SmartBackendAuth(base, c.client_id, key, scope="system/Patient.read").headers()
    r = httpx.get(f"{base}/Patient/p1/$summary", headers=h)
    assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"
