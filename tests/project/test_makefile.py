"""`make demo` needs only Python: the 18 MB npm package of FHIR examples that one store test
reads is fetched by the test targets alone, and the README lists the prerequisites."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dependencies() -> dict[str, list[str]]:
    deps: dict[str, list[str]] = {}
    for line in (ROOT / "Makefile").read_text().splitlines():
        m = re.match(r"^([^\s:=#][^:=]*):(?!=)\s*(.*)$", line)
        if m and not line.startswith("\t"):
            for target in m.group(1).split():
                deps.setdefault(target, []).extend(m.group(2).split())
    return deps


def closure(target: str, deps: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [target]
    while todo:
        t = todo.pop()
        if t not in seen:
            seen.add(t)
            todo += deps.get(t, [])
    return seen


def test_the_demo_does_not_fetch_the_npm_examples() -> None:
    deps = dependencies()
    assert "$(EXAMPLES)" not in closure("demo", deps)
    assert "$(EXAMPLES)" not in closure("setup", deps)
    assert "$(EXAMPLES)" in closure("test", deps)
    assert "$(EXAMPLES)" in closure("test-fast", deps)


def test_the_readme_lists_the_prerequisites_after_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert text.index("make demo") < text.index("Python 3.11")
    assert "npm" in text and ".venv/bin/standby" in text


def test_make_demo_and_make_demo_edge_take_the_same_port_and_folder() -> None:
    """A second demo on one machine: `make demo DEMO_PORT=18080` then `make demo-edge
    DEMO_PORT=18080` must meet (`make demo` used to ignore DEMO_PORT and take 8080)."""
    import subprocess

    def dry(*args: str) -> str:
        done = subprocess.run(
            ["make", "-n", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    ports = ["DEMO_PORT=18080", "DEMO_DIR=other-demo", "DEMO_ARGS=--ehr-port 0"]
    demo = [line for line in dry("demo", *ports).splitlines() if " demo " in line + " "]
    assert any("--port 18080 --dir other-demo --ehr-port 0" in line for line in demo), demo
    edge = dry("demo-edge", "DEMO_PORT=18080", "DEMO_DIR=other-demo")
    assert "http://127.0.0.1:18080/fhir" in edge and "other-demo/standby.db" in edge
