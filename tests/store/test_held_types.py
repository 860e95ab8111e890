"""`Store.held_types`: the types the store holds a current resource of, what
`counts_by_type` says is not zero, on every engine."""

from __future__ import annotations

import orjson

from standby.store.base import Store


def body(rtype: str, rid: str) -> bytes:
    return orjson.dumps({"resourceType": rtype, "id": rid})


def test_held_types_are_the_types_counted(store: Store) -> None:
    assert store.held_types() == frozenset()
    store.upsert_many([body("Patient", f"p{i}") for i in range(3)])
    store.upsert_many([body("Location", "l1"), body("Flag", "f1"), body("Flag", "f2")])
    store.tombstone("Location", "l1")  # every Location deleted: not held
    store.tombstone("Flag", "f1")  # one Flag left: held
    assert store.held_types() == frozenset({"Patient", "Flag"})
    assert store.held_types() == frozenset(t for t, n in store.counts_by_type().items() if n)
