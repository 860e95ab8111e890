"""The embedded engine: one SQLite file, WAL, one writer, many readers (docs/store.md).

Every write goes through one connection guarded by a lock (`BEGIN IMMEDIATE`, so other
processes queue on SQLite's own lock too); every thread reads through its own connection,
concurrently with the writer (WAL). `synchronous=NORMAL`: a power cut may lose the last
transactions of the replica, never corrupt it — and the replica can be re-synchronised.
Packages whose writes must be durable when acknowledged (the journal) set FULL themselves.

Every connection is opened by `encryption.connect`: SQLCipher when the store has a key
(encrypted at rest, docs/security.md), plain SQLite without; the file and its WAL 0600.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from standby.store.base import Migration
from standby.store.connections import Cursor, SingleWriter
from standby.store.encryption import DatabaseKey, connect
from standby.store.migrations import apply as apply_migrations
from standby.store.sql_store import SQLStore


class _SQLiteCursor(Cursor):
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)


class SQLiteStore(SQLStore):
    """`Store` in one SQLite file."""

    engine = "sqlite"

    def __init__(
        self,
        path: Path | str,
        *,
        batch_size: int = 2000,
        max_resource_bytes: int = 16 * 1024 * 1024,
        key: DatabaseKey | None = None,
    ) -> None:
        """`key`: the replica's SQLCipher key (None: plain SQLite)."""
        super().__init__()
        self.path = Path(path)
        self.key = key
        self.batch_size = batch_size
        self.max_resource_bytes = max_resource_bytes
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._wconn = self._connect()
        self._wconn.execute("PRAGMA journal_mode=WAL")
        self._single_writer = SingleWriter(
            _SQLiteCursor(self._wconn), begin="BEGIN IMMEDIATE", on_rollback=self._forget_pids
        )
        try:
            self._init_schema()
        except BaseException:  # e.g. a role that may not create the tables: no leaked connection
            self.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = connect(self.path, self.key, timeout=30.0)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA cache_size=-32000")
        return conn

    # ---- connections -------------------------------------------------------------------
    def _read_conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise RuntimeError("store is closed")
            conn = self._connect()
            conn.execute("PRAGMA query_only=1")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    @contextmanager
    def _reader(self) -> Iterator[Cursor]:
        conn = self._read_conn()
        if conn.in_transaction:  # nested read: same snapshot
            yield _SQLiteCursor(conn)
            return
        conn.execute("BEGIN")
        try:
            yield _SQLiteCursor(conn)
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def durable_transaction(self) -> Iterator[Cursor]:
        """`synchronous=FULL` for this commit only: in WAL mode the commit syncs the log
        (with every transaction before it) before it returns."""
        with self._single_writer.lock:
            if self._single_writer.open:
                raise RuntimeError("a durable transaction cannot be part of another one")
            self._wconn.execute("PRAGMA synchronous=FULL")
            try:
                with self._writer() as cur:
                    yield cur
            finally:
                self._wconn.execute("PRAGMA synchronous=NORMAL")

    def _alloc(self, cur: Cursor, what: str, n: int) -> list[int]:
        col = "rid" if what == "rid" else "seq"
        start = int(cur.query(f"SELECT coalesce(max({col}), 0) FROM resource")[0][0])
        return list(range(start + 1, start + 1 + n))

    def _apply_migrations(self, namespace: str, migrations: Sequence[Migration]) -> None:
        with self._writer() as cur:
            apply_migrations(cur, namespace, migrations, postgres=False)

    def close(self) -> None:
        self._closed = True
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self._single_writer.lock:
            self._wconn.close()
