"""Bulk ingest over files that repeat, age and renew what the replica holds, on every engine;
and, on PostgreSQL, that a load finds the held versions by index as the table grows (the
lookup once kept a plan made when the table was small, a scan of the whole table for every
batch: a load got slower with every batch)."""

from __future__ import annotations

import psycopg
import pytest
from test_store_contract import body

from standby.store.base import Store
from standby.store.postgres import PostgresStore


def patients(vid: str, day: int, gender: str, n: int = 7) -> list[bytes]:
    lu = f"2026-01-0{day}T00:00:00Z"
    return [body("Patient", f"p{i}", vid, lu, gender=gender) + b"\n" for i in range(n)]


def genders(store: Store, value: str) -> list[str]:
    return sorted(r.id for r in store.search("Patient", [("gender", value)], count=100).resources)


def test_reloading_older_and_newer_files_follows_the_version_rules(store: Store) -> None:
    store.batch_size = 3  # type: ignore[attr-defined]  (every file spans several batches)
    first = store.ingest_ndjson(patients("2", 2, "female"), file="Patient.ndjson")
    assert first.written == 7

    older = store.ingest_ndjson(patients("1", 1, "male"), file="Patient.ndjson")
    assert (older.written, older.unchanged) == (0, 7)  # refused: the held version is newer
    held = store.read("Patient", "p3")
    assert held is not None and held.version_id == "2"
    assert genders(store, "male") == [] and len(genders(store, "female")) == 7
    assert [h.version_id for h in store.history("Patient", "p3")] == ["2"]

    same = store.ingest_ndjson(patients("2", 2, "female"), file="Patient.ndjson")
    assert (same.written, same.unchanged) == (0, 7)

    newer = store.ingest_ndjson(patients("3", 3, "other"), file="Patient.ndjson")
    assert newer.written == 7
    held = store.read("Patient", "p3")
    assert held is not None and held.version_id == "3" and b'"other"' in held.body
    assert [h.version_id for h in store.history("Patient", "p3")] == ["3", "2"]
    assert genders(store, "female") == [] and len(genders(store, "other")) == 7


def test_one_file_that_repeats_a_resource_keeps_the_newest(store: Store) -> None:
    store.batch_size = 10  # type: ignore[attr-defined]  (the repeats share a batch)
    lines = [
        body("Patient", "p1", "5", "2026-01-05T00:00:00Z", gender="female"),
        body("Patient", "p2", "1", "2026-01-01T00:00:00Z", gender="male"),
        body("Patient", "p1", "4", "2026-01-04T00:00:00Z", gender="male"),  # older: refused
        body("Patient", "p1", "6", "2026-01-06T00:00:00Z", gender="unknown"),
        body("Patient", "p1", "6", "2026-01-06T00:00:00Z", gender="unknown"),  # same again
    ]
    report = store.ingest_ndjson(iter(lines), file="Patient.ndjson")
    assert (report.written, report.unchanged) == (3, 2)
    held = store.read("Patient", "p1")
    assert held is not None and held.version_id == "6" and held.body == lines[3]
    assert [h.version_id for h in store.history("Patient", "p1")] == ["6", "5"]
    assert genders(store, "unknown") == ["p1"] and genders(store, "male") == ["p2"]
    assert genders(store, "female") == []


def _rows_read(store: PostgresStore, url: str) -> int:
    """Rows of `resource` read so far, by scans of the table or of its indexes (the
    writer's counts flushed first)."""
    store._wconn.execute("SELECT pg_stat_force_next_flush()")
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)"
            " FROM pg_stat_user_tables"
            " WHERE schemaname = %s AND relname = 'resource'",
            (store.schema,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def observations(start: int, stop: int) -> list[bytes]:
    return [
        body("Observation", f"o{i:06d}", "1", "2026-01-01T00:00:00Z", status="final") + b"\n"
        for i in range(start, stop)
    ]


@pytest.mark.postgres
def test_a_load_finds_held_versions_by_index_once_the_table_is_large(
    pg_schema: tuple[str, str],
) -> None:
    url, schema = pg_schema
    store = PostgresStore(url, schema=schema, batch_size=500)
    try:
        # no analysis behind the test's back: a plan may change only because of the load
        store._wconn.execute("ALTER TABLE resource SET (autovacuum_enabled = false)")
        # a load that starts on an empty table: many batches while the table is small
        assert store.ingest_ndjson(observations(0, 6000), file="a.ndjson").written == 6000
        # the table grows large (as later in the same load: rows written straight in)
        store._wconn.execute(
            "INSERT INTO resource (rid, type, id, version_id, last_updated, lu, seq, deleted,"
            " body) SELECT nextval('resource_rid_seq'), 'Observation', 'x' || g, '1',"
            " '2026-01-01T00:00:00Z', 0, nextval('resource_change_seq'), 0, '{}'::bytea"
            " FROM generate_series(1, 200000) g"
        )
        before = _rows_read(store, url)
        assert store.ingest_ndjson(observations(6000, 7000), file="b.ndjson").written == 1000
        # a batch looks up its 500 keys (none held); it does not read the 206,000 rows
        assert _rows_read(store, url) - before == 0
    finally:
        store.close()


@pytest.mark.postgres
def test_a_load_that_doubles_the_table_leaves_it_analysed(
    pg_schema: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import standby.store.postgres as postgres

    monkeypatch.setattr(postgres, "ANALYSE_AFTER_ROWS", 50)
    url, schema = pg_schema
    store = PostgresStore(url, schema=schema, batch_size=20)
    try:
        store._wconn.execute("ALTER TABLE resource SET (autovacuum_enabled = false)")
        assert store.ingest_ndjson(observations(0, 120), file="a.ndjson").written == 120
        row = store._wconn.execute(
            "SELECT reltuples FROM pg_class WHERE oid = 'resource'::regclass"
        ).fetchone()
        assert row is not None and row[0] >= 50  # never analysed: -1
    finally:
        store.close()
