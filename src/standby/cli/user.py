"""`standby user add|import|list|unlock|disable|enable` — local accounts of the viewer
(docs/cli.md#standby-user, docs/roles.md). Passwords are read from a prompt or stdin,
never from the command line."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer

from standby.accounts import repository, users
from standby.accounts.roles import ROLES
from standby.cli.replica import open_replica
from standby.settings import load_settings
from standby.store import Store

user_app = typer.Typer(
    help="Viewer accounts: add (or reset), import from CSV, list, unlock, disable, enable.",
    no_args_is_help=True,
)

DB = typer.Option(None, "--db", help="SQLite replica file (default: settings, ./standby.db).")
URL = typer.Option(
    None,
    "--database-url",
    help="PostgreSQL URL instead of the SQLite file (default: STANDBY_DATABASE_URL).",
)


def _open(db: Path | None, database_url: str | None) -> Store:
    settings = load_settings(db=db, database_url=database_url)
    return open_replica(settings)


def _min_length() -> int:
    return load_settings().password_min_length


@user_app.command("add")
def add(
    username: str = typer.Argument(..., help="Login name (no spaces)."),
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(ROLES)}."),
    unit: list[str] = typer.Option(
        [], "--unit", help="Unit Location id the user works on (repeat; `*` for every unit)."
    ),
    name: str | None = typer.Option(None, "--name", help="Display name (default: username)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    db: Path | None = DB,
    database_url: str | None = URL,
) -> None:
    """Create an account, or replace its password, role and units (a reset: it also
    unlocks the account and ends its sessions)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = _open(db, database_url)
    try:
        user = users.add_user(
            store,
            username,
            password,
            role=role,
            units=unit,
            display_name=name,
            min_length=_min_length(),
        )
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.close()
    units = "every unit" if user.all_units else (", ".join(user.units) or "no unit")
    typer.echo(f"user {user.username}: {user.role}, {units}")


@user_app.command("import")
def import_(
    file: Path = typer.Argument(
        ..., help="CSV with a header: username,password,role,units[,name]; units split by ;."
    ),
    db: Path | None = DB,
    database_url: str | None = URL,
) -> None:
    """Create or update accounts from a CSV file; bad lines are reported and skipped."""
    store = _open(db, database_url)
    done = failed = 0
    try:
        with file.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = {"username", "password", "role"} - set(reader.fieldnames or [])
            if missing:
                typer.echo(
                    f"error: {file}: missing column(s) {', '.join(sorted(missing))}", err=True
                )
                raise typer.Exit(1)
            for row in reader:
                try:
                    users.add_user(
                        store,
                        row.get("username") or "",
                        row.get("password") or "",
                        role=(row.get("role") or "").strip(),
                        units=(row.get("units") or "").split(";"),
                        display_name=row.get("name") or None,
                        min_length=_min_length(),
                    )
                    done += 1
                except ValueError as e:
                    failed += 1
                    typer.echo(f"{file}:{reader.line_num}: {e}", err=True)
    finally:
        store.close()
    typer.echo(f"imported {done} account(s), {failed} refused")
    if failed:
        raise typer.Exit(1)


@user_app.command("list")
def list_(db: Path | None = DB, database_url: str | None = URL) -> None:
    """List accounts: username, role, units, name."""
    store = _open(db, database_url)
    try:
        for u in repository.list_users(store):
            units = "*" if u.all_units else ",".join(u.units)
            state = "" if u.active else " (disabled)"
            typer.echo(f"{u.username}\t{u.role}\t{units}\t{u.display_name}{state}")
    finally:
        store.close()


USERNAME = typer.Argument(..., help="Login name of the account.")


def _change(username: str, db: Path | None, database_url: str | None, what: str) -> None:
    store = _open(db, database_url)
    try:
        if repository.get_user(store, username) is None:
            typer.echo(f"error: no account {username!r}", err=True)
            raise typer.Exit(1)
        if what == "unlock":
            repository.clear_failures(store, username)
        else:
            repository.set_active(store, username, what == "enable")
    finally:
        store.close()
    typer.echo(f"user {username}: {what}d")


@user_app.command("unlock")
def unlock(username: str = USERNAME, db: Path | None = DB, database_url: str | None = URL) -> None:
    """Forget the account's failed logins (from every address): it may log in at once."""
    _change(username, db, database_url, "unlock")


@user_app.command("disable")
def disable(username: str = USERNAME, db: Path | None = DB, database_url: str | None = URL) -> None:
    """Refuse the account's logins and end its sessions (it stays in the audit log)."""
    _change(username, db, database_url, "disable")


@user_app.command("enable")
def enable(username: str = USERNAME, db: Path | None = DB, database_url: str | None = URL) -> None:
    """Let a disabled account log in again."""
    _change(username, db, database_url, "enable")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
