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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from standby.store.base import Migration, Store
from standby.store.connections import Cursor, SingleWriter, ThreadConnections
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
        self._readers = ThreadConnections(self._connect_reader)
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
    def _connect_reader(self) -> sqlite3.Connection:
        conn = self._connect()
        conn.execute("PRAGMA query_only=1")
        return conn

    @contextmanager
    def _reader(self) -> Iterator[Cursor]:
        conn = self._readers.get()
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
        self._readers.close()
        with self._single_writer.lock:
            self._wconn.close()


def limit_memory(store: Store, megabytes: int) -> int:
    """Cap the memory SQLite keeps in this whole process, all connections together (a soft
    heap limit: page caches are recycled beyond it). Each connection's cache may otherwise
    grow to `cache_size` (32 MB) as the replica grows, and a process reads on a connection
    per thread: its memory then rose for hours before levelling off. The limit is
    process-wide: call it in a process of one's own (the command line does,
    `standby.cli.replica.open_replica`). Returns the limit in bytes as SQLite now holds it."""
    with store.read_transaction() as tx:
        rows = tx.query(f"PRAGMA soft_heap_limit = {int(megabytes) * 2**20}")
    return int(rows[0][0]) if rows else 0
