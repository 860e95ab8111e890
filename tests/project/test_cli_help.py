"""Every command's help reads as a person needs it: flags (which take no value) show no type
name, and every option that takes a value says its default (or that it is required)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
from typer.core import TyperOption
from typer.testing import CliRunner

from standby.cli.main import app


def commands(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, cmd
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            yield from commands(sub, (*path, name))


def test_flags_show_no_type_name() -> None:
    root = typer.main.get_command(app)
    for path, _ in commands(root):
        out = CliRunner().invoke(app, [*path, "--help"], terminal_width=200).output
        assert "<bool>" not in out, " ".join(path)


def test_every_option_with_a_value_says_its_default() -> None:
    root = typer.main.get_command(app)
    missing: list[str] = []
    for path, cmd in commands(root):
        for p in cmd.params:
            if not isinstance(p, TyperOption) or p.is_flag or p.required or p.hidden:
                continue
            shown = p.show_default is not False and p.default is not None
            if not shown and "default" not in (p.help or "").lower():
                missing.append(f"{' '.join(path)} {p.opts[0]}")
    assert not missing, missing
