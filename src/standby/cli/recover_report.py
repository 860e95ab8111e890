"""`standby recover report` — the back-entry reconciliation report as PDF or CSV
(docs/recovery.md#reconciliation-report, docs/cli.md).

The `recover` command group is made by cli/recover.py; it adds this command with
`recover_report.register(recover_app)`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from standby.cli.replica import open_replica
from standby.settings import load_settings, zone


def register(recover: typer.Typer) -> None:
    @recover.command("report")
    def report_command(
        out: Path = typer.Option(
            ..., "--out", help="File to write: .pdf for the PDF, .csv for one row per entry."
        ),
        db: Path | None = typer.Option(
            None, "--db", help="SQLite replica file (default: settings, ./standby.db)."
        ),
        database_url: str | None = typer.Option(
            None,
            "--database-url",
            help="PostgreSQL URL instead of the SQLite file (default: STANDBY_DATABASE_URL).",
        ),
    ) -> None:
        """The reconciliation report as PDF or CSV: is every downtime entry in the EHR?

        Counts by kind, unit and author, what remains, the time back-entry took. Exit 0
        when complete, 1 when entries remain."""
        from standby.reports.pages import HOSPITAL_WIDE, Furniture
        from standby.reports.reconciliation import reconciliation_pdf
        from standby.web import reconciliation

        suffix = out.suffix.lower()
        if suffix not in (".pdf", ".csv"):
            typer.echo("error: --out must end in .pdf or .csv", err=True)
            raise typer.Exit(2)
        try:
            settings = load_settings(db=db, database_url=database_url)
        except ValueError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from e
        tz = zone(settings)
        store = open_replica(settings)
        try:
            now = datetime.now(tz)
            rec = reconciliation.build(store, now)
            if suffix == ".pdf":
                from standby.sync.status import data_as_of

                f = Furniture(data_as_of=data_as_of(store), generated=now, unit=HOSPITAL_WIDE)
                out.write_bytes(reconciliation_pdf(reconciliation.sheet(rec, tz), f))
            else:
                with out.open("w", newline="", encoding="utf-8") as fh:
                    fh.writelines(reconciliation.csv_lines(rec, tz))
        finally:
            store.close()
        typer.echo(rec.statement())
        typer.echo(f"wrote {out}")
        if not rec.complete:
            raise typer.Exit(1)
