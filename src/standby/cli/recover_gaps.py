"""`standby recover gaps` — the device-data gap list of the last downtime as CSV
(docs/recovery.md#device-data-gaps): for each patient on each unit during the downtime,
the stretches without vital signs and the scheduled doses with nothing recorded, in the
EHR or the journal.

The `recover` command group is made by its own module; it adds this command with
`recover_gaps.register(recover_app)`.
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path

import typer

from standby import clinical
from standby.cli.status import open_replica
from standby.settings import load_settings, zone
from standby.web.routes.gaps import CSV_HEADER, csv_rows, downtime_window, unit_gaps


def _when(text: str | None, tz: object) -> datetime | None:
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        typer.echo(f"not a time: {text!r} (use YYYY-MM-DDTHH:MM, the hospital's clock)", err=True)
        raise typer.Exit(2) from None
    return t if t.tzinfo else t.replace(tzinfo=tz)  # type: ignore[arg-type]


def register(recover: typer.Typer) -> None:
    @recover.command("gaps")
    def gaps_command(
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
        start: str | None = typer.Option(
            None,
            "--from",
            help="Start of the window, YYYY-MM-DDTHH:MM (default: the last downtime's).",
        ),
        end: str | None = typer.Option(
            None, "--to", help="End of the window (default: the last downtime's end, or now)."
        ),
        out: Path | None = typer.Option(None, "--out", help="CSV file to write (default: stdout)."),
    ) -> None:
        """What must be re-entered after the downtime, per patient, as CSV."""
        settings = load_settings(db=db, database_url=database_url)
        tz = zone(settings)
        store = open_replica(settings)
        try:
            now = datetime.now(tz)
            t0, t1 = _when(start, tz), _when(end, tz)
            if t0 is None or t1 is None:
                window = downtime_window(store, now)
                if window is None:
                    typer.echo(
                        "no downtime has been declared on this replica: pass --from and --to",
                        err=True,
                    )
                    raise typer.Exit(1)
                t0, t1 = t0 or window[0], t1 or window[1]
            if t1 <= t0:
                typer.echo("--to must be after --from", err=True)
                raise typer.Exit(2)
            units = clinical.units(store)
            if unit:
                wanted = set(unit)
                units = [u for u in units if u.id in wanted or u.alias in wanted]
                missing = wanted - {u.id for u in units} - {u.alias for u in units}
                if missing:
                    typer.echo(f"no such unit: {', '.join(sorted(missing))}", err=True)
                    raise typer.Exit(2)
            rows = [
                row for u in units for row in csv_rows(u, unit_gaps(store, settings, u, t0, t1), tz)
            ]
        finally:
            store.close()
        handle = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
        try:
            w = csv.writer(handle)
            w.writerow(CSV_HEADER)
            w.writerows(rows)
        finally:
            if out:
                handle.close()
        if out:
            typer.echo(f"{len(rows)} rows written to {out}", err=True)
