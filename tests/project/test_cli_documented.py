"""Every `standby` command has --help text and a section in docs/cli.md."""

from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from standby.cli.main import app

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _commands() -> list[tuple[str, Any]]:
    root = typer.main.get_command(app)
    found: list[tuple[str, Any]] = []

    def walk(prefix: str, cmd: Any) -> None:
        if hasattr(cmd, "commands"):  # typer vendors its own click
            for name, sub in cmd.commands.items():
                walk(f"{prefix} {name}".strip(), sub)
        else:
            found.append((prefix, cmd))

    walk("", root)
    return found


@pytest.mark.parametrize("path", [p for p, _ in _commands()])
def test_command_has_help_and_docs(path: str) -> None:
    result = CliRunner().invoke(app, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    cmd = dict(_commands())[path]
    assert cmd.help, f"standby {path} has no help text"
    for param in cmd.params:
        if param.param_type_name == "option" and param.name != "help":
            assert param.help, f"standby {path} {param.opts[0]} has no help text"
    top = path.split()[0]
    text = DOCS.read_text()
    assert f"## standby {path}" in text or f"## standby {top}" in text, f"docs/cli.md: {path}"
