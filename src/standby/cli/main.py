"""`standby` — the command line. Each command group lives in its own module here and
registers itself through `register(app)`; see docs/cli.md for the reference."""

from __future__ import annotations

from collections.abc import Callable

import typer

from standby.cli import bench, demo, monitor, report, serve, sim, status, sync, user

app = typer.Typer(
    name="standby",
    help="Standby keeps a hospital caring for patients when its EHR goes down.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# What adds each command group to `app`, one module of standby.cli each.
COMMANDS: tuple[Callable[[typer.Typer], None], ...] = (
    bench.register,
    demo.register,
    monitor.register,
    report.register,
    serve.register,
    sim.register,
    status.register,
    sync.register,
    user.register,
)


@app.callback()
def _root() -> None:
    """Standby keeps a hospital caring for patients when its EHR goes down."""


for add_commands in COMMANDS:
    add_commands(app)


def main() -> None:
    app()
