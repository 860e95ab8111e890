"""Bulk Data `$export` from the API over real HTTP (the viewer's app under uvicorn, as
`standby serve` runs it): kick-off, status, manifest, NDJSON files, cancel, scopes per
type, tokens on file downloads, audit; and Standby's own sync seeding a second replica
from it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from standby.accounts import repository
from standby.accounts.records import AuditQuery
from standby.api import smart
from standby.settings import Settings, load_settings
from standby.store import open_store
from standby.store.base import Store
from standby.sync.auth import SmartBackendAuth
from standby.sync.jwks import generate_private_key, jwks, write_private_key
from standby.sync.runner import SyncRunner
from standby.web.app import create_app
from support.fhir_api import resource, small_replica
from support.web_server import served

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


@dataclass
class Live:
    base: str
    store: Store
    keys: dict[str, Any]
    ids: dict[str, str]
    tmp: Path
    scopes: dict[str, str]

    def headers(self, name: str) -> dict[str, str]:
        auth = SmartBackendAuth(self.base, self.ids[name], self.keys[name], scope=self.scopes[name])
        return auth.headers()

    def register(self, name: str, scope: str) -> None:
        key = generate_private_key("ES384")
        c = smart.add_client(self.store, name=name, jwks=jwks(key), scope=scope)
        self.keys[name], self.ids[name], self.scopes[name] = key, c.client_id, scope


def _unit_replica(store: Store) -> None:
    """A unit 3W (a ward with one bed) where pat-1 lies; pat-2 is elsewhere."""
    meta = {"versionId": "2", "lastUpdated": "2026-11-01T00:00:00Z"}
    store.upsert_many(
        [
            resource(
                "Location", "loc-3w", meta=meta, name="3 West", alias=["3W"], status="active",
                physicalType={"coding": [{"code": "wi"}]},
            ),
            resource(
                "Location", "bed-3w-1", meta=meta, name="301-A", status="active",
                physicalType={"coding": [{"code": "bd"}]}, partOf={"reference": "Location/loc-3w"},
            ),
        ]
    )  # fmt: skip


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    db = tmp_path / "central.db"
    store = open_store(db=db)
    small_replica(store)
    _unit_replica(store)
    settings = Settings(db=db)
    with served(settings, create_app(settings, store)) as url:
        site = Live(f"{url}/fhir", store, {}, {}, tmp_path, {})
        site.register("edge", "system/*.read")
        yield site
    store.close()


def _wait(c: httpx.Client, status_url: str, headers: dict[str, str]) -> httpx.Response:
    deadline = time.monotonic() + 60  # against hanging, not a timed assertion
    while True:
        r = c.get(status_url, headers=headers)
        if r.status_code != 202:
            return r
        assert r.headers["x-progress"]
        assert time.monotonic() < deadline, "the export never finished"
        time.sleep(0.1)


def _export(live: Live, path: str, name: str = "edge", **params: str) -> dict[str, Any]:
    h = live.headers(name)
    with httpx.Client() as c:
        r = c.get(f"{live.base}/{path}", params=params, headers={**h, **ASYNC})
        assert r.status_code == 202, r.text
        status_url = r.headers["content-location"]
        assert status_url.startswith(f"{live.base}/")
        done = _wait(c, status_url, h)
        assert done.status_code == 200, done.text
        return {"status_url": status_url, **done.json()}


def _lines(live: Live, manifest: dict[str, Any], name: str = "edge") -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    h = {**live.headers(name), "Accept": "application/fhir+ndjson"}
    for item in manifest["output"]:
        r = httpx.get(item["url"], headers=h)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/fhir+ndjson")
        rows = [json.loads(x) for x in r.text.splitlines() if x]
        assert len(rows) == item["count"]
        out.setdefault(item["type"], []).extend(rows)
    return out


def test_system_export_writes_every_type_as_ndjson(live: Live) -> None:
    m = _export(live, "$export")
    assert m["requiresAccessToken"] is True
    assert m["request"].endswith("/fhir/$export")
    got = _lines(live, m)
    held = live.store.counts_by_type()
    assert {t: len(v) for t, v in got.items()} == held
    # each line is the resource as the replica holds it
    mr = live.store.read("MedicationRequest", "mr-1")
    assert mr is not None and got["MedicationRequest"] == [json.loads(mr.body)]


def test_type_and_since_narrow_the_export_and_deletes_are_listed(live: Live) -> None:
    live.store.upsert_many(
        [resource("Patient", "pat-new", meta={"versionId": "1",
                  "lastUpdated": "2026-11-20T00:00:00Z"})]
    )  # fmt: skip
    live.store.delete("Observation", "hr-1")
    m = _export(live, "$export", _type="Patient,Observation", _since="2026-11-10T00:00:00Z")
    got = _lines(live, m)
    assert [p["id"] for p in got["Patient"]] == ["pat-new"]
    assert "Observation" not in got  # the only change is the delete, listed apart
    assert len(m["deleted"]) == 1
    r = httpx.get(m["deleted"][0]["url"], headers=live.headers("edge"))
    bundle = json.loads(r.text.splitlines()[0])
    assert bundle["entry"][0]["request"] == {"method": "DELETE", "url": "Observation/hr-1"}


def test_group_of_a_unit_holds_its_patients_and_what_they_reference(live: Live) -> None:
    live.store.upsert_many(
        [
            resource(
                "Encounter", "enc-1",
                meta={"versionId": "2", "lastUpdated": "2026-11-02T00:00:00Z"},
                status="in-progress", subject={"reference": "Patient/pat-1"},
                location=[{"location": {"reference": "Location/bed-3w-1"}}],
                participant=[{"individual": {"reference": "Practitioner/dr-1"}}],
            )
        ]
    )  # fmt: skip
    got = _lines(live, _export(live, "Group/unit-3W/$export"))
    assert [p["id"] for p in got["Patient"]] == ["pat-1"]
    assert {o["subject"]["reference"] for o in got["Observation"]} == {"Patient/pat-1"}
    assert [m["id"] for m in got["Medication"]] == ["med-1"]
    assert [p["id"] for p in got["Practitioner"]] == ["dr-1"]
    # a Patient-level export holds both patients
    both = _lines(live, _export(live, "Patient/$export", _type="Patient"))
    assert sorted(p["id"] for p in both["Patient"]) == ["pat-1", "pat-2"]
    with httpx.Client() as c:
        r = c.get(f"{live.base}/Group/unit-9Z/$export", headers={**live.headers("edge"), **ASYNC})
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"


def test_scopes_tokens_and_owner_are_checked(live: Live) -> None:
    live.register("labs", "system/Observation.rs")
    h = live.headers("labs")
    with httpx.Client() as c:
        r = c.get(f"{live.base}/$export", params={"_type": "Patient"}, headers={**h, **ASYNC})
        assert r.status_code == 403 and "Patient" in r.text
        r = c.get(f"{live.base}/$export", headers=ASYNC)
        assert r.status_code == 401
        r = c.get(f"{live.base}/$export", headers={**h, "Accept": "application/fhir+json"})
        assert r.status_code == 400 and "respond-async" in r.text
    m = _export(live, "$export", name="labs")
    assert {i["type"] for i in m["output"]} == {"Observation"}  # only what it may read
    url = m["output"][0]["url"]
    assert httpx.get(url).status_code == 401  # requiresAccessToken
    assert httpx.get(url, headers=live.headers("edge")).status_code == 404  # not its export
    assert httpx.get(m["status_url"], headers=live.headers("edge")).status_code == 404
    assert httpx.get(url, headers=live.headers("labs")).status_code == 200
    events = repository.search_audit(live.store, AuditQuery(username=live.ids["labs"]))
    assert any("$export" in e.detail for e in events)
    assert any(e.page.startswith("/fhir/$export-file/") for e in events)


def test_delete_cancels_and_removes_the_export(live: Live) -> None:
    m = _export(live, "$export")
    h = live.headers("edge")
    r = httpx.delete(m["status_url"], headers=h)
    assert r.status_code == 202
    assert httpx.get(m["status_url"], headers=h).status_code == 404
    assert httpx.get(m["output"][0]["url"], headers=h).status_code == 404
    assert not any((live.tmp / "central.db.exports").iterdir())


def test_standbys_sync_seeds_a_second_replica_from_the_export(live: Live) -> None:
    write_private_key(live.keys["edge"], live.tmp / "edge.pem")
    settings = load_settings(
        source_url=live.base,
        db=live.tmp / "edge.db",
        auth="smart-backend",
        client_id=live.ids["edge"],
        private_key=live.tmp / "edge.pem",
        sync_seed_mode="auto",
    )
    edge = open_store(db=settings.db)
    runner = SyncRunner(settings, edge)
    try:
        plan = runner.prepare()
        assert plan.seed == "bulk", plan.seed_reason  # the CapabilityStatement offers it
        result = runner.seed()
    finally:
        runner.close()
    assert result is not None and result.lines == sum(live.store.counts_by_type().values())
    assert edge.counts_by_type() == live.store.counts_by_type()
    for rtype, rid in (("Patient", "pat-1"), ("Observation", "hr-3"), ("Medication", "med-1")):
        a, b = live.store.read(rtype, rid), edge.read(rtype, rid)
        assert a is not None and b is not None and json.loads(a.body) == json.loads(b.body)
    # the seed cleaned up after itself: the export is gone from the central node
    assert not any((live.tmp / "central.db.exports").iterdir())
    edge.close()
