"""The PostgreSQL server of the tests (`STANDBY_TEST_POSTGRES_URL`)."""

from __future__ import annotations

import os

import psycopg
import pytest

PG_ENV = "STANDBY_TEST_POSTGRES_URL"


def postgres_url() -> str:
    """The test server's URL; skip when unset, fail (not skip) when set and unreachable."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set")
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable: {exc}")
    return url
