"""`standby migrate` — create or upgrade every table of the replica, as the database's
owner, so that the node itself can run as a role that may not change the schema
(docs/cli.md#standby-migrate, docs/store.md#postgresql-roles)."""

from __future__ import annotations

from pathlib import Path

import typer

from standby.accounts import schema as accounts_schema
from standby.api import schema as api_schema
from standby.cli.replica import open_replica
from standby.hl7 import feed_writer
from standby.journal import schema as journal_schema
from standby.monitor import schema as monitor_schema
from standby.settings import load_settings
from standby.store import Store
from standby.sync import schema as sync_schema


def migrate_all(store: Store) -> None:
    """Every package's migrations not yet applied (the store's own ran when it opened)."""
    accounts_schema.ensure(store)
    sync_schema.ensure_sync_schema(store)
    monitor_schema.ensure(store)
    journal_schema.ensure(store)
    api_schema.ensure(store)  # the FHIR API's clients, tokens and saved searches
    store.ensure_schema(feed_writer.NAMESPACE, feed_writer.MIGRATIONS)  # HL7 v2 answers


def register(app: typer.Typer) -> None:
    @app.command()
    def migrate(
        db: Path | None = typer.Option(
            None, "--db", help="SQLite replica file (default: STANDBY_DB, else ./standby.db)."
        ),
        database_url: str | None = typer.Option(
            None,
            "--database-url",
            help="PostgreSQL URL of the database's owner (default: STANDBY_DATABASE_URL).",
        ),
        grant_to: str | None = typer.Option(
            None,
            "--grant-to",
            help="PostgreSQL: then give this existing role the runtime rights (read and "
            "write rows, no DDL) that `serve` and `sync` need (default: grant nothing).",
        ),
    ) -> None:
        """Create or upgrade every table (run as the database's owner; the node runs as a
        role without DDL rights)."""
        settings = load_settings(db=db, database_url=database_url)
        store = open_replica(settings)
        try:
            migrate_all(store)
        finally:
            store.close()
        where = "the PostgreSQL database" if settings.database_url else str(settings.db)
        typer.echo(f"{where}: every table is up to date")
        if grant_to:
            if not settings.database_url:
                typer.echo("error: --grant-to is for PostgreSQL (--database-url)", err=True)
                raise typer.Exit(2)
            from standby.store.postgres_roles import grant_runtime

            grant_runtime(settings.database_url, grant_to)
            typer.echo(f"granted {grant_to} the runtime rights (rows only, no DDL)")
