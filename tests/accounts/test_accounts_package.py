"""`standby.accounts` keeps the tables and migration history
the viewer created (docs/web.md#storage; what it may import is checked with every package by
tests/project/test_imports.py)."""

from __future__ import annotations

from pathlib import Path

from standby.accounts import repository, schema, users
from standby.store import open_store


def test_a_database_migrated_by_the_viewer_keeps_its_history(tmp_path: Path) -> None:
    """A replica whose accounts tables were made under the viewer's namespace "web" gets
    only the migrations it lacks, and its accounts still log in."""
    store = open_store(db=tmp_path / "old.db")
    try:
        store.ensure_schema("web", schema.MIGRATIONS[:10])
        with store.transaction() as tx:
            tx.execute(
                "INSERT INTO web_users (username, password_hash, role, units, display_name,"
                " active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    "old.nurse",
                    users.hash_password("an old password"),
                    "nurse",
                    "4W",
                    "Old Nurse",
                    1,
                    "2026-01-01T00:00:00.000Z",
                ),
            )
        schema.ensure(store)
        with store.read_transaction() as tx:
            versions = [
                int(v)
                for (v,) in tx.query(
                    "SELECT version FROM schema_migrations WHERE namespace = ? ORDER BY version",
                    ("web",),
                )
            ]
        assert versions == [m.version for m in schema.MIGRATIONS]
        user = repository.get_user(store, "old.nurse")
        assert user is not None and users.verify_password(user.password_hash, "an old password")
    finally:
        store.close()
