"""Tampering with the audit log as someone holding the database would (its guards dropped
or disabled, rows changed, the guards put back): what the audit's tests check is caught."""

from __future__ import annotations

import sqlite3

import psycopg

from standby.store.base import Store
from standby.store.postgres import PostgresStore


def tamper(store: Store, *statements: str) -> None:
    """Run statements on the audit table with its guards out of the way, then put them back
    (what someone holding the database file or its owner's password can do)."""
    if isinstance(store, PostgresStore):
        url = store.url
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{store.schema}"')
            conn.execute("ALTER TABLE web_audit DISABLE TRIGGER USER")
            for sql in statements:
                conn.execute(sql)  # type: ignore[arg-type]
            conn.execute("ALTER TABLE web_audit ENABLE TRIGGER USER")
        return
    conn = sqlite3.connect(store.path, isolation_level=None)  # type: ignore[attr-defined]
    try:
        triggers = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'web_audit'"
        ).fetchall()
        assert triggers
        conn.execute("BEGIN")
        for name, _ in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        for sql in statements:
            conn.execute(sql)
        for _, sql in triggers:
            conn.execute(sql)
        conn.execute("COMMIT")
    finally:
        conn.close()
