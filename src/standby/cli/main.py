"""`standby` — the command line. Each command group lives in its own module here and
registers itself through `register(app)`; see docs/cli.md for the reference."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="standby",
    help="Standby keeps a hospital caring for patients when its EHR goes down.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules under standby.cli that add commands to `app` (each has `register(app)`).
COMMAND_MODULES = [
    "standby.cli.bench",
    "standby.cli.demo",
    "standby.cli.monitor",
    "standby.cli.report",
    "standby.cli.serve",
    "standby.cli.sim",
    "standby.cli.status",
    "standby.cli.sync",
    "standby.cli.user",
]


@app.callback()
def _root() -> None:
    """Standby keeps a hospital caring for patients when its EHR goes down."""


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_all()


def main() -> None:
    app()
