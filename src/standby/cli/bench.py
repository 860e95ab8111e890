"""`standby bench NAME` — print figures beside their same-run baselines."""

from __future__ import annotations

import orjson
import typer
from rich.console import Console
from rich.progress import Progress as RichProgress
from rich.progress import SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from standby.bench.harness import Figure, Progress, load_all


def _table(name: str, scale: float, figures: list[Figure]) -> Table:
    t = Table(title=f"standby bench {name} (scale {scale:g})")
    for col in ("figure", "value", "unit", "baseline", "ratio", "goal", "met"):
        t.add_column(col)
    for f in figures:
        t.add_row(
            f.name,
            f"{f.value:,.3f}".rstrip("0").rstrip("."),
            f.unit,
            "" if f.baseline is None else f"{f.baseline:,.3f}".rstrip("0").rstrip("."),
            "" if f.ratio is None else f"{f.ratio:.2f}",
            f.goal,
            {True: "yes", False: "NO", None: "-"}[f.met],
        )
    return t


def register(app: typer.Typer) -> None:
    @app.command()
    def bench(
        name: str = typer.Argument(
            "all",
            help="Which benchmark: ingest, store, sync, web, reports, monitor, reschedule, fhir,"
            " edge or all.",
        ),
        scale: float = typer.Option(
            1.0, "--scale", help="Size multiplier; 1.0 finishes in minutes on two cores."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object per bench."),
        minutes: float | None = typer.Option(
            None, "--minutes", help="soak: minutes to run the stack (default: 10 × --scale)."
        ),
    ) -> None:
        """Run a benchmark and print its figures beside a baseline from the same run."""
        registry = load_all()
        names = sorted(registry) if name == "all" else [name]
        unknown = [n for n in names if n not in registry]
        if unknown:
            raise typer.BadParameter(
                f"unknown benchmark {unknown[0]!r}; known: {', '.join(sorted(registry))}"
            )
        console = Console(stderr=True)
        for n in names:
            with RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
                disable=as_json and not console.is_terminal,
            ) as bar:
                task = bar.add_task(f"bench {n}", total=None)

                def report(message: str, n: str = n, task: TaskID = task) -> None:
                    bar.update(task, description=f"{n}: {message}")

                figures = registry[n](scale, Progress(report, minutes))
            if as_json:
                payload = {
                    "bench": n,
                    "scale": scale,
                    "figures": [f.as_json() for f in figures],
                }
                typer.echo(orjson.dumps(payload).decode())
            else:
                Console().print(_table(n, scale, figures))
