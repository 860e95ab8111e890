"""The replica store: one interface (`Store`), two engines (SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from standby.store.base import (
    Gone,
    IngestReport,
    Migration,
    NotFound,
    QuarantineItem,
    SearchPage,
    Store,
    StoredResource,
    StoreError,
    Transaction,
    VersionConflict,
    WriteOutcome,
)

__all__ = [
    "Gone",
    "IngestReport",
    "Migration",
    "NotFound",
    "QuarantineItem",
    "SearchPage",
    "Store",
    "StoreError",
    "StoredResource",
    "Transaction",
    "VersionConflict",
    "WriteOutcome",
    "open_store",
]


def open_store(*, db: Path | str | None = None, database_url: str | None = None) -> Store:
    """Open (creating and migrating as needed) the replica: PostgreSQL when a URL is
    given, else the SQLite file `db` (default ./standby.db)."""
    if database_url:
        from standby.store.postgres import PostgresStore

        return PostgresStore(database_url)
    from standby.store.sqlite import SQLiteStore

    return SQLiteStore(Path(db or "standby.db"))
