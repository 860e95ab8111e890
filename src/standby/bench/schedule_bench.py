"""`standby bench reschedule`: the rebooking optimizer and the triage (docs/performance.md).

Rebooking (`rebook_instances.random_problem`, seed 1): at scale 1, 2,000 postponed cases,
50 surgeons and 50 rooms, 14 days, 5-minute steps. CP-SAT (`rebook_cpsat.solve`) with 2
workers and a 30 s search limit (`STANDBY_BENCH_RESCHEDULE_SECONDS`), beside the greedy
first fit (`rebook.greedy`) on the same instance: the priority-weighted delay of each
(goal: CP-SAT never worse, at least 5 % less), the objective, the lower bound computed
after the search in as much time again (`rebook_cpsat.lower_bound`) and the gap to it.

Triage: a 1,000-bed generated hospital (`--scale` multiplies the beds; cached under
.cache/bench-schedule), the surgeries and visits of the next 72 hours read from the
replica and triaged with the shipped rules while imaging is down (goal: under 2 s),
beside reading them alone.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from standby.bench.harness import Figure, Progress, benchmark
from standby.bench.hospital import cached_replica
from standby.schedule.items import items_in_window
from standby.schedule.rebook import greedy, violations
from standby.schedule.rebook_cpsat import solve
from standby.schedule.rebook_instances import random_problem
from standby.schedule.rules import default_rules
from standby.schedule.triage import SystemsSeen, counts, triage

CACHE = Path(".cache") / "bench-schedule"


@benchmark("reschedule")
def reschedule(scale: float, progress: Progress) -> list[Figure]:
    return [*_rebooking(scale, progress), *_triage(scale, progress)]


def _rebooking(scale: float, progress: Progress) -> list[Figure]:
    seconds = float(os.environ.get("STANDBY_BENCH_RESCHEDULE_SECONDS", "30"))
    n = max(20, round(2000 * scale))
    people = max(2, round(50 * scale))
    progress.step(f"rebooking: {n} cases, {people} surgeons and rooms, 14 days")
    p = random_problem(1, cases=n, providers=people, rooms=people, days=14)
    g = greedy(p)
    progress.step(f"rebooking: CP-SAT, 2 workers, {seconds:g} s, then the bound")
    t = time.perf_counter()
    s = solve(p, seconds=seconds, workers=2, hint=g, bound_seconds=seconds)
    wall = time.perf_counter() - t
    bad = len(violations(p, s.placements)) + len(violations(p, g.placements))
    ratio = s.score.weighted_delay / max(1, g.score.weighted_delay)
    gap = (s.gap or 0.0) * 100
    return [
        Figure(
            "rebooking: CP-SAT solve (greedy hint, polish, search)",
            s.seconds,
            "s",
            f"search limit {seconds:g} s",
            s.seconds <= seconds + 10,
            g.seconds,
            "greedy first fit",
        ),
        Figure(
            "rebooking: priority-weighted delay",
            s.score.weighted_delay,
            "weight×min",
            "never worse than greedy, >= 5 % less",
            ratio <= 0.95,
            g.score.weighted_delay,
            "greedy first fit",
        ),
        Figure(
            "rebooking: objective (delay, lateness, unplaced)",
            s.score.objective,
            "weight×min",
            "<= greedy",
            s.score.objective <= g.score.objective,
            g.score.objective,
            "greedy first fit",
        ),
        Figure(
            "rebooking: lower bound (day buckets)",
            s.bound or 0,
            "weight×min",
            "proven: <= any schedule's objective",
            None,
            s.score.objective,
            "CP-SAT objective",
        ),
        Figure(
            "rebooking: gap to the lower bound",
            gap,
            "%",
            "report (closer is better)",
            None,
            (g.score.objective - (s.bound or 0)) * 100 / max(1, g.score.objective),
            "greedy's gap",
        ),
        Figure(
            "rebooking: bound computation",
            wall - s.seconds,
            "s",
            f"limit {seconds:g} s",
            None,
        ),
        Figure(
            "rebooking: overtime",
            s.score.overtime,
            "min",
            "second to delay",
            None,
            g.score.overtime,
            "greedy first fit",
        ),
        Figure(
            "rebooking: cases late / unplaced",
            s.score.late + s.score.unplaced,
            "cases",
            "none that could be on time",
            None,
            g.score.late + g.score.unplaced,
            "greedy first fit",
        ),
        Figure("rebooking: double bookings, closed rooms", bad, "errors", "0", bad == 0),
    ]


def _triage(scale: float, progress: Progress) -> list[Figure]:
    from standby.store import open_store

    beds = max(20, round(1000 * scale))
    db = cached_replica(CACHE, beds, progress)
    store = open_store(db=db)
    try:
        now = _generated_now(store)
        progress.step(f"triage: {beds} beds, 72 h")
        rules = default_rules()
        seen = SystemsSeen(failed=frozenset({"pacs"}), reported=frozenset({"pacs", "lab"}))
        t = time.perf_counter()
        items_in_window(store, now, now + timedelta(hours=72))  # warm the page cache
        t = time.perf_counter()
        items_in_window(store, now, now + timedelta(hours=72))
        read = time.perf_counter() - t
        t = time.perf_counter()
        rows = triage(items_in_window(store, now, now + timedelta(hours=72)), rules, seen)
        total = time.perf_counter() - t
    finally:
        store.close()
    moved = counts(rows)
    return [
        Figure(
            f"triage: {len(rows)} surgeries and visits, 72 h, {beds} beds "
            f"({moved['postpone']} postponed)",
            total,
            "s",
            "< 2 s",
            total < 2.0,
            read,
            "reading them alone",
        )
    ]


def _generated_now(store: object) -> datetime:
    """The generated hospital's 'now': the bench replica is built once and kept, so its
    schedule is anchored to when it was generated, not to today."""
    from standby.store.base import Store

    assert isinstance(store, Store)
    with store.read_transaction() as tx:
        rows = tx.query("SELECT MAX(last_updated) FROM resource")
    text = rows[0][0] if rows and rows[0][0] else None
    if text is None:
        return datetime.now(UTC)
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
