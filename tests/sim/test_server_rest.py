"""The simulated EHR's REST API (FHIR R4 http.html), in process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from standby.fhir.outcomes import FhirError
from standby.sim.server import rest, transaction
from support.sim_server_support import client, small_store

FHIR = {"Content-Type": "application/fhir+json"}


@pytest.fixture
def c(tmp_path: Path) -> Iterator[Any]:
    store = small_store(tmp_path)
    with client(store) as cl:
        yield cl
    store.close()


def test_read_vread_and_headers(c: Any) -> None:
    r = c.get("/Patient/p1")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert r.headers["etag"] == 'W/"1"'
    assert "last-modified" in r.headers
    assert r.json()["id"] == "p1"
    assert c.get("/Patient/p1/_history/1").json()["id"] == "p1"
    nf = c.get("/Patient/nobody")
    assert nf.status_code == 404
    assert nf.json()["resourceType"] == "OperationOutcome"
    assert c.get("/Patient/p1/_history/9").status_code == 404
    assert c.get("/NotAType/x").status_code == 404
    assert c.get("/Patient/p1?_format=json").status_code == 200
    assert c.get("/Patient/p1", headers={"Accept": "application/fhir+json"}).status_code == 200
    assert c.get("/Patient/p1?_format=xml").status_code == 406
    assert c.get("/Patient/p1", headers={"Accept": "application/fhir+xml"}).status_code == 406
    wrong_method = c.patch("/Patient/p1", content=b"[]")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["resourceType"] == "OperationOutcome"


def test_search_paging_follows_next_to_the_end(c: Any) -> None:
    url: str | None = "/Observation?_count=5&_sort=_id"
    ids: list[str] = []
    pages = 0
    while url:
        b = c.get(url).json()
        assert b["type"] == "searchset"
        ids += [e["resource"]["id"] for e in b["entry"]]
        nxt = [lk["url"] for lk in b["link"] if lk["relation"] == "next"]
        url = nxt[0] if nxt else None
        pages += 1
    assert len(ids) == 36 and len(set(ids)) == 36
    assert pages == 8


def test_search_post_and_bad_params(c: Any) -> None:
    r = c.post(
        "/Observation/_search",
        content="patient=Patient/p2",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200
    assert {e["resource"]["id"] for e in r.json()["entry"]} == {"o2-0", "o2-1", "o2-2"}
    bad = c.get("/Observation?nonsense=1")
    assert bad.status_code == 400
    assert bad.json()["issue"][0]["code"] == "invalid"
    assert c.get("/Observation?_count=x").status_code == 400


def test_update_if_match_and_delete(c: Any) -> None:
    body = c.get("/Patient/p3").json()
    body["gender"] = "other"
    r = c.put("/Patient/p3", json=body, headers={**FHIR, "If-Match": 'W/"1"'})
    assert r.status_code == 200 and r.headers["etag"] == 'W/"2"'
    stale = c.put("/Patient/p3", json=body, headers={**FHIR, "If-Match": 'W/"1"'})
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    assert c.delete("/Patient/p3").status_code == 200
    assert c.get("/Patient/p3").status_code == 410
    wrong = c.put("/Patient/p4", json={"resourceType": "Patient", "id": "other"}, headers=FHIR)
    assert wrong.status_code == 400


def test_conditional_create(c: Any) -> None:
    new = {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "NEW1"}]}
    h = {**FHIR, "If-None-Exist": "identifier=urn:mrn|NEW1"}
    r1 = c.post("/Patient", json=new, headers=h)
    assert r1.status_code == 201
    assert r1.headers["location"].endswith("/_history/1")
    r2 = c.post("/Patient", json=new, headers=h)
    assert r2.status_code == 200
    assert r2.json()["id"] == r1.json()["id"]


def test_transaction_urn_uuid_and_atomicity(c: Any) -> None:
    tx = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111",
                "resource": {"resourceType": "Patient", "name": [{"family": "Tx"}]},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "x"},
                    "subject": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    r = c.post("/", json=tx, headers=FHIR)
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["type"] == "transaction-response"
    assert [e["response"]["status"] for e in b["entry"]] == ["201 Created", "201 Created"]
    pid = b["entry"][0]["response"]["location"].split("/")[1]
    oid = b["entry"][1]["response"]["location"].split("/")[1]
    assert c.get(f"/Observation/{oid}").json()["subject"]["reference"] == f"Patient/{pid}"

    before = c.get("/Patient?_total=accurate&_count=0").json()["total"]
    failing = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "name": [{"family": "Never"}]},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {"resourceType": "Patient", "id": "p1"},
                "request": {"method": "PUT", "url": "Patient/p1", "ifMatch": 'W/"7"'},
            },
        ],
    }
    f = c.post("/", json=failing, headers=FHIR)
    assert f.status_code == 412
    assert c.get("/Patient?_total=accurate&_count=0").json()["total"] == before
    assert c.get("/Patient?family=Never").json()["entry"] == []


def test_batch_reports_each_entry(c: Any) -> None:
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Patient/p1"}},
            {"request": {"method": "GET", "url": "Patient/missing"}},
        ],
    }
    b = c.post("/", json=batch, headers=FHIR).json()
    assert b["type"] == "batch-response"
    assert b["entry"][0]["response"]["status"] == "200 OK"
    assert b["entry"][1]["response"]["status"] == "404"


def test_history_instance_type_system_since(c: Any) -> None:
    body = c.get("/Patient/p5").json()
    first = c.get("/Patient/p5").headers["etag"]
    assert first == 'W/"1"'
    since = c.get("/Patient/p11").json()["meta"]["lastUpdated"]  # the last one created
    body["gender"] = "unknown"
    c.put("/Patient/p5", json=body, headers=FHIR)
    h = c.get("/Patient/p5/_history").json()
    assert h["type"] == "history"
    assert [e["response"]["etag"] for e in h["entry"]] == ['W/"2"', 'W/"1"']
    assert h["entry"][1]["request"]["method"] == "POST"
    th = c.get("/Patient/_history", params={"_since": since}).json()
    assert [e["resource"]["id"] for e in th["entry"]] == ["p5"]
    sh = c.get("/_history", params={"_since": since, "_count": 10}).json()
    assert "p5" in [e["fullUrl"].rsplit("/", 1)[1] for e in sh["entry"]]
    assert c.get("/_history?_since=yesterday").status_code == 400


def test_capability_statement_is_truthful(c: Any) -> None:
    cs = c.get("/metadata").json()
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    rest = cs["rest"][0]
    obs = next(r for r in rest["resource"] if r["type"] == "Observation")
    names = {p["name"] for p in obs["searchParam"]}
    for name in names:  # every advertised parameter is accepted
        assert c.get(f"/Observation?{name}=x&_count=1").status_code in (200, 400)
    assert c.get("/Observation?code=http://loinc.org|8867-4&_count=1").status_code == 200
    assert {"export"} <= {o["name"] for o in rest["operation"]}
    assert "security" not in rest  # auth is off here


def _diagnostics(r: Any) -> str:
    return str(r.json()["issue"][0]["diagnostics"])


def test_fixed_paths_are_matched_before_type_and_id(c: Any) -> None:
    # each path below also fits /{type} or /{type}/{id}: the route modules' order decides
    assert c.get("/metadata").json()["resourceType"] == "CapabilityStatement"
    assert (
        c.get("/.well-known/smart-configuration").json()["token_endpoint"].endswith("/auth/token")
    )
    assert c.get("/_admin/changes").json() == {"running": False, "changes": []}
    assert c.get("/_admin/faults").json()["outage"] is False
    assert c.get("/_history").json()["type"] == "history"
    assert c.get("/Patient/_history").json()["type"] == "history"
    kickoff = c.get("/Patient/$export")
    assert kickoff.status_code == 400
    assert "Prefer: respond-async" in _diagnostics(kickoff)
    assert _diagnostics(c.get("/_export/nojob")) == "no export nojob"
    assert _diagnostics(c.get("/_export/nojob/_history")) == "no such export file"
    assert c.get("/Patient/p1/_history").json()["type"] == "history"


def test_transaction_bundles_run_on_the_store_without_http(tmp_path: Path) -> None:
    store = small_store(tmp_path, patients=2)
    try:
        bundle = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [
                {"request": {"method": "GET", "url": "Patient/p1"}},
                {"request": {"method": "DELETE", "url": "Patient/p0"}},
                {"request": {"method": "PUT", "url": "Patient/p1", "ifMatch": 'W/"9"'}},
            ],
        }
        bundle["entry"][2]["resource"] = {"resourceType": "Patient", "id": "p1"}
        answer = transaction.process(store, bundle, "http://ehr.test")
        statuses = [e["response"]["status"] for e in answer["entry"]]
        assert statuses == ["200 OK", "204 No Content", "412"]
        assert store.read("Patient", "p0").deleted  # type: ignore[union-attr]
    finally:
        store.close()


def test_rest_rules_are_plain_functions() -> None:
    assert rest.if_match_version('W/"3"') == "3"
    assert rest.if_match_version(None) is None
    with pytest.raises(FhirError):
        rest.if_match_version('""')
    assert rest.page_count([]) == rest.DEFAULT_COUNT
    assert rest.page_count([("_count", "5000")]) == rest.MAX_COUNT
    assert rest.page_offset([("_getpagesoffset", "20")]) == 20
    with pytest.raises(FhirError) as unknown:
        rest.check_type("Spaceship")
    assert unknown.value.status == 404


def test_bodies_pass_the_one_gate(c: Any) -> None:
    """Creates and updates are checked by `standby.fhir.gate.admit`, as the replica's
    entry points are: a create needs no id, an update's id must be a valid FHIR id, and a
    body of another type than the URL's is refused with the gate's reason."""
    new = c.post("/Patient", json={"resourceType": "Patient"}, headers=FHIR)
    assert new.status_code == 201 and new.json()["id"]
    wrong = c.post("/Patient", json={"resourceType": "Observation"}, headers=FHIR)
    assert wrong.status_code == 400
    assert "resourceType Observation" in wrong.text
    bad_id = c.put("/Patient/a%20b", json={"resourceType": "Patient", "id": "a b"}, headers=FHIR)
    assert bad_id.status_code == 400 and "not a valid FHIR id" in bad_id.text
    not_r4 = c.post("/Patient", json={"resourceType": "Pateint"}, headers=FHIR)
    assert not_r4.status_code == 400 and "unknown resourceType" in not_r4.text
    assert c.post("/Patient", content=b"{", headers=FHIR).status_code == 400
