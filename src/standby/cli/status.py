"""`standby status` — how fresh the replica is, per source (docs/cli.md, docs/sync.md)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from standby.settings import load_settings
from standby.store import open_store


def status(
    db: Path | None = typer.Option(None, "--db", help="SQLite replica file."),
    database_url: str | None = typer.Option(
        None, "--database-url", help="PostgreSQL URL instead of the SQLite file."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Data as of; per source: data as of, lag, reachable, errors; quarantine; resources."""
    from datetime import timedelta

    from standby import clock
    from standby.sync import status as sync_status

    settings = load_settings(db=db, database_url=database_url)
    store = open_store(db=settings.db, database_url=settings.database_url)
    try:
        now = clock.now()
        sources = sync_status.source_status(store, now)
        health = sync_status.sync_health(store, now)
        counts = store.counts_by_type()
        since = clock.instant(now - timedelta(hours=1))
        quarantined = store.quarantined(since=since, limit=20)
    finally:
        store.close()
    if as_json:
        out = {
            "now": clock.instant(now),
            "data_as_of": None if health.data_as_of is None else clock.instant(health.data_as_of),
            "sources": [s.as_json() for s in sources],
            "resources_by_type": counts,
            "errors_last_hour": health.errors_last_hour,
            "quarantined_last_hour": health.quarantined_last_hour,
            "quarantined_recent": [
                {
                    "at": q.at,
                    "file": q.file,
                    "line": q.line,
                    "resource_type": q.resource_type,
                    "resource_id": q.resource_id,
                    "reason": q.reason,
                }
                for q in quarantined
            ],
        }
        typer.echo(json.dumps(out, indent=2))
        return
    as_of = "unknown" if health.data_as_of is None else clock.instant(health.data_as_of)
    typer.echo(f"data as of: {as_of} (what the viewer and the packets say)")
    if not sources:
        typer.echo("no sync has run against this replica yet")
    for s in sources:
        lag = "unknown" if s.lag_seconds is None else f"{s.lag_seconds:.0f} s"
        reach = {None: "unknown", True: "yes", False: "NO"}[s.reachable]
        typer.echo(f"source {s.source} ({s.url})")
        typer.echo(f"  data as of:   {s.data_as_of or 'never synchronised'} (lag {lag})")
        typer.echo(f"  reachable:    {reach}")
        typer.echo(
            f"  last round:   {s.last_round_started or '-'} → {s.last_round_finished or '-'}"
        )
        typer.echo(f"  census:       {s.census_patients} patients")
        typer.echo(f"  errors (1 h): {s.errors_last_hour}")
        if s.last_error:
            typer.echo(f"  last error:   {s.last_error}")
        for e in s.recent_errors:
            typer.echo(f"    {e['at']} {e['kind']}: {e['message']}")
    typer.echo(f"quarantined (1 h): {health.quarantined_last_hour}")
    for q in quarantined[:5]:
        where = q.file or ""
        if q.line:
            where += f":{q.line}"
        typer.echo(f"  {q.at} {where} {q.resource_type or ''} — {q.reason}")
    typer.echo("resources by type:")
    for rtype, n in sorted(counts.items()):
        typer.echo(f"  {rtype:<28}{n:>10}")


def register(app: typer.Typer) -> None:
    app.command("status")(status)
