"""`standby audit verify|anchor|archive` — the audit log's hash chain, the copies of its head
outside the database, and its archives (docs/cli.md#standby-audit, docs/security.md#the-audit-log).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer

from standby.accounts import audit_anchors, audit_archive, schema
from standby.accounts.audit_verify import verify as verify_chain
from standby.cli.replica import open_replica
from standby.clock import instant, now, parse_instant
from standby.settings import Settings, audit_anchor_file, audit_key_file, load_settings
from standby.store import Store

audit_app = typer.Typer(
    help="The audit log: verify its hash chain, anchor its head, archive old lines.",
    no_args_is_help=True,
)

DB = typer.Option(None, "--db", help="SQLite replica file (default: settings, ./standby.db).")
URL = typer.Option(
    None,
    "--database-url",
    help="PostgreSQL URL instead of the SQLite file (default: STANDBY_DATABASE_URL).",
)
KEY = typer.Option(
    None,
    "--key-file",
    help="Key file that signs archives (default: STANDBY_AUDIT_KEY_FILE, <db>.audit-key).",
)


def _settings(db: Path | None, database_url: str | None) -> Settings:
    return load_settings(db=db, database_url=database_url)


def _open(settings: Settings) -> Store:
    if settings.database_url is None and not settings.db.exists():
        typer.echo(f"error: no replica at {settings.db}", err=True)
        raise typer.Exit(2)
    store = open_replica(settings)
    schema.ensure(store)
    return store


def _key(settings: Settings, key_file: Path | None, *, create: bool) -> bytes:
    path = key_file or audit_key_file(settings)
    if path is None:
        typer.echo("error: set STANDBY_AUDIT_KEY_FILE or --key-file", err=True)
        raise typer.Exit(2)
    try:
        return audit_archive.read_key(path, create=create)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


@audit_app.command("verify")
def verify(
    anchors: Path | None = typer.Option(
        None,
        "--anchors",
        help="Anchor file to check the chain against (default: STANDBY_AUDIT_ANCHOR_FILE, "
        "<db>.audit-anchors, when it exists).",
    ),
    archive: list[Path] = typer.Option(
        [], "--archive", help="Verify this archive file instead of the database (repeat)."
    ),
    key_file: Path | None = KEY,
    db: Path | None = DB,
    database_url: str | None = URL,
) -> None:
    """Recompute the audit chain and name the first broken line (exit 1 when broken)."""
    settings = _settings(db, database_url)
    if archive:
        _verify_archives(settings, archive, key_file)
        return
    anchor_path = anchors or audit_anchor_file(settings)
    try:
        found = audit_anchors.read(anchor_path) if anchor_path and anchor_path.exists() else None
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    if anchors is not None and found is None:
        typer.echo(f"error: no anchor file at {anchors}", err=True)
        raise typer.Exit(2)
    key_path = key_file or audit_key_file(settings)
    key = _key(settings, key_path, create=False) if key_path and key_path.exists() else None
    store = _open(settings)
    try:
        v = verify_chain(store, found, key=key)
    finally:
        store.close()
    if v.broken is not None:
        where = f"line {v.broken.row_id}" if v.broken.row_id is not None else "the end"
        typer.echo(f"audit chain BROKEN at {where}: {v.broken.reason}")
        raise typer.Exit(1)
    start = v.start
    begins = (
        f"after line {start.last_id}, archived in {start.file}"
        if start is not None and start.kind == "archive"
        else "at the beginning"
    )
    span = f"lines {v.first_id}-{v.last_id}" if v.lines else "no lines"
    typer.echo(f"audit chain intact: {span} ({v.lines} lines), starting {begins}")
    typer.echo(f"head: {v.head_hash}")
    if found is None:
        typer.echo("anchors: none checked (no anchor file)")
    else:
        typer.echo(
            f"anchors: {v.anchors_checked} checked in {anchor_path}"
            f" ({v.anchors_archived} on archived lines)"
        )
    for a in v.archives:
        typer.echo(f"archive: lines up to {a.last_id} ({a.line_count}) in {a.file}, at {a.at}")
    if v.archives:
        typer.echo(
            f"archive records: signatures checked with {key_path}"
            if v.archives_signed
            else f"archive records: signatures NOT checked (no key file at {key_path})"
        )


def _verify_archives(settings: Settings, files: list[Path], key_file: Path | None) -> None:
    key = _key(settings, key_file, create=False)
    store: Store | None = None
    if settings.database_url is not None or settings.db.exists():
        store = _open(settings)
    bad = 0
    try:
        for f in files:
            if not f.is_file():
                typer.echo(f"{f}: BROKEN: no such file")
                bad += 1
                continue
            a = audit_archive.verify_archive(f, key, store)
            if a.broken is not None:
                typer.echo(f"{f}: BROKEN: {a.broken}")
                bad += 1
            elif a.recorded is False:
                typer.echo(
                    f"{f}: signature and chain intact, but the database records no archive"
                    f" ending at line {a.last_id} with this hash"
                )
                bad += 1
            else:
                where = "; recorded in the database" if a.recorded else ""
                typer.echo(
                    f"{f}: intact: lines {a.first_id}-{a.last_id} ({a.lines}), last hash"
                    f" {a.last_hash}{where}"
                )
    finally:
        if store is not None:
            store.close()
    if bad:
        raise typer.Exit(1)


@audit_app.command("anchor")
def anchor(
    anchors: Path | None = typer.Option(
        None,
        "--anchors",
        help="Anchor file to append to (default: STANDBY_AUDIT_ANCHOR_FILE, <db>.audit-anchors).",
    ),
    db: Path | None = DB,
    database_url: str | None = URL,
) -> None:
    """Append the audit chain's head to the anchor file (run it from cron, or at shutdown)."""
    settings = _settings(db, database_url)
    path = anchors or audit_anchor_file(settings)
    if path is None:
        typer.echo("error: set STANDBY_AUDIT_ANCHOR_FILE or --anchors", err=True)
        raise typer.Exit(2)
    store = _open(settings)
    try:
        a = audit_anchors.write(store, path)
    finally:
        store.close()
    typer.echo(f"anchored line {a.id}: {a.hash} in {path}")


@audit_app.command("archive")
def archive(
    out: Path = typer.Option(..., "--out", help="Folder that receives the archive file."),
    before: str | None = typer.Option(
        None,
        "--before",
        help="Archive lines older than this date or instant, UTC (default: now minus "
        "STANDBY_AUDIT_RETENTION_DAYS).",
    ),
    key_file: Path | None = KEY,
    db: Path | None = DB,
    database_url: str | None = URL,
) -> None:
    """Move old audit lines into a signed archive file; the chain stays verifiable."""
    settings = _settings(db, database_url)
    if before is None:
        if settings.audit_retention_days is None:
            typer.echo("error: give --before, or set STANDBY_AUDIT_RETENTION_DAYS", err=True)
            raise typer.Exit(2)
        cutoff = instant(now() - timedelta(days=settings.audit_retention_days))
    else:
        try:
            cutoff = instant(parse_instant(before if "T" in before else before + "T00:00:00Z"))
        except ValueError:
            typer.echo(
                f"error: --before {before!r}: give a date (2026-01-31) or an instant"
                " (2026-01-31T00:00:00Z)",
                err=True,
            )
            raise typer.Exit(2) from None
    key = _key(settings, key_file, create=True)
    store = _open(settings)
    try:
        got = audit_archive.archive(store, before=cutoff, out_dir=out, key=key)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.close()
    if got is None:
        typer.echo(f"no audit lines older than {cutoff}: nothing archived")
        return
    typer.echo(
        f"archived lines {got.first_id}-{got.last_id} ({got.lines}) older than {cutoff}"
        f" to {got.file}; last hash {got.last_hash}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
