"""Fixtures of the read-model tests: the packet tests' generated 20-bed hospital in a
SQLite replica (helpers in `tests/support/reports_support.py`)."""

from __future__ import annotations

import pytest

from support.reports_support import NOW, load_ndjson


@pytest.fixture(scope="session")
def hospital(tmp_path_factory):
    """A generated 20-bed hospital (generate_hospital(beds=20)) in a SQLite replica."""
    from standby.sim.generate import generate_hospital

    data = tmp_path_factory.mktemp("hospital") / "ndjson"
    generate_hospital(20, 7, data, now=NOW)
    store = load_ndjson(data, tmp_path_factory.mktemp("db") / "replica.db")
    yield store
    store.close()
