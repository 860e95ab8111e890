"""The schedule's tables in the replica database (docs/schedule.md#storage).

Decisions, call outcomes and accepted placements are only ever added: the newest row for
an appointment is the one in force, and the rows before it are its history (who changed
what, when, and why). An OR desk entry is withdrawn by stamping it, never deleted. Times
are text in `standby.clock`'s stored form.
"""

from __future__ import annotations

import weakref

from standby.store.base import Migration, Store

NAMESPACE = "schedule"

MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "scheduler overrides of triage decisions (newest wins; the others are the history)",
        "CREATE TABLE schedule_decisions (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " appointment_id TEXT NOT NULL, patient_id TEXT NOT NULL, decision TEXT NOT NULL,"
        " by_rules TEXT NOT NULL, reason TEXT NOT NULL, username TEXT NOT NULL,"
        " at TEXT NOT NULL);"
        " CREATE INDEX schedule_decisions_appt ON schedule_decisions (appointment_id, seq)",
        "CREATE TABLE schedule_decisions (seq BIGSERIAL PRIMARY KEY,"
        " appointment_id TEXT NOT NULL, patient_id TEXT NOT NULL, decision TEXT NOT NULL,"
        " by_rules TEXT NOT NULL, reason TEXT NOT NULL, username TEXT NOT NULL,"
        " at TEXT NOT NULL);"
        " CREATE INDEX schedule_decisions_appt ON schedule_decisions (appointment_id, seq)",
    ),
    Migration(
        2,
        "the OR desk's entries: rooms closed, staff away",
        "CREATE TABLE schedule_unavailable (id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
        " resource_id TEXT NOT NULL, name TEXT NOT NULL, start_at TEXT NOT NULL,"
        " end_at TEXT NOT NULL, note TEXT NOT NULL, username TEXT NOT NULL, at TEXT NOT NULL,"
        " withdrawn_by TEXT, withdrawn_at TEXT)",
    ),
    Migration(
        3,
        "calls to patients whose case moves, and their outcome",
        "CREATE TABLE schedule_calls (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " appointment_id TEXT NOT NULL, patient_id TEXT NOT NULL, outcome TEXT NOT NULL,"
        " unavailable_days TEXT NOT NULL, note TEXT NOT NULL, username TEXT NOT NULL,"
        " at TEXT NOT NULL);"
        " CREATE INDEX schedule_calls_appt ON schedule_calls (appointment_id, seq)",
        "CREATE TABLE schedule_calls (seq BIGSERIAL PRIMARY KEY,"
        " appointment_id TEXT NOT NULL, patient_id TEXT NOT NULL, outcome TEXT NOT NULL,"
        " unavailable_days TEXT NOT NULL, note TEXT NOT NULL, username TEXT NOT NULL,"
        " at TEXT NOT NULL);"
        " CREATE INDEX schedule_calls_appt ON schedule_calls (appointment_id, seq)",
    ),
    Migration(
        4,
        "rebooking placements a scheduler accepted, to be written back to the EHR later",
        "CREATE TABLE schedule_accepted (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " proposal TEXT NOT NULL, appointment_id TEXT NOT NULL, patient_id TEXT NOT NULL,"
        " room_id TEXT NOT NULL, provider_id TEXT NOT NULL, start_at TEXT NOT NULL,"
        " end_at TEXT NOT NULL, username TEXT NOT NULL, at TEXT NOT NULL,"
        " written_back_at TEXT)",
        "CREATE TABLE schedule_accepted (seq BIGSERIAL PRIMARY KEY,"
        " proposal TEXT NOT NULL, appointment_id TEXT NOT NULL, patient_id TEXT NOT NULL,"
        " room_id TEXT NOT NULL, provider_id TEXT NOT NULL, start_at TEXT NOT NULL,"
        " end_at TEXT NOT NULL, username TEXT NOT NULL, at TEXT NOT NULL,"
        " written_back_at TEXT)",
    ),
    Migration(
        5,
        "the Appointment version each placement was proposed from (write-back's If-Match)",
        "ALTER TABLE schedule_accepted ADD COLUMN base_version TEXT",
    ),
]

_ready: weakref.WeakSet[Store] = weakref.WeakSet()


def ensure(store: Store) -> None:
    """Create or migrate the schedule's tables (once per store object)."""
    if store in _ready:
        return
    store.ensure_schema(NAMESPACE, MIGRATIONS)
    _ready.add(store)
