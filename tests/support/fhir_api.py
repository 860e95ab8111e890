"""Fixtures of the FHIR API's tests: a replica with the viewer's app over it, SMART clients
registered with their own keys, and tokens got the way a client gets them (a signed
assertion posted to the token endpoint)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from standby.api import smart
from standby.settings import Settings
from standby.store import open_store
from standby.store.base import Store
from standby.sync.auth import client_assertion
from standby.sync.jwks import generate_private_key, jwks, key_id_of
from standby.web.app import create_app

TOKEN_URL = "http://testserver/fhir/auth/token"


@dataclass
class Registered:
    client_id: str
    key: Any

    @property
    def kid(self) -> str:
        return key_id_of(self.key.public_key())

    def assertion(self, token_url: str = TOKEN_URL, **kw: Any) -> str:
        return client_assertion(
            self.key, client_id=self.client_id, token_url=token_url, kid=self.kid, **kw
        )


@dataclass
class ApiSite:
    store: Store
    settings: Settings
    app: Any
    clients: dict[str, Registered] = field(default_factory=dict)

    def http(self) -> TestClient:
        return TestClient(self.app, client=("10.1.2.3", 50000), raise_server_exceptions=False)

    def register(self, name: str, scope: str, alg: str = "ES384") -> Registered:
        key = generate_private_key(alg)
        c = smart.add_client(self.store, name=name, jwks=jwks(key), scope=scope)
        self.clients[name] = Registered(c.client_id, key)
        return self.clients[name]

    def token_response(self, name: str, scope: str = "", **kw: Any) -> Any:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": smart.ASSERTION_TYPE,
            "client_assertion": self.clients[name].assertion(**kw),
        }
        if scope:
            form["scope"] = scope
        return self.http().post("/fhir/auth/token", data=form)

    def headers(self, name: str, scope: str = "") -> dict[str, str]:
        r = self.token_response(name, scope)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def resource(rtype: str, rid: str, **body: Any) -> bytes:
    return json.dumps({"resourceType": rtype, "id": rid, **body}).encode()


def vital(rid: str, patient: str, day: int, value: float, version: str = "1") -> bytes:
    return resource(
        "Observation",
        rid,
        meta={"versionId": version, "lastUpdated": f"2026-11-{day:02d}T10:00:00Z"},
        status="final",
        category=[
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        code={"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        subject={"reference": f"Patient/{patient}"},
        encounter={"reference": "Encounter/enc-1"},
        effectiveDateTime=f"2026-11-{day:02d}T09:00:00Z",
        valueQuantity={"value": value, "unit": "/min"},
    )


def small_replica(store: Store) -> None:
    """Two patients, an encounter at a location, a week of one patient's heart rates, an
    order of a Medication, and a Practitioner."""
    meta = {"versionId": "1", "lastUpdated": "2026-11-01T00:00:00Z"}
    store.upsert_many(
        [
            resource("Patient", "pat-1", meta=meta, name=[{"family": "Alpha"}], gender="female"),
            resource("Patient", "pat-2", meta=meta, name=[{"family": "Beta"}], gender="male"),
            resource("Location", "loc-3w", meta=meta, name="3 West"),
            resource("Practitioner", "dr-1", meta=meta, name=[{"family": "Gamma"}]),
            resource(
                "Encounter",
                "enc-1",
                meta=meta,
                status="in-progress",
                subject={"reference": "Patient/pat-1"},
                location=[{"location": {"reference": "Location/loc-3w"}}],
                participant=[{"individual": {"reference": "Practitioner/dr-1"}}],
            ),
            resource("Medication", "med-1", meta=meta, code={"text": "heparin"}),
            resource(
                "MedicationRequest",
                "mr-1",
                meta=meta,
                status="active",
                intent="order",
                subject={"reference": "Patient/pat-1"},
                medicationReference={"reference": "Medication/med-1"},
            ),
            *(vital(f"hr-{d}", "pat-1", d, 60.5 + d) for d in range(1, 8)),
            vital("hr-other", "pat-2", 3, 99.0),
        ]
    )


@pytest.fixture
def api_site(tmp_path: Path) -> Iterator[ApiSite]:
    db = tmp_path / "replica.db"
    store = open_store(db=db)
    small_replica(store)
    settings = Settings(db=db)
    yield ApiSite(store, settings, create_app(settings, store))
    store.close()


@pytest.fixture
def pg_api_site(tmp_path: Path) -> Iterator[ApiSite]:
    """`api_site` with the replica (and the API's tables) in PostgreSQL."""
    from support.web_site import _pg_database

    with _pg_database("f19api") as url:
        store = open_store(database_url=url)
        try:
            small_replica(store)
            settings = Settings(database_url=url, secret_key_file=tmp_path / "web.secret")
            yield ApiSite(store, settings, create_app(settings, store))
        finally:
            store.close()
