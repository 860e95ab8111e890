"""The sync package's own tables (namespace "sync"), beside the replica in the same store.

Portable SQL; times are text in the stored form of `standby.clock` (sorts as time).

* `sync_source`: one row per source EHR: when the last round started and finished, when the
  last *successful* round started (the "data as of"), whether the source answered at the
  end of the last round (`reachable`), and whether it answered the last request the sync
  made, and when (`last_contact_ok`, `last_contact_at`).
* `sync_event`: errors with time, kind and a message that names resource types, ids and
  URLs but never patient data.
* `sync_census`: the patients on the census of a source, why they are there, when they
  were last seen on it, and whether their full pull is done.
"""

from __future__ import annotations

import contextlib
import weakref

from standby.clock import rewrite_sql
from standby.store.base import Migration, Store

MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "sync sources",
        "CREATE TABLE sync_source (source TEXT PRIMARY KEY, url TEXT NOT NULL,"
        " last_round_started TEXT, last_round_finished TEXT, last_success_started TEXT,"
        " last_success_finished TEXT, reachable INTEGER, last_error TEXT)",
    ),
    Migration(
        2,
        "sync errors and events",
        "CREATE TABLE sync_event (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,"
        " source TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL)",
        "CREATE TABLE sync_event (id BIGSERIAL PRIMARY KEY, at TEXT NOT NULL,"
        " source TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL)",
    ),
    Migration(3, "sync events by time", "CREATE INDEX sync_event_at ON sync_event (source, at)"),
    Migration(
        4,
        "census patients per source",
        "CREATE TABLE sync_census (source TEXT NOT NULL, patient_id TEXT NOT NULL,"
        " reason TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,"
        " pulled INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (source, patient_id))",
    ),
    Migration(
        5,
        "instants in the one stored form (docs/time.md)",
        "; ".join(
            (
                rewrite_sql(
                    "sync_source",
                    "last_round_started",
                    "last_round_finished",
                    "last_success_started",
                    "last_success_finished",
                ),
                rewrite_sql("sync_event", "at"),
                rewrite_sql("sync_census", "first_seen", "last_seen"),
            )
        ),
    ),
    Migration(
        6,
        "when the source last answered (or failed) a request",
        "ALTER TABLE sync_source ADD COLUMN last_contact_at TEXT",
    ),
    Migration(
        7,
        "whether the source answered that request",
        "ALTER TABLE sync_source ADD COLUMN last_contact_ok INTEGER",
    ),
]

_ready: dict[int, weakref.ref[Store]] = {}


def ensure_sync_schema(store: Store) -> None:
    """Create the sync tables once per store object (cheap to call often). Keyed by
    identity: engines need not be hashable."""
    ref = _ready.get(id(store))
    if ref is not None and ref() is store:
        return
    store.ensure_schema("sync", MIGRATIONS)
    with contextlib.suppress(TypeError):  # no weak references: ask the engine every time
        _ready[id(store)] = weakref.ref(store)
