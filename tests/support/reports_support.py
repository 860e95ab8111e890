"""Helpers of the packet tests (imported by name: `conftest` is not a unique module name)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def open_test_store(db: Path):
    from standby.store import open_store

    return open_store(db=db)


def load_ndjson(data: Path, db: Path):
    store = open_test_store(db)
    for f in sorted(data.glob("*.ndjson")):
        with open(f, "rb") as fh:
            store.ingest_ndjson(fh, file=str(f))
    return store
