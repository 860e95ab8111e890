"""Downtime registrations and the EHR patients they may be (synthetic), for the patient
matching tests: the simulated EHR served over a real socket, its Patients created there
over HTTP (`POST /Patient`), and the journal entries a registrar wrote during the outage.

Four cases: an exact match (the insurance card's identifier too), an ambiguous one (two
EHR patients of the same name and birth date), an accented name registered without its
accents, and a patient the EHR has never seen."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from standby.accounts import users
from standby.journal import repository as journal
from standby.journal.entries import Entry, Kind, make_entry
from standby.settings import Settings
from standby.sim.server import Faults
from standby.sim.server import create_app as create_ehr
from standby.store import open_store
from standby.store.base import Store
from standby.web.app import create_app
from support.web_browser import served
from support.web_site import PASSWORD, Clock, Site

INSURER = "https://insurer.example.org/member"
MRN = "https://hospital.example.org/mrn"
NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def _patient(mrn: str, family: str, given: str, birth: str, sex: str, **kw: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": MRN, "value": mrn}, *kw.pop("identifier", [])],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": sex,
        "birthDate": birth,
        **kw,
    }


EHR_PATIENTS: dict[str, dict[str, Any]] = {
    "okafor": _patient(
        "MRN-70001",
        "Okafor",
        "Adaeze",
        "1984-06-12",
        "female",
        identifier=[{"system": INSURER, "value": "INS-55501"}],
        telecom=[{"system": "phone", "value": "555-0101"}],
        address=[{"line": ["12 Elm Street"], "city": "Springfield", "state": "IL"}],
    ),
    "smith-1": _patient(
        "MRN-70002",
        "Smith",
        "John",
        "1970-01-15",
        "male",
        address=[{"line": ["4 Oak Road"], "city": "Springfield"}],
    ),
    "smith-2": _patient(
        "MRN-70003",
        "Smith",
        "John",
        "1970-01-15",
        "male",
        address=[{"line": ["99 Lake Drive"], "city": "Shelbyville"}],
    ),
    "munoz": _patient("MRN-70004", "Muñoz", "José", "1955-09-03", "male"),
    "stranger": _patient("MRN-70005", "Kowalski", "Anna", "1990-10-30", "female"),
}

REGISTRATIONS: dict[str, dict[str, Any]] = {
    "okafor": {
        "family": "Okafor",
        "given": "Adaeze",
        "birth_date": "1984-06-12",
        "sex": "female",
        "phone": "(555) 0101",
        "identifiers": [{"system": INSURER, "value": "INS-55501"}],
    },
    "smith": {"family": "Smith", "given": "John", "birth_date": "1970-01-15", "sex": "male"},
    "munoz": {"family": "MUNOZ", "given": "Jose", "birth_date": "1955-09-03", "sex": "male"},
    "new": {
        "family": "Quillfeather",
        "given": "Ondine",
        "birth_date": "1999-02-14",
        "sex": "female",
    },
}


def create_ehr_patients(base_url: str) -> dict[str, str]:
    """POST each EHR patient to the server; key → the id the server gave it."""
    ids: dict[str, str] = {}
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for key, body in EHR_PATIENTS.items():
            r = http.post("/Patient", json=body, headers={"Content-Type": "application/fhir+json"})
            assert r.status_code == 201, r.text
            ids[key] = r.json()["id"]
    return ids


@contextmanager
def simulated_ehr(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Store]]:
    """The simulated EHR on a free port, holding `EHR_PATIENTS` created over HTTP."""
    store = open_store(db=tmp_path / "ehr.db")
    try:
        with served(create_ehr(store, faults=Faults(seed=1))) as url:
            yield url, create_ehr_patients(url), store
    finally:
        store.close()


def register(store: Store, *, when: datetime = NOW) -> dict[str, Entry]:
    """The registrations written during the downtime, in the journal of `store`."""
    out: dict[str, Entry] = {}
    for n, (key, payload) in enumerate(REGISTRATIONS.items(), start=1):
        e = make_entry(
            Kind.REGISTRATION,
            patient_id=f"reg-{key}",
            author="reg.clerk",
            author_name="Robin Clerk",
            role="registrar",
            node="ed-1",
            now=when + timedelta(minutes=n),
            payload={**payload, "mrn": f"DTED-{n:04d}", "encounter_number": f"DEED-{n:04d}"},
        )
        journal.append(store, [e])
        out[key] = e
    return out


def copy_to_replica(ehr: Store, replica: Store, keys: list[str], ids: dict[str, str]) -> None:
    """Put some of the EHR's patients in the replica too (as the sync would have)."""
    for key in keys:
        sr = ehr.read("Patient", ids[key])
        assert sr is not None
        replica.update(sr.json())


@pytest.fixture
def registrar_site(tmp_path: Path) -> Iterator[tuple[Site, dict[str, str], dict[str, str]]]:
    """A viewer whose settings point at the simulated EHR; the replica holds one of the
    two John Smiths; four registrations in the journal."""
    replica = open_store(db=tmp_path / "web.db")
    with simulated_ehr(tmp_path) as (url, ids, ehr):
        copy_to_replica(ehr, replica, ["smith-1"], ids)
        regs = {k: e.id for k, e in register(replica).items()}
        settings = Settings(db=tmp_path / "web.db", source_url=url)
        clock = Clock()
        app = create_app(settings, replica, clock=clock)
        users.add_user(replica, "reg.a", PASSWORD, role="registrar", units=[])
        users.add_user(replica, "nurse.a", PASSWORD, role="nurse", units=["4W"])
        yield Site(app, replica, clock, settings), ids, regs
    replica.close()
