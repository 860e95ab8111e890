"""What the feed writer reads of the replica by identifier: the SQL engines answer from their
token index (`SQLReads.ids_by_token`), and say what the FHIR search (each match's body read)
says, on every engine."""

from __future__ import annotations

from typing import Any

import orjson

from standby.hl7.replica_reads import _searched, held_by_identifier
from standby.store.base import Store
from support import store_engines

# the fixtures: a fresh store of every engine
pg_schema, store = store_engines.pg_schema, store_engines.store

SYS = "https://standby.example.org/fhir/sid/mrn"
OTHER = "https://standby.example.org/fhir/sid/v2/visit"


def _res(rtype: str, rid: str, *idents: tuple[str, str], **more: Any) -> bytes:
    return orjson.dumps(
        {
            "resourceType": rtype,
            "id": rid,
            "meta": {"versionId": "1", "lastUpdated": "2026-11-01T00:00:00Z"},
            "identifier": [{"system": s, "value": v} for s, v in idents],
            **more,
        }
    )


def test_identifiers_from_the_index_are_what_the_search_finds(store: Store) -> None:
    store.upsert_many(
        [
            _res("Patient", "b-first", (SYS, "1001")),
            _res("Patient", "a-second", (SYS, "1001")),  # same MRN, written after: not it
            _res("Patient", "p2", (SYS, "1002"), (OTHER, "V9")),
            _res("Patient", "gone", (SYS, "1003")),
            _res("Patient", "comma", (SYS, "10,04")),
            _res("Encounter", "e1", (SYS, "1005"), status="in-progress", subject={}),
        ]
    )
    store.tombstone("Patient", "gone")
    pairs = {
        (SYS, "1001"),
        (SYS, "1002"),
        (OTHER, "V9"),
        (SYS, "1003"),  # deleted
        (SYS, "10,04"),
        (SYS, "1005"),  # an Encounter's
        (SYS, "9999"),  # none
        ("https://unknown.example.org", "1001"),  # a system never indexed
    }
    got = held_by_identifier(store, "Patient", pairs)
    assert got == _searched(store, "Patient", pairs)
    assert got == {
        (SYS, "1001"): "b-first",
        (SYS, "1002"): "p2",
        (OTHER, "V9"): "p2",
        (SYS, "10,04"): "comma",
    }
    assert held_by_identifier(store, "Encounter", pairs) == {(SYS, "1005"): "e1"}
    assert held_by_identifier(store, "Location", pairs) == {}  # a type with none indexed
