"""Fixtures of the packet tests: a generated 20-bed hospital in a SQLite replica."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.reports_support import NOW, add_allergy_conflict, load_ndjson


@pytest.fixture(scope="session")
def hospital_ndjson(tmp_path_factory) -> Path:
    """A generated 20-bed hospital as NDJSON (generate_hospital(beds=20))."""
    from standby.sim.generate import generate_hospital

    data = tmp_path_factory.mktemp("hospital") / "ndjson"
    generate_hospital(20, 7, data, now=NOW)
    add_allergy_conflict(data)
    return data


@pytest.fixture(scope="session")
def hospital_db(hospital_ndjson, tmp_path_factory) -> Path:
    """That hospital ingested (store.ingest_ndjson) into a SQLite replica file."""
    db = tmp_path_factory.mktemp("db") / "replica.db"
    load_ndjson(hospital_ndjson, db).close()
    return db


@pytest.fixture(scope="session")
def hospital(hospital_db):
    from standby.store import open_store

    store = open_store(db=hospital_db)
    yield store
    store.close()


@pytest.fixture
def replica_copy(hospital_db, tmp_path):
    """A store on a copy of the test hospital, which the test may change."""
    import sqlite3

    from standby.store import open_store

    db = tmp_path / "replica.db"
    src, dst = sqlite3.connect(hospital_db), sqlite3.connect(db)
    src.backup(dst)
    src.close()
    dst.close()
    store = open_store(db=db)
    yield store
    store.close()
