"""A database made by an older schema version is upgraded when opened (docs/store.md)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from standby.store import open_store
from standby.store.migrations import split_statements
from standby.store.schema import MIGRATIONS, NAMESPACE
from standby.store.sqlite import SQLiteStore
from support.store_engines import DURABLE_ENGINES, make_store


def _v1_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE schema_migrations (namespace TEXT NOT NULL, version INTEGER NOT NULL,"
        " description TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (namespace, version))"
    )
    for stmt in split_statements(MIGRATIONS[0].sqlite):
        conn.execute(stmt)
    conn.execute(
        "INSERT INTO schema_migrations VALUES (?, 1, 'v1', '2026-01-01T00:00:00Z')", (NAMESPACE,)
    )
    conn.execute(
        "INSERT INTO resource VALUES (1, 'Patient', 'old', '1', '2026-01-01T00:00:00Z', 0, 1, 0,"
        " 'old', ?)",
        (b'{"resourceType":"Patient","id":"old"}',),
    )
    conn.commit()
    conn.close()


def test_v1_database_is_upgraded_and_readable(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _v1_database(path)
    with SQLiteStore(path) as store:
        old = store.read("Patient", "old")
        assert old is not None and old.body == b'{"resourceType":"Patient","id":"old"}'
        store.upsert(b'{"resourceType":"Patient","id":"old","gender":"male"}')
        assert store.vread("Patient", "old", "1") is not None
        assert [r.id for r in store.compartment("old")] == ["old"]
    conn = sqlite3.connect(path)
    versions = [
        v
        for (v,) in conn.execute(
            "SELECT version FROM schema_migrations WHERE namespace = ? ORDER BY version",
            (NAMESPACE,),
        )
    ]
    indexes = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    conn.close()
    assert versions == [m.version for m in MIGRATIONS]
    assert "resource_history_version" in indexes


def test_open_store_twice_applies_nothing_new(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    open_store(db=path).close()
    store = open_store(db=path)
    try:
        assert store.engine == "sqlite" and store.counts_by_type() == {}
    finally:
        store.close()


@pytest.mark.parametrize("engine", DURABLE_ENGINES)
def test_migration_6_upgrades_a_replica_with_previous_versions(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A replica at migration 5 (previous versions without `seq`/`lu`) opens after the
    upgrade, on SQLite and PostgreSQL: its old versions stay in the instance history and
    out of type history (no sequence), versions replaced after it are listed."""
    pg = request.getfixturevalue("pg_schema") if engine == "postgres" else None

    def obs(v: str) -> bytes:
        return (
            b'{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},'
            b'"meta":{"versionId":"'
            + v.encode()
            + b'","lastUpdated":"2026-01-0'
            + v.encode()
            + b'T00:00:00Z"}}'
        )

    store = make_store(engine, tmp_path, pg)
    store.upsert(obs("1"))
    store.upsert(obs("2"))
    with store.transaction() as tx:  # back to the schema before migration 6
        tx.execute("DROP INDEX resource_history_seq")
        tx.execute("DROP INDEX resource_history_lu")
        tx.execute("ALTER TABLE resource_history DROP COLUMN seq")
        tx.execute("ALTER TABLE resource_history DROP COLUMN lu")
        tx.execute(
            "DELETE FROM schema_migrations WHERE namespace = ? AND version = 6", (NAMESPACE,)
        )
    store.close()
    store = make_store(engine, tmp_path, pg)
    try:
        assert [s.version_id for _, s in store.versions_since(None)] == ["2"]
        assert [s.version_id for _, s in store.versions_since("2025-01-01T00:00:00Z")] == ["2"]
        store.upsert(obs("3"))
        assert [s.version_id for _, s in store.versions_since(None)] == ["3", "2"]
        assert [s.version_id for s in store.history("Observation", "o")] == ["3", "2", "1"]
    finally:
        store.close()
