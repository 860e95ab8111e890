"""Triage: each surgery and visit → `proceed`, `proceed on paper`, `postpone` or `cancel`,
with its reasons (docs/schedule.md#triage). Pure: items, rules, what is down, what the OR
desk closed and the scheduler's overrides in; decisions out.

A case's decision is the most disruptive of:

* for each system it needs (`Rules.needs_of`) that is down, `[when_down.<system>]` (else
  `[when_down.any]`) for its priority;
* when its room is closed or its surgeon, anesthesiologist or clinician is away for part
  of its time (the OR desk's entries), `[when_unavailable]` for its priority;
* `proceed` otherwise.

A scheduler's override replaces the rules' decision; both are shown, with the override's
reason, who and when.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from standby.schedule.items import Item
from standby.schedule.rules import DECISIONS, Rules

SEVERITY = {d: i for i, d in enumerate(DECISIONS)}
MOVED = ("postpone", "cancel")  # decisions that need a call to the patient


@dataclass(frozen=True, slots=True)
class SystemsSeen:
    """What the monitor sees: probe names whose latest result failed, the names that have
    reported at all, and whether an EHR downtime is declared."""

    failed: frozenset[str] = frozenset()
    reported: frozenset[str] = frozenset()
    ehr_down: bool = False


@dataclass(frozen=True, slots=True)
class Unavailable:
    """An OR desk entry: a room closed, or a person away, from `start` to `end`."""

    id: str
    kind: str  # "room" or "person"
    resource_id: str  # Location or Practitioner id
    name: str
    start: datetime
    end: datetime
    note: str
    by: str


@dataclass(frozen=True, slots=True)
class Override:
    appointment_id: str
    decision: str
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Triaged:
    item: Item
    decision: str  # the one in force (the override's when there is one)
    by_rules: str  # what the rules decided
    reasons: tuple[str, ...]
    needs: tuple[str, ...]  # system labels
    down: tuple[str, ...]  # of those, the ones down
    override: Override | None
    priority: str  # the priority the rules used ("unknown" when none recorded)

    @property
    def moves(self) -> bool:
        return self.decision in MOVED


@dataclass(frozen=True, slots=True)
class SystemState:
    name: str
    label: str
    state: str  # "down", "up", "not watched" (no probe configured), "no report yet"
    why: str


def system_states(rules: Rules, seen: SystemsSeen) -> dict[str, SystemState]:
    out = {}
    for s in rules.systems.values():
        failed = [p for p in s.probes if p in seen.failed]
        reported = [p for p in s.probes if p in seen.reported]
        if s.ehr and seen.ehr_down:
            out[s.name] = SystemState(s.name, s.label, "down", "EHR downtime declared")
        elif failed:
            out[s.name] = SystemState(
                s.name, s.label, "down", f"monitor: {', '.join(failed)} failing"
            )
        elif reported:
            out[s.name] = SystemState(s.name, s.label, "up", f"monitor: {', '.join(reported)} ok")
        elif s.probes:
            out[s.name] = SystemState(
                s.name,
                s.label,
                "no report yet",
                f"no result from probe {', '.join(s.probes)} — state unknown, not known to be up",
            )
        elif s.ehr:
            out[s.name] = SystemState(s.name, s.label, "up", "no EHR downtime declared")
        else:
            out[s.name] = SystemState(s.name, s.label, "not watched", "no probe configured")
    return out


def _overlaps(u: Unavailable, item: Item) -> bool:
    return u.start < item.end and item.start < u.end


def triage(
    items: Iterable[Item],
    rules: Rules,
    seen: SystemsSeen,
    unavailable: Sequence[Unavailable] = (),
    overrides: Mapping[str, Override] | None = None,
) -> list[Triaged]:
    states = system_states(rules, seen)
    overrides = overrides or {}
    by_resource: dict[str, list[Unavailable]] = {}
    for u in unavailable:
        by_resource.setdefault(u.resource_id, []).append(u)
    out = []
    for item in items:
        prio = item.priority or (rules.visit_priority if item.kind == "visit" else "unknown")
        needs = rules.needs_of(item.kind, item.codes, item.words)
        decision, reasons = "proceed", []
        down = [n for n in needs if states[n].state == "down"]
        for n in down:
            d = rules.on_down(n, prio)
            reasons.append(f"{states[n].label} down ({states[n].why}): {d} for {prio}")
            decision = max(decision, d, key=SEVERITY.__getitem__)
        for n in needs:
            if states[n].state == "no report yet":
                reasons.append(f"{states[n].label}: {states[n].why}")
        resources = [item.place_id, item.provider.id, *(p.id for p in item.others)]
        for rid in resources:
            for u in by_resource.get(rid, []):
                if _overlaps(u, item):
                    what = "closed" if u.kind == "room" else "unavailable"
                    d = rules.when_unavailable[prio]
                    note = f" ({u.note})" if u.note else ""
                    reasons.append(f"{u.name} {what} per OR desk{note}: {d} for {prio}")
                    decision = max(decision, d, key=SEVERITY.__getitem__)
        if not down and decision == "proceed":
            if not needs:
                reasons.append("depends on no watched system")
            elif not down:
                reasons.append("needs " + ", ".join(states[n].label for n in needs) + ": none down")
        ov = overrides.get(item.id)
        if ov is not None and ov.decision not in DECISIONS:
            ov = None
        out.append(
            Triaged(
                item=item,
                decision=ov.decision if ov else decision,
                by_rules=decision,
                reasons=tuple(reasons),
                needs=tuple(states[n].label for n in needs),
                down=tuple(states[n].label for n in down),
                override=ov,
                priority=prio,
            )
        )
    return out


def counts(rows: Iterable[Triaged]) -> dict[str, int]:
    out = dict.fromkeys(DECISIONS, 0)
    for r in rows:
        out[r.decision] += 1
    return out
