"""The Store contract (src/standby/store/base.py), run against every engine: SQLite,
PostgreSQL and memory (tests/support/store_engines.py)."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from standby.store.base import Migration, Store, VersionConflict, WriteOutcome


def body(rtype: str, id: str, vid: str | None = None, lu: str | None = None, **kw: Any) -> bytes:
    res: dict[str, Any] = {"resourceType": rtype, "id": id}
    if vid or lu:
        res["meta"] = {k: v for k, v in (("versionId", vid), ("lastUpdated", lu)) if v}
    res.update(kw)
    return orjson.dumps(res)


def ref(r: str) -> dict[str, str]:
    return {"reference": r}


def cc(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


LOINC = "http://loinc.org"


def ids(page: Any) -> list[str]:
    return [r.id for r in page.resources]


# ---- replica writes --------------------------------------------------------------------
def test_body_is_kept_verbatim_decimals_included(store: Store) -> None:
    raw = b'{"resourceType":"Observation","id":"o1", "valueQuantity":{"value":1.50000}}'
    assert store.upsert(raw) is WriteOutcome.CREATED
    got = store.read("Observation", "o1")
    assert got is not None and got.body == raw
    assert orjson.loads(got.body)["valueQuantity"]["value"] == 1.5
    import json

    assert json.loads(got.body, parse_float=Decimal)["valueQuantity"]["value"] == Decimal("1.50000")


def test_version_rules(store: Store) -> None:
    v2 = body("Patient", "p", "2", "2026-01-02T00:00:00Z", gender="male")
    assert store.upsert(v2) is WriteOutcome.CREATED
    assert store.upsert(v2) is WriteOutcome.UNCHANGED
    v1 = body("Patient", "p", "1", "2026-01-01T00:00:00Z", gender="female")
    assert store.upsert(v1) is WriteOutcome.STALE
    v3 = body("Patient", "p", "3", "2026-01-03T00:00:00Z", gender="other")
    assert store.upsert(v3) is WriteOutcome.UPDATED
    cur = store.read("Patient", "p")
    assert cur is not None and cur.version_id == "3" and cur.body == v3
    assert [h.version_id for h in store.history("Patient", "p")] == ["3", "2"]
    old = store.vread("Patient", "p", "2")
    assert old is not None and old.body == v2
    assert store.vread("Patient", "p", "1") is None
    # the index follows the current version only
    assert ids(store.search("Patient", [("gender", "other")])) == ["p"]
    assert ids(store.search("Patient", [("gender", "male")])) == []


def test_body_without_meta_is_numbered(store: Store) -> None:
    assert store.upsert(body("Patient", "p", gender="male")) is WriteOutcome.CREATED
    assert store.upsert(body("Patient", "p", gender="female")) is WriteOutcome.UPDATED
    cur = store.read("Patient", "p")
    assert cur is not None and cur.version_id == "2" and cur.last_updated


def test_same_resource_twice_in_one_batch(store: Store) -> None:
    out = store.upsert_many(
        [
            body("Patient", "p", "1", "2026-01-01T00:00:00Z", gender="male"),
            body("Patient", "p", "2", "2026-01-02T00:00:00Z", gender="female"),
        ]
    )
    assert out == [WriteOutcome.CREATED, WriteOutcome.UPDATED]
    assert ids(store.search("Patient", [("gender", "female")])) == ["p"]
    assert ids(store.search("Patient", [("gender", "male")])) == []


def test_bad_body_raises_and_writes_nothing(store: Store) -> None:
    with pytest.raises(ValueError):
        store.upsert_many([body("Patient", "ok"), b'{"resourceType":"Patient"}'])
    with pytest.raises(ValueError):
        store.upsert(b"[1]")
    assert store.read("Patient", "ok") is None


def test_tombstone(store: Store) -> None:
    store.upsert(body("Patient", "p", "1", "2026-01-01T00:00:00Z", gender="male"))
    out = store.tombstone("Patient", "p", version_id="2", last_updated="2026-01-02T00:00:00Z")
    assert out is WriteOutcome.DELETED
    cur = store.read("Patient", "p")
    assert cur is not None and cur.deleted and cur.body == b""
    assert store.search("Patient", [("gender", "male")]).resources == []
    assert store.compartment("p") == []
    assert store.counts_by_type() == {}
    assert len(store.history("Patient", "p")) == 2
    # an older version arriving late does not resurrect it
    late = store.upsert(body("Patient", "p", "1", "2026-01-01T00:00:00Z"))
    assert late is WriteOutcome.STALE
    again = store.read("Patient", "p")
    assert again is not None and again.deleted


def test_checkpoint_with_data(store: Store) -> None:
    store.upsert_many([body("Patient", "p")], checkpoint=("ehr:Patient", "2026-01-01"))
    assert store.get_checkpoint("ehr:Patient") == "2026-01-01"
    store.set_checkpoint("ehr:Patient", "2026-01-02")
    assert store.get_checkpoint("ehr:Patient") == "2026-01-02"
    assert store.get_checkpoint("other") is None
    with pytest.raises(ValueError):
        store.upsert_many([b"{}"], checkpoint=("ehr:Patient", "2027"))
    assert store.get_checkpoint("ehr:Patient") == "2026-01-02"


# ---- authoritative writes --------------------------------------------------------------
def test_create_update_delete_assign_versions(store: Store) -> None:
    c = store.create({"resourceType": "Patient", "gender": "male"})
    assert c.version_id == "1" and c.id
    assert orjson.loads(c.body)["meta"]["versionId"] == "1"
    u = store.update({"resourceType": "Patient", "id": c.id, "gender": "female"}, if_match="1")
    assert u.version_id == "2"
    assert orjson.loads(store.read("Patient", c.id).body)["meta"]["versionId"] == "2"  # type: ignore[union-attr]
    with pytest.raises(VersionConflict):
        store.update({"resourceType": "Patient", "id": c.id}, if_match='W/"1"')
    u3 = store.update({"resourceType": "Patient", "id": c.id}, if_match='W/"2"')
    assert u3.version_id == "3"
    d = store.delete("Patient", c.id)
    assert d is not None and d.deleted and d.version_id == "4"
    assert store.delete("Patient", c.id) is None
    assert store.delete("Patient", "nope") is None
    assert [h.version_id for h in store.history("Patient", c.id)] == ["4", "3", "2", "1"]


# ---- reads -----------------------------------------------------------------------------
def test_changes_since_pages_by_sequence(store: Store) -> None:
    store.upsert(body("Patient", "a", "1", "2026-01-01T00:00:00Z"))
    store.upsert(body("Patient", "b", "1", "2026-01-02T00:00:00Z"))
    store.upsert(body("Observation", "c", "1", "2026-01-03T00:00:00Z"))
    store.tombstone("Patient", "a", last_updated="2026-01-04T00:00:00Z")
    allc = store.changes_since(None)
    assert [s.id for _, s in allc] == ["b", "c", "a"]
    assert allc[-1][1].deleted
    seqs = [q for q, _ in allc]
    assert seqs == sorted(seqs)
    assert [s.id for _, s in store.changes_since(None, limit=1, after_seq=seqs[0])] == ["c"]
    assert [s.id for _, s in store.changes_since("2026-01-02T12:00:00Z")] == ["c", "a"]
    assert [s.id for _, s in store.changes_since(None, types=["Observation"])] == ["c"]


def test_versions_since_lists_every_version_newest_first(store: Store) -> None:
    store.upsert(body("Patient", "a", "1", "2026-01-01T00:00:00Z"))
    store.upsert(body("Patient", "a", "2", "2026-01-02T00:00:00Z"))
    store.upsert(body("Observation", "c", "1", "2026-01-03T00:00:00Z"))
    store.tombstone("Patient", "a", version_id="3", last_updated="2026-01-04T00:00:00Z")
    every = store.versions_since(None)
    assert [(s.id, s.version_id, s.deleted) for _, s in every] == [
        ("a", "3", True),
        ("c", "1", False),
        ("a", "2", False),
        ("a", "1", False),
    ]
    seqs = [q for q, _ in every]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 4
    assert orjson.loads(every[3][1].body)["meta"]["versionId"] == "1"
    # pages below a sequence, as the history's `next` link asks; a later write shifts none
    store.upsert(body("Patient", "a", "4", "2026-01-05T00:00:00Z"))
    assert [(s.id, s.version_id) for _, s in store.versions_since(None, before_seq=seqs[1])] == [
        ("a", "2"),
        ("a", "1"),
    ]
    assert [s.version_id for _, s in store.versions_since(None, limit=2, types=["Patient"])] == [
        "4",
        "3",
    ]
    # at or after `_since` (http.html#history)
    since = [(s.id, s.version_id) for _, s in store.versions_since("2026-01-02T00:00:00Z")]
    assert since == [("a", "4"), ("a", "3"), ("c", "1"), ("a", "2")]


@pytest.mark.parametrize("recent_limit", [5000, 0])
def test_versions_since_pages_one_type_whichever_index_it_reads(
    store: Store, recent_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Few changes since `_since` are found by `lu`, many along `seq` (`RECENT_LIMIT`): the
    same pages either way, other types' versions never taking a page's place."""
    from standby.store import sql_reads

    monkeypatch.setattr(sql_reads, "RECENT_LIMIT", recent_limit)
    for day in range(1, 5):
        store.upsert(body("Observation", "o", str(day), f"2026-01-0{day}T00:00:00Z"))
        for p in ("p", "q"):
            store.upsert(body("Patient", p, str(day), f"2026-01-0{day}T01:00:00Z"))
    pages, before = [], None
    while True:
        page = store.versions_since(
            "2026-01-02T00:00:00Z", types=["Observation"], limit=1, before_seq=before
        )
        if not page:
            break
        pages.append(page[0][1].version_id)
        before = page[0][0]
    assert pages == ["4", "3", "2"]
    two = store.versions_since("2026-01-04T00:00:00Z", types=["Patient"], limit=2)
    assert sorted((s.id, s.version_id) for _, s in two) == [("p", "4"), ("q", "4")]


def test_change_marks_follow_every_write(store: Store) -> None:
    assert store.last_seq() == 0 and store.change_marks(0) == []
    store.upsert(body("Patient", "p"))
    store.upsert(body("Observation", "o", subject=ref("Patient/p")))
    store.upsert(body("Location", "bed"))
    first = store.last_seq()
    assert first is not None
    marks = store.change_marks(0)
    assert [m[1:] for m in marks] == [
        ("Patient", "p", "p"),
        ("Observation", "o", "p"),
        ("Location", "bed", None),
    ]
    assert marks[-1][0] == first
    store.upsert(body("Observation", "o", subject=ref("Patient/q")))  # moved to another patient
    store.tombstone("Patient", "p")
    later = store.change_marks(first)
    assert [m[1:] for m in later] == [("Observation", "o", "q"), ("Patient", "p", None)]
    assert later[-1][0] == store.last_seq() and later[0][0] > first
    assert [m[1:] for m in store.change_marks(0, limit=1)] == [("Location", "bed", None)]
    assert store.change_marks(store.last_seq() or 0) == []


def _clinic(store: Store) -> None:
    store.upsert_many(
        [
            body(
                "Patient",
                "p1",
                name=[{"family": "Müller", "given": ["Anna", "Maria"]}],
                birthDate="1980-05-03",
                gender="female",
                identifier=[{"system": "urn:mrn", "value": "MRN1"}],
            ),
            body("Patient", "p2", name=[{"family": "Mullins", "given": ["Bob"]}], gender="male"),
            body(
                "Encounter",
                "e1",
                status="in-progress",
                subject=ref("Patient/p1"),
                period={"start": "2026-01-01T08:00:00Z"},
                location=[{"location": ref("Location/bed1")}],
                **{"class": {"system": "v3", "code": "IMP"}},  # type: ignore[arg-type]
            ),
            *[
                body(
                    "Observation",
                    f"o{i}",
                    "1",
                    f"2026-01-0{i}T00:00:00Z",
                    status="final",
                    subject=ref("Patient/p1"),
                    encounter=ref("Encounter/e1"),
                    category=[
                        cc(
                            "http://terminology.hl7.org/CodeSystem/observation-category",
                            "vital-signs",
                        )
                    ],
                    code=cc(LOINC, "8867-4" if i % 2 else "8310-5"),
                    effectiveDateTime=f"2026-01-0{i}T10:00:00Z",
                )
                for i in range(1, 6)
            ],
            body(
                "Observation",
                "lab",
                subject=ref("Patient/p2"),
                code=cc(LOINC, "2345-7"),
                category=[cc("x", "laboratory")],
                effectiveDateTime="2025-06-01",
            ),
            body(
                "MedicationRequest",
                "m1",
                subject=ref("Patient/p1"),
                status="active",
                intent="order",
                authoredOn="2026-01-01T09:00:00Z",
            ),
            body(
                "Appointment",
                "a1",
                status="booked",
                start="2026-02-01T09:00:00Z",
                participant=[{"actor": ref("Patient/p2")}, {"actor": ref("Location/or1")}],
            ),
        ]
    )


def test_search_token(store: Store) -> None:
    _clinic(store)
    assert sorted(ids(store.search("Observation", [("code", "8867-4")]))) == ["o1", "o3", "o5"]
    assert len(store.search("Observation", [("code", f"{LOINC}|8867-4")]).resources) == 3
    assert store.search("Observation", [("code", "other|8867-4")]).resources == []
    assert len(store.search("Observation", [("code", f"{LOINC}|")]).resources) == 6
    assert ids(store.search("Patient", [("identifier", "urn:mrn|MRN1")])) == ["p1"]
    assert ids(store.search("Patient", [("gender", "female")])) == ["p1"]
    assert ids(store.search("Encounter", [("class", "IMP")])) == ["e1"]
    assert ids(store.search("MedicationRequest", [("intent", "order")])) == ["m1"]


def test_search_and_or(store: Store) -> None:
    _clinic(store)
    both = store.search("Observation", [("code", "8867-4,2345-7")])
    assert sorted(ids(both)) == ["lab", "o1", "o3", "o5"]
    anded = store.search("Observation", [("code", "8867-4,2345-7"), ("patient", "p2")])
    assert ids(anded) == ["lab"]


def test_search_string(store: Store) -> None:
    _clinic(store)
    assert sorted(ids(store.search("Patient", [("family", "mul")]))) == ["p1", "p2"]
    assert ids(store.search("Patient", [("family", "MÜLLER")])) == ["p1"]
    assert ids(store.search("Patient", [("name", "maria")])) == ["p1"]
    assert ids(store.search("Patient", [("family:exact", "Mul")])) == []
    assert ids(store.search("Patient", [("family:exact", "Mullins")])) == ["p2"]
    assert ids(store.search("Patient", [("given:contains", "ob")])) == ["p2"]
    assert ids(store.search("Patient", [("given:contains", "%")])) == []


def test_search_escaped_comma_is_part_of_the_value(store: Store) -> None:
    """`\\,` in a search value is a comma in the value, not an OR
    (https://hl7.org/fhir/R4/search.html#escaping)."""
    store.upsert(body("Patient", "pc", name=[{"family": "Smith,Jones"}]))
    store.upsert(body("Patient", "ps", name=[{"family": "Smith"}]))
    assert ids(store.search("Patient", [("family", "Smith\\,Jones")])) == ["pc"]
    assert sorted(ids(store.search("Patient", [("family", "Smith,Jones")]))) == ["pc", "ps"]


def test_search_date(store: Store) -> None:
    _clinic(store)
    assert ids(store.search("Patient", [("birthdate", "1980")])) == ["p1"]
    assert ids(store.search("Patient", [("birthdate", "1980-05")])) == ["p1"]
    assert ids(store.search("Patient", [("birthdate", "1981")])) == []
    obs = store.search("Observation", [("date", "ge2026-01-03"), ("date", "lt2026-01-05")])
    assert sorted(ids(obs)) == ["o3", "o4"]
    assert sorted(ids(store.search("Observation", [("date", "2026-01-02")]))) == ["o2"]
    assert sorted(ids(store.search("Observation", [("date", "le2025-12")]))) == ["lab"]
    assert ids(store.search("Encounter", [("date", "ge2026-03-01")])) == ["e1"]  # open period
    assert ids(store.search("Appointment", [("date", "gt2026-01-31T23:00:00Z")])) == ["a1"]
    assert ids(store.search("MedicationRequest", [("authoredOn", "2026-01-01")])) == ["m1"]
    assert ids(store.search("MedicationRequest", [("authored", "2026-01-01")])) == ["m1"]
    assert sorted(
        ids(
            store.search(
                "Observation", [("_lastUpdated", "ge2026-01-04"), ("_lastUpdated", "lt2026-01-06")]
            )
        )
    ) == [
        "o4",
        "o5",
    ]


def test_search_reference(store: Store) -> None:
    _clinic(store)
    for value in ("p1", "Patient/p1", "https://ehr.example/fhir/Patient/p1"):
        assert len(store.search("Observation", [("patient", value)]).resources) == 5
    assert len(store.search("Observation", [("subject", "Patient/p1")]).resources) == 5
    assert len(store.search("Observation", [("encounter", "Encounter/e1")]).resources) == 5
    assert ids(store.search("Encounter", [("location", "Location/bed1")])) == ["e1"]
    assert ids(store.search("Appointment", [("actor", "Location/or1")])) == ["a1"]
    assert ids(store.search("Appointment", [("patient", "p2")])) == ["a1"]
    assert ids(store.search("Appointment", [("patient", "or1")])) == []
    # several values: any of them (looked up with one IN list per target type)
    both = store.search("Appointment", [("actor", "Location/or1,Patient/p2,Patient/nobody")])
    assert ids(both) == ["a1"]
    many = store.search("Observation", [("subject", "Patient/p1,Patient/p2")])
    one_by_one = [
        r.id
        for p in ("p1", "p2")
        for r in store.search("Observation", [("subject", f"Patient/{p}")]).resources
    ]
    assert sorted(ids(many)) == sorted(one_by_one) and len(one_by_one) > 5
    assert store.search("Observation", [("subject", "Patient/nobody,Group/x")]).resources == []


def test_search_sort_page_total(store: Store) -> None:
    _clinic(store)
    q = [("patient", "p1"), ("category", "vital-signs")]
    page = store.search("Observation", q, sort=["-date"], count=2, total=True)
    assert ids(page) == ["o5", "o4"] and page.total == 5
    page2 = store.search("Observation", q, sort=["-date"], count=2, offset=2)
    assert ids(page2) == ["o3", "o2"] and page2.total is None
    assert ids(store.search("Observation", q, sort=["date"], count=1)) == ["o1"]
    assert ids(store.search("Observation", q, sort=["-_lastUpdated"], count=1)) == ["o5"]
    assert ids(store.search("Observation", [("_id", "o2,o3")], sort=["-_id"])) == ["o3", "o2"]


def test_search_unknown_parameter_names_it(store: Store) -> None:
    with pytest.raises(ValueError, match="frobnicate"):
        store.search("Observation", [("frobnicate", "1")])
    with pytest.raises(ValueError, match="code:below"):
        store.search("Observation", [("code:below", "1")])


def test_compartment(store: Store) -> None:
    _clinic(store)
    everything = store.compartment("p1")
    assert {(r.resource_type, r.id) for r in everything} == {
        ("Patient", "p1"),
        ("Encounter", "e1"),
        ("MedicationRequest", "m1"),
        *{("Observation", f"o{i}") for i in range(1, 6)},
    }
    assert {r.id for r in store.compartment("p1", ["Encounter"])} == {"e1"}
    assert {r.id for r in store.compartment("p2")} == {"p2", "lab", "a1"}


def test_iter_type_and_counts(store: Store) -> None:
    store.upsert_many([body("Patient", f"p{i}") for i in range(7)])
    assert sorted(r.id for r in store.iter_type("Patient", batch=3)) == [f"p{i}" for i in range(7)]
    store.tombstone("Patient", "p0")
    assert store.counts_by_type() == {"Patient": 6}


# ---- quarantine, ingest ----------------------------------------------------------------
def test_ingest_quarantines_bad_lines_and_goes_on(store: Store) -> None:
    lines = [
        body("Patient", "p1", "1", "2026-01-01T00:00:00Z") + b"\n",
        b"{not json\n",
        b"[1,2]\n",
        b'{"id":"x"}\n',
        b'{"resourceType":"Spaceship","id":"x"}\n',
        b'{"resourceType":"Patient"}\n',
        b'{"resourceType":"Patient","id":"\xff\xfe"}\n',
        b"\n",
        body("Patient", "p2") + b"\n",
    ]
    report = store.ingest_ndjson(iter(lines), file="Patient.ndjson")
    assert report.written == 2 and report.quarantined == 6 and report.lines == 9
    assert report.by_type == {"Patient": 2}
    items = {q.line: q for q in store.quarantined()}
    assert set(items) == {2, 3, 4, 5, 6, 7}
    assert "JSON" in items[2].reason
    assert "object" in items[3].reason
    assert "resourceType" in items[4].reason
    assert "Spaceship" in items[5].reason and items[5].resource_type == "Spaceship"
    assert "id" in items[6].reason
    assert "UTF-8" in items[7].reason
    assert all(q.file == "Patient.ndjson" and q.source == "ingest" for q in items.values())
    assert store.count_quarantined() == 6
    newest = max(q.at for q in items.values())
    assert store.count_quarantined(since=newest) == 0
    again = store.ingest_ndjson(iter(lines[:1]), file="Patient.ndjson")
    assert again.unchanged == 1 and again.written == 0


def test_ingest_too_large_line(store: Store) -> None:
    store.max_resource_bytes = 100  # type: ignore[attr-defined]
    big = body("Patient", "big", text={"div": "x" * 200})
    report = store.ingest_ndjson([big], file="f")
    assert report.quarantined == 1
    assert "limit" in store.quarantined()[0].reason


def test_ingest_batches(store: Store) -> None:
    store.batch_size = 3  # type: ignore[attr-defined]
    report = store.ingest_ndjson((body("Patient", f"p{i}") for i in range(10)), file="f")
    assert report.written == 10 and store.counts_by_type() == {"Patient": 10}


# ---- operational schemas ---------------------------------------------------------------
def test_ensure_schema_and_transactions(store: Store) -> None:
    migs = [
        Migration(1, "t", "CREATE TABLE t_notes (k TEXT PRIMARY KEY, v TEXT)"),
        Migration(2, "i", "CREATE INDEX t_notes_v ON t_notes (v)"),
    ]
    store.ensure_schema("test", migs[:1])
    store.ensure_schema("test", migs)
    store.ensure_schema("test", migs)
    with store.transaction() as tx:
        assert tx.execute("INSERT INTO t_notes (k, v) VALUES (?, ?)", ("a", "50%")) == 1
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.execute("INSERT INTO t_notes (k, v) VALUES (?, ?)", ("b", "?"))
        raise RuntimeError("boom")
    with store.read_transaction() as tx:
        assert tx.query("SELECT k, v FROM t_notes WHERE v LIKE '%'") == [("a", "50%")]


def test_resource_writes_roll_back_with_the_transaction(store: Store) -> None:
    store.upsert(body("Patient", "kept", "1", "2026-01-01T00:00:00Z", gender="male"))
    store.set_checkpoint("ehr:Patient", "1")
    seq = store.last_seq()
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert(body("Patient", "kept", "2", "2026-01-02T00:00:00Z", gender="female"))
        store.upsert(body("Observation", "new", subject=ref("Patient/kept")))
        store.create({"resourceType": "Patient", "id": "made"})
        store.tombstone("Patient", "kept", last_updated="2026-01-03T00:00:00Z")
        store.set_checkpoint("ehr:Patient", "2")
        store.quarantine(source="ingest", reason="bad", raw=b"{")
        raise RuntimeError("boom")
    kept = store.read("Patient", "kept")
    assert kept is not None and kept.version_id == "1" and not kept.deleted
    assert [h.version_id for h in store.history("Patient", "kept")] == ["1"]
    assert store.read("Observation", "new") is None and store.read("Patient", "made") is None
    assert ids(store.search("Patient", [("gender", "male")])) == ["kept"]
    assert {r.id for r in store.compartment("kept")} == {"kept"}
    assert store.counts_by_type() == {"Patient": 1}
    assert [s.id for _, s in store.changes_since(None)] == ["kept"]
    assert store.last_seq() == seq
    assert store.get_checkpoint("ehr:Patient") == "1" and store.quarantined() == []
    store.upsert(body("Observation", "after", subject=ref("Patient/kept")))
    assert [m[1:] for m in store.change_marks(seq or 0)] == [("Observation", "after", "kept")]


def test_the_same_bad_input_is_quarantined_once(store: Store) -> None:
    for _ in range(3):  # a source sending the same bad resource round after round
        store.quarantine(
            source="sync:ehr",
            reason="too large",
            raw=b'{"resourceType":"Observation","id":"o1"',
            file="http://ehr/Observation?_lastUpdated=gt1",
            resource_type="Observation",
            resource_id="o1",
        )
    store.quarantine(
        source="sync:ehr",
        reason="too large",
        raw=b"{",
        resource_type="Observation",
        resource_id="o2",
    )
    store.quarantine(source="ingest", reason="not a JSON object", raw=b"[1]", file="f", line=3)
    store.quarantine(source="ingest", reason="not a JSON object", raw=b"[1]", file="f", line=9)
    got = sorted((q.resource_id or "", q.line or 0) for q in store.quarantined())
    assert got == [("", 3), ("", 9), ("o1", 0), ("o2", 0)]
    assert store.count_quarantined() == 4


def test_readers_and_writer_in_threads(store: Store) -> None:
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(40):
                store.upsert(body("Patient", f"w{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def read() -> None:
        try:
            for _ in range(40):
                store.search("Patient", [], count=5)
                store.compartment("w1")
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.counts_by_type() == {"Patient": 40}


# ---- the engines agree -----------------------------------------------------------------
def _queries(resources: list[dict[str, Any]], rng: Any) -> list[list[tuple[str, str]]]:
    """Searches built from the index values of some resources: every kind, modifier and
    date prefix, alone and in pairs."""
    from datetime import UTC, datetime

    from standby.fhir.search_params import extract

    one: list[tuple[str, str]] = []
    for res in rng.sample(resources, min(8, len(resources))):
        ex = extract(res)
        for name, system, code in ex.token:
            one += [(name, code), (name, f"{system}|{code}"), (name, f"{system}|")]
        for name, value in ex.string:
            one += [(name, value[:3]), (f"{name}:exact", value), (f"{name}:contains", value[1:4])]
        for name, ttype, tid in ex.reference:
            one += [(name, tid), (name, f"{ttype}/{tid}")]
        for name, lo, _ in ex.date:
            day = datetime.fromtimestamp(lo / 1000, UTC).strftime("%Y-%m-%d")
            one += [(name, p + day) for p in ("", "ne", "gt", "ge", "lt", "le", "sa", "eb")]
    one = rng.sample(one, min(24, len(one)))
    return [[q] for q in one] + [[a, b] for a, b in zip(one[::2], one[1::2], strict=False)]


def test_memory_engine_searches_like_sqlite(tmp_path: Path) -> None:
    """The memory engine gives the SQL engines' answers (same ids, order and totals) to
    searches drawn from a generated hospital, sorted by every kind of parameter."""
    import random
    from datetime import UTC, datetime

    from standby.fhir.search_params import params_for
    from standby.sim.generate import generate_hospital
    from standby.store.ingest import ingest_directory
    from standby.store.memory import MemoryStore
    from standby.store.sqlite import SQLiteStore

    generate_hospital(4, 11, tmp_path / "h", now=datetime(2026, 11, 28, 10, tzinfo=UTC))
    sql, mem = SQLiteStore(tmp_path / "r.db"), MemoryStore()
    try:
        for s in (sql, mem):
            ingest_directory(s, tmp_path / "h")
        assert mem.counts_by_type() == sql.counts_by_type()
        rng = random.Random(5)
        compared = 0
        for rtype in sql.counts_by_type():
            resources = [r.json() for r in sql.iter_type(rtype)]
            sorts = [[], ["-_lastUpdated"], ["_id"]] + [
                [d + n] for n in sorted(params_for(rtype)) for d in ("", "-")
            ]
            queries = [([], sort) for sort in sorts]  # every order over every resource
            queries += [(q, sorts[k % len(sorts)]) for k, q in enumerate(_queries(resources, rng))]
            for q, sort in queries:
                want = sql.search(rtype, q, sort=sort, count=30, total=True)
                got = mem.search(rtype, q, sort=sort, count=30, total=True)
                assert (ids(got), got.total) == (ids(want), want.total), (rtype, q, sort)
                compared += 1
        assert compared > 300
        patient = next(iter(sql.iter_type("Patient"))).id
        assert {r.reference for r in mem.compartment(patient)} == {
            r.reference for r in sql.compartment(patient)
        }
    finally:
        sql.close()
        mem.close()


def test_a_source_that_reuses_version_ids_never_stops_the_writes(store: Store) -> None:
    plain = b'{"resourceType":"Observation","id":"a"}'
    one = b'{"resourceType":"Observation","id":"a","meta":{"versionId":"1"}}'
    for raw in (plain, plain, plain, one, plain, one, plain):
        store.upsert(raw)  # no exception, whatever the order
    held = store.read("Observation", "a")
    assert held is not None and held.version_id == "5"  # 1, 2, 3, 4, 5: the "1"s were older
    assert store.upsert(one) is WriteOutcome.STALE  # lower number, no lastUpdated: older
