"""The replica's own tables, as migrations of the namespace "store" (docs/store.md).

Version 1 is the whole first schema. Later versions only add; a database made by an older
version is upgraded when it is opened (`ensure_schema`). Every migration's SQL is one or
more statements; SQLite and PostgreSQL variants differ only in types. A step that a change
of the search registry needs adds the index rows the resources held now give
(`store.reindex`, run with the step).

Tables:
* `resource` — one row per (type, id): the current version, its verbatim body, the
  patient-compartment id, and a change sequence number (`seq`) for `_history?_since`.
* `resource_history` — previous versions (verbatim).
* `search_param` — interned (type, name) pairs; index rows carry the small integer.
* `token_system` — interned code system URIs (0: no system); token rows carry the integer.
* `idx_token`, `idx_string`, `idx_date`, `idx_ref` — one row per extracted search value.
* `quarantine`, `checkpoint`.

Instants of the store's own (`quarantine.at`, `schema_migrations.applied_at`) are in the
stored form of `standby.clock`; `last_updated` is the resource's `meta.lastUpdated` as its
source wrote it (FHIR data), and checkpoint values are the source's own instants.
"""

from __future__ import annotations

from standby.clock import rewrite_sql
from standby.store import reindex
from standby.store.base import Migration

NAMESPACE = "store"

_V1_SQLITE = """
CREATE TABLE resource (
  rid INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version_id TEXT NOT NULL,
  last_updated TEXT NOT NULL,
  lu INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  patient_id TEXT,
  body BLOB NOT NULL
);
CREATE UNIQUE INDEX resource_type_id ON resource (type, id);
CREATE INDEX resource_patient ON resource (patient_id, type) WHERE patient_id IS NOT NULL;
CREATE INDEX resource_seq ON resource (seq);
CREATE INDEX resource_type_lu ON resource (type, lu);
CREATE TABLE resource_history (
  rid INTEGER NOT NULL,
  version_id TEXT NOT NULL,
  last_updated TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  body BLOB NOT NULL
);
CREATE INDEX resource_history_rid ON resource_history (rid);
CREATE TABLE search_param (
  pid INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  UNIQUE (type, name)
);
CREATE TABLE token_system (sid INTEGER PRIMARY KEY, uri TEXT NOT NULL UNIQUE);
CREATE TABLE idx_token (
  rid INTEGER NOT NULL, pid INTEGER NOT NULL, code TEXT NOT NULL, sid INTEGER NOT NULL,
  PRIMARY KEY (rid, pid, code, sid)
) WITHOUT ROWID;
CREATE INDEX idx_token_search ON idx_token (pid, code, sid);
CREATE TABLE idx_string (
  rid INTEGER NOT NULL, pid INTEGER NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (rid, pid, value)
) WITHOUT ROWID;
CREATE INDEX idx_string_search ON idx_string (pid, value);
CREATE TABLE idx_date (
  rid INTEGER NOT NULL, pid INTEGER NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL,
  PRIMARY KEY (rid, pid, lo, hi)
) WITHOUT ROWID;
CREATE INDEX idx_date_search ON idx_date (pid, lo);
CREATE TABLE idx_ref (
  rid INTEGER NOT NULL, pid INTEGER NOT NULL, ref_id TEXT NOT NULL, ref_type TEXT NOT NULL,
  PRIMARY KEY (rid, pid, ref_id, ref_type)
) WITHOUT ROWID;
CREATE INDEX idx_ref_search ON idx_ref (pid, ref_id);
CREATE TABLE quarantine (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  source TEXT NOT NULL,
  file TEXT,
  line INTEGER,
  resource_type TEXT,
  resource_id TEXT,
  reason TEXT NOT NULL,
  raw BLOB NOT NULL
);
CREATE TABLE checkpoint (stream TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_V1_POSTGRES = """
CREATE TABLE resource (
  rid BIGINT PRIMARY KEY,
  type TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  version_id TEXT NOT NULL,
  last_updated TEXT NOT NULL,
  lu BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  deleted INTEGER NOT NULL,
  patient_id TEXT COLLATE "C",
  body BYTEA NOT NULL
);
CREATE SEQUENCE resource_rid_seq;
CREATE SEQUENCE resource_change_seq;
CREATE UNIQUE INDEX resource_type_id ON resource (type, id);
CREATE INDEX resource_patient ON resource (patient_id, type) WHERE patient_id IS NOT NULL;
CREATE INDEX resource_seq ON resource (seq);
CREATE INDEX resource_type_lu ON resource (type, lu);
CREATE TABLE resource_history (
  rid BIGINT NOT NULL,
  version_id TEXT NOT NULL,
  last_updated TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  body BYTEA NOT NULL
);
CREATE INDEX resource_history_rid ON resource_history (rid);
CREATE TABLE search_param (
  pid SERIAL PRIMARY KEY,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  UNIQUE (type, name)
);
CREATE TABLE token_system (sid SERIAL PRIMARY KEY, uri TEXT NOT NULL UNIQUE);
CREATE TABLE idx_token (
  rid BIGINT NOT NULL, pid INTEGER NOT NULL, code TEXT COLLATE "C" NOT NULL, sid INTEGER NOT NULL,
  PRIMARY KEY (rid, pid, code, sid)
);
CREATE INDEX idx_token_search ON idx_token (pid, code, sid);
CREATE TABLE idx_string (
  rid BIGINT NOT NULL, pid INTEGER NOT NULL, value TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (rid, pid, value)
);
CREATE INDEX idx_string_search ON idx_string (pid, value);
CREATE TABLE idx_date (
  rid BIGINT NOT NULL, pid INTEGER NOT NULL, lo BIGINT NOT NULL, hi BIGINT NOT NULL,
  PRIMARY KEY (rid, pid, lo, hi)
);
CREATE INDEX idx_date_search ON idx_date (pid, lo);
CREATE TABLE idx_ref (
  rid BIGINT NOT NULL, pid INTEGER NOT NULL, ref_id TEXT COLLATE "C" NOT NULL,
  ref_type TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (rid, pid, ref_id, ref_type)
);
CREATE INDEX idx_ref_search ON idx_ref (pid, ref_id);
CREATE TABLE quarantine (
  id BIGSERIAL PRIMARY KEY,
  at TEXT NOT NULL,
  source TEXT NOT NULL,
  file TEXT,
  line INTEGER,
  resource_type TEXT,
  resource_id TEXT,
  reason TEXT NOT NULL,
  raw BYTEA NOT NULL
);
CREATE TABLE checkpoint (stream TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

MIGRATIONS: list[Migration] = [
    Migration(1, "replica: resources, history, index tables, quarantine", _V1_SQLITE, _V1_POSTGRES),
    Migration(
        2,
        "history by version (vread)",
        "CREATE UNIQUE INDEX resource_history_version ON resource_history (rid, version_id)",
    ),
    Migration(
        3,
        "instants in the one stored form (docs/time.md): quarantine, applied migrations",
        f"{rewrite_sql('quarantine', 'at')}; {rewrite_sql('schema_migrations', 'applied_at')}",
    ),
    Migration(
        4,
        "quarantine rows recorded once: a fingerprint of what was set aside and why",
        "ALTER TABLE quarantine ADD COLUMN fingerprint TEXT;"
        " CREATE INDEX quarantine_fingerprint ON quarantine (fingerprint)",
    ),
    Migration(
        5,
        "DocumentReference identifier also indexes masterIdentifier"
        " (token rows added for the resources held when applied)",
        "",
        data=reindex.token_rows("DocumentReference", "identifier", "masterIdentifier"),
    ),
    Migration(
        6,
        "previous versions keep their change sequence and lastUpdated in ms (type and"
        " system _history list every version; rows moved before this have neither)",
        "ALTER TABLE resource_history ADD COLUMN seq INTEGER;"
        " ALTER TABLE resource_history ADD COLUMN lu INTEGER;"
        " CREATE INDEX resource_history_seq ON resource_history (seq);"
        " CREATE INDEX resource_history_lu ON resource_history (lu)",
        "ALTER TABLE resource_history ADD COLUMN seq BIGINT;"
        " ALTER TABLE resource_history ADD COLUMN lu BIGINT;"
        " CREATE INDEX resource_history_seq ON resource_history (seq);"
        " CREATE INDEX resource_history_lu ON resource_history (lu)",
    ),
]
