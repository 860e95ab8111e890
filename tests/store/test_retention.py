"""Retention (docs/retention.md): old rows go, recent ones stay, on both engines; the
history stays whole while a downtime or a back-entry is open; the audit is never pruned."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from standby.accounts import repository as accounts
from standby.accounts import schema as accounts_schema
from standby.accounts.records import AuditEvent, Session
from standby.cli import retention
from standby.clock import instant
from standby.journal import schema as journal_schema
from standby.monitor import downtime
from standby.monitor import schema as monitor_schema
from standby.monitor.config import MonitorConfig
from standby.recovery import schema as recovery_schema
from standby.settings import load_settings
from standby.store.base import Store
from standby.sync.schema import ensure_sync_schema
from support.store_engines import make_store

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=10)
RECENT = NOW - timedelta(days=1)
SETTINGS = load_settings(
    history_retention_days=7,
    sync_event_retention_days=7,
    quarantine_retention_days=7,
    notification_retention_days=7,
    session_idle_minutes=30,
    session_absolute_hours=12,
)


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    pg = request.getfixturevalue("pg_schema") if request.param == "postgres" else None
    s = make_store(request.param, tmp_path, pg)
    try:
        yield s
    finally:
        s.close()


def fhir_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def put(store: Store, rid: str, version: int, at: datetime) -> None:
    body = {
        "resourceType": "Observation",
        "id": rid,
        "meta": {"versionId": str(version), "lastUpdated": fhir_time(at)},
        "status": "final",
        "code": {"text": f"v{version}"},
        "subject": {"reference": "Patient/p1"},
    }
    store.upsert(orjson.dumps(body))


def versions(store: Store, rid: str) -> list[str]:
    return sorted(sr.version_id for sr in store.history("Observation", rid))


def three_versions(store: Store) -> None:
    """o1: v1 ten days old, v2 a day old, v3 current."""
    put(store, "o1", 1, OLD)
    put(store, "o1", 2, RECENT)
    put(store, "o1", 3, NOW - timedelta(hours=1))


def test_old_versions_go_and_recent_ones_and_the_current_stay(db: Store) -> None:
    three_versions(db)
    done = retention.prune(db, SETTINGS, NOW)
    assert done["resource versions"] == 1
    assert versions(db, "o1") == ["2", "3"]
    assert db.read("Observation", "o1").version_id == "3"  # type: ignore[union-attr]
    assert db.vread("Observation", "o1", "1") is None


def test_old_tombstones_go_with_their_versions_and_recent_ones_stay(db: Store) -> None:
    put(db, "gone", 1, OLD - timedelta(days=1))
    db.tombstone("Observation", "gone", version_id="2", last_updated=fhir_time(OLD))
    put(db, "fresh", 1, OLD)
    db.tombstone("Observation", "fresh", version_id="2", last_updated=fhir_time(RECENT))
    retention.prune(db, SETTINGS, NOW)
    assert db.history("Observation", "gone") == []
    assert db.read("Observation", "gone") is None
    assert next(sr.deleted for sr in db.history("Observation", "fresh"))


def test_a_declared_downtime_keeps_the_history_whole(db: Store) -> None:
    three_versions(db)
    downtime.declare(db, MonitorConfig.from_settings(SETTINGS), "commander", NOW)
    done = retention.prune(db, SETTINGS, NOW)
    assert done["resource versions"] == -1
    assert versions(db, "o1") == ["1", "2", "3"]


def journal_entry(store: Store, *, drill: bool = False) -> str:
    journal_schema.ensure(store)
    entry_id = str(uuid.uuid4())
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO journal_entries (id, kind, patient_id, author, author_name, role,"
            " performed_at, recorded_at, node, capture, drill, payload)"
            " VALUES (?, 'vitals', 'p1', 'nurse', 'Nurse', 'nurse', ?, ?, 'n', 'direct', ?, '{}')",
            (entry_id, instant(RECENT), instant(RECENT), int(drill)),
        )
    return entry_id


def back_entry(store: Store, entry_id: str, status: str) -> None:
    recovery_schema.ensure(store)
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO recovery_entries (entry_id, kind, patient_key, performed_at, status,"
            " enrolled_at, updated_at) VALUES (?, 'vitals', 'p1', ?, ?, ?, ?)"
            " ON CONFLICT (entry_id) DO UPDATE SET status = excluded.status",
            (entry_id, instant(RECENT), status, instant(RECENT), instant(RECENT)),
        )


def test_an_unfiled_journal_entry_keeps_the_history_until_it_is_filed(db: Store) -> None:
    three_versions(db)
    entry = journal_entry(db)
    assert retention.prune(db, SETTINGS, NOW)["resource versions"] == -1
    back_entry(db, entry, "conflict")  # waiting for a reviewer: still open
    assert retention.prune(db, SETTINGS, NOW)["resource versions"] == -1
    assert versions(db, "o1") == ["1", "2", "3"]
    back_entry(db, entry, "confirmed")
    assert retention.prune(db, SETTINGS, NOW)["resource versions"] == 1
    assert versions(db, "o1") == ["2", "3"]


def test_a_drill_entry_does_not_hold_the_history(db: Store) -> None:
    three_versions(db)
    journal_entry(db, drill=True)
    assert retention.prune(db, SETTINGS, NOW)["resource versions"] == 1


def test_events_quarantine_notifications_and_sessions_are_pruned_by_age(db: Store) -> None:
    ensure_sync_schema(db)
    monitor_schema.ensure(db)
    accounts_schema.ensure(db)
    with db.transaction() as tx:
        for at in (OLD, RECENT):
            tx.execute(
                "INSERT INTO sync_event (at, source, kind, message)"
                " VALUES (?, 'ehr', 'error', 'x')",
                (instant(at),),
            )
            tx.execute(
                "INSERT INTO quarantine (at, source, reason, raw) VALUES (?, 'ehr', 'bad', ?)",
                (instant(at), b"{"),
            )
        for n, (status, at) in enumerate(
            [("sent", OLD), ("failed", OLD), ("pending", OLD), ("sent", RECENT)]
        ):
            tx.execute(
                "INSERT INTO monitor_outbox (message_id, channel, recipient, event, subject,"
                " body, status, attempts, next_attempt_at) VALUES (?, 'email', 'a', 'declared',"
                " 's', 'b', ?, 1, ?)",
                (f"m{n}", status, instant(at)),
            )
    for sid, created, seen in [
        ("idle", NOW - timedelta(hours=2), NOW - timedelta(hours=1)),
        ("long", NOW - timedelta(hours=13), NOW - timedelta(minutes=1)),
        ("live", NOW - timedelta(hours=1), NOW - timedelta(minutes=5)),
    ]:
        accounts.create_session(
            db, Session(sid, "nurse", "c", instant(created), instant(seen), "127.0.0.1")
        )
    accounts.append_audit(
        db, AuditEvent(instant(OLD - timedelta(days=400)), "nurse", "nurse", "view", "p1", "/", "")
    )

    retention.prune(db, SETTINGS, NOW)

    with db.read_transaction() as tx:
        assert tx.query("SELECT at FROM sync_event") == [(instant(RECENT),)]
        assert tx.query("SELECT at FROM quarantine") == [(instant(RECENT),)]
        kept = sorted(r[0] for r in tx.query("SELECT message_id FROM monitor_outbox"))
        assert kept == ["m2", "m3"]  # the pending one stays however old
        assert [r[0] for r in tx.query("SELECT id FROM web_sessions")] == ["live"]
        assert len(tx.query("SELECT id FROM web_audit")) == 1  # the audit: never pruned here


def test_the_pass_runs_once_per_interval_across_processes(db: Store) -> None:
    three_versions(db)
    assert retention.run_once(db, SETTINGS, NOW)["resource versions"] == 1
    put(db, "o1", 4, NOW)  # v2 and v3 in the history, both old a week from now
    later = NOW + timedelta(days=8)
    assert retention.run_once(db, SETTINGS, NOW + timedelta(minutes=5)) == {}  # not due
    assert retention.run_once(db, SETTINGS, later)["resource versions"] == 2
    assert versions(db, "o1") == ["4"]


def test_a_node_that_never_ran_a_part_prunes_what_it_has(db: Store) -> None:
    """No sync, monitor or accounts tables yet: the pass skips them, no error."""
    three_versions(db)
    done = retention.prune(db, SETTINGS, NOW)
    assert done["resource versions"] == 1 and done["sync events"] == 0
