"""Fixtures of the packet tests: a generated 20-bed hospital loaded into a store."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def open_test_store(db: Path):
    """The SQLite engine when it exists; the in-memory test store until then."""
    try:
        import standby.store.sqlite  # noqa: F401
    except ImportError:
        from reports_memstore import MemoryStore

        return MemoryStore()
    from standby.store import open_store

    return open_store(db=db)


def load_ndjson(data: Path, db: Path):
    store = open_test_store(db)
    for f in sorted(data.glob("*.ndjson")):
        with open(f, "rb") as fh:
            store.ingest_ndjson(fh, file=str(f))
    return store


@pytest.fixture(scope="session")
def hospital_ndjson(tmp_path_factory) -> Path:
    """A generated 20-bed hospital as NDJSON (generate_hospital(beds=20))."""
    from standby.sim.generate import generate_hospital

    data = tmp_path_factory.mktemp("hospital") / "ndjson"
    generate_hospital(20, 7, data, now=NOW)
    return data


@pytest.fixture(scope="module")
def hospital(hospital_ndjson, tmp_path_factory):
    store = load_ndjson(hospital_ndjson, tmp_path_factory.mktemp("db") / "replica.db")
    yield store
    store.close()
