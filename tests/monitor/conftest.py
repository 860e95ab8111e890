"""Fixtures of the monitor tests: a fresh replica database per test, a fake clock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest


class _Tx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(sql, params).rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()


class MiniStore:
    """Only the operational-schema half of the Store interface (until SQLiteStore lands)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.lock = threading.RLock()
        self.conn.execute("CREATE TABLE IF NOT EXISTS _schema (ns TEXT, version INTEGER)")

    def ensure_schema(self, namespace: str, migrations: Sequence[Any]) -> None:
        with self.lock:
            have = {
                v
                for (v,) in self.conn.execute(
                    "SELECT version FROM _schema WHERE ns=?", (namespace,)
                )
            }
            for m in migrations:
                if m.version not in have:
                    self.conn.execute(m.sqlite)
                    self.conn.execute("INSERT INTO _schema VALUES (?, ?)", (namespace, m.version))

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield _Tx(self.conn)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    read_transaction = transaction

    def close(self) -> None:
        self.conn.close()


def open_store(path: Path) -> Any:
    try:
        from standby.store.sqlite import SQLiteStore  # type: ignore[import-not-found]
    except ImportError:
        return MiniStore(path)
    return SQLiteStore(path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    s = open_store(tmp_path / "replica.db")
    yield s
    s.close()


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 28, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
