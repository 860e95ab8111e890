"""A database written before `standby.clock` is rewritten into the one stored form when it
is opened (the time migrations of each namespace; docs/time.md), on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_instant_columns import misfits

from standby.accounts import schema as web_schema
from standby.accounts.audit_verify import verify
from standby.clock import instant, parse_instant
from standby.monitor import schema as monitor_schema
from standby.store.base import Store
from standby.sync.schema import ensure_sync_schema
from support.store_engines import DURABLE_ENGINES, make_store

MONITOR = "2026-11-28T10:00:00.123456+00:00"  # the monitor's old form
VIEWER = "2026-11-28T10:00:00.123Z"  # the viewer's and the store's old form
SYNC = "2026-11-28T10:00:00.123456Z"  # the sync's (already the stored form)
BARE = "2026-11-28T10:00:00Z"  # no fraction

# (table, row): every instant column of every table, in the form its writer used to use
OLD_ROWS: list[tuple[str, dict[str, Any]]] = [
    ("quarantine", {"at": VIEWER, "source": "ingest", "reason": "not JSON", "raw": b"{"}),
    (
        "monitor_probe_results",
        {"probe": "p", "kind": "http", "at": MONITOR, "outcome": "ok", "detail": ""},
    ),
    (
        "monitor_incidents",
        {
            "id": "DT-1",
            "drill": 0,
            "declared_at": MONITOR,
            "declared_by": "ic",
            "how": "manual",
            "outage_started_at": "2026-11-28T09:59:30.000001+00:00",
            "ended_at": "2026-11-28T11:00:00.000000+00:00",
            "first_packet_at": "2026-11-28T10:01:00.500000+00:00",
            "first_documentation_at": "2026-11-28T10:02:00+00:00",
        },
    ),
    ("monitor_events", {"at": MONITOR, "kind": "log", "actor": "ic", "text": "x"}),
    (
        "monitor_checklist",
        {
            "incident_id": "DT-1",
            "position": 0,
            "role": "commander",
            "item": "x",
            "done": 1,
            "done_at": MONITOR,
        },
    ),
    (
        "monitor_outbox",
        {
            "message_id": "m",
            "channel": "email",
            "recipient": "ic@hospital.test",
            "event": "declared",
            "subject": "s",
            "body": "b",
            "status": "sent",
            "attempts": 1,
            "next_attempt_at": MONITOR,
            "sent_at": MONITOR,
        },
    ),
    (
        "sync_source",
        {
            "source": "ehr",
            "url": "http://ehr.test",
            "last_round_started": SYNC,
            "last_round_finished": BARE,
            "last_success_started": SYNC,
            "last_success_finished": BARE,
        },
    ),
    ("sync_event", {"at": SYNC, "source": "ehr", "kind": "search", "message": "m"}),
    (
        "sync_census",
        {"source": "ehr", "patient_id": "p1", "reason": "r", "first_seen": BARE, "last_seen": SYNC},
    ),
    (
        "web_users",
        {
            "username": "nurse.a",
            "password_hash": "h",
            "role": "nurse",
            "units": "4W",
            "display_name": "A",
            "active": 1,
            "created_at": VIEWER,
        },
    ),
    (
        "web_sessions",
        {
            "id": "s",
            "username": "nurse.a",
            "csrf": "c",
            "created_at": VIEWER,
            "last_seen": "2026-11-28T10:30:00.999Z",
            "address": "10.0.0.1",
        },
    ),
    ("web_login_failures", {"username": "nurse.a", "address": "10.0.0.1", "at": VIEWER}),
    (
        "web_audit",
        {
            "at": VIEWER,
            "username": "nurse.a",
            "role": "nurse",
            "action": "view",
            "page": "/",
            "address": "10.0.0.1",
            "detail": "",
        },
    ),
    (
        "web_break_glass",
        {
            "id": "b",
            "at": VIEWER,
            "username": "nurse.a",
            "patient_id": "p1",
            "reason": "r",
            "address": "10.0.0.1",
            "expires_at": "2026-11-28T11:00:00.123Z",
        },
    ),
]
TIME_MIGRATIONS = {"store": 3, "monitor": 9, "sync": 5, "web": 15}


def ensure_all(store: Store, *, web_up_to: int | None = None) -> None:
    monitor_schema.ensure(store)
    ensure_sync_schema(store)
    if web_up_to is None:
        web_schema.ensure(store)
    else:  # an older database: audit lines without the hash chain could be written then
        store.ensure_schema(web_schema.NAMESPACE, web_schema.MIGRATIONS[:web_up_to])


@pytest.fixture(params=DURABLE_ENGINES)
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Opens the same database again (a new store object: migrations are looked up anew)."""
    pg = request.getfixturevalue("pg_schema") if request.param == "postgres" else None
    opened: list[Store] = []

    def open_again() -> Store:
        opened.append(make_store(request.param, tmp_path, pg))
        return opened[-1]

    yield open_again
    for s in opened:
        s.close()


def test_rows_written_in_the_old_forms_are_rewritten(reopen: Any) -> None:
    old = reopen()
    ensure_all(old, web_up_to=14)
    with old.transaction() as tx:
        for table, row in OLD_ROWS:
            tx.execute(
                f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )
        tx.execute("UPDATE schema_migrations SET applied_at = ?", (VIEWER,))
        for namespace, version in TIME_MIGRATIONS.items():  # as a database made before them
            tx.execute(
                "DELETE FROM schema_migrations WHERE namespace = ? AND version = ?",
                (namespace, version),
            )
    old.close()

    store = reopen()
    ensure_all(store)
    with store.read_transaction() as tx:
        for table, row in OLD_ROWS:
            if table == "web_sessions":  # sessions stored in clear are ended by a later migration
                assert tx.query("SELECT count(*) FROM web_sessions")[0][0] == 0
                continue
            for column, value in row.items():
                if not isinstance(value, str) or not column.endswith(("at", "ed", "seen")):
                    continue
                (got,) = tx.query(f"SELECT {column} FROM {table}")[0]
                assert got == instant(parse_instant(value)), f"{table}.{column}"
        applied = {a for (a,) in tx.query("SELECT applied_at FROM schema_migrations")}
    assert instant(parse_instant(VIEWER)) in applied
    bad, _ = misfits(store)
    assert bad == []
    with pytest.raises(Exception, match="append-only"), store.transaction() as tx:
        tx.execute("UPDATE web_audit SET detail = 'changed'")  # the guard is back
    assert verify(store).ok  # the old line, in its new form, starts the chain


def test_a_database_in_the_stored_form_is_not_touched(reopen: Any) -> None:
    store = reopen()
    ensure_all(store)
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO sync_event (at, source, kind, message) VALUES (?, 'ehr', 'k', 'm')",
            (SYNC,),
        )
        tx.execute("DELETE FROM schema_migrations WHERE namespace = 'sync' AND version = 5")
    store.close()
    again = reopen()
    ensure_sync_schema(again)
    with again.read_transaction() as tx:
        assert tx.query("SELECT at FROM sync_event") == [(SYNC,)]
