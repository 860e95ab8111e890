"""The viewer's directory (reloaded every minute) finds which types the replica holds
without counting every resource: at 1M resources that count read the whole table (17 s on
a busy machine), and every page waited behind the reload."""

from __future__ import annotations

import orjson

from standby.clinical.directory import load
from standby.store import open_store


def test_the_directory_does_not_count_every_resource(tmp_path, monkeypatch):
    store = open_store(db=tmp_path / "replica.db")
    try:
        store.upsert_many(
            [
                orjson.dumps({"resourceType": "Patient", "id": "p1"}),
                orjson.dumps({"resourceType": "Location", "id": "l1", "name": "4W"}),
            ]
        )

        def counted() -> dict[str, int]:
            raise AssertionError("counted every resource")

        monkeypatch.setattr(store, "counts_by_type", counted)
        dire = load(store)
        assert dire.held_types == frozenset({"Patient", "Location"})
        assert "Location/l1" in dire.resolved
    finally:
        store.close()
