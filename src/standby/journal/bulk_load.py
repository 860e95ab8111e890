"""Journal entries written in bulk, for benchmarks and tests (docs/journal.md): many
entries to a transaction, without the per-entry durable commit of `repository.append`
(which is what the forms use)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from standby.journal import adt, schema
from standby.journal.entries import Entry
from standby.journal.repository import INSERT, WRITTEN, written_row
from standby.store.base import Store
from standby.store.connections import Cursor


def load(store: Store, entries: Iterable[Entry], *, batch: int = 5000) -> int:
    """Write `entries` into the journal, `batch` to a transaction (for benchmarks and
    tests: not the durable one-commit-per-form path of `repository.append`, and no check
    for ids already there — the journal's own guard refuses them). The number written."""
    schema.ensure(store)
    n = 0
    rows: list[tuple[Any, ...]] = []

    def flush() -> None:
        with store.transaction() as db:
            if isinstance(db, Cursor):  # both SQL engines: one statement for the batch
                db.insert_rows("journal_entries", WRITTEN, rows)
            else:
                for row in rows:
                    db.execute(INSERT, row)
            adt.keep_placements(db, rows)
        rows.clear()

    for e in entries:
        rows.append(written_row(e))
        n += 1
        if len(rows) >= batch:
            flush()
    if rows:
        flush()
    return n


def copy_journal(src: Store, dst: Store, *, batch: int = 5000) -> int:
    """Every row of `src`'s journal into `dst`'s, in the same order, as stored (the
    resources with it: not converted again), `batch` rows to a transaction (COPY on
    PostgreSQL). For benchmarks' replicas; the number copied."""
    schema.ensure(src)
    schema.ensure(dst)
    after, n = 0, 0
    while True:
        with src.read_transaction() as db:
            got = db.query(
                f"SELECT seq, {WRITTEN} FROM journal_entries WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, batch),
            )
        if not got:
            return n
        rows = [tuple(r[1:]) for r in got]
        with dst.transaction() as db:
            if isinstance(db, Cursor):
                db.insert_rows("journal_entries", WRITTEN, rows)
            else:
                for row in rows:
                    db.execute(INSERT, row)
            adt.keep_placements(db, rows)
        after, n = int(got[-1][0]), n + len(rows)
