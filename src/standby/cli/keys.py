"""`standby keys` — the replica's encryption key (`create`, `rotate-db`; docs/security.md#keys)
and the SMART Backend Services signing key (`generate`, `jwks`; docs/sync.md)
(docs/cli.md#standby-keys)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from standby.cli.replica import replica_key
from standby.settings import load_settings
from standby.store.encryption import (
    DatabaseKey,
    DatabaseKeyError,
    create_key_file,
    is_encrypted,
    read_key_file,
    rekey,
)

keys_app = typer.Typer(
    help="Keys: the replica's encryption key (create, rotate-db) and the SMART Backend "
    "Services signing key (generate, jwks).",
    no_args_is_help=True,
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@keys_app.command("create")
def create(
    path: Path = typer.Argument(..., help="Key file to write (never overwritten)."),
) -> None:
    """Write a new random key (256 bits, 64 hex characters) to PATH, mode 0600."""
    try:
        create_key_file(path)
    except DatabaseKeyError as e:
        raise _fail(str(e)) from None
    typer.echo(f"wrote {path} (0600): set STANDBY_DB_KEY_FILE={path}; keep it apart from the data")


@keys_app.command("rotate-db")
def rotate_db(
    db: Path | None = typer.Option(
        None, "--db", help="SQLite replica file (default: STANDBY_DB, else ./standby.db)."
    ),
    new_key_file: Path | None = typer.Option(
        None,
        "--new-key-file",
        help="Write the new key here (default: replace the key file in place, keeping the "
        "old one as PATH.old).",
    ),
) -> None:
    """Re-encrypt the replica with a new key (or encrypt a plain one). Stop serve, sync
    and report first."""
    settings = load_settings(db=db).model_copy(update={"db_encryption": "on"})
    if settings.database_url:
        raise _fail("a PostgreSQL replica is encrypted by its server, not by standby")
    path = Path(settings.db)
    state = is_encrypted(path)
    if state is None:
        raise _fail(f"no replica at {path}: pass --db PATH or set STANDBY_DB")
    configured = settings.db_key is not None or settings.db_key_file is not None
    old = replica_key(settings) if state else None
    if not state and new_key_file is None and configured:
        if settings.db_key_file is not None and not settings.db_key_file.exists():
            given: DatabaseKey | None = _create(settings.db_key_file)
        else:
            given = replica_key(settings)
        assert given is not None
        _rekey(path, None, given)
        typer.echo(f"encrypted {path} with the key from {given.where}")
        return
    if new_key_file is not None:
        new = _create(new_key_file)
        _rekey(path, old, new)
        typer.echo(f"re-encrypted {path}: set STANDBY_DB_KEY_FILE={new_key_file}")
        return
    if old is None or settings.db_key_file is None:
        raise _fail("pass --new-key-file PATH: where to write the new key")
    _rotate_in_place(path, old, settings.db_key_file)


def _create(path: Path) -> DatabaseKey:
    try:
        return create_key_file(path)
    except DatabaseKeyError as e:
        raise _fail(str(e)) from None


def _rekey(path: Path, old: DatabaseKey | None, new: DatabaseKey) -> None:
    try:
        rekey(path, old, new)
    except DatabaseKeyError as e:
        raise _fail(str(e)) from None


def _rotate_in_place(path: Path, old: DatabaseKey, key_file: Path) -> None:
    """New key beside the old file first, then the replica, then the files: a crash in
    between leaves the key that opens the replica in `key_file` or in `key_file.new`."""
    staged = key_file.with_name(key_file.name + ".new")
    backup = key_file.with_name(key_file.name + ".old")
    if backup.exists():
        raise _fail(f"{backup} exists: delete it (once nothing needs that key) and run again")
    new = _create(staged)
    _rekey(path, old, new)
    os.link(key_file, backup)
    os.replace(staged, key_file)
    assert read_key_file(key_file).hex == new.hex
    typer.echo(
        f"re-encrypted {path} with a new key in {key_file}; the old key is in {backup}: "
        "delete it once backups made with it are gone"
    )


@keys_app.command("generate")
def keys_generate(
    out: Path = typer.Option(..., "--out", help="Where to write the private key (PEM, 0600)."),
    alg: str = typer.Option("ES384", "--alg", help="ES384 (EC P-384) or RS384 (RSA 3072)."),
) -> None:
    """Make a signing key and print its public JWKS (register that with the EHR)."""
    from standby.sync.jwks import generate_private_key, jwks, write_private_key

    try:
        key = generate_private_key(alg)
        write_private_key(key, out)
    except (ValueError, FileExistsError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    typer.echo(json.dumps(jwks(key), indent=2))


@keys_app.command("jwks")
def keys_jwks(
    private_key: Path = typer.Option(..., "--private-key", help="The PEM private key."),
    key_id: str | None = typer.Option(None, "--key-id", help="kid (default: the thumbprint)."),
) -> None:
    """Print the public JWKS of a private key."""
    from standby.sync.jwks import jwks, load_private_key

    try:
        key = load_private_key(private_key)
        typer.echo(json.dumps(jwks(key, key_id), indent=2))
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
