"""`standby recover plan|run|status` — back-entry from the command line (docs/cli.md,
docs/recovery.md).

This module wires back-entry to the rest of Standby (the composition root): the monitor's
downtime state (a run starts only once the incident commander has ended the downtime),
the registrar's decisions on downtime registrations (`decisions_of`), and the sync's
HTTP client, credentials and retry rules.

Exit codes: 0 done (everything filed or waiting for a person); 1 the run stopped (the EHR
did not answer) or left entries sent but not read back: run it again; 2 bad usage, or
back-entry may not start yet; 3 the EHR refused our credentials.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import typer

from standby import clock
from standby.cli.replica import open_replica
from standby.recovery import matches, start
from standby.settings import Settings, load_settings
from standby.store import Store

recover_app = typer.Typer(
    help="Back-entry: file what was documented during downtime into the EHR, exactly once.",
    no_args_is_help=True,
)

DB = typer.Option(None, "--db", help="SQLite replica file (default: settings, ./standby.db).")
URL = typer.Option(
    None,
    "--database-url",
    help="PostgreSQL URL instead of the SQLite file (default: STANDBY_DATABASE_URL).",
)
SOURCE = typer.Option(
    None,
    "--source",
    help="FHIR base URL of the EHR to file into (default: STANDBY_SOURCE_URL; with --drill "
    "required, and not the EHR Standby replicates).",
)
DRILL = typer.Option(
    False,
    "--drill",
    help="File the drill's entries (only those) into a test EHR named by --source; needs no "
    "ended downtime.",
)
AS_JSON = typer.Option(False, "--json", help="Print JSON instead of text.")


def decisions_of(store: Store) -> Mapping[str, str | None]:
    """The registrar's decisions on downtime registrations (registration entry id → the
    EHR Patient id to file under, or None: a new Patient), as they stand
    (`standby.recovery.matches`); a registration without one is held. For `plan`: read
    only, a registrar may still change them."""
    return matches.all_decisions(store)


def decisions_frozen(store: Store) -> Mapping[str, str | None]:
    """The decisions a run files by, each frozen first (`recovery.start.decisions_frozen`)."""
    return start.decisions_frozen(store)


def node_name(settings: Settings) -> str:
    return settings.node_name or socket.gethostname()


def _settings(db: Path | None, database_url: str | None, source: str | None) -> Settings:
    try:
        return load_settings(db=db, database_url=database_url, source_url=source)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e


def may_start(store: Store, *, drill: bool) -> str | None:
    """Why back-entry may not start now (None: it may): only after the incident commander
    has ended the downtime (`recovery.start.why_not`)."""
    from standby.monitor.status import current_status

    st = current_status(store)
    return start.why_not(st.state, st.ended_at, drill=drill)


@contextmanager
def ehr_session(settings: Settings, *, drill: bool) -> Iterator[tuple[Store, Any]]:
    """The replica and a client of the EHR for a run that may start now (`may_start`);
    exits 2 with the reason when there is no EHR, it may not start yet, or the
    credentials cannot be read. Shared by `standby recover run` and `standby schedule
    writeback`."""
    if not settings.source_url:
        typer.echo("error: no EHR: pass --source URL or set STANDBY_SOURCE_URL", err=True)
        raise typer.Exit(2)
    store = open_replica(settings)
    try:
        why = may_start(store, drill=drill)
        if why:
            typer.echo(f"error: {why}", err=True)
            raise typer.Exit(2)
        try:
            client = _client(settings)
        except ValueError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from e
        with client:
            yield store, client
    finally:
        store.close()


def _check_drill_target(settings: Settings, source: str | None, drill: bool) -> None:
    if not drill:
        return
    configured = load_settings().source_url
    if not source:
        typer.echo("error: --drill needs --source: the test EHR to file into", err=True)
        raise typer.Exit(2)
    if configured and source.rstrip("/") == configured.rstrip("/"):
        typer.echo(
            f"error: a drill files into a test EHR, not the EHR Standby replicates ({configured})",
            err=True,
        )
        raise typer.Exit(2)


def _client(settings: Settings) -> Any:
    from standby.sync.http import FhirClient, RetryPolicy
    from standby.sync.runner import settings_auth

    return FhirClient(
        settings.source_url or "",
        auth=settings_auth(settings),
        concurrency=settings.recovery_concurrency,
        rate=settings.recovery_rate,
        timeout=settings.sync_timeout_seconds,
        policy=RetryPolicy(max_attempts=settings.sync_max_attempts),
    )


@recover_app.command("plan")
def plan(
    db: Path | None = DB,
    database_url: str | None = URL,
    source: str | None = SOURCE,
    drill: bool = DRILL,
    steps: bool = typer.Option(False, "--steps", help="List every entry's writes too."),
    as_json: bool = AS_JSON,
) -> None:
    """Print what back-entry would send (asks the EHR only for its CapabilityStatement)."""
    from standby.recovery import execute, state

    settings = _settings(db, database_url, source)
    store = open_replica(settings)
    try:
        transactions = False
        asked = "no EHR configured: single requests assumed"
        if settings.source_url:
            try:
                with _client(settings) as client:
                    transactions = execute.discover_transactions(client)
                asked = f"asked {settings.source_url}/metadata"
            except ValueError as e:
                asked = f"could not ask the EHR ({e}): single requests assumed"
        p = execute.plan_from_store(
            store, decisions=decisions_of(store), transactions=transactions, drill=drill
        )
        known = state.of_entries(store, [s.entry_id for s in p.steps])
    finally:
        store.close()
    done = {k for k, b in known.items() if b.status not in state.OPEN}
    open_steps = [s for s in p.steps if s.entry_id not in done]
    if as_json:
        typer.echo(
            orjson.dumps(
                {
                    "transactions": transactions,
                    "patients": len(p.patients),
                    "held_patients": [pp.patient_key for pp in p.patients if pp.held],
                    "entries": len(p.steps),
                    "already_done": len(done),
                    "writes": p.writes(),
                    "left_out": dict(p.left_out),
                    "notes": list(p.notes),
                    "steps": [
                        {
                            "entry": s.entry_id,
                            "kind": s.kind,
                            "patient": s.patient_key,
                            "problem": s.problem,
                            "writes": [_describe(w) for w in s.writes],
                        }
                        for s in open_steps
                    ]
                    if steps
                    else [],
                }
            ).decode()
        )
        return
    by_kind: dict[str, int] = {}
    for s in open_steps:
        by_kind[s.kind] = by_kind.get(s.kind, 0) + 1
    typer.echo(f"EHR: {asked}")
    typer.echo(
        "sent as: " + ("one transaction Bundle per patient" if transactions else "single requests")
    )
    typer.echo(
        f"{len(open_steps)} entries to file ({len(done)} already done) for {len(p.patients)} "
        f"patients: {p.writes()} writes"
    )
    for kind, n in sorted(by_kind.items()):
        typer.echo(f"  {kind}: {n}")
    held = [pp for pp in p.patients if pp.held]
    if held:
        typer.echo(f"held (no registrar's decision yet): {len(held)} downtime-registered patients")
    problems = [s for s in open_steps if s.problem]
    for s in problems:
        typer.echo(f"cannot be filed: entry {s.entry_id} ({s.kind}): {s.problem}")
    for why, n in sorted(p.left_out.items()):
        typer.echo(f"not filed: {n} {why}")
    for note in p.notes:
        typer.echo(f"note: {note}")
    if steps:
        for s in open_steps:
            typer.echo(f"{s.entry_id} {s.kind} patient {s.patient_key}:")
            for w in s.writes:
                typer.echo(f"    {_describe(w)}")


def _describe(w: Any) -> str:
    if w.method == "POST":
        return f"POST {w.resource_type} If-None-Exist: {w.if_none_exist}"
    cond = ""
    if w.if_match:
        cond = f' If-Match: W/"{w.if_match}"'
    elif w.if_match_after:
        cond = f" If-Match: the version entry {w.if_match_after} wrote"
    return f"PUT {w.target}{cond}"


@recover_app.command("run")
def run(
    db: Path | None = DB,
    database_url: str | None = URL,
    source: str | None = SOURCE,
    drill: bool = DRILL,
    single: bool = typer.Option(
        False,
        "--single-requests",
        help="Send single requests even if the EHR takes transaction Bundles.",
    ),
    workers: int = typer.Option(
        1, "--workers", help="Patients filed at once (each under its own lease)."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """File the journal into the EHR: once the downtime is ended; resumable at any point."""
    from standby.recovery import execute

    settings = _settings(db, database_url, source)
    _check_drill_target(settings, source, drill)
    with ehr_session(settings, drill=drill) as (store, client):
        result = execute.run(
            store,
            client,
            decisions_of=decisions_frozen,
            node=node_name(settings),
            drill=drill,
            transactions=False if single else None,
            lease=timedelta(seconds=settings.recovery_lease_seconds),
            entries_per_transaction=settings.recovery_entries_per_transaction,
            workers=workers,
        )
    if as_json:
        typer.echo(orjson.dumps(result.as_json()).decode())
    else:
        typer.echo(
            f"run {result.run_id}: {result.confirmed} confirmed, {result.conflict} conflict, "
            f"{result.rejected} rejected, {result.held} held, {result.unconfirmed} not read "
            f"back yet; {result.patients} patients"
            + (
                f", {result.busy_elsewhere} being filed by another runner"
                if result.busy_elsewhere
                else ""
            )
        )
    if result.withdrawn_after_filing:
        typer.echo(
            f"{len(result.withdrawn_after_filing)} entries were filed and then struck or "
            "corrected in the journal: the EHR still holds them; correct them there by hand: "
            + ", ".join(result.withdrawn_after_filing[:20]),
            err=True,
        )
    if result.stopped:
        typer.echo(f"stopped: {result.stopped} (run again to go on)", err=True)
        code = 3 if "credentials" in result.stopped else 1
        raise typer.Exit(code)
    if result.unconfirmed or result.busy_elsewhere:
        raise typer.Exit(1)


@recover_app.command("status")
def status(db: Path | None = DB, database_url: str | None = URL, as_json: bool = AS_JSON) -> None:
    """Counts of back-entry by kind and status, and the time it took."""
    from standby.recovery import state

    settings = _settings(db, database_url, None)
    store = open_replica(settings)
    try:
        counts = state.counts(store)
        totals = state.totals(store)
        timing = state.timing(store)
    finally:
        store.close()
    took = timing.took
    if as_json:
        typer.echo(
            orjson.dumps(
                {
                    "by_kind": counts,
                    "totals": totals,
                    "first_sent_at": clock.instant(timing.first_sent_at)
                    if timing.first_sent_at
                    else None,
                    "last_confirmed_at": clock.instant(timing.last_confirmed_at)
                    if timing.last_confirmed_at
                    else None,
                    "took_seconds": took.total_seconds() if took else None,
                }
            ).decode()
        )
        return
    if not counts:
        typer.echo("back-entry has not run on this replica")
        return
    statuses = [s for s in totals if totals[s]]
    typer.echo("kind".ljust(22) + "".join(s.rjust(16) for s in statuses))
    for kind, by in counts.items():
        typer.echo(kind.ljust(22) + "".join(str(by.get(s, 0)).rjust(16) for s in statuses))
    typer.echo("all".ljust(22) + "".join(str(totals[s]).rjust(16) for s in statuses))
    if took is not None:
        typer.echo(f"time taken: {took} (first sent to last confirmed)")
    waiting = totals["conflict"] + totals["rejected"] + totals["held"]
    if waiting:
        typer.echo(f"waiting for a person (review queue, registrar): {waiting}")


def register(app: typer.Typer) -> None:
    from standby.cli import recover_gaps, recover_report

    recover_report.register(recover_app)
    recover_gaps.register(recover_app)
    app.add_typer(recover_app, name="recover")
