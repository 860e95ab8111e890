"""`standby schedule` — surgery and visit triage during an outage, and rebooking
(docs/schedule.md, docs/cli.md#standby-schedule)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

import typer

from standby.schedule.rules import (
    Rules,
    RulesError,
    default_rules,
    default_rules_text,
    load_rules_file,
)
from standby.schedule.triage import SystemsSeen
from standby.store.base import Store

schedule_app = typer.Typer(
    help="Triage surgeries and visits during an EHR outage; rebook what is postponed.",
    no_args_is_help=True,
)

DB = typer.Option(
    None, "--db", help="SQLite replica file (default: STANDBY_DB, else ./standby.db)."
)
URL = typer.Option(
    None,
    "--database-url",
    help="PostgreSQL URL instead of the SQLite file (default: STANDBY_DATABASE_URL).",
)
RULES = typer.Option(
    None,
    "--rules",
    help="Triage rules (TOML); default: STANDBY_SCHEDULE_RULES, else the shipped rules.",
)


def _rules(path: Path | None, settings_path: Path | None) -> Rules:
    chosen = path or settings_path
    try:
        return load_rules_file(chosen) if chosen else default_rules()
    except RulesError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None


def _seen(store: Store) -> SystemsSeen:
    """What the monitor sees now: failed probes, those that reported, EHR downtime."""
    from standby.monitor import probes
    from standby.monitor.status import current_status

    try:
        latest = probes.latest(store)
    except Exception:  # the monitor never ran on this replica
        latest = []
    return SystemsSeen(
        frozenset(p.probe for p in latest if p.outcome == "failed"),
        frozenset(p.probe for p in latest),
        current_status(store).in_downtime,
    )


@schedule_app.command("rules")
def rules_cmd(
    rules: Path | None = RULES,
    show_default: bool = typer.Option(False, "--default", help="Print the shipped rules file."),
) -> None:
    """Check a rules file (the first mistake, with its line) and summarise it."""
    from standby.settings import load_settings

    if show_default:
        typer.echo(default_rules_text(), nl=False)
        return
    r = _rules(rules, load_settings().schedule_rules)
    typer.echo(f"{r.source}: ok")
    for s in r.systems.values():
        watch = ", ".join(s.probes) or "no probe"
        typer.echo(f"  system {s.name}: {s.label} — {watch}{'; EHR downtime' if s.ehr else ''}")
    typer.echo(f"  {len(r.needs)} [[needs]] rules; horizon {r.horizon_hours} h")


@schedule_app.command("triage")
def triage_cmd(
    db: Path | None = DB,
    database_url: str | None = URL,
    rules: Path | None = RULES,
    hours: int | None = typer.Option(
        None, "--hours", help="How far ahead (default: the rules' horizon_hours)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Every surgery and visit of the next hours with its decision and reasons, as the
    monitor sees the systems now (overrides and OR desk entries included)."""
    from standby import clock
    from standby.cli.status import open_replica
    from standby.schedule import repository as repo
    from standby.schedule.items import items_in_window
    from standby.schedule.triage import counts, triage
    from standby.settings import load_settings, zone

    settings = load_settings(db=db, database_url=database_url)
    r = _rules(rules, settings.schedule_rules)
    store = open_replica(settings)
    try:
        now = clock.now()
        seen = _seen(store)
        items = items_in_window(store, now, now + timedelta(hours=hours or r.horizon_hours))
        rows = triage(items, r, seen, repo.unavailable(store, now), repo.overrides(store))
    finally:
        store.close()
    tz = zone(settings)
    if as_json:
        out = [
            {
                "appointment": x.item.id,
                "kind": x.item.kind,
                "start": x.item.start.isoformat(),
                "patient": {
                    "name": x.item.patient.name,
                    "dob": x.item.patient.dob,
                    "mrn": x.item.patient.mrn,
                },
                "what": x.item.what,
                "priority": x.priority,
                "decision": x.decision,
                "by_rules": x.by_rules,
                "reasons": list(x.reasons),
                "override": x.override.reason if x.override else None,
            }
            for x in rows
        ]
        typer.echo(json.dumps(out, indent=1))
        return
    for x in rows:
        i = x.item
        typer.echo(
            f"{i.start.astimezone(tz):%a %d %b %H:%M}  {x.decision.upper():17} {x.priority:9} "
            f"{i.patient.name} (DOB {i.patient.dob}, MRN {i.patient.mrn}) — {i.what}, {i.place}"
        )
        for why in x.reasons:
            typer.echo(f"      {why}")
    typer.echo(", ".join(f"{n} {d}" for d, n in counts(rows).items()))


@schedule_app.command("rebook")
def rebook_cmd(
    db: Path | None = DB,
    database_url: str | None = URL,
    rules: Path | None = RULES,
    days: int = typer.Option(14, "--days", help="Days ahead to rebook into."),
    seconds: float = typer.Option(30.0, "--seconds", help="Time limit of the CP-SAT search."),
    workers: int = typer.Option(2, "--workers", help="CP-SAT worker threads."),
    not_before: str | None = typer.Option(
        None,
        "--not-before",
        help="Earliest new time, YYYY-MM-DD[THH:MM] in the hospital's zone (default: the "
        "midnight after the triage window); never before a case's booked time.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Propose new times for the postponed surgeries and visits (CP-SAT beside greedy);
    prints the proposal; nothing is written (accept it in the viewer)."""
    from standby import clock
    from standby.cli.status import open_replica
    from standby.schedule import repository as repo
    from standby.schedule.rebook import greedy
    from standby.schedule.rebook_cpsat import solve
    from standby.schedule.rebook_replica import build, calendar
    from standby.settings import load_settings, zone

    settings = load_settings(db=db, database_url=database_url)
    r = _rules(rules, settings.schedule_rules)
    tz = zone(settings)
    store = open_replica(settings)
    try:
        from standby.schedule.items import items_in_window
        from standby.schedule.triage import triage

        now = clock.now()
        seen = _seen(store)
        items = items_in_window(store, now, now + timedelta(hours=r.horizon_hours))
        rows = triage(items, r, seen, repo.unavailable(store, now), repo.overrides(store))
        rp = build(
            store, rows, repo.calls(store), now, tz, days=days, not_before=_when(not_before, tz)
        )
    finally:
        store.close()
    g = greedy(rp.problem)
    s = solve(rp.problem, seconds=seconds, workers=workers, hint=g)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "cases": len(rp.problem.cases),
                    "greedy": {
                        "weighted_delay": g.score.weighted_delay,
                        "overtime": g.score.overtime,
                    },
                    "cp_sat": {
                        "weighted_delay": s.score.weighted_delay,
                        "overtime": s.score.overtime,
                        "late": s.score.late,
                        "unplaced": s.score.unplaced,
                        "bound": s.bound,
                        "seconds": round(s.seconds, 2),
                    },
                    "placements": [
                        {
                            "appointment": p.case,
                            "room": rp.rooms.get(p.room, p.room),
                            "start": rp.at(p.start).isoformat(),
                            "end": rp.at(p.end).isoformat(),
                        }
                        for p in s.placements.values()
                    ],
                },
                indent=1,
            )
        )
        return
    typer.echo(
        f"{len(rp.problem.cases)} postponed case(s); weighted delay CP-SAT "
        f"{s.score.weighted_delay} (greedy {g.score.weighted_delay}); overtime "
        f"{s.score.overtime} min; late {s.score.late}; not placed {s.score.unplaced}; "
        f"{s.seconds:.1f} s"
    )
    for room, cases in calendar(rp, s.placements.values()).items():
        typer.echo(room)
        for pl, item in cases:
            a, b = rp.at(pl.start).astimezone(tz), rp.at(pl.end).astimezone(tz)
            was = item.start.astimezone(tz)
            typer.echo(
                f"  {a:%a %d %b %H:%M}–{b:%H:%M}  {item.patient.name} (DOB {item.patient.dob},"
                f" MRN {item.patient.mrn}) — {item.what}, {item.provider.name}"
                f" (was {was:%a %d %b %H:%M})"
            )


@schedule_app.command("writeback")
def writeback_cmd(
    db: Path | None = DB,
    database_url: str | None = URL,
    source: str | None = typer.Option(
        None, "--source", help="FHIR base URL of the EHR (default: STANDBY_SOURCE_URL)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Write the accepted rebookings to the EHR as Appointment updates (If-Match on the
    version each was proposed from), exactly once; only after the incident commander has
    ended the downtime. Conflicts go to the review queue. Exit 0 done, 1 the EHR stopped
    answering (run again), 2 may not start yet or bad usage, 3 credentials refused."""
    from standby import clock
    from standby.cli.recover import _settings, ehr_session, node_name
    from standby.recovery import appointments
    from standby.schedule import repository as repo

    settings = _settings(db, database_url, source)
    with ehr_session(settings, drill=False) as (store, client):
        result = appointments.write_back(
            store,
            client,
            repo.to_write_back(store),
            node=node_name(settings),
            on_confirmed=lambda r: repo.mark_written_back(store, r.seq, clock.now()),
        )
    if as_json:
        typer.echo(json.dumps(result.as_json()))
    else:
        typer.echo(
            f"write-back {result.run_id}: {len(result.confirmed)} confirmed, "
            f"{len(result.conflict)} conflict (review queue), {len(result.rejected)} rejected; "
            f"{result.sent} update(s) sent"
        )
    if result.stopped:
        typer.echo(f"stopped: {result.stopped} — run it again", err=True)
        raise typer.Exit(3 if "credentials" in result.stopped else 1)


def _when(text: str | None, tz: tzinfo) -> datetime | None:
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not YYYY-MM-DD[THH:MM]") from None
    return t if t.tzinfo else t.replace(tzinfo=tz)


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")
