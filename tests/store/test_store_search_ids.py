"""`Store.search_ids`: every match's id in the search's order, and only the first few
read (the FHIR API's paging snapshot), on every engine."""

from __future__ import annotations

import orjson

from standby.store.base import Store


def _vital(rid: str, patient: str, day: int) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "category": [{"coding": [{"code": "vital-signs"}]}],
            "subject": {"reference": f"Patient/{patient}"},
            "effectiveDateTime": f"2026-11-{day:02d}T09:00:00Z",
        }
    )


def test_search_ids_in_order_with_the_first_bodies(store: Store) -> None:
    store.upsert_many([_vital(f"o{d}", "p1", d) for d in (3, 1, 5, 2, 4)] + [_vital("x1", "p2", 6)])
    store.tombstone("Observation", "o2", version_id="2")
    q = [("patient", "p1"), ("category", "vital-signs")]
    ids, first = store.search_ids("Observation", q, sort=["-date"], limit=10, bodies=2)
    assert ids == ["o5", "o4", "o3", "o1"]  # deleted ones never match
    assert [r.id for r in first] == ["o5", "o4"]
    assert orjson.loads(first[0].body)["effectiveDateTime"].startswith("2026-11-05")
    assert ids == [r.id for r in store.search("Observation", q, sort=["-date"], count=10).resources]
    assert store.search_ids("Observation", q, sort=["date"], limit=2, bodies=5) == (
        ["o1", "o3"],
        store.search("Observation", q, sort=["date"], count=2).resources,
    )
    assert store.search_ids("Observation", [("patient", "p9")], limit=5, bodies=5) == ([], [])
