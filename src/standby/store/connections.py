"""What both SQL engines share about connections: the cursor the engine-neutral code talks
to, the single writer (docs/store.md, "One writer") and the per-thread readers.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Generic, Protocol, TypeVar

from standby.store.base import Transaction


class Cursor(Transaction):
    """A `Transaction` that can also run one statement over many rows."""

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def insert_rows(self, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
        """Insert many new rows (PostgreSQL uses COPY)."""
        marks = ", ".join("?" * len(columns.split(",")))
        self.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


class SingleWriter:
    """The one write transaction of a store: one connection behind one lock, re-entrant
    within a thread (a nested `transaction()` joins the outer one, which alone commits or
    rolls back).

    `begin` is the engine's statement that opens it (`BEGIN IMMEDIATE` on SQLite, so that
    other processes queue on SQLite's own lock too); `on_rollback` runs after a rollback
    (the store forgets ids it cached from the rolled-back transaction).
    """

    def __init__(self, cursor: Cursor, *, begin: str, on_rollback: Callable[[], None]) -> None:
        self.cursor = cursor
        self.lock = threading.RLock()
        self._begin = begin
        self._on_rollback = on_rollback
        self._depth = 0

    @property
    def open(self) -> bool:
        """Whether this thread is inside the transaction (call holding `lock`)."""
        return self._depth > 0

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.cursor
                finally:
                    self._depth -= 1
                return
            self.cursor.execute(self._begin)
            self._depth = 1
            try:
                yield self.cursor
            except BaseException:
                self.cursor.execute("ROLLBACK")
                self._on_rollback()
                raise
            else:
                self.cursor.execute("COMMIT")
            finally:
                self._depth = 0


class _Connection(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Connection)


class ThreadConnections(Generic[C]):
    """One read connection per thread, opened on its first read. A connection outlives
    the thread only until another thread opens one: it is closed then (and every one at
    `close()`). Thread pools retire idle workers and start new ones (anyio's, under
    uvicorn, after 10 s idle; a TestClient's, per request); keeping their connections
    open piled up file descriptors (SQLite) or server connections (PostgreSQL) until the
    process could open no more ("unable to open database file").

    `connect` opens one; `usable` says whether this thread's may still be used (a
    PostgreSQL connection the server dropped is replaced)."""

    def __init__(
        self, connect: Callable[[], C], *, usable: Callable[[C], bool] = lambda _c: True
    ) -> None:
        self._connect = connect
        self._usable = usable
        self._local = threading.local()
        self._by_thread: dict[threading.Thread, C] = {}
        self._lock = threading.Lock()
        self._closed = False

    def get(self) -> C:
        """This thread's connection."""
        conn: C | None = getattr(self._local, "conn", None)
        if conn is not None and self._usable(conn):
            return conn
        if self._closed:
            raise RuntimeError("store is closed")
        conn = self._connect()
        me = threading.current_thread()
        with self._lock:
            ended = [t for t in self._by_thread if t is not me and not t.is_alive()]
            stale = [self._by_thread.pop(t) for t in ended]
            replaced = self._by_thread.pop(me, None)
            if replaced is not None:
                stale.append(replaced)
            closed = self._closed
            if not closed:
                self._by_thread[me] = conn
        for old in stale:
            old.close()
        if closed:  # closed while this one was opening
            conn.close()
            raise RuntimeError("store is closed")
        self._local.conn = conn
        return conn

    def __len__(self) -> int:
        """How many are open."""
        with self._lock:
            return len(self._by_thread)

    def close(self) -> None:
        """Close every one; no thread may open another."""
        with self._lock:
            self._closed = True
            conns = list(self._by_thread.values())
            self._by_thread.clear()
        for conn in conns:
            conn.close()
