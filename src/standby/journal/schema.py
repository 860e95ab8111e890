"""The journal's tables in the replica database (docs/journal.md#storage).

`journal_entries` is append-only: the database refuses UPDATE and DELETE (triggers on
both engines, TRUNCATE too on PostgreSQL), and refuses an INSERT whose id is already
there, so that SQLite's `INSERT OR REPLACE` (which deletes the old row without firing a
DELETE trigger) cannot rewrite an entry either. A correction or a strike is a new entry.
`journal_numbers` holds every downtime MRN and encounter number handed out, unique per
kind and value. Times are text in `standby.clock`'s stored form. Each row also holds the
entry's resources as the read model shows them (`journal.converted`), written with it.
"""

from __future__ import annotations

import weakref

from standby.store.base import Migration, Store

NAMESPACE = "journal"

_REFUSE_SQLITE = "SELECT RAISE(ABORT, 'the journal is append-only: write a correction')"

MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "journal entries (append-only; a UUID per entry)",
        "CREATE TABLE journal_entries (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, patient_id TEXT NOT NULL,"
        " encounter_id TEXT, author TEXT NOT NULL, author_name TEXT NOT NULL,"
        " role TEXT NOT NULL, performed_at TEXT NOT NULL, recorded_at TEXT NOT NULL,"
        " node TEXT NOT NULL, capture TEXT NOT NULL, transcribed_by TEXT, corrects TEXT,"
        " drill INTEGER NOT NULL, payload TEXT NOT NULL)",
        "CREATE TABLE journal_entries (seq BIGSERIAL PRIMARY KEY,"
        " id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, patient_id TEXT NOT NULL,"
        " encounter_id TEXT, author TEXT NOT NULL, author_name TEXT NOT NULL,"
        " role TEXT NOT NULL, performed_at TEXT NOT NULL, recorded_at TEXT NOT NULL,"
        " node TEXT NOT NULL, capture TEXT NOT NULL, transcribed_by TEXT, corrects TEXT,"
        " drill INTEGER NOT NULL, payload TEXT NOT NULL)",
    ),
    Migration(
        2,
        "journal entries by patient, and by the entry they correct",
        "CREATE INDEX journal_entries_patient ON journal_entries (patient_id, seq);"
        " CREATE INDEX journal_entries_corrects ON journal_entries (corrects)",
    ),
    Migration(
        3,
        "the journal refuses UPDATE, DELETE, and an INSERT over an existing id",
        "CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal_entries"
        f" BEGIN {_REFUSE_SQLITE}; END;"
        " CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal_entries"
        f" BEGIN {_REFUSE_SQLITE}; END;"
        " CREATE TRIGGER journal_no_replace BEFORE INSERT ON journal_entries"
        " WHEN EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.id)"
        f" BEGIN {_REFUSE_SQLITE}; END",
        "CREATE OR REPLACE FUNCTION journal_refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'the journal is append-only: write a correction'; END $$;"
        " CREATE TRIGGER journal_no_change BEFORE UPDATE OR DELETE ON journal_entries"
        " FOR EACH ROW EXECUTE FUNCTION journal_refuse();"
        " CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal_entries"
        " FOR EACH STATEMENT EXECUTE FUNCTION journal_refuse()",
    ),
    Migration(
        4,
        "downtime numbers handed out (MRNs, encounter numbers), never twice",
        "CREATE TABLE journal_numbers (kind TEXT NOT NULL, value TEXT NOT NULL,"
        " prefix TEXT NOT NULL, number INTEGER NOT NULL, node TEXT NOT NULL,"
        " at TEXT NOT NULL, PRIMARY KEY (kind, value))",
    ),
    Migration(
        5,
        "downtime numbers by range",
        "CREATE INDEX journal_numbers_range ON journal_numbers (kind, prefix, number)",
    ),
    Migration(
        6,
        "journal entries by patient, kind and time (what a summary's window reads), a"
        " patient's corrections and strikes, and entries by when they were recorded",
        "CREATE INDEX journal_entries_patient_kind ON journal_entries"
        " (patient_id, kind, performed_at);"
        " CREATE INDEX journal_entries_recorded ON journal_entries (recorded_at);"
        " CREATE INDEX journal_entries_corrections ON journal_entries (patient_id)"
        " WHERE corrects IS NOT NULL",
    ),
    Migration(
        7,
        "journal entries by kind (the census reads the admissions, transfers, discharges,"
        " registrations and strikes of weeks of entries)",
        "CREATE INDEX journal_entries_kind ON journal_entries (kind, drill, seq)",
    ),
    Migration(
        8,
        "each entry's FHIR resources as the read model shows them, written with it, and the"
        " version of the mapping that made them (NULL in rows written before: converted"
        " when read)",
        "ALTER TABLE journal_entries ADD COLUMN mapping INTEGER;"
        " ALTER TABLE journal_entries ADD COLUMN resources TEXT",
        "ALTER TABLE journal_entries ADD COLUMN mapping INTEGER, ADD COLUMN resources TEXT",
    ),
    Migration(
        9,
        "where the journal last put each patient (`adt.placements`), derived from the"
        " admissions, transfers, discharges, registrations and strikes and kept in the"
        " transaction that writes them; `journal_placements_state` says up to which entry"
        " (the newest seq and how many such entries; 0 and 0: none yet, read from the journal)",
        "CREATE TABLE journal_placements (drill INTEGER NOT NULL, patient_id TEXT NOT NULL,"
        " location_id TEXT, kind TEXT NOT NULL, performed_at TEXT NOT NULL,"
        " entry_id TEXT NOT NULL, disposition TEXT NOT NULL, PRIMARY KEY (drill, patient_id));"
        " CREATE TABLE journal_placements_state (drill INTEGER PRIMARY KEY,"
        " upto BIGINT NOT NULL, counted BIGINT NOT NULL);"
        " CREATE INDEX journal_placements_location ON journal_placements (drill, location_id);"
        " INSERT INTO journal_placements_state (drill, upto, counted) VALUES (0, 0, 0), (1, 0, 0)",
    ),
]

_ready: weakref.WeakSet[Store] = weakref.WeakSet()


def ensure(store: Store) -> None:
    """Create or migrate the journal's tables (once per store object)."""
    if store in _ready:
        return
    store.ensure_schema(NAMESPACE, MIGRATIONS)
    _ready.add(store)
