"""Standby's parts are wired by plain imports: nothing is loaded by a module name held in a
string except the plug-ins a setting names (the notification channels), and the command
line's account commands do not load the web app (docs/architecture.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "standby"

# Modules allowed to import by name: each loads what a setting names.
LOADS_BY_NAME = {"monitor/notify/channels.py"}


def _imports_by_name(tree: ast.AST) -> list[int]:
    """Lines that import a module by name (`importlib`, `__import__`)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names]
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module == "importlib" or "importlib" in names:
                lines.append(node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
        ):
            lines.append(node.lineno)
    return lines


def test_only_plugins_named_in_settings_are_loaded_by_name() -> None:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        lines = _imports_by_name(ast.parse(path.read_text(), filename=str(path)))
        if lines and rel not in LOADS_BY_NAME:
            found[rel] = lines
    assert found == {}


def test_the_monitor_pages_are_always_mounted() -> None:
    from standby.web import app
    from standby.web.routes import monitor

    assert monitor.routes in app.ROUTES
    assert set(monitor.BANNERS) <= set(app.BANNERS)


def test_user_commands_do_not_load_the_web_app() -> None:
    code = (
        "import sys, standby.cli.user\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[:2] == ['standby', 'web'])\n"
        "print(' '.join(loaded))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == ""


def test_every_benchmark_and_command_is_registered() -> None:
    import typer

    from standby.bench.harness import load_all
    from standby.cli.main import app

    benches = {
        "ingest",
        "store",
        "sync",
        "web",
        "reports",
        "monitor",
        "generate",
        "journal",
        "journal-load",
        "reschedule",
        "backentry",
        "backentry-full",
        "hl7",
        "fhir",
        "ingest-postgres",
        "edge",
        "soak",
    }
    assert set(load_all()) == benches
    group = typer.main.get_group(app)
    commands = {
        "audit",
        "bench",
        "demo",
        "keys",
        "migrate",
        "monitor",
        "recover",
        "report",
        "schedule",
        "serve",
        "sim",
        "status",
        "sync",
        "user",
        "hl7",
        "clients",
    }
    assert set(group.commands) == commands
