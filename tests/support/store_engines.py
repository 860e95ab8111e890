"""Fresh stores of every engine for the store tests (one database per test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from standby.store.base import Store
from standby.store.encryption import DatabaseKey
from standby.store.memory import MemoryStore
from standby.store.postgres import PostgresStore
from standby.store.sqlite import SQLiteStore
from support.postgres import postgres_url

# the key of the encrypted SQLite engine (a fixed one: tests reopen what they wrote)
TEST_KEY = DatabaseKey("5e" * 32, "the tests' key")


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    url = postgres_url()
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield url, name
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def make_store(engine: str, tmp_path: Path, pg: tuple[str, str] | None, **kw: int) -> Store:
    if engine == "sqlite":
        return SQLiteStore(tmp_path / "replica.db", **kw)
    if engine == "sqlcipher":
        return SQLiteStore(tmp_path / "replica.db", key=TEST_KEY, **kw)
    if engine == "memory":
        return MemoryStore(**kw)
    assert pg is not None
    return PostgresStore(pg[0], schema=pg[1], **kw)


ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("sqlcipher", id="sqlcipher"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("memory", id="memory"),
]
# the engines that keep a database between openings (what migrations and stored forms are about)
DURABLE_ENGINES = [ENGINES[0], ENGINES[2]]


def _opened(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    pg = request.getfixturevalue("pg_schema") if request.param == "postgres" else None
    s = make_store(request.param, tmp_path, pg)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store of each engine."""
    yield from _opened(request, tmp_path)


@pytest.fixture(params=DURABLE_ENGINES, name="store")
def durable_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """`store` of the engines that keep a database (import it to have `store` be these)."""
    yield from _opened(request, tmp_path)
