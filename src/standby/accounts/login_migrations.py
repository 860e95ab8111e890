"""Migrations of the accounts tables for login and sessions (namespace "web", numbered
from 101 so that they never collide with those of the audit log in schema.py)."""

from __future__ import annotations

from standby.store.base import Migration

LOGIN_MIGRATIONS: list[Migration] = [
    Migration(
        101,
        "session ids are stored hashed (a copy of the database yields no usable session):"
        " the sessions stored in clear are ended",
        "DELETE FROM web_sessions",
    ),
    Migration(
        102,
        "one row that a login's check-and-count locks (concurrent guesses are counted one"
        " after another on PostgreSQL too)",
        "CREATE TABLE web_login_guard (id INTEGER PRIMARY KEY);"
        " INSERT INTO web_login_guard (id) VALUES (1)",
    ),
    Migration(
        103,
        "the addresses each account has logged in from (exempt from the account's limit)",
        "CREATE TABLE web_login_known (username TEXT NOT NULL, address TEXT NOT NULL,"
        " at TEXT NOT NULL, PRIMARY KEY (username, address))",
    ),
    Migration(
        104,
        "failed logins by account and address",
        "CREATE INDEX web_login_failures_pair ON web_login_failures (username, address, at)",
    ),
    Migration(
        105, "sessions by account", "CREATE INDEX web_sessions_user ON web_sessions (username)"
    ),
]
