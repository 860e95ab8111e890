"""The monitor's tables in the replica database (namespace "monitor").

Portable SQL with `?` placeholders (src/standby/store/base.py); one statement per
migration. Times are text in the one stored form (`standby.clock.instant`), which sorts
as time does.
"""

from __future__ import annotations

import weakref

from standby.clock import rewrite_sql
from standby.store.base import Migration, Store

MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "current downtime state (one row: the machine and what the banner shows)",
        "CREATE TABLE monitor_state (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
    ),
    Migration(
        2,
        "probe results: a bounded time series",
        "CREATE TABLE monitor_probe_results (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " probe TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, outcome TEXT NOT NULL,"
        " latency_ms REAL, detail TEXT NOT NULL)",
        "CREATE TABLE monitor_probe_results (id BIGSERIAL PRIMARY KEY,"
        " probe TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, outcome TEXT NOT NULL,"
        " latency_ms DOUBLE PRECISION, detail TEXT NOT NULL)",
    ),
    Migration(
        3,
        "probe results by time",
        "CREATE INDEX monitor_probe_results_at ON monitor_probe_results (at)",
    ),
    Migration(
        4,
        "incidents (one per downtime, drills included)",
        "CREATE TABLE monitor_incidents (id TEXT PRIMARY KEY, drill INTEGER NOT NULL,"
        " declared_at TEXT NOT NULL, declared_by TEXT NOT NULL, how TEXT NOT NULL,"
        " outage_started_at TEXT, ended_at TEXT, ended_by TEXT, first_packet_at TEXT,"
        " first_documentation_at TEXT)",
    ),
    Migration(
        5,
        "incident timeline and log (append-only)",
        "CREATE TABLE monitor_events (id INTEGER PRIMARY KEY AUTOINCREMENT, incident_id TEXT,"
        " at TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, text TEXT NOT NULL)",
        "CREATE TABLE monitor_events (id BIGSERIAL PRIMARY KEY, incident_id TEXT,"
        " at TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, text TEXT NOT NULL)",
    ),
    Migration(
        6,
        "events by incident",
        "CREATE INDEX monitor_events_incident ON monitor_events (incident_id, id)",
    ),
    Migration(
        7,
        "role checklist of each incident (editable)",
        "CREATE TABLE monitor_checklist (incident_id TEXT NOT NULL, position INTEGER NOT NULL,"
        " role TEXT NOT NULL, item TEXT NOT NULL, done INTEGER NOT NULL, done_by TEXT,"
        " done_at TEXT, PRIMARY KEY (incident_id, position))",
    ),
    Migration(
        8,
        "notification outbox: one row per message, channel and recipient",
        "CREATE TABLE monitor_outbox (message_id TEXT NOT NULL, channel TEXT NOT NULL,"
        " recipient TEXT NOT NULL, incident_id TEXT, event TEXT NOT NULL,"
        " subject TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,"
        " attempts INTEGER NOT NULL, next_attempt_at TEXT NOT NULL, last_error TEXT,"
        " sent_at TEXT, PRIMARY KEY (message_id, channel, recipient))",
    ),
    Migration(
        9,
        "instants in the one stored form (docs/time.md; they were +00:00)",
        "; ".join(
            (
                rewrite_sql("monitor_probe_results", "at"),
                rewrite_sql(
                    "monitor_incidents",
                    "declared_at",
                    "outage_started_at",
                    "ended_at",
                    "first_packet_at",
                    "first_documentation_at",
                ),
                rewrite_sql("monitor_events", "at"),
                rewrite_sql("monitor_checklist", "done_at"),
                rewrite_sql("monitor_outbox", "next_attempt_at", "sent_at"),
            )
        ),
    ),
]

_ready: weakref.WeakSet[Store] = weakref.WeakSet()


def ensure(store: Store) -> None:
    """Create or migrate the monitor's tables (once per store object)."""
    try:
        if store in _ready:
            return
    except TypeError:  # pragma: no cover - a store that cannot be weakly referenced
        store.ensure_schema("monitor", MIGRATIONS)
        return
    store.ensure_schema("monitor", MIGRATIONS)
    _ready.add(store)
