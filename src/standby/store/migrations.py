"""Applying a namespace's migrations, the same way on every engine (docs/store.md).

Each package that keeps tables in the replica (the store itself, the sync, the monitor,
the accounts) hands `Store.ensure_schema` its namespace and its list of `Migration`s; the
engine opens its write transaction and calls `apply`, which runs, in version order, those
not yet recorded in `schema_migrations`, and records each with the time it was applied.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from standby import clock
from standby.store.base import Migration, Transaction

_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (namespace TEXT NOT NULL,"
    " version INTEGER NOT NULL, description TEXT NOT NULL, applied_at TEXT NOT NULL,"
    " PRIMARY KEY (namespace, version))"
)


def split_statements(script: str) -> list[str]:
    """The statements of a SQLite script (triggers with inner `;` kept whole)."""
    out: list[str] = []
    buf = ""
    for part in script.split(";"):
        buf += part + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n\t;"):
                out.append(buf.strip())
            buf = ""
    if buf.strip(" \n\t;"):
        out.append(buf.strip().rstrip(";"))
    return out


def apply(
    db: Transaction, namespace: str, migrations: Sequence[Migration], *, postgres: bool
) -> None:
    """Run, inside the caller's transaction, the migrations of `namespace` that `db` has not
    recorded yet: the PostgreSQL variant (one script) when `postgres`, else the SQLite one
    statement by statement."""
    db.execute(_TABLE)
    done = {
        int(r[0])
        for r in db.query("SELECT version FROM schema_migrations WHERE namespace = ?", (namespace,))
    }
    for m in sorted(migrations, key=lambda m: m.version):
        if m.version in done:
            continue
        if postgres:
            db.execute(m.postgres or m.sqlite)
        else:
            for stmt in split_statements(m.sqlite):
                db.execute(stmt)
        db.execute(
            "INSERT INTO schema_migrations (namespace, version, description, applied_at)"
            " VALUES (?, ?, ?, ?)",
            (namespace, m.version, m.description, clock.instant(clock.now())),
        )
