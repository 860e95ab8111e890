"""`standby` — the command line. Each command group lives in its own module here and
registers itself through `register(app)`; see docs/cli.md for the reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperOption

from standby.cli import (
    audit,
    bench,
    clients,
    demo,
    hl7,
    keys,
    migrate,
    monitor,
    recover,
    report,
    schedule,
    serve,
    sim,
    status,
    sync,
    user,
)

_type_of = TyperOption.display_type_rich


def _flag_has_no_type(self: TyperOption, ctx: Any) -> str | None:
    """A flag (`--json`, `--once`, `--help`) takes no value: its help shows no type name."""
    return None if self.is_flag else _type_of(self, ctx)


TyperOption.display_type_rich = _flag_has_no_type  # type: ignore[method-assign]

app = typer.Typer(
    name="standby",
    help="Standby keeps a hospital caring for patients when its EHR goes down.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# What adds each command group to `app`, one module of standby.cli each.
COMMANDS: tuple[Callable[[typer.Typer], None], ...] = (
    audit.register,
    bench.register,
    demo.register,
    hl7.register,
    keys.register,
    migrate.register,
    monitor.register,
    recover.register,
    report.register,
    schedule.register,
    serve.register,
    sim.register,
    status.register,
    sync.register,
    user.register,
    clients.register,
)


@app.callback()
def _root() -> None:
    """Standby keeps a hospital caring for patients when its EHR goes down."""


for add_commands in COMMANDS:
    add_commands(app)


def main() -> None:
    from standby.memdebug import maybe_start

    maybe_start()
    app()
