"""Opening the replica from the command line: the one place a command turns settings into
a store, with the replica's key (docs/security.md). A missing or wrong key stops the
command with a message that names the setting, never a traceback."""

from __future__ import annotations

from pathlib import Path

import typer

from standby.settings import Settings
from standby.store import Store, open_store
from standby.store.encryption import DatabaseKey, DatabaseKeyError, database_key
from standby.store.sqlite import limit_memory


def replica_key(settings: Settings, *, default_key_file: Path | None = None) -> DatabaseKey | None:
    """The replica's key from the settings (None: PostgreSQL or `db_encryption=off`); a
    missing or unreadable key ends the command (exit status 2) with the reason."""
    try:
        return database_key(settings, default_key_file=default_key_file)
    except DatabaseKeyError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


def open_replica(settings: Settings) -> Store:
    """The replica the settings name, opened (created and migrated as needed) with its key."""
    key = replica_key(settings)
    try:
        store = open_store(
            db=settings.db,
            database_url=settings.database_url,
            batch_size=settings.ingest_batch_size,
            max_resource_bytes=settings.max_resource_bytes,
            key=key,
        )
    except DatabaseKeyError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    if getattr(store, "engine", "") == "sqlite":
        # 0 is "no limit", said to SQLite too: the limit is process-wide, and a replica
        # opened earlier in this process may have set one
        limit_memory(store, max(0, settings.sqlite_memory_mb))
    return store
