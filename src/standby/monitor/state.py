"""The downtime state machine — pure: plain data in, plain data out, no clock, no I/O.

States (docs/monitor.md#states)::

    normal ──failed/slow round──▶ degraded ──N consecutive failed rounds──▶ downtime
      ▲  ◀──K healthy rounds──────┘  │                                      │  ▲
      │                               └──incident commander declares───────▶│  │ failed
      │                                                                      ▼  │ round
      └────────── incident commander confirms the end ◀──────────────── recovering
                                                       (proposed after M healthy rounds)

* A *round* is one pass over the EHR's probes, summarised as `Health.OK`, `Health.SLOW`
  (answered, but over the latency threshold, or an answer that is not an outage such as
  401) or `Health.FAILED` (unreachable, timeout, 5xx).
* Downtime is declared automatically after `failures_to_declare` consecutive failed
  rounds. A slow round answers, so it resets the count: latency spikes and single lost
  probes never declare downtime (they may show *degraded*).
* An incident commander may declare downtime from normal or degraded at any time.
* Recovery is only *proposed* (state `recovering`) after `healthy_to_propose` consecutive
  healthy rounds, and only if a failed round was seen during this downtime (a downtime
  declared by hand while the EHR answers is ended by hand). A failed round while
  recovering withdraws the proposal. Only an incident commander ends downtime, because
  back-entry starts from it.
* A drill (`start_drill`) marks the machine so that the downtime it reaches is a DRILL.

Every change returns the `Transition`s it made: the caller records them as the timeline.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from standby.clock import instant, parse_instant


class State(enum.StrEnum):
    NORMAL = "normal"
    DEGRADED = "degraded"
    DOWNTIME = "downtime"
    RECOVERING = "recovering"


class Health(enum.StrEnum):
    OK = "ok"
    SLOW = "slow"
    FAILED = "failed"


MONITOR = "monitor"  # the actor of automatic transitions


class InvalidTransition(ValueError):
    """A manual action that the current state does not allow (e.g. ending normal)."""


@dataclass(frozen=True, slots=True)
class Round:
    """The verdict of one probe round on the EHR, with evidence in words."""

    at: datetime
    health: Health
    evidence: str = ""
    #: critical probes that got no answer in a round counted slow because the EHR answered
    #: another critical probe, or because only the EHR's name did not resolve
    lost: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Thresholds:
    failures_to_declare: int = 3
    healthy_to_clear: int = 2
    healthy_to_propose: int = 3
    #: a critical probe lost this many rounds in a row (while the EHR answered another, or
    #: while its name did not resolve) is a burst; one round more and its rounds count as
    #: failed: a read that hangs while /metadata answers is an outage, a burst is not
    lost_rounds_tolerated: int = 4

    def __post_init__(self) -> None:
        for name in ("failures_to_declare", "healthy_to_clear", "healthy_to_propose"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.lost_rounds_tolerated < 0:
            raise ValueError("lost_rounds_tolerated must be at least 0")


@dataclass(frozen=True, slots=True)
class Transition:
    at: datetime
    from_state: State
    to_state: State
    reason: str
    actor: str = MONITOR
    drill: bool = False


@dataclass(frozen=True, slots=True)
class Machine:
    state: State = State.NORMAL
    since: datetime | None = None
    failures: int = 0  # consecutive failed rounds
    healthy: int = 0  # consecutive healthy rounds
    first_failure_at: datetime | None = None  # start of the current run of failed rounds
    seen_failure: bool = False  # a failed round during this downtime
    drill: bool = False
    drill_started_at: datetime | None = None
    declared_by: str | None = None
    lost_streaks: tuple[tuple[str, int], ...] = ()  # critical probe → rounds lost in a row

    @property
    def in_downtime(self) -> bool:
        return self.state in (State.DOWNTIME, State.RECOVERING)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = instant(value) if isinstance(value, datetime) else value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Machine:
        kwargs: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            if name not in data:
                continue
            value = data[name]
            if name in ("since", "first_failure_at", "drill_started_at") and value:
                value = parse_instant(value)
            if name == "state":
                value = State(value)
            if name == "lost_streaks":
                value = tuple((str(p), int(n)) for p, n in value)
            kwargs[name] = value
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class Step:
    machine: Machine
    transitions: tuple[Transition, ...] = ()


def _move(
    m: Machine, at: datetime, to: State, reason: str, actor: str
) -> tuple[Machine, Transition]:
    t = Transition(at, m.state, to, reason, actor, m.drill)
    return replace(m, state=to, since=at), t


def observe(m: Machine, r: Round, th: Thresholds = Thresholds()) -> Step:
    """Feed one probe round to the machine."""
    streaks = dict(m.lost_streaks)
    lost = {p: streaks.get(p, 0) + 1 for p in r.lost}
    m = replace(m, lost_streaks=tuple(sorted(lost.items())))
    long_lost = [p for p, n in sorted(lost.items()) if n > th.lost_rounds_tolerated]
    if long_lost and r.health is not Health.FAILED:
        what = f"{', '.join(long_lost)} lost {max(lost.values())} rounds in a row: {r.evidence}"
        r = replace(r, health=Health.FAILED, evidence=what)
    if r.health is Health.FAILED:
        m = replace(
            m,
            failures=m.failures + 1,
            healthy=0,
            first_failure_at=m.first_failure_at if m.failures else r.at,
        )
    elif r.health is Health.OK:
        m = replace(m, failures=0, healthy=m.healthy + 1, first_failure_at=None)
    else:  # SLOW: it answered (resets the failure count) but is not healthy
        m = replace(m, failures=0, healthy=0, first_failure_at=None)

    out: list[Transition] = []
    what = r.evidence or r.health.value
    if m.state is State.NORMAL and r.health is not Health.OK:
        m, t = _move(m, r.at, State.DEGRADED, f"probe round {r.health.value}: {what}", MONITOR)
        out.append(t)
    if m.state is State.DEGRADED:
        if m.failures >= th.failures_to_declare:
            m, t = _move(
                m,
                r.at,
                State.DOWNTIME,
                f"{m.failures} consecutive failed probe rounds: {what}",
                MONITOR,
            )
            m = replace(m, seen_failure=True, declared_by=MONITOR)
            out.append(t)
        elif m.healthy >= th.healthy_to_clear:
            m, t = _move(m, r.at, State.NORMAL, f"{m.healthy} healthy probe rounds", MONITOR)
            out.append(t)
    elif m.state is State.DOWNTIME:
        if r.health is Health.FAILED:
            m = replace(m, seen_failure=True)
        elif m.seen_failure and m.healthy >= th.healthy_to_propose:
            m, t = _move(
                m,
                r.at,
                State.RECOVERING,
                f"recovery proposed: {m.healthy} healthy probe rounds; "
                "an incident commander must confirm the end of downtime",
                MONITOR,
            )
            out.append(t)
    elif m.state is State.RECOVERING and r.health is Health.FAILED:
        m, t = _move(
            m, r.at, State.DOWNTIME, f"recovery proposal withdrawn: probe failed: {what}", MONITOR
        )
        out.append(t)
    return Step(m, tuple(out))


def declare(m: Machine, at: datetime, actor: str, reason: str = "", drill: bool = False) -> Step:
    """An incident commander declares downtime (from normal or degraded)."""
    if m.in_downtime:
        raise InvalidTransition(f"downtime is already declared (state {m.state.value})")
    m = replace(
        m, drill=m.drill or drill, drill_started_at=m.drill_started_at or (at if drill else None)
    )
    m, t = _move(m, at, State.DOWNTIME, reason or "declared by an incident commander", actor)
    m = replace(m, seen_failure=m.failures > 0, declared_by=actor)
    return Step(m, (t,))


def confirm_end(m: Machine, at: datetime, actor: str, reason: str = "") -> Step:
    """An incident commander ends downtime (confirming a proposal, or by hand)."""
    if not m.in_downtime:
        raise InvalidTransition(f"there is no downtime to end (state {m.state.value})")
    how = "confirmed the proposed recovery" if m.state is State.RECOVERING else "ended downtime"
    m, t = _move(m, at, State.NORMAL, reason or f"incident commander {how}", actor)
    m = Machine(state=State.NORMAL, since=at)
    return Step(m, (t,))


def start_drill(m: Machine, at: datetime) -> Machine:
    """Mark the machine as drilling: the next downtime it reaches is a DRILL."""
    if m.in_downtime:
        raise InvalidTransition("cannot start a drill during downtime")
    if m.drill:
        raise InvalidTransition("a drill is already running")
    return replace(m, drill=True, drill_started_at=at)


def cancel_drill(m: Machine) -> Machine:
    """Stop a drill that has not reached downtime."""
    if m.in_downtime:
        raise InvalidTransition("the drill is in downtime: end it as an incident commander")
    return replace(m, drill=False, drill_started_at=None)
