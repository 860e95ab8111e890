"""Applying a namespace's migrations, the same way on every engine (docs/store.md).

Each package that keeps tables in the replica (the store itself, the sync, the monitor,
the accounts) hands `Store.ensure_schema` its namespace and its list of `Migration`s; the
engine opens its write transaction and calls `apply`, which runs, in version order, those
not yet recorded in `schema_migrations`, and records each with the time it was applied.
A step may also carry `data`, rows computed from the resources held when it is applied
(`store.reindex`), run after its SQL in the same transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from standby import clock
from standby.store.base import Migration, StoreError, Transaction

_NAME = "schema_migrations"
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
    # A database already migrated sees no DDL at all: on PostgreSQL the runtime role may
    # not run any (docs/store.md, "PostgreSQL roles"); `standby migrate` runs it as owner.
    if not _has_table(db, postgres=postgres):
        _ddl(db, _TABLE, namespace)
    done = {
        int(r[0])
        for r in db.query("SELECT version FROM schema_migrations WHERE namespace = ?", (namespace,))
    }
    for m in sorted(migrations, key=lambda m: m.version):
        if m.version in done:
            continue
        if postgres:
            if (m.postgres or m.sqlite).strip():
                _ddl(db, m.postgres or m.sqlite, namespace)
        else:
            for stmt in split_statements(m.sqlite):
                db.execute(stmt)
        if m.data is not None:
            m.data(db)
        db.execute(
            "INSERT INTO schema_migrations (namespace, version, description, applied_at)"
            " VALUES (?, ?, ?, ?)",
            (namespace, m.version, m.description, clock.instant(clock.now())),
        )


def _has_table(db: Transaction, *, postgres: bool) -> bool:
    if postgres:
        return bool(db.query("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0])
    rows = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_NAME,))
    return bool(rows)


def _ddl(db: Transaction, sql: str, namespace: str) -> None:
    try:
        db.execute(sql)
    except Exception as e:
        if "permission denied" not in str(e):
            raise
        raise StoreError(
            f"the database needs the {namespace!r} tables created or upgraded, and this "
            "account may not change the schema: run `standby migrate --database-url URL` "
            f"as the database's owner ({e})"
        ) from e
