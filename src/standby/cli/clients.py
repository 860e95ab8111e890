"""`standby clients add|list|remove` — the systems that may read the FHIR API
(SMART Backend Services clients; docs/cli.md#standby-clients, docs/fhir-api.md)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from standby.api import smart
from standby.cli.replica import open_replica
from standby.settings import load_settings
from standby.store import Store

clients_app = typer.Typer(
    help="Systems that may read the FHIR API (SMART Backend Services): add, list, remove.",
    no_args_is_help=True,
)

DB = typer.Option(None, "--db", help="SQLite replica file (default: settings, ./standby.db).")
URL = typer.Option(
    None,
    "--database-url",
    help="PostgreSQL URL instead of the SQLite file (default: STANDBY_DATABASE_URL).",
)


def _open(db: Path | None, database_url: str | None) -> Store:
    return open_replica(load_settings(db=db, database_url=database_url))


@clients_app.command("add")
def add(
    name: str = typer.Argument(..., help="What the client is (e.g. pharmacy-cabinets)."),
    jwks: Path = typer.Option(
        ..., "--jwks", help="The client's public JWK Set (JSON file; RSA or EC P-384 keys)."
    ),
    scope: str = typer.Option(
        "system/*.read",
        "--scope",
        help="Scopes it may have, space-separated (system/*.read, system/Patient.rs, ...).",
    ),
    client_id: str | None = typer.Option(
        None, "--client-id", help="Its client_id (default: a new random id, printed)."
    ),
    db: Path | None = DB,
    database_url: str | None = URL,
) -> None:
    """Register a client and print its client_id (what it puts in its assertions)."""
    try:
        keys = json.loads(jwks.read_text())
    except (OSError, ValueError) as e:
        typer.echo(f"error: {jwks}: {e}", err=True)
        raise typer.Exit(2) from e
    store = _open(db, database_url)
    try:
        client = smart.add_client(store, name=name, jwks=keys, scope=scope, client_id=client_id)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    finally:
        store.close()
    if client.scope != " ".join(scope.split()):
        typer.echo(
            f"note: registered with scope {client.scope!r}: this replica is read-only and"
            " grants read and search only",
            err=True,
        )
    typer.echo(client.client_id)


@clients_app.command("list")
def list_(db: Path | None = DB, database_url: str | None = URL) -> None:
    """One registered client per line: client_id, name, scopes, when it was added."""
    store = _open(db, database_url)
    try:
        for c in smart.list_clients(store):
            typer.echo(f"{c.client_id}\t{c.name}\t{c.scope}\t{c.created_at}")
    finally:
        store.close()


@clients_app.command("remove")
def remove(
    client_id: str = typer.Argument(..., help="The client_id to revoke."),
    db: Path | None = DB,
    database_url: str | None = URL,
) -> None:
    """Revoke a client: no new tokens, and its tokens stop working within seconds."""
    store = _open(db, database_url)
    try:
        gone = smart.remove_client(store, client_id)
    finally:
        store.close()
    if not gone:
        typer.echo(f"error: no client {client_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"removed {client_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(clients_app, name="clients")
