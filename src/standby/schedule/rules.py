"""Triage rules: a TOML file a scheduler can read (docs/schedule.md#rules).

```toml
[systems.imaging]             # a system cases depend on
label = "Imaging (PACS)"
probes = ["pacs"]             # the monitor's extra probes that watch it (down = failed)
ehr = false                   # true: down whenever an EHR downtime is declared

[[needs]]                     # cases matching every criterion given need these systems
kind = "surgery"              # "surgery" or "visit"
codes = ["232717009"]         # any code of the service type, specialty, request ...
text = ["cardiac"]            # any of these words in the procedure, specialty, clinic
systems = ["imaging", "lab"]

[when_down.any]               # a needed system is down: the decision, by priority
emergent = "proceed on paper"
[when_down.imaging]           # ... for this system (priorities not given: from `any`)
elective = "postpone"

[when_unavailable]            # the OR desk closed its room or its surgeon is away
emergent = "proceed"
```

Priorities are `emergent`, `urgent`, `elective` and `unknown` (none recorded;
`visit_priority` gives clinic visits without one a priority). Decisions are `proceed`,
`proceed on paper`, `postpone`, `cancel`. `load_rules` checks everything and raises
`RulesError` naming the file and line of the first mistake.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DECISIONS = ("proceed", "proceed on paper", "postpone", "cancel")  # least to most disruptive
PRIORITY_KEYS = ("emergent", "urgent", "elective", "unknown")
KINDS = ("surgery", "visit")
DEFAULT_RULES = "default_rules.toml"


class RulesError(ValueError):
    """A mistake in a rules file: where (file, line) and what."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source, self.line, self.message = source, line, message
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class System:
    name: str
    label: str
    probes: tuple[str, ...]
    ehr: bool


@dataclass(frozen=True, slots=True)
class Need:
    systems: tuple[str, ...]
    kind: str = ""
    codes: frozenset[str] = frozenset()
    text: tuple[str, ...] = ()

    def matches(self, kind: str, codes: frozenset[str], words: str) -> bool:
        if self.kind and kind != self.kind:
            return False
        if self.codes and not (self.codes & codes):
            return False
        return not self.text or any(t in words for t in self.text)


@dataclass(frozen=True)
class Rules:
    systems: dict[str, System]
    needs: tuple[Need, ...]
    when_down: dict[str, dict[str, str]]  # system or "any" → priority → decision
    when_unavailable: dict[str, str]  # priority → decision
    visit_priority: str = "elective"
    source: str = "rules"
    horizon_hours: int = 72
    calls_hospital: str = "the hospital"  # who calls, in the call scripts
    calls_phone: str = "the number on your appointment letter"  # where to call back

    def needs_of(self, kind: str, codes: frozenset[str], words: str) -> list[str]:
        out: list[str] = []
        for n in self.needs:
            if n.matches(kind, codes, words):
                out += [s for s in n.systems if s not in out]
        return out

    def on_down(self, system: str, priority: str) -> str:
        return self.when_down.get(system, {}).get(priority) or self.when_down["any"][priority]


class _Lines:
    """Where a table or key sits in the file, to name the line of a mistake."""

    HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
    KEY = re.compile(r"""^\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_\-]+))\s*=""")

    def __init__(self, text: str) -> None:
        self.keys: dict[tuple[str, int, str], int] = {}
        self.tables: dict[tuple[str, int], int] = {}
        counts: dict[str, int] = {}
        table, index = "", 0
        for n, line in enumerate(text.splitlines(), start=1):
            m = self.HEADER.match(line)
            if m:
                table = m.group(2).replace('"', "").replace(" ", "")
                if m.group(1) == "[[":
                    index = counts.get(table, -1) + 1
                    counts[table] = index
                else:
                    index = 0
                self.tables.setdefault((table, index), n)
                continue
            k = self.KEY.match(line)
            if k:
                key = next(g for g in k.groups() if g is not None)
                self.keys.setdefault((table, index, key), n)

    def of(self, table: str, key: str = "", index: int = 0) -> int | None:
        if key and (table, index, key) in self.keys:
            return self.keys[(table, index, key)]
        if "." in key:  # a dotted key written inline
            return self.of(table, key.rsplit(".", 1)[1], index)
        return self.tables.get((table, index))


def load_rules_file(path: Path) -> Rules:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RulesError(str(path), None, f"cannot read the rules: {e}") from None
    return load_rules(text, str(path))


def default_rules() -> Rules:
    """The rules shipped with Standby (`schedule/default_rules.toml`)."""
    return load_rules(default_rules_text(), DEFAULT_RULES)


def default_rules_text() -> str:
    return Path(__file__).with_name(DEFAULT_RULES).read_text(encoding="utf-8")


def load_rules(text: str, source: str = "rules") -> Rules:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise RulesError(source, int(m.group(1)) if m else None, f"not valid TOML: {e}") from None
    return _Reader(doc, _Lines(text), source).rules()


class _Reader:
    def __init__(self, doc: dict[str, Any], lines: _Lines, source: str) -> None:
        self.doc, self.lines, self.source = doc, lines, source

    def fail(self, message: str, table: str, key: str = "", index: int = 0) -> RulesError:
        return RulesError(self.source, self.lines.of(table, key, index), message)

    def rules(self) -> Rules:
        known = {"systems", "needs", "when_down", "when_unavailable", "visit_priority"}
        known |= {"horizon_hours", "calls"}
        for key in self.doc:
            if key not in known:
                raise self.fail(
                    f"unknown setting {key!r} (known: {', '.join(sorted(known))})", "", key
                )
        systems = self.systems()
        needs = self.needs(systems)
        when_down = self.when_down(systems)
        unavailable = self.priorities(self.doc.get("when_unavailable"), "when_unavailable")
        missing = [p for p in PRIORITY_KEYS if p not in unavailable]
        if missing:
            raise self.fail(
                f"[when_unavailable] must give a decision for {', '.join(missing)}",
                "when_unavailable",
            )
        vp = self.doc.get("visit_priority", "elective")
        if vp not in PRIORITY_KEYS:
            raise self.fail(
                f"visit_priority {vp!r} is not one of {', '.join(PRIORITY_KEYS)}",
                "",
                "visit_priority",
            )
        hours = self.doc.get("horizon_hours", 72)
        if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= 24 * 31:
            raise self.fail(
                "horizon_hours must be a whole number of hours, 1 to 744", "", "horizon_hours"
            )
        calls = self.doc.get("calls", {})
        if not isinstance(calls, Mapping):
            raise self.fail("[calls] must be a table (hospital, phone)", "", "calls")
        for key, value in calls.items():
            if key not in ("hospital", "phone") or not isinstance(value, str):
                raise self.fail(
                    f"[calls] {key}: known keys are hospital and phone, each text", "calls", key
                )
        return Rules(
            systems,
            needs,
            when_down,
            unavailable,
            vp,
            self.source,
            hours,
            calls_hospital=calls.get("hospital", "the hospital"),
            calls_phone=calls.get("phone", "the number on your appointment letter"),
        )

    def systems(self) -> dict[str, System]:
        raw = self.doc.get("systems", {})
        if not isinstance(raw, Mapping):
            raise self.fail("[systems] must be a table of systems", "", "systems")
        out: dict[str, System] = {}
        for name, body in raw.items():
            table = f"systems.{name}"
            if not isinstance(body, Mapping):
                raise self.fail(f"system {name!r} must be a table", "systems", name)
            for key in body:
                if key not in ("label", "probes", "ehr"):
                    raise self.fail(
                        f"system {name!r}: unknown key {key!r} (known: label, probes, ehr)",
                        table,
                        key,
                    )
            probes = body.get("probes", [])
            if not isinstance(probes, list) or not all(isinstance(p, str) for p in probes):
                raise self.fail(
                    f"system {name!r}: probes must be a list of probe names", table, "probes"
                )
            ehr = body.get("ehr", False)
            if not isinstance(ehr, bool):
                raise self.fail(f"system {name!r}: ehr must be true or false", table, "ehr")
            label = body.get("label", name.replace("_", " "))
            if not isinstance(label, str):
                raise self.fail(f"system {name!r}: label must be text", table, "label")
            out[name] = System(name, label, tuple(probes), ehr)
        return out

    def needs(self, systems: Mapping[str, System]) -> tuple[Need, ...]:
        raw = self.doc.get("needs", [])
        if not isinstance(raw, list):
            raise self.fail("needs must be written [[needs]] (a list of tables)", "", "needs")
        out = []
        for i, body in enumerate(raw):
            if not isinstance(body, Mapping):
                raise self.fail("each [[needs]] must be a table", "needs", index=i)
            for key in body:
                if key not in ("kind", "codes", "text", "systems"):
                    raise self.fail(
                        f"[[needs]] {i + 1}: unknown key {key!r}"
                        " (known: kind, codes, text, systems)",
                        "needs",
                        key,
                        i,
                    )
            kind = body.get("kind", "")
            if kind and kind not in KINDS:
                raise self.fail(
                    f"[[needs]] {i + 1}: kind {kind!r} is not one of {', '.join(KINDS)}",
                    "needs",
                    "kind",
                    i,
                )
            names = body.get("systems")
            if not isinstance(names, list) or not names:
                raise self.fail(
                    f"[[needs]] {i + 1}: systems must list at least one system",
                    "needs",
                    "systems",
                    i,
                )
            for s in names:
                if s not in systems:
                    raise self.fail(
                        f"[[needs]] {i + 1}: unknown system {s!r} (declared: "
                        f"{', '.join(systems) or 'none'})",
                        "needs",
                        "systems",
                        i,
                    )
            lists = {}
            for key in ("codes", "text"):
                v = body.get(key, [])
                if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
                    raise self.fail(
                        f"[[needs]] {i + 1}: {key} must be a list of text", "needs", key, i
                    )
                lists[key] = v
            out.append(
                Need(
                    tuple(names),
                    kind,
                    frozenset(lists["codes"]),
                    tuple(t.lower() for t in lists["text"]),
                )
            )
        return tuple(out)

    def priorities(self, raw: object, table: str) -> dict[str, str]:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            raise self.fail(f"[{table}] must be a table of priority = decision", table)
        out = {}
        for key, value in raw.items():
            if key not in PRIORITY_KEYS:
                raise self.fail(
                    f"[{table}]: {key!r} is not a priority ({', '.join(PRIORITY_KEYS)})", table, key
                )
            if value not in DECISIONS:
                raise self.fail(
                    f"[{table}] {key}: {value!r} is not a decision "
                    f"({', '.join(repr(x) for x in DECISIONS)})",
                    table,
                    key,
                )
            out[key] = str(value)
        return out

    def when_down(self, systems: Mapping[str, System]) -> dict[str, dict[str, str]]:
        raw = self.doc.get("when_down", {})
        if not isinstance(raw, Mapping) or "any" not in raw:
            raise self.fail(
                "[when_down.any] is required: the decision, by priority, when a needed"
                " system is down",
                "when_down",
            )
        out = {}
        for name, body in raw.items():
            if name != "any" and name not in systems:
                raise self.fail(
                    f"[when_down.{name}]: unknown system {name!r} (declared: {', '.join(systems)})",
                    f"when_down.{name}",
                )
            out[name] = self.priorities(body, f"when_down.{name}")
        missing = [p for p in PRIORITY_KEYS if p not in out["any"]]
        if missing:
            raise self.fail(
                f"[when_down.any] must give a decision for {', '.join(missing)}", "when_down.any"
            )
        return out
