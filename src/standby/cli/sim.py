"""`standby sim` — the synthetic hospital and the simulated EHR (docs/cli.md#standby-sim-generate,
docs/synthetic-hospital.md).

`sim_app` is the `standby sim` group. `generate` lives here; other modules add their
subcommands to the same group (`from standby.cli.sim import sim_app`, then
`@sim_app.command("serve")`): Typer builds the group when the command line runs, so the
order of registration does not matter.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

sim_app = typer.Typer(help="The synthetic hospital and the simulated EHR.", no_args_is_help=True)


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        now = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise typer.BadParameter(f"--now: not an ISO 8601 time: {value!r}") from e
    return now if now.tzinfo else now.replace(tzinfo=UTC)


@sim_app.command("generate")
def generate(
    beds: int = typer.Option(200, "--beds", min=1, help="Inpatient beds (20 to 1000)."),
    seed: int = typer.Option(
        1, "--seed", help="Random seed: the same seed and --now give byte-identical files."
    ),
    out: Path = typer.Option(..., "--out", help="Directory for the <ResourceType>.ndjson files."),
    now: str | None = typer.Option(
        None,
        "--now",
        help="The hospital's 'now' (ISO 8601, e.g. 2026-11-28T10:00:00Z); "
        "default: the current hour.",
    ),
    timezone: str | None = typer.Option(
        None,
        "--timezone",
        help="The hospital's time zone (IANA name, e.g. America/New_York): doses, rounds, "
        "labs, OR cases and clinic visits are at its clock times; default: the setting "
        "`timezone` (STANDBY_TIMEZONE), else UTC.",
    ),
) -> None:
    """Write a synthetic hospital as NDJSON files of FHIR R4 resources."""
    from standby.settings import load_settings, zone
    from standby.sim.generate import generate_hospital
    from standby.sim.generate.hospital import RESOURCES_PER_BED

    when = _parse_now(now)
    try:
        hospital_zone = zone(load_settings(timezone=timezone))
    except ValueError as e:
        raise typer.BadParameter(f"--timezone: unknown time zone {timezone!r}") from e
    console = Console(stderr=True)
    started = time.perf_counter()
    with Progress(
        TextColumn("generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("generate", total=beds * RESOURCES_PER_BED)
        counts = generate_hospital(
            beds,
            seed,
            out,
            now=when,
            zone=hospital_zone,
            progress=lambda n: bar.update(task, completed=n),
        )
    elapsed = time.perf_counter() - started
    table = Table(title=f"{out} ({beds} beds, seed {seed})")
    table.add_column("resource type")
    table.add_column("count", justify="right")
    for rtype, n in counts.items():
        table.add_row(rtype, f"{n:,}")
    total = sum(counts.values())
    table.add_row("total", f"{total:,}")
    Console().print(table)
    Console().print(f"{total:,} resources in {elapsed:.1f} s ({total / elapsed:,.0f}/s)")


def register(app: typer.Typer) -> None:
    from standby.cli.sim_serve import add_commands  # `standby sim serve`

    add_commands(sim_app)
    app.add_typer(sim_app, name="sim")
