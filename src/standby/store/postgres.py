"""The scale engine: PostgreSQL through psycopg 3, the same schema semantics as SQLite.

One write connection guarded by a lock (the single-writer rule of this process; other
processes are serialised by PostgreSQL itself), one read connection per thread. Bodies are
`bytea`, kept byte for byte. Portable SQL with `?` placeholders is rewritten to `%s`.
`schema` puts every table in one PostgreSQL schema (created if absent) via search_path —
the contract tests use a fresh one per test. docs/store.md
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import psycopg

from standby.fhir.gate import ReceivedResource
from standby.store import postgres_write
from standby.store.base import Migration, ReadOnlyStore, WriteOutcome
from standby.store.connections import Cursor, SingleWriter, ThreadConnections
from standby.store.migrations import apply as apply_migrations
from standby.store.sql_store import SQLStore, Tombstone

# `resource` is analysed once it has this many rows more than at its last analysis by this
# store, and at least as many again (a load's plans follow it as it doubles, a few times).
ANALYSE_AFTER_ROWS = 20_000

_CACHE: dict[str, str] = {}


def to_pyformat(sql: str) -> str:
    """`?` placeholders → `%s` (and `%` → `%%`), outside quoted strings."""
    done = _CACHE.get(sql)
    if done is not None:
        return done
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if quote:
            if ch == quote:
                quote = None
            out.append("%%" if ch == "%" else ch)
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    done = "".join(out)
    if len(_CACHE) < 5000:
        _CACHE[sql] = done
    return done


class _PgCursor(Cursor):
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._conn.cursor() as cur:
            cur.execute(to_pyformat(sql) if params else sql, params or None)
            return cur.rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._conn.cursor() as cur:
            cur.execute(to_pyformat(sql) if params else sql, params or None)
            return cur.fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(to_pyformat(sql), rows)

    def insert_rows(self, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)


class PostgresStore(SQLStore):
    """`Store` in a PostgreSQL database (optionally one schema of it)."""

    engine = "postgres"

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        batch_size: int = 2000,
        max_resource_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        super().__init__()
        self.url = url
        self.schema = schema
        self.batch_size = batch_size
        self.max_resource_bytes = max_resource_bytes
        self._local = threading.local()  # this thread's read depth
        self._readers = ThreadConnections(self._connect, usable=lambda c: not c.closed)
        self._wconn = self._connect()
        self._rows_analysed = -1  # rows of `resource` at this store's last ANALYZE (-1: none)
        self._rows_since = 0  # rows this store inserted since
        if schema:
            # created only when missing: the runtime role may not run DDL (docs/store.md)
            found = self._wconn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)
            ).fetchone()
            if not found:
                self._wconn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            self._wconn.execute(f'SET search_path TO "{schema}"')
        self._single_writer = SingleWriter(
            _PgCursor(self._wconn), begin="BEGIN", on_rollback=self._forget_pids
        )
        try:
            self._init_schema()
        except BaseException:  # e.g. a role that may not create the tables: no leaked connection
            self.close()
            raise

    @contextmanager
    def _writer(self) -> Iterator[Cursor]:
        """The single write transaction. When the server dropped the write connection (a
        restart, a failover) it is opened again once, before the transaction begins: a
        multi-host URL then finds whichever server now answers (docs/postgresql.md). A
        write on a hot standby raises `ReadOnlyStore`."""
        with self._single_writer.lock, ExitStack() as stack:
            try:
                cur = stack.enter_context(self._single_writer.transaction())
            except psycopg.OperationalError:
                if self._single_writer.open or not self._wconn.closed:
                    raise
                self._wconn = self._connect()
                self._single_writer.cursor = _PgCursor(self._wconn)
                cur = stack.enter_context(self._single_writer.transaction())
            try:
                yield cur
            except psycopg.errors.ReadOnlySqlTransaction as exc:
                raise ReadOnlyStore(
                    "the database is a read-only standby: writes wait for its promotion"
                ) from exc

    @contextmanager
    def durable_transaction(self) -> Iterator[Cursor]:
        """`synchronous_commit` on for this transaction, whatever the server's default."""
        with self._single_writer.lock:
            if self._single_writer.open:
                raise RuntimeError("a durable transaction cannot be part of another one")
            with self._writer() as cur:
                cur.execute("SET LOCAL synchronous_commit TO on")
                yield cur

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.url, autocommit=True)
        if self.schema:
            conn.execute(f'SET search_path TO "{self.schema}"')
        return conn

    @contextmanager
    def _reader(self) -> Iterator[Cursor]:
        conn = self._readers.get()
        if getattr(self._local, "depth", 0):
            yield _PgCursor(conn)
            return
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        except psycopg.OperationalError:
            if not conn.closed:
                raise
            # the server dropped this idle connection (restart, failover): once more on a
            # new one, which a multi-host URL opens on whichever server answers
            conn = self._readers.get()
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        self._local.depth = 1
        try:
            yield _PgCursor(conn)
        finally:
            self._local.depth = 0
            conn.execute("COMMIT")

    # ---- the bulk write path (postgres_write) -----------------------------------------
    def _write_unique(
        self, cur: Cursor, items: Sequence[ReceivedResource | Tombstone]
    ) -> list[WriteOutcome]:
        return postgres_write.write_unique(self, self._wconn, items)

    def _held(self, cur: Cursor, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple]:
        return postgres_write.held_versions(self._wconn, list(keys))

    def _grown(self, conn: psycopg.Connection[Any], inserted: int) -> None:
        """Count rows inserted; ANALYZE `resource` when it has doubled since this store
        last did (a role that does not own it gets a warning from PostgreSQL, no error)."""
        self._rows_since += inserted
        if self._rows_since < max(ANALYSE_AFTER_ROWS, self._rows_analysed):
            return
        if self._rows_analysed < 0:
            found = conn.execute(
                "SELECT reltuples FROM pg_class WHERE oid = 'resource'::regclass"
            ).fetchone()
            self._rows_analysed = max(0, int(found[0])) if found else 0
            if self._rows_since < max(ANALYSE_AFTER_ROWS, self._rows_analysed):
                return
        # the table of the version lookup, its searched columns (statistics of the bodies
        # cost the most and serve nothing); the index tables are left to autovacuum
        conn.execute("ANALYZE resource (rid, type, id, lu, seq, deleted, patient_id)")
        self._rows_analysed += self._rows_since
        self._rows_since = 0

    def _alloc(self, cur: Cursor, what: str, n: int) -> list[int]:
        seq = "resource_rid_seq" if what == "rid" else "resource_change_seq"
        rows = cur.query(f"SELECT nextval('{seq}') FROM generate_series(1, ?)", (n,))
        return sorted(int(r[0]) for r in rows)

    def _apply_migrations(self, namespace: str, migrations: Sequence[Migration]) -> None:
        with self._writer() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(?)", (727_001,))
            apply_migrations(cur, namespace, migrations, postgres=True)

    def close(self) -> None:
        self._readers.close()
        with self._single_writer.lock:
            self._wconn.close()
