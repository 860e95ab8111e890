"""DocumentReference's `identifier` search is `masterIdentifier | identifier`
(https://hl7.org/fhir/R4/documentreference.html#search) on every engine, and a replica
indexed before it was gets the missing rows when opened (store migration 5, docs/store.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from standby.hl7.replica_reads import held_by_identifier
from standby.store.base import Store
from support.fhir_examples import example
from support.store_engines import DURABLE_ENGINES, make_store

MASTER = ("urn:ietf:rfc:3986", "urn:oid:1.3.6.1.4.1.21367.2005.3.7")  # its masterIdentifier
OTHER = ("urn:ietf:rfc:3986", "urn:oid:1.3.6.1.4.1.21367.2005.3.7.1234")  # its identifier


def official_example() -> bytes:
    """DocumentReference-example.json of FHIR R4 (masterIdentifier and one identifier)."""
    return example("DocumentReference-example.json")


def only_master(number: str) -> bytes:
    """A note whose document number is its masterIdentifier alone (what an EHR may send)."""
    res = json.loads(official_example())
    del res["identifier"]
    res["id"] = f"note-{number}"
    res["masterIdentifier"] = {"system": "urn:example:doc", "value": number}
    return json.dumps(res).encode()


def found(store: Store, system: str, value: str) -> list[str]:
    page = store.search("DocumentReference", [("identifier", f"{system}|{value}")])
    return [r.id for r in page.resources]


def test_master_identifier_is_searched_as_identifier(store: Store) -> None:
    store.upsert_many([official_example(), only_master("DOC-1")])
    assert found(store, *MASTER) == ["example"]
    assert found(store, *OTHER) == ["example"]
    assert found(store, "urn:example:doc", "DOC-1") == ["note-DOC-1"]
    page = store.search("DocumentReference", [("identifier", "DOC-1")])  # code alone
    assert [r.id for r in page.resources] == ["note-DOC-1"]
    # what the HL7 feed asks before writing a note (the token index alone on SQL engines)
    assert held_by_identifier(
        store, "DocumentReference", [MASTER, ("urn:example:doc", "DOC-1")]
    ) == {
        MASTER: "example",
        ("urn:example:doc", "DOC-1"): "note-DOC-1",
    }


@pytest.mark.parametrize("engine", DURABLE_ENGINES)
def test_an_older_replica_finds_master_identifiers_once_opened(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pg = request.getfixturevalue("pg_schema") if engine == "postgres" else None
    store = make_store(engine, tmp_path, pg)
    notes = [only_master(f"DOC-{k}") for k in range(3)]
    store.upsert_many([official_example(), *notes])
    store.tombstone("DocumentReference", "note-DOC-2")
    # as a version before migration 5 left it: no token rows for masterIdentifier
    with store.transaction() as tx:
        tx.execute(
            "DELETE FROM idx_token WHERE rid IN (SELECT rid FROM resource"
            " WHERE type = 'DocumentReference') AND code IN (?, ?, ?, ?)",
            (MASTER[1], "DOC-0", "DOC-1", "DOC-2"),
        )
        tx.execute("DELETE FROM schema_migrations WHERE namespace = 'store' AND version = 5")
    assert found(store, "urn:example:doc", "DOC-0") == []
    store.close()
    store = make_store(engine, tmp_path, pg)
    try:
        assert found(store, *MASTER) == ["example"]
        assert found(store, *OTHER) == ["example"]
        assert found(store, "urn:example:doc", "DOC-0") == ["note-DOC-0"]
        assert found(store, "urn:example:doc", "DOC-1") == ["note-DOC-1"]
        assert found(store, "urn:example:doc", "DOC-2") == []  # deleted
        with store.read_transaction() as tx:
            (n,) = tx.query(
                "SELECT count(*) FROM idx_token WHERE rid IN (SELECT rid FROM resource"
                " WHERE type = 'DocumentReference' AND deleted = 0)"
            )[0]
            assert tx.query(
                "SELECT 1 FROM schema_migrations WHERE namespace = 'store' AND version = 5"
            )
        store.close()
        store = make_store(engine, tmp_path, pg)  # once: opened again, nothing added
        with store.read_transaction() as tx:
            assert (
                tx.query(
                    "SELECT count(*) FROM idx_token WHERE rid IN (SELECT rid FROM resource"
                    " WHERE type = 'DocumentReference' AND deleted = 0)"
                )[0][0]
                == n
            )
    finally:
        store.close()
