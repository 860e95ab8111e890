"""A database made by an older schema version is upgraded when opened (docs/store.md)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from standby.store import open_store
from standby.store.migrations import split_statements
from standby.store.schema import MIGRATIONS, NAMESPACE
from standby.store.sqlite import SQLiteStore


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
