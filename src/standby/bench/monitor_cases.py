"""The hard cases for the downtime monitor, generated round by round and fed to the real
rule: the default probe set (`probes.ehr_probes`: `/metadata` and the authenticated read,
both critical, plus the non-critical token endpoint when one is configured), folded by
`probes.round_health` and stepped through `state.observe`.

What counts as a *false* declaration, case by case (the EHR was up throughout each):

* `lost` — bursts of 2–4 rounds in which one probe's request is lost (no answer within
  the timeout) while the EHR answers the other; bursts of the two probes are independent
  and may overlap;
* `slow` — minutes of slow-but-answering (every answer 2.1–4.9 s, over the 2 s latency
  threshold), with one request in ten lost to the timeout;
* `dns` — flaps of 1–4 rounds in which the monitor's resolver fails, so neither probe
  reaches the EHR's address (which answers all along);
* `token` — the token endpoint down for minutes to hours while FHIR answers (the read has
  no fresh token: "answers, but refuses").

A declaration counts as *silent* when no critical probe answered in any of the failed
rounds that made it: the monitor then saw exactly what an outage's first rounds look like.

`outages` inserts real outages (2–30 minutes) into the `lost` case and counts the ones
never declared while they lasted: every probe lost (cut), every probe a 503, the read a
503 while `/metadata` answers (database down), the read lost while `/metadata` answers
(a hung read), the EHR's name not resolving (its DNS record gone).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from standby.monitor import probes
from standby.monitor.probes import ProbeResult
from standby.monitor.state import Health, Machine, State, Thresholds, observe

INTERVAL_S = 10
CASES = ("lost", "slow", "dns", "token")
OUTAGE_KINDS = ("cut", "server-error", "database-down", "hung-read", "name-gone")
_START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Probe:
    outcome: Health
    detail: str = ""
    lost: bool = False
    unresolved: bool = False


OK = Probe(Health.OK, "HTTP 200")
SLOW = Probe(Health.SLOW, "HTTP 200; 3500 ms over 2000 ms")
LOST = Probe(Health.FAILED, "no answer within 5 s", lost=True)
NO_NAME = Probe(Health.FAILED, "ConnectError: name resolution", lost=True, unresolved=True)
ERROR = Probe(Health.FAILED, "HTTP 503")
NO_TOKEN = Probe(Health.SLOW, "no token: HTTPStatusError 503")


def _round(at: datetime, meta: Probe, read: Probe, token: Probe | None) -> list[ProbeResult]:
    out = [
        ProbeResult(
            "ehr-metadata",
            "fhir-metadata",
            at,
            meta.outcome,
            40.0,
            meta.detail,
            lost=meta.lost,
            unresolved=meta.unresolved,
        ),
        ProbeResult(
            "ehr-read",
            "fhir-read",
            at,
            read.outcome,
            60.0,
            read.detail,
            lost=read.lost,
            unresolved=read.unresolved,
        ),
    ]
    if token is not None:
        out.append(
            ProbeResult(
                "ehr-token",
                "token",
                at,
                token.outcome,
                30.0,
                token.detail,
                critical=False,
                lost=token.lost,
            )
        )
    return out


def _rounds(case: str, n: int, rng: random.Random) -> Iterator[tuple[Probe, Probe, Probe | None]]:
    """(metadata, read, token) per round of an EHR that is up throughout."""
    left = {"meta": 0, "read": 0, "event": 0}
    was = {"meta": False, "read": False}
    for _ in range(n):
        if case == "lost":
            for p in ("meta", "read"):  # a burst starts after at least one answered round
                if left[p] == 0 and not was[p] and rng.random() < 0.01:
                    left[p] = rng.randint(2, 4)
                was[p] = left[p] > 0
                left[p] = max(0, left[p] - 1)
            yield (LOST if was["meta"] else OK), (LOST if was["read"] else OK), None
            continue
        if left["event"] == 0 and rng.random() < 0.005:
            left["event"] = {
                "slow": rng.randint(6, 60),
                "dns": rng.randint(1, 4),
                "token": rng.randint(6, 720),
            }[case]
        on = left["event"] > 0
        left["event"] = max(0, left["event"] - 1)
        if case == "slow":
            meta, read = ((LOST if rng.random() < 0.1 else SLOW) if on else OK for _ in "mr")
            yield meta, read, None
        elif case == "dns":
            yield (NO_NAME, NO_NAME, None) if on else (OK, OK, None)
        else:
            yield (OK, NO_TOKEN, ERROR) if on else (OK, OK, OK)


@dataclass(frozen=True, slots=True)
class Tally:
    rounds: int
    declarations: int
    silent: int  # of which no critical probe answered in any of the failed rounds


def false_declarations(case: str, hours: float, th: Thresholds, seed: int = 6) -> Tally:
    rng = random.Random(f"{case}-{seed}")
    n = int(hours * 3600 // INTERVAL_S)
    m = Machine()
    at = _START
    declared = silent = 0
    answered_in_run: list[bool] = []
    for meta, read, token in _rounds(case, n, rng):
        at += timedelta(seconds=INTERVAL_S)
        rnd = probes.round_health(_round(at, meta, read, token), at)
        answered = meta.outcome is not Health.FAILED or read.outcome is not Health.FAILED
        step = observe(m, rnd, th)
        m = step.machine
        answered_in_run = [*answered_in_run, answered] if m.failures else []
        if any(t.to_state is State.DOWNTIME for t in step.transitions):
            declared += 1
            silent += not any(answered_in_run)
        if m.in_downtime:  # the incident commander ends a false downtime at once
            m = Machine(state=State.NORMAL, since=at)
    return Tally(n, declared, silent)


def outages(hours: float, th: Thresholds, seed: int = 6) -> dict[str, tuple[int, int]]:
    """{kind: (outages, missed)} over `hours` of the `lost` case with real outages inserted."""
    rng = random.Random(f"outages-{seed}")
    n = int(hours * 3600 // INTERVAL_S)
    m = Machine()
    at = _START
    seen: dict[str, list[int]] = {k: [0, 0] for k in OUTAGE_KINDS}
    kind, left, hit = "", 0, False
    for meta, read, _ in _rounds("lost", n, rng):
        at += timedelta(seconds=INTERVAL_S)
        if left == 0 and rng.random() < 0.002:
            kind, left, hit = rng.choice(OUTAGE_KINDS), rng.randint(12, 180), False
            seen[kind][0] += 1
        if left:
            meta, read = {
                "cut": (LOST, LOST),
                "server-error": (ERROR, ERROR),
                "database-down": (meta, ERROR),
                "hung-read": (meta, LOST),
                "name-gone": (NO_NAME, NO_NAME),
            }[kind]
        step = observe(m, probes.round_health(_round(at, meta, read, None), at), th)
        m = step.machine
        if left:
            hit = hit or m.in_downtime
            left -= 1
            if left == 0:
                seen[kind][1] += not hit
                m = Machine(state=State.NORMAL, since=at)  # ended by the incident commander
        elif m.in_downtime:
            m = Machine(state=State.NORMAL, since=at)
    return {k: (v[0], v[1]) for k, v in seen.items()}
