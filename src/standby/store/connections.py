"""What both SQL engines share about connections: the cursor the engine-neutral code talks
to, and the single writer (docs/store.md, "One writer").
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

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
