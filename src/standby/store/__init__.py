"""The replica store: one interface (`Store`), two engines (SQLite, PostgreSQL), and an
in-memory one for tests (`standby.store.memory.MemoryStore`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from standby.store.encryption import DatabaseKey

from standby.store.base import (
    IngestReport,
    Migration,
    QuarantineItem,
    ReadOnlyStore,
    SearchPage,
    Store,
    StoredResource,
    StoreError,
    Transaction,
    VersionConflict,
    WriteOutcome,
)

__all__ = [
    "IngestReport",
    "Migration",
    "QuarantineItem",
    "ReadOnlyStore",
    "SearchPage",
    "Store",
    "StoreError",
    "StoredResource",
    "Transaction",
    "VersionConflict",
    "WriteOutcome",
    "open_store",
]


def open_store(
    *,
    db: Path | str | None = None,
    database_url: str | None = None,
    batch_size: int = 2000,
    max_resource_bytes: int = 16 * 1024 * 1024,
    key: DatabaseKey | None = None,
) -> Store:
    """Open (creating and migrating as needed) the replica: PostgreSQL when a URL is
    given, else the SQLite file `db` (default ./standby.db). `batch_size` and
    `max_resource_bytes` are the settings `ingest_batch_size` and `max_resource_bytes`; `key`
    encrypts the SQLite file (`standby.store.encryption.database_key(settings)`)."""
    if database_url:
        from standby.store.postgres import PostgresStore

        return PostgresStore(
            database_url, batch_size=batch_size, max_resource_bytes=max_resource_bytes
        )
    from standby.store.sqlite import SQLiteStore

    return SQLiteStore(
        Path(db or "standby.db"),
        batch_size=batch_size,
        max_resource_bytes=max_resource_bytes,
        key=key,
    )
