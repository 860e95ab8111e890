"""The per-patient digest (`standby.store.digest`) never disagrees with the resources: after
any sequence of writes, updates, deletes and patients moving (a resource written again
under another patient, an encounter moved to another bed), the tables equal a rebuild
from scratch; a replica that predates the digest gets it built when opened."""

from __future__ import annotations

import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from standby.store import digest
from standby.store.base import Store
from standby.store.postgres import PostgresStore
from standby.store.sqlite import SQLiteStore
from support.postgres import postgres_url

PATIENTS = ["p1", "p2", "p3"]
BEDS = ["bed-a", "bed-b", "ward", None]
LOINC = "http://loinc.org"
TIMES = ["2026-11-27T08:00:00Z", "2026-11-28T11:30:00Z", "2026-11-28T12:00:00.250Z", "2026-11"]


def _patient_ref(pid: str) -> dict[str, str]:
    return {"reference": f"Patient/{pid}"}


@st.composite
def resources(draw: st.DrawFn) -> dict[str, Any]:
    """One resource of a small world: few ids per type, so writes update, move and delete
    what earlier ones wrote."""
    rtype = draw(
        st.sampled_from(
            [
                "Patient",
                "Encounter",
                "Encounter",
                "Encounter",
                "Observation",
                "MedicationAdministration",
                "MedicationRequest",
                "Flag",
                "AllergyIntolerance",
                "Condition",
            ]
        )
    )
    pid = draw(st.sampled_from(PATIENTS))
    rid = draw(st.sampled_from(["1", "2"]))
    if rtype == "Patient":
        gender = draw(st.sampled_from(["male", "female"]))
        return {"resourceType": "Patient", "id": pid, "gender": gender}
    res: dict[str, Any] = {"resourceType": rtype, "id": f"{rtype[:3].lower()}-{rid}"}
    if rtype == "Encounter":
        bed = draw(st.sampled_from(BEDS))
        res.update(
            status=draw(st.sampled_from(["in-progress", "finished", "arrived", "planned"])),
            subject=_patient_ref(pid),
            period={"start": draw(st.sampled_from(TIMES[:3]))},
        )
        if bed is not None:
            res["location"] = [{"location": {"reference": f"Location/{bed}"}}]
    elif rtype == "Observation":
        system = draw(st.sampled_from([LOINC, "http://example.org"]))
        code = draw(st.sampled_from(["29463-7", "100822-6", "8302-2", "8867-4"]))
        res.update(status="final", code={"coding": [{"system": system, "code": code}]})
        # the census row's search is by subject: an Observation naming the patient only in
        # `performer` is in their compartment but not in their census row
        res[draw(st.sampled_from(["subject", "subject", "performer"]))] = _patient_ref(pid)
    elif rtype == "MedicationAdministration":
        res.update(status="completed", subject=_patient_ref(pid))
        when = draw(st.sampled_from([*TIMES, None]))
        if when is not None:
            if draw(st.booleans()):
                res["effectiveDateTime"] = when
            else:
                res["effectivePeriod"] = {"start": TIMES[0], "end": when}
    else:
        res.update(status="active", subject=_patient_ref(pid))
        if rtype == "AllergyIntolerance":
            del res["subject"]
            res["patient"] = _patient_ref(pid)
    return res


Step = tuple[str, Any]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.lists(resources(), min_size=1, max_size=4)),
        st.tuples(st.just("update"), resources()),
        st.tuples(st.just("delete"), resources()),
        st.tuples(st.just("tombstone"), resources()),
    ),
    min_size=1,
    max_size=25,
)


def _apply(store: Store, seq: list[Step]) -> None:
    version = 100
    for kind, what in seq:
        version += 1
        if kind == "write":  # replica writes from a source: a batch, repeats included
            batch = []
            for k, res in enumerate(what):
                meta = {
                    "versionId": str(version * 10 + k),
                    "lastUpdated": f"2026-11-28T12:{k:02d}:00Z",
                }
                batch.append(orjson.dumps({**res, "meta": meta}))
            store.upsert_many(batch)
        elif kind == "update":  # the store's own versions (the simulated EHR)
            store.update(what)
        elif kind == "delete":
            store.delete(what["resourceType"], what["id"])
        else:
            store.tombstone(what["resourceType"], what["id"], version_id=str(version * 10))


def _check(store: Store) -> None:
    assert digest.stored(store) == digest.expected(store)


@contextmanager
def _sqlite() -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as tmp:
        s = SQLiteStore(Path(tmp) / "replica.db")
        try:
            yield s
        finally:
            s.close()


@contextmanager
def _postgres() -> Iterator[Store]:
    url = postgres_url()
    name = f"t_digest_{uuid.uuid4().hex[:12]}"
    s = PostgresStore(url, schema=name)
    try:
        yield s
    finally:
        s.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(seq=steps)
def test_digest_equals_a_rebuild_after_any_writes_sqlite(seq: list[Step]) -> None:
    with _sqlite() as store:
        _apply(store, seq)
        _check(store)


@pytest.mark.postgres
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seq=steps)
def test_digest_equals_a_rebuild_after_any_writes_postgres(seq: list[Step]) -> None:
    with _postgres() as store:
        _apply(store, seq)
        _check(store)


def test_a_move_and_a_discharge_follow_the_patient() -> None:
    """The concrete case the property covers: an encounter moved to another patient and
    then finished; an administration corrected to another patient."""
    with _sqlite() as store:
        enc = {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "in-progress",
            "subject": _patient_ref("p1"),
            "location": [{"location": {"reference": "Location/bed-a"}}],
        }
        store.update(enc)
        assert digest.stored(store)[1] == {"p1": "bed-a"}
        store.update({**enc, "subject": _patient_ref("p2")})
        assert digest.stored(store)[1] == {"p2": "bed-a"}
        store.update({**enc, "subject": _patient_ref("p2"), "status": "finished"})
        assert digest.stored(store)[1] == {"p2": None}
        store.delete("Encounter", "e1")
        assert digest.stored(store) == ({}, {})
        _check(store)


def test_a_replica_that_predates_the_digest_gets_it_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with SQLiteStore(path) as store:
        store.update(
            {
                "resourceType": "Encounter",
                "id": "e1",
                "status": "in-progress",
                "subject": _patient_ref("p1"),
                "location": [{"location": {"reference": "Location/bed-b"}}],
            }
        )
        store.update(
            {
                "resourceType": "Observation",
                "id": "w1",
                "status": "final",
                "code": {"coding": [{"system": LOINC, "code": "29463-7"}]},
                "subject": _patient_ref("p1"),
            }
        )
        store.update({"resourceType": "Patient", "id": "p1"})
    # as an older Standby left it: no digest tables, no record of their migration
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE digest_member")
    conn.execute("DROP TABLE patient_digest")
    conn.execute("DELETE FROM schema_migrations WHERE namespace = ?", (digest.NAMESPACE,))
    conn.commit()
    conn.close()
    with SQLiteStore(path) as store:
        members, located = digest.stored(store)
        assert located == {"p1": "bed-b"}
        assert sorted(t for _p, t, _u in members.values()) == [
            "Encounter",
            "Observation",
            "Patient",
        ]
        _check(store)
