"""`standby status` — how fresh the replica is, per source (docs/cli.md, docs/sync.md)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer

from standby.cli import replica
from standby.monitor.status import Reachability
from standby.settings import Settings, load_settings
from standby.store import Store


def open_replica(settings: Settings) -> Store:
    """The replica a read-only command reports on (`require_replica` first)."""
    require_replica(settings)
    return replica.open_replica(settings)


def require_replica(settings: Settings) -> None:
    """A read-only command does not create a SQLite file that does not exist (an empty
    replica would read as "NORMAL"): it stops and says how to point at one."""
    if not settings.database_url:
        path = Path(settings.db or "standby.db")
        if not path.exists():
            typer.echo(
                f"no replica at {path}: pass --db PATH (the demo's is demo-data/standby.db), "
                "set STANDBY_DB, or pass --database-url for PostgreSQL",
                err=True,
            )
            raise typer.Exit(1)


def _ago(at: datetime | None, now: datetime) -> str:
    return "" if at is None else f"{max(0.0, (now - at).total_seconds()):.0f} s ago"


def ehr_line(observed: Reachability, now: datetime) -> str:
    """`yes (answered 3 s ago, seen by the monitor's probes)`."""
    if observed.answered is None:
        return "unknown (not checked yet)"
    by = "the monitor's probes" if observed.by == "monitor" else "the sync"
    word = "yes" if observed.answered else "NO"
    verb = "answered" if observed.answered else "did not answer"
    return f"{word} ({verb} {_ago(observed.at, now)}, seen by {by})"


def status(
    db: Path | None = typer.Option(
        None, "--db", help="SQLite replica file (default: STANDBY_DB, else ./standby.db)."
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="PostgreSQL URL instead of the SQLite file (default: STANDBY_DATABASE_URL).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Data as of; per source: data as of, lag, reachable, errors; quarantine; resources."""
    from datetime import timedelta

    from standby import clock
    from standby.monitor.status import current_status, latest_observation
    from standby.sync import status as sync_status

    settings = load_settings(db=db, database_url=database_url)
    store = open_replica(settings)
    try:
        now = clock.now()
        sources = sync_status.source_status(store, now)
        health = sync_status.sync_health(store, now)
        monitor = current_status(store)
        counts = store.counts_by_type()
        since = clock.instant(now - timedelta(hours=1))
        quarantined = store.quarantined(since=since, limit=20)
    finally:
        store.close()
    ehr = latest_observation(
        monitor.observed, Reachability(health.reachable, health.last_contact_at, "sync")
    )
    if as_json:
        out = {
            "now": clock.instant(now),
            "ehr_answered": ehr.answered,
            "ehr_observed_at": None if ehr.at is None else clock.instant(ehr.at),
            "ehr_observed_by": ehr.by,
            "downtime_state": monitor.state,
            "monitor_last_round": (
                None if monitor.last_round_at is None else clock.instant(monitor.last_round_at)
            ),
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
    typer.echo(f"EHR answering: {ehr_line(ehr, now)}")
    typer.echo(f"downtime state: {monitor.label}")
    if monitor.last_round_at is None:
        typer.echo("monitor: never run on this replica")
    else:
        typer.echo(f"monitor: last probe round {_ago(monitor.last_round_at, now)}")
    if not sources:
        typer.echo("no sync has run against this replica yet")
    for s in sources:
        lag = "unknown" if s.lag_seconds is None else f"{s.lag_seconds:.0f} s"
        reach = {None: "unknown", True: "yes", False: "NO"}[s.reachable]
        contact = clock.parse_instant(s.last_contact_at)
        if contact is not None:
            reach += f" (its last request, {_ago(contact, now)})"
        typer.echo(f"source {s.source} ({s.url})")
        typer.echo(f"  data as of:   {s.data_as_of or 'never synchronised'} (lag {lag})")
        typer.echo(f"  reachable:    {reach}")
        typer.echo(
            f"  last round:   {_round(s.last_round_started, s.last_round_finished, s.last_round)}"
        )
        if s.plan:
            typer.echo(f"  seed:         {s.plan}")
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


def _round(started: str | None, finished: str | None, state: str | None = None) -> str:
    """The last round, never "finished before it started": a round under way says so, and
    so does one whose process was killed (interrupted) or that failed."""
    if started is None:
        return "none yet"
    if state == "interrupted":
        return f"started {started}, INTERRUPTED (it never finished)"
    if finished is None or finished < started:  # the stored form sorts as time
        before = f"; the one before finished {finished}" if finished else ""
        return f"started {started}, still running{before}"
    if state == "failed":
        return f"{started} → {finished}, FAILED (see last error)"
    return f"{started} → {finished}" + (", ok" if state == "ok" else "")


def register(app: typer.Typer) -> None:
    app.command("status")(status)
