"""Back-entry's tables in the replica database (namespace "recovery"; docs/recovery.md#state).

* `recovery_entries`: one row per journal entry to file: its back-entry status, attempts,
  the last error and the EHR's OperationOutcome, what was written (the EHR's ids and
  versions), the times (first sent, confirmed), and the review's outcome (who, why).
* `recovery_events`: every change of status, oldest first (who or which runner, when,
  from what to what, why): the history the review queue shows.
* `recovery_claims`: the lease of a patient's entries by one runner, so that two runners
  (two processes, two nodes on one PostgreSQL) never send the same patient's entries at
  the same time. A lease ends by itself (`until`), so a killed runner holds nothing for
  long.
* `recovery_runs`: each run (start, end, node, what it did): how long back-entry took.

Times are text in `standby.clock`'s stored form (they sort as time).
"""

from __future__ import annotations

import contextlib
import weakref

from standby.store.base import Migration, Store

NAMESPACE = "recovery"

MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "back-entry status per journal entry",
        "CREATE TABLE recovery_entries (entry_id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
        " patient_key TEXT NOT NULL, performed_at TEXT NOT NULL, status TEXT NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, outcome TEXT,"
        " written TEXT, enrolled_at TEXT NOT NULL, first_sent_at TEXT, sent_at TEXT,"
        " finished_at TEXT, updated_at TEXT NOT NULL, reviewed_by TEXT, review_reason TEXT)",
    ),
    Migration(
        2,
        "back-entry entries by status and by patient",
        "CREATE INDEX recovery_entries_status ON recovery_entries (status, kind);"
        " CREATE INDEX recovery_entries_patient ON recovery_entries (patient_key)",
    ),
    Migration(
        3,
        "back-entry status changes",
        "CREATE TABLE recovery_events (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " entry_id TEXT NOT NULL, at TEXT NOT NULL, by TEXT NOT NULL,"
        " from_status TEXT, to_status TEXT NOT NULL, detail TEXT)",
        "CREATE TABLE recovery_events (id BIGSERIAL PRIMARY KEY,"
        " entry_id TEXT NOT NULL, at TEXT NOT NULL, by TEXT NOT NULL,"
        " from_status TEXT, to_status TEXT NOT NULL, detail TEXT)",
    ),
    Migration(
        4,
        "back-entry status changes by entry",
        "CREATE INDEX recovery_events_entry ON recovery_events (entry_id, id)",
    ),
    Migration(
        5,
        "back-entry leases (one runner per patient at a time)",
        "CREATE TABLE recovery_claims (patient_key TEXT PRIMARY KEY, holder TEXT NOT NULL,"
        " until TEXT NOT NULL)",
    ),
    Migration(
        6,
        "back-entry runs",
        "CREATE TABLE recovery_runs (run_id TEXT PRIMARY KEY, node TEXT NOT NULL,"
        " started_at TEXT NOT NULL, finished_at TEXT, drill INTEGER NOT NULL,"
        " summary TEXT)",
    ),
]

_ready: dict[int, weakref.ref[Store]] = {}


def ensure(store: Store) -> None:
    """Create or migrate back-entry's tables (once per store object; cheap to call often)."""
    ref = _ready.get(id(store))
    if ref is not None and ref() is store:
        return
    store.ensure_schema(NAMESPACE, MIGRATIONS)
    with contextlib.suppress(TypeError):  # no weak references: ask the engine every time
        _ready[id(store)] = weakref.ref(store)
