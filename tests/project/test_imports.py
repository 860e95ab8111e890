"""Every import between Standby's packages follows the table in docs/architecture.md.

The table (section "Packages (src/standby/)") has one row per package (`store/`) or top-level
module (`settings.py`) and says which others it "may import": names in backticks,
"nothing of standby", "all of the above" (every row above it) or "all". A top-level module
may be imported by every package. Adding a row to the table is all a new package needs.

The source is read, not imported (`ast`), so every import counts: at module level, inside
functions, and under `if TYPE_CHECKING:` (a type-only import is still an arrow between two
packages, and hiding one there is how a cycle starts). A module name in a string literal
(what `importlib.import_module` loads) counts too.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "standby"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
SECTION = "## Packages (src/standby/)"

#: Imports that break the table today, each with why it is tolerated: (importing module,
#: imported package) → reason. An entry whose import is gone fails the test, so the list
#: only shrinks.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Row:
    name: str  # "store" for `store/`, "settings" for `settings.py`
    module: bool  # a top-level module, importable by every package
    may_import: frozenset[str]


def table_rows(markdown: str) -> list[Row]:
    """The rows of the package table, in order, with "all of the above" and "all" expanded."""
    body = markdown.split(SECTION, 1)[1].split("\n## ", 1)[0]
    table = body.split("\n|", 1)[1].split("\n\n", 1)[0]  # the section's first table
    cells = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in ("|" + table).splitlines()
        if line.startswith("|")
    ]
    header, rows = cells[0], [c for c in cells[2:] if len(c) >= 3]
    assert header[0] == "package" and header[-1] == "may import", header
    names: list[tuple[str, bool]] = []
    for cell, *_ in rows:
        m = re.fullmatch(r"`([a-z_][a-z0-9_]*)(/|\.py)?`", cell)
        assert m, f"not a package or module name: {cell!r}"
        module = m.group(2) == ".py" or (not m.group(2) and (SRC / f"{m.group(1)}.py").exists())
        names.append((m.group(1), module))
    out: list[Row] = []
    for k, ((name, module), row) in enumerate(zip(names, rows, strict=True)):
        rule = row[-1]
        if rule == "all":
            allowed = {n for n, _ in names}
        elif rule == "all of the above":
            allowed = {n for n, _ in names[:k]}
        elif rule == "nothing of standby":
            allowed = set()
        else:
            allowed = set(re.findall(r"`([a-z_][a-z0-9_]*)/?`", rule))
            assert allowed, f"{name}: cannot read {rule!r}"
        out.append(Row(name, module, frozenset(allowed - {name})))
    return out


def owner(path: Path) -> str:
    """The package (or top-level module) a source file belongs to."""
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _existing(dotted: str) -> bool:
    parts = dotted.split(".")[1:]
    base = SRC.joinpath(*parts) if parts else SRC
    return (base / "__init__.py").exists() or base.with_suffix(".py").exists()


def standby_imports(path: Path) -> set[tuple[str, int]]:
    """`(imported standby module, line)` for every import in one source file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add((base, node.lineno))
            if base == "standby":  # `from standby import settings`
                found.update((f"standby.{a.name}", node.lineno) for a in node.names)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and re.fullmatch(r"standby(\.[a-z_][a-z0-9_]*)+", node.value)
            and _existing(node.value)
        ):
            found.add((node.value, node.lineno))
    return {(name, line) for name, line in found if name.startswith("standby.")}


def violations(rows: list[Row]) -> dict[tuple[str, str], list[str]]:
    """(importing module, imported package) → where, for every import the table forbids."""
    by_name = {r.name: r for r in rows}
    importable_by_all = {r.name for r in rows if r.module}
    out: dict[tuple[str, str], list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        here = owner(path)
        if here == "__init__":
            allowed: frozenset[str] = frozenset()
        else:
            assert here in by_name, f"{path.relative_to(ROOT)}: `{here}` has no row in the table"
            allowed = by_name[here].may_import
        for name, line in standby_imports(path):
            target = name.split(".")[1]
            if target == here or target in allowed:
                continue
            if target in importable_by_all and here != "__init__":
                continue
            key = (module_name(path), target)
            out.setdefault(key, []).append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return out


def test_the_table_names_every_package_and_only_known_ones() -> None:
    rows = table_rows(ARCHITECTURE.read_text())
    names = {r.name for r in rows}
    on_disk = {owner(p) for p in SRC.rglob("*.py")} - {"__init__"}
    assert on_disk - names == set(), "packages or modules without a row in the table"
    for row in rows:
        assert row.may_import <= names, f"{row.name} may import unknown {row.may_import - names}"
        if row.module:
            assert row.may_import == frozenset(), f"{row.name}.py must import nothing of standby"
    assert "settings" in {r.name for r in rows if r.module}


def test_every_import_follows_the_table() -> None:
    found = violations(table_rows(ARCHITECTURE.read_text()))
    unexpected = {k: v for k, v in found.items() if k not in KNOWN_VIOLATIONS}
    assert unexpected == {}, "imports that the table in docs/architecture.md does not allow"
    stale = set(KNOWN_VIOLATIONS) - set(found)
    assert stale == set(), "fixed: remove these from KNOWN_VIOLATIONS"


def test_no_test_edits_sys_path() -> None:
    """Tests import what they share from the package `support` (tests/support/), which
    pyproject.toml puts on the path; none edits `sys.path` (nor a child process's code)."""
    edit = re.compile(r"sys\.path\s*(\.(insert|append|extend)\s*\(|\[[^]]*\]\s*=|\+=)")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if path != Path(__file__).resolve()
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if edit.search(line)
    ]
    assert found == []


# ---- the checker itself ---------------------------------------------------------------------
TABLE = f"""{SECTION}

| package | owns | may import |
|---|---|---|
| `settings.py` | settings | nothing of standby |
| `fhir/` | pure FHIR | nothing of standby |
| `store/` | the store | `fhir` |
| `sync/` | sync | `fhir`, `store` (its writer) |
| `web/` | pages | all of the above |
| `cli/` | the command | all |

Arrows only point down this table.

## Decisions
| `x/` | not | `a` |
"""


def test_the_table_is_read_with_its_conventions() -> None:
    rows = {r.name: r for r in table_rows(TABLE)}
    assert list(rows) == ["settings", "fhir", "store", "sync", "web", "cli"]
    assert rows["settings"].module and not rows["fhir"].module
    assert rows["fhir"].may_import == frozenset()
    assert rows["sync"].may_import == {"fhir", "store"}
    assert rows["web"].may_import == {"settings", "fhir", "store", "sync"}
    assert rows["cli"].may_import == {"settings", "fhir", "store", "sync", "web"}


def test_hidden_and_relative_imports_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "standby"
    (src / "store").mkdir(parents=True)
    (src / "web").mkdir()
    (src / "__init__.py").write_text("")
    (src / "web" / "__init__.py").write_text("")
    (src / "store" / "__init__.py").write_text("")
    (src / "store" / "sql.py").write_text(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from . import base\n"
        "from ..fhir import refs\n"
        "if TYPE_CHECKING:\n"
        "    from standby.web.app import App\n"
        "def f():\n"
        "    import standby.sync.http\n"
        "    from standby import settings\n"
        "    return importlib.import_module('standby.web')\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "SRC", src)
    got = {name for name, _ in standby_imports(src / "store" / "sql.py")}
    assert got == {
        "standby.store",
        "standby.fhir",
        "standby.web.app",
        "standby.sync.http",
        "standby.settings",
        "standby.web",
    }
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    rows = [
        Row("settings", True, frozenset()),
        Row("fhir", False, frozenset()),
        Row("store", False, frozenset({"fhir"})),
        Row("web", False, frozenset({"settings", "fhir", "store"})),
    ]
    assert set(violations(rows)) == {("standby.store.sql", "web"), ("standby.store.sql", "sync")}
