"""The accounts tables in the replica database (docs/web.md#storage).

They were first created by the viewer, under the migration namespace "web" and with names
`web_*`; both stay as they are (`NAMESPACE`), so that a database already migrated keeps
its history and only new migrations are applied to it.

Portable SQL with `?` placeholders (src/standby/store/base.py). Times are text in the
stored form of `standby.clock`, which sorts as time does. The audit table is append-only:
the application has no path that edits or deletes it, and the database refuses UPDATE and
DELETE on it with an error (triggers on both engines; on PostgreSQL TRUNCATE too), and
INSERT OR REPLACE (ON CONFLICT DO UPDATE) and lines without the hash chain too. The
exceptions: migration 15 rewrote the form of its times (not the instants) and the chain's
start (`audit_chain.start_chain`) wrote the hashes of the lines already there, each with the
guard lifted inside the migration's transaction; and lines an archive holds (`web_audit_chain`)
may be deleted (`standby audit archive`, docs/security.md#the-audit-log).
"""

from __future__ import annotations

import weakref

from standby.accounts import audit_chain
from standby.accounts.login_migrations import LOGIN_MIGRATIONS
from standby.clock import rewrite_sql
from standby.store.base import Migration, Store

MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "local accounts (argon2 hashes)",
        "CREATE TABLE web_users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL,"
        " role TEXT NOT NULL, units TEXT NOT NULL, display_name TEXT NOT NULL,"
        " active INTEGER NOT NULL, created_at TEXT NOT NULL)",
    ),
    Migration(
        2,
        "server-side sessions (the cookie holds a signed id)",
        "CREATE TABLE web_sessions (id TEXT PRIMARY KEY, username TEXT NOT NULL,"
        " csrf TEXT NOT NULL, created_at TEXT NOT NULL, last_seen TEXT NOT NULL,"
        " address TEXT NOT NULL)",
    ),
    Migration(
        3,
        "failed logins (for lockout per account and per address)",
        "CREATE TABLE web_login_failures (username TEXT NOT NULL, address TEXT NOT NULL,"
        " at TEXT NOT NULL)",
    ),
    Migration(
        4,
        "failed logins by account",
        "CREATE INDEX web_login_failures_user ON web_login_failures (username, at)",
    ),
    Migration(
        5,
        "failed logins by address",
        "CREATE INDEX web_login_failures_addr ON web_login_failures (address, at)",
    ),
    Migration(
        6,
        "audit log (append-only)",
        "CREATE TABLE web_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,"
        " username TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,"
        " patient_id TEXT, page TEXT NOT NULL, address TEXT NOT NULL, detail TEXT NOT NULL)",
        "CREATE TABLE web_audit (id BIGSERIAL PRIMARY KEY, at TEXT NOT NULL,"
        " username TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,"
        " patient_id TEXT, page TEXT NOT NULL, address TEXT NOT NULL, detail TEXT NOT NULL)",
    ),
    Migration(7, "audit by time", "CREATE INDEX web_audit_at ON web_audit (at)"),
    Migration(
        8, "audit by patient", "CREATE INDEX web_audit_patient ON web_audit (patient_id, at)"
    ),
    Migration(
        9,
        "the audit log refuses UPDATE",
        "CREATE TRIGGER web_audit_no_update BEFORE UPDATE ON web_audit"
        " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE RULE web_audit_no_update AS ON UPDATE TO web_audit DO INSTEAD NOTHING",
    ),
    Migration(
        10,
        "the audit log refuses DELETE",
        "CREATE TRIGGER web_audit_no_delete BEFORE DELETE ON web_audit"
        " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE RULE web_audit_no_delete AS ON DELETE TO web_audit DO INSTEAD NOTHING",
    ),
    Migration(
        11,
        "break-the-glass accesses (reason stated, shown to admins)",
        "CREATE TABLE web_break_glass (id TEXT PRIMARY KEY, at TEXT NOT NULL,"
        " username TEXT NOT NULL, patient_id TEXT NOT NULL, reason TEXT NOT NULL,"
        " address TEXT NOT NULL, expires_at TEXT NOT NULL)",
    ),
    Migration(
        12,
        "break-the-glass by user and patient",
        "CREATE INDEX web_break_glass_user ON web_break_glass (username, patient_id, expires_at)",
    ),
    Migration(
        13,
        "the key that signs session cookies (shared by every worker process)",
        "CREATE TABLE web_secret (id INTEGER PRIMARY KEY, secret TEXT NOT NULL)",
    ),
    Migration(
        14,
        "PostgreSQL: UPDATE, DELETE and TRUNCATE of the audit log fail loudly (the rules of"
        " migrations 9 and 10 silently did nothing)",
        "SELECT 1",
        "DROP RULE IF EXISTS web_audit_no_update ON web_audit;"
        " DROP RULE IF EXISTS web_audit_no_delete ON web_audit;"
        " CREATE OR REPLACE FUNCTION web_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;"
        " CREATE TRIGGER web_audit_no_change BEFORE UPDATE OR DELETE ON web_audit"
        " FOR EACH ROW EXECUTE FUNCTION web_audit_refuse();"
        " CREATE TRIGGER web_audit_no_truncate BEFORE TRUNCATE ON web_audit"
        " FOR EACH STATEMENT EXECUTE FUNCTION web_audit_refuse()",
    ),
    Migration(
        15,
        "instants in the one stored form (docs/time.md; they had milliseconds). The audit"
        " log's times are rewritten with its guard lifted inside this one transaction: the"
        " same instants, six digits instead of three",
        "; ".join(
            (
                rewrite_sql("web_users", "created_at"),
                rewrite_sql("web_sessions", "created_at", "last_seen"),
                rewrite_sql("web_login_failures", "at"),
                rewrite_sql("web_break_glass", "at", "expires_at"),
                "DROP TRIGGER web_audit_no_update",
                rewrite_sql("web_audit", "at"),
                "CREATE TRIGGER web_audit_no_update BEFORE UPDATE ON web_audit"
                " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
            )
        ),
        "; ".join(
            (
                rewrite_sql("web_users", "created_at"),
                rewrite_sql("web_sessions", "created_at", "last_seen"),
                rewrite_sql("web_login_failures", "at"),
                rewrite_sql("web_break_glass", "at", "expires_at"),
                "ALTER TABLE web_audit DISABLE TRIGGER web_audit_no_change",
                rewrite_sql("web_audit", "at"),
                "ALTER TABLE web_audit ENABLE TRIGGER web_audit_no_change",
            )
        ),
    ),
    Migration(
        16,
        "the audit log's hash chain: each line keeps the hash of the line before it and its"
        " own (standby.accounts.audit_chain)",
        "ALTER TABLE web_audit ADD COLUMN prev_hash TEXT;"
        " ALTER TABLE web_audit ADD COLUMN hash TEXT",
    ),
    Migration(
        17,
        "where the chain held in the database starts: the migration that chained the lines"
        " already there, then one record per archive, signed with the audit key (append-only)",
        "CREATE TABLE web_audit_chain (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " kind TEXT NOT NULL, at TEXT NOT NULL, last_id INTEGER NOT NULL,"
        " last_hash TEXT NOT NULL, line_count INTEGER NOT NULL, file TEXT, first_at TEXT,"
        " last_at TEXT, mac TEXT);"
        " CREATE TRIGGER web_audit_chain_no_update BEFORE UPDATE ON web_audit_chain"
        " BEGIN SELECT RAISE(ABORT, 'the audit chain records are append-only'); END;"
        " CREATE TRIGGER web_audit_chain_no_delete BEFORE DELETE ON web_audit_chain"
        " BEGIN SELECT RAISE(ABORT, 'the audit chain records are append-only'); END;"
        " CREATE TRIGGER web_audit_chain_no_replace BEFORE INSERT ON web_audit_chain"
        " WHEN EXISTS (SELECT 1 FROM web_audit_chain WHERE seq = NEW.seq)"
        " BEGIN SELECT RAISE(ABORT, 'the audit chain records are append-only'); END",
        "CREATE TABLE web_audit_chain (seq BIGSERIAL PRIMARY KEY,"
        " kind TEXT NOT NULL, at TEXT NOT NULL, last_id BIGINT NOT NULL,"
        " last_hash TEXT NOT NULL, line_count BIGINT NOT NULL, file TEXT, first_at TEXT,"
        " last_at TEXT, mac TEXT);"
        " CREATE OR REPLACE FUNCTION web_audit_chain_refuse() RETURNS trigger"
        " LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'the audit chain records are append-only'; END $$;"
        " CREATE TRIGGER web_audit_chain_no_change BEFORE UPDATE OR DELETE ON web_audit_chain"
        " FOR EACH ROW EXECUTE FUNCTION web_audit_chain_refuse();"
        " CREATE TRIGGER web_audit_chain_no_truncate BEFORE TRUNCATE ON web_audit_chain"
        " FOR EACH STATEMENT EXECUTE FUNCTION web_audit_chain_refuse()",
    ),
    Migration(
        18,
        "the audit log refuses INSERT OR REPLACE (and ON CONFLICT DO UPDATE) and lines"
        " without the chain's hashes; it lets go only of lines an archive holds",
        "CREATE TRIGGER web_audit_no_replace BEFORE INSERT ON web_audit"
        " WHEN EXISTS (SELECT 1 FROM web_audit WHERE id = NEW.id)"
        " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
        " CREATE TRIGGER web_audit_chained BEFORE INSERT ON web_audit"
        " WHEN NEW.hash IS NULL OR NEW.prev_hash IS NULL"
        " BEGIN SELECT RAISE(ABORT, 'audit lines carry the hash chain"
        " (standby.accounts.audit_chain)'); END;"
        " DROP TRIGGER web_audit_no_delete;"
        " CREATE TRIGGER web_audit_no_delete BEFORE DELETE ON web_audit"
        " WHEN OLD.id > (SELECT coalesce(max(last_id), 0) FROM web_audit_chain"
        " WHERE kind = 'archive')"
        " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE OR REPLACE FUNCTION web_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN"
        " IF TG_OP = 'DELETE' AND OLD.id <="
        " (SELECT coalesce(max(last_id), 0) FROM web_audit_chain WHERE kind = 'archive')"
        " THEN RETURN OLD; END IF;"
        " RAISE EXCEPTION 'the audit log is append-only'; END $$;"
        " CREATE OR REPLACE FUNCTION web_audit_chained() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN"
        " IF EXISTS (SELECT 1 FROM web_audit WHERE id = NEW.id) THEN"
        " RAISE EXCEPTION 'the audit log is append-only'; END IF;"
        " IF NEW.hash IS NULL OR NEW.prev_hash IS NULL THEN"
        " RAISE EXCEPTION 'audit lines carry the hash chain (standby.accounts.audit_chain)';"
        " END IF; RETURN NEW; END $$;"
        " CREATE TRIGGER web_audit_chained BEFORE INSERT ON web_audit"
        " FOR EACH ROW EXECUTE FUNCTION web_audit_chained()",
    ),
]

MIGRATIONS += LOGIN_MIGRATIONS

NAMESPACE = "web"

_ready: weakref.WeakSet[Store] = weakref.WeakSet()


def ensure(store: Store) -> None:
    """Create or migrate the accounts tables (once per store object)."""
    try:
        if store in _ready:
            return
    except TypeError:  # an unhashable store: just ask the store (idempotent)
        _migrate(store)
        return
    _migrate(store)
    _ready.add(store)


def _migrate(store: Store) -> None:
    # the chain of the lines already in the log is computed in the migrations' transaction
    with store.transaction() as tx:
        store.ensure_schema(NAMESPACE, MIGRATIONS)
        audit_chain.start_chain(tx, store.engine)
