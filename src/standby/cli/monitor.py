"""`standby monitor run|status|declare|end|broadcast|log|report|drill ...` — outage detection
and downtime from the command line (docs/cli.md#standby-monitor, docs/monitor.md).

This module is also where the monitor is wired to the rest of Standby (the composition
root): `start_monitor(settings, store)` builds the runner with the packet generator of
`standby.reports` and the token provider of the source EHR, for `standby serve` too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import typer

from standby import clock
from standby.accounts import audit_anchors
from standby.cli.replica import open_replica
from standby.clinical.documentation_times import first_documentation
from standby.edge.upstream import edge_of
from standby.monitor import after_action, downtime, drills, incidents, probes
from standby.monitor.config import MonitorConfig
from standby.monitor.notify import outbox
from standby.monitor.runner import MonitorRunner
from standby.monitor.state import InvalidTransition
from standby.monitor.status import current_status, shown
from standby.settings import Settings, load_settings, standard_times, zone
from standby.store import Store
from standby.sync.status import data_as_of

monitor_app = typer.Typer(
    help="Outage detection and downtime: probe the EHR, declare and end downtime, drills.",
    no_args_is_help=True,
)
drill_app = typer.Typer(
    help="Drills: the whole downtime flow, labelled DRILL.", no_args_is_help=True
)
monitor_app.add_typer(drill_app, name="drill")

DB = typer.Option(None, "--db", help="SQLite replica file (default: settings, ./standby.db).")
URL = typer.Option(
    None,
    "--database-url",
    help="PostgreSQL URL instead of the SQLite file (default: STANDBY_DATABASE_URL).",
)
BY = typer.Option(..., "--by", help="Who does this (the incident commander's name).")


# ---- wiring (composition root) ----------------------------------------------------------
def token_provider(settings: Settings) -> Callable[[], str] | None:
    """The bearer token for the authenticated read probe (None: no Authorization header)."""
    if settings.auth == "bearer" and settings.bearer_token:
        token = settings.bearer_token
        return lambda: token
    if settings.auth == "smart-backend":
        from standby.sync.auth import token_provider as smart_token  # loaded when used

        return smart_token(settings)
    return None


def packet_hook(settings: Settings, store: Store) -> downtime.PacketHook:
    """Runs one packet generation (standby.reports) with the DOWNTIME or DRILL banner:
    every unit's census and MARs first, then the rest, units in worker processes."""
    out_dir = Path(settings.reports_out_dir or "packets")

    def hook(banner: str, now: datetime) -> str:
        from standby.reports.regeneration import generate_all  # reportlab: loaded when used

        local = now.astimezone(zone(settings))  # the hospital's clock on the packets
        status = current_status(store)
        result = generate_all(
            store,
            out_dir,
            local,
            data_as_of=data_as_of(store),
            banner=banner,
            downtime_since=status.since if status.in_downtime else None,
            standard_times=standard_times(settings),
            first=True,  # every unit's census and MARs before anything else
            edge=edge_of(store) is not None,
        )
        return str(result)[:500]

    return hook


def make_runner(settings: Settings, store: Store, **overrides: Any) -> MonitorRunner:
    cfg = MonitorConfig.from_settings(settings, **overrides)
    return MonitorRunner(
        store,
        cfg,
        settings.source_url,
        token_provider=token_provider(settings),
        packet_hook=packet_hook(settings, store),
    )


def start_monitor(settings: Settings, store: Store) -> MonitorRunner:
    """Start the probe loop and the notification sender in threads (`standby serve`)."""
    return make_runner(settings, store).start()


def _open(db: Path | None, database_url: str | None) -> tuple[Settings, Store]:
    settings = load_settings(db=db, database_url=database_url)
    return settings, open_replica(settings)


def _deliver(settings: Settings, store: Store, timeout_s: float = 30.0) -> None:
    cfg = MonitorConfig.from_settings(settings)
    sent = outbox.drain(
        store,
        cfg.channels(),
        timeout_s=timeout_s,
        backoff=cfg.backoff,
        on_sent=lambda row: downtime.note_sent(store, row, clock.now()),
    )
    typer.echo(f"notifications sent: {sent}")


def _fail(e: Exception) -> typer.Exit:
    typer.echo(f"error: {e}", err=True)
    return typer.Exit(1)


# ---- commands -------------------------------------------------------------------------
@monitor_app.command("run")
def run(
    db: Path | None = DB,
    database_url: str | None = URL,
    once: bool = typer.Option(False, "--once", help="One probe round, then exit."),
    source: str | None = typer.Option(
        None, "--source", help="EHR FHIR base URL to probe (default: STANDBY_SOURCE_URL)."
    ),
    interval: float | None = typer.Option(
        None,
        "--interval",
        help="Seconds between rounds (default: 10, or STANDBY_MONITOR_INTERVAL_SECONDS).",
    ),
) -> None:
    """Probe the EHR (and the extra probes) and declare downtime when it stops answering."""
    settings = load_settings(db=db, database_url=database_url, source_url=source)
    store = open_replica(settings)
    overrides = {} if interval is None else {"interval_s": interval}
    runner = make_runner(settings, store, **overrides)
    if once:
        runner.run_once()
        runner.deliver()
        runner.stop()
        _print_status(store)
        return
    typer.echo(
        f"probing {settings.source_url or '(no source)'} every "
        f"{runner.cfg.interval_s:g} s; Ctrl-C to stop"
    )
    runner.start()
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()


def _print_status(store: Store) -> None:
    s = current_status(store)
    typer.echo(
        f"{s.label} since {shown(s.since)}"
        + (f"  incident {s.incident_id}" if s.incident_id else "")
    )
    if s.last_round_at is None:
        typer.echo("monitor: never run on this replica (no probe round recorded)")
    else:
        answered = {None: "no EHR probes", True: "EHR answered", False: "EHR did not answer"}
        typer.echo(f"last probe round: {shown(s.last_round_at)} ({answered[s.ehr_answered]})")
    if s.message:
        typer.echo(f"message: {s.message}")
    for p in probes.latest(store):
        ms = "" if p.latency_ms is None else f" {p.latency_ms:.0f} ms"
        typer.echo(f"  {p.probe:<16} {p.outcome:<7}{ms}  {p.detail}")


@monitor_app.command("status")
def status(
    db: Path | None = DB,
    database_url: str | None = URL,
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """Show the downtime state, since when, the latest message and the last probe results."""
    from standby.cli.status import require_replica

    require_replica(load_settings(db=db, database_url=database_url))
    _, store = _open(db, database_url)
    if as_json:
        s = current_status(store)
        out = {**s.__dict__, "label": s.label, "never_run": s.last_round_at is None}
        typer.echo(orjson.dumps(out).decode())
        return
    _print_status(store)


@monitor_app.command("declare")
def declare(
    by: str = BY,
    reason: str = typer.Option("", "--reason", help="Why (goes on the timeline)."),
    message: str = typer.Option(
        "", "--message", help="Public message for staff (no patient data)."
    ),
    db: Path | None = DB,
    database_url: str | None = URL,
) -> None:
    """Declare EHR downtime now (as the incident commander) and notify."""
    settings, store = _open(db, database_url)
    cfg = MonitorConfig.from_settings(settings)
    try:
        out = downtime.declare(store, cfg, by, clock.now(), reason=reason, message=message)
    except InvalidTransition as e:
        raise _fail(e) from e
    typer.echo(f"downtime declared: incident {out.declared}")
    if out.declared:
        downtime.run_packets(store, packet_hook(settings, store), out.declared, False, clock.now)
    _deliver(settings, store)


@monitor_app.command("end")
def end(
    by: str = BY,
    message: str = typer.Option("", "--message", help="Closing message for staff."),
    db: Path | None = DB,
    database_url: str | None = URL,
) -> None:
    """End downtime (confirm the proposed recovery) as the incident commander, and notify."""
    settings, store = _open(db, database_url)
    try:
        downtime.confirm_end(
            store, MonitorConfig.from_settings(settings), by, clock.now(), message=message
        )
    except InvalidTransition as e:
        raise _fail(e) from e
    typer.echo("downtime ended")
    _deliver(settings, store)


@monitor_app.command("broadcast")
def broadcast(
    text: str = typer.Argument(..., help="The message ('' clears it). No patient data."),
    by: str = BY,
    public: bool = typer.Option(False, "--public", help="Also show it on the public status page."),
    db: Path | None = DB,
    database_url: str | None = URL,
) -> None:
    """Post a message every logged-in user sees on their next page."""
    _, store = _open(db, database_url)
    downtime.post_message(store, by, clock.now(), text, public=public)
    typer.echo("broadcast posted" if text.strip() else "broadcast cleared")


@monitor_app.command("log")
def log_entry(
    incident: str = typer.Argument(..., help="Incident id."),
    text: str = typer.Argument(..., help="The entry."),
    by: str = BY,
    db: Path | None = DB,
    database_url: str | None = URL,
) -> None:
    """Add an entry to an incident's log."""
    _, store = _open(db, database_url)
    try:
        incidents.add_log_entry(store, incident, clock.now(), by, text)
    except (KeyError, ValueError) as e:
        raise _fail(e) from e


@monitor_app.command("incidents")
def list_incidents(db: Path | None = DB, database_url: str | None = URL) -> None:
    """List recent incidents (drills included)."""
    _, store = _open(db, database_url)
    for i in incidents.recent(store):
        typer.echo(
            f"{i.id}  declared {shown(i.declared_at)} by {i.declared_by} ({i.how})  "
            f"{'ended ' + shown(i.ended_at) if i.ended_at else 'OPEN'}"
        )


@monitor_app.command("report")
def report(
    incident: str = typer.Argument(..., help="Incident id."),
    out: Path = typer.Option(..., "--out", help="File to write: .md for Markdown, .pdf for PDF."),
    db: Path | None = DB,
    database_url: str | None = URL,
) -> None:
    """Write the after-action report of an incident (Markdown or PDF)."""
    _, store = _open(db, database_url)
    try:
        from standby.web import reconciliation

        rep = after_action.build(
            store,
            incident,
            audit_head=audit_anchors.head_text(store),
            documentation=_documentation(store),
            back_entry=lambda: reconciliation.summary(store, clock.now()),
        )
    except KeyError as e:
        raise _fail(e) from e
    if out.suffix.lower() == ".pdf":
        out.write_bytes(after_action.pdf(rep))
    else:
        out.write_text(after_action.markdown(rep))
    typer.echo(f"wrote {out}")


@drill_app.command("start")
def drill_start(
    by: str = BY,
    notify_real: bool = typer.Option(
        False, "--notify-real", help="Notify the real recipients, not only the drill list."
    ),
    db: Path | None = DB,
    database_url: str | None = URL,
) -> None:
    """Start a drill: the running monitor sees a simulated outage and declares a DRILL."""
    _, store = _open(db, database_url)
    try:
        drills.start(store, by, clock.now(), notify_real=notify_real)
    except InvalidTransition as e:
        raise _fail(e) from e
    typer.echo("drill started: the monitor (standby serve / standby monitor run) will detect it")


@drill_app.command("cancel")
def drill_cancel(by: str = BY, db: Path | None = DB, database_url: str | None = URL) -> None:
    """Cancel a drill that has not reached downtime yet."""
    _, store = _open(db, database_url)
    try:
        drills.cancel(store, by, clock.now())
    except InvalidTransition as e:
        raise _fail(e) from e


@drill_app.command("report")
def drill_report(
    incident: str | None = typer.Argument(None, help="Drill incident id (default: the latest)."),
    db: Path | None = DB,
    database_url: str | None = URL,
) -> None:
    """How long each step of a drill took: detection, first packet, first documentation."""
    _, store = _open(db, database_url)
    try:
        rep = drills.report(store, incident, _documentation(store, per_unit=False))
    except KeyError as e:
        raise _fail(e) from e
    typer.echo("\n".join(rep.lines()))


def _documentation(store: Store, *, per_unit: bool = True) -> after_action.FirstDocumentation:
    """When documentation in Standby began (the journal, read for the monitor's reports)."""
    return lambda since, until, drill: first_documentation(
        store, since, until, drill=drill, now=clock.now(), per_unit=per_unit
    )


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
