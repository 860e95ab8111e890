"""`standby report` — write every unit's downtime packets (PDF), once or every N minutes,
and optionally print them (docs/cli.md#standby-report, docs/reports.md)."""

from __future__ import annotations

import contextlib
import signal
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from standby.cli.replica import open_replica
from standby.edge.upstream import edge_of
from standby.monitor.status import current_status
from standby.settings import load_settings, standard_times, zone
from standby.store.base import Store
from standby.sync.status import data_as_of


def downtime_start(store: Store) -> datetime | None:
    """When the current downtime was declared (None outside one): the packets' MARs then
    say "not charted", never "overdue", for what the EHR cannot have heard of."""
    status = current_status(store)
    return status.since if status.in_downtime else None


def downtime_banner(store: Store) -> str | None:
    """The banner the packets carry now: "DRILL" during a drill's downtime, "DOWNTIME"
    during a real one (recovery proposed included), none otherwise; the same words as
    the monitor's packet run at the declaration."""
    status = current_status(store)
    if not status.in_downtime:
        return None
    return "DRILL" if status.drill else "DOWNTIME"


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        out: Path | None = typer.Option(
            None, "--out", help="Folder to write into (default: STANDBY_REPORTS_OUT_DIR)."
        ),
        db: Path | None = typer.Option(
            None, "--db", help="SQLite replica file (default: STANDBY_DB, else ./standby.db)."
        ),
        database_url: str | None = typer.Option(
            None,
            "--database-url",
            help="PostgreSQL URL instead of the SQLite file (default: STANDBY_DATABASE_URL).",
        ),
        unit: list[str] = typer.Option(
            [], "--unit", help="Only this unit (alias or Location id); repeatable."
        ),
        watch: bool = typer.Option(False, "--watch", help="Regenerate every N minutes."),
        interval_minutes: float | None = typer.Option(
            None,
            "--interval-minutes",
            help="Minutes between --watch runs (default: 15, or STANDBY_REPORTS_INTERVAL_MINUTES).",
        ),
        changes_every_seconds: float = typer.Option(
            60.0,
            "--changes-every-seconds",
            help="With --watch: between full runs, regenerate the units whose patients "
            "changed this often (0: never).",
        ),
        workers: int | None = typer.Option(
            None,
            "--workers",
            help="Processes generating units side by side (default: one per core).",
        ),
        keep: int | None = typer.Option(
            None,
            "--keep",
            help="Generations kept per unit (default: STANDBY_REPORTS_KEEP, else 4).",
        ),
        banner: str | None = typer.Option(
            None,
            "--banner",
            help='Banner on every page, e.g. "DOWNTIME" or "DRILL" (default: DOWNTIME or '
            "DRILL while one is declared, read at each run; else none).",
        ),
        do_print: bool = typer.Option(
            False, "--print", help="Send census and MARs to the unit's printer (CUPS lp)."
        ),
        printer: str | None = typer.Option(
            None,
            "--printer",
            help="Printer for every unit (default: each unit's from STANDBY_REPORTS_PRINTERS).",
        ),
    ) -> None:
        """Write the downtime packets: census, MARs, packets, forms, labels, schedules."""
        from standby.reports.regeneration import generate_all, run_forever  # reportlab

        settings = load_settings(db=db, database_url=database_url)
        out_dir = out or settings.reports_out_dir
        store = open_replica(settings)
        kwargs: dict[str, Any] = {
            "unit_ids": unit or None,
            "standard_times": standard_times(settings),
            "workers": workers,
            "edge": edge_of(store) is not None,  # its pages say whose data it is
        }
        if do_print:
            kwargs["printers"] = settings.reports_printers
            kwargs["print_all"] = printer
        k = keep if keep is not None else settings.reports_keep
        try:
            if not watch:
                man = generate_all(
                    store,
                    out_dir,
                    datetime.now(zone(settings)),
                    data_as_of=data_as_of(store),
                    banner=banner or downtime_banner(store),
                    downtime_since=downtime_start(store),
                    keep=k,
                    **kwargs,
                )
                typer.echo(f"{out_dir}: {man}")
                if man.errors:
                    raise typer.Exit(1)
                return
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            minutes = interval_minutes or settings.reports_interval_minutes
            typer.echo(f"writing packets to {out_dir} every {minutes:g} min (Ctrl-C stops)")
            with contextlib.suppress(KeyboardInterrupt):
                run_forever(
                    store,
                    out_dir,
                    interval_minutes=minutes,
                    changes_every_seconds=changes_every_seconds or None,
                    keep=k,
                    data_as_of=lambda: data_as_of(store),
                    banner=lambda: banner or downtime_banner(store),
                    downtime_since=lambda: downtime_start(store),
                    clock=lambda: datetime.now(zone(settings)),
                    stop=stop,
                    on_generated=lambda m: typer.echo(f"{out_dir}: {m}"),
                    **kwargs,
                )
        finally:
            store.close()
