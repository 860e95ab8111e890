"""Rebooking: place postponed cases into free capacity (docs/schedule.md#rebooking).
Pure: a `Problem` in, a `Proposal` out.

Time is whole minutes from the horizon's start (the hospital's midnight), in steps of
`Problem.step` minutes. A room is open in `Window`s (a regular end, and a later hard end
up to which it may run over: overtime). A provider works where `Problem.provider_windows`
says (a room or any room, from–to: a surgeon's block, from FHIR Schedule/Slot), or
wherever a room is open when nothing is said. Existing bookings are fixed. A case has a
provider, the rooms it may use, a length, a weight by priority, a release (the earliest
start), a deadline (the latest end its priority allows) and the days the patient said they
cannot come.

The objective, lexicographic: the priority-weighted delay (Σ weight × (start − release)),
then minutes of overtime. A case past its deadline costs `LATE` times its delay; a case
placed nowhere in the horizon costs as if it started after the horizon, late.

Two solvers: `greedy` (first fit, most urgent first) and `solve` (OR-Tools CP-SAT: one
start variable per case, an optional interval per candidate window, no-overlap per
provider and per room, hinted with the greedy answer; the problem is cut into independent
parts, cases linked by a provider or a room-day, and each part is solved in its share of
the time). `solve` returns the best of its search and its hint, and the proven lower
bound (the sum of each part's bound).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DAY = 1440
LATE = 20  # a minute past the deadline costs this many minutes of delay


@dataclass(frozen=True, slots=True)
class Window:
    room: str
    start: int
    end: int  # regular end
    hard_end: int  # running over until here is overtime; never after


@dataclass(frozen=True, slots=True)
class ProviderWindow:
    start: int
    end: int
    room: str = ""  # "" = any room


@dataclass(frozen=True, slots=True)
class Booking:
    id: str
    room: str
    provider: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    provider: str
    minutes: int
    weight: int
    release: int
    deadline: int | None = None  # latest end
    rooms: tuple[str, ...] = ()  # () = any room
    unavailable_days: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Problem:
    days: int
    windows: tuple[Window, ...]
    cases: tuple[Case, ...]
    bookings: tuple[Booking, ...] = ()
    provider_windows: Mapping[str, tuple[ProviderWindow, ...]] = field(default_factory=dict)
    step: int = 5

    @property
    def horizon(self) -> int:
        return self.days * DAY


@dataclass(frozen=True, slots=True)
class Placement:
    case: str
    room: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Score:
    weighted_delay: int  # Σ weight × minutes from release to start, placed cases
    overtime: int  # minutes past the regular end of windows
    late: int  # cases ending after their deadline
    unplaced: int
    objective: int  # what the solvers minimise (docs): delay, lateness, unplaced, overtime


@dataclass(frozen=True)
class Proposal:
    placements: dict[str, Placement]
    score: Score
    method: str
    seconds: float
    bound: int | None = None  # proven lower bound of `score.objective` (CP-SAT)
    optimal_parts: int = 0
    parts: int = 0
    notes: tuple[str, ...] = ()

    @property
    def gap(self) -> float | None:
        if self.bound is None:
            return None
        if self.score.objective <= 0:
            return 0.0
        return max(0.0, (self.score.objective - self.bound) / self.score.objective)


# ---- candidate windows -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Slot:
    """Where one case may go: a room from `lo` (earliest start) to `hi` (latest start),
    `regular` the end past which it is overtime."""

    room: str
    lo: int
    hi: int
    regular: int
    day: int


def _up(t: int, step: int) -> int:
    return -(-t // step) * step


def candidate_slots(p: Problem, c: Case) -> list[Slot]:
    """The windows case `c` may start in, by time: its rooms' windows, cut to its
    provider's windows, not on a day the patient cannot come, long enough for it."""
    pws = p.provider_windows.get(c.provider)
    out = []
    for w in p.windows:
        if c.rooms and w.room not in c.rooms:
            continue
        day = w.start // DAY
        if day in c.unavailable_days:
            continue
        spans = [(w.start, w.hard_end)]
        if pws is not None:
            spans = [
                (max(w.start, pw.start), min(w.hard_end, pw.end))
                for pw in pws
                if (not pw.room or pw.room == w.room) and pw.start < w.hard_end and w.start < pw.end
            ]
        for a, b in spans:
            lo = _up(max(a, c.release), p.step)
            hi = b - c.minutes
            hi -= hi % p.step if hi >= 0 else 0
            if hi >= lo:
                out.append(Slot(w.room, lo, hi, w.end, day))
    out.sort(key=lambda s: (s.lo, s.room))
    return out


# ---- scoring -------------------------------------------------------------------------------
def _case_cost(c: Case, start: int, end: int, horizon: int) -> int:
    delay = start - c.release
    late = max(0, end - c.deadline) if c.deadline is not None else 0
    return c.weight * (delay + LATE * late)


def _unplaced_cost(c: Case, horizon: int) -> int:
    end = horizon + c.minutes
    return _case_cost(c, horizon, end, horizon) + c.weight * LATE * horizon


def _overtime(p: Problem, room: str, start: int, end: int) -> int:
    for w in p.windows:
        if w.room == room and w.start <= start < w.hard_end:
            return max(0, end - w.end)
    return 0


def overtime_scale(p: Problem, cases: Sequence[Case]) -> int:
    """What one unit of weighted delay costs against overtime: more than all the overtime
    the cases could make, so that delay comes first (lexicographic)."""
    most = sum(max(0, w.hard_end - w.end) for w in p.windows)
    return max(1, min(most, sum(c.minutes for c in cases)) + 1)


def score(p: Problem, placements: Mapping[str, Placement]) -> Score:
    scale = overtime_scale(p, p.cases)
    delay = late = unplaced = ot = cost = 0
    for c in p.cases:
        pl = placements.get(c.id)
        if pl is None:
            unplaced += 1
            cost += _unplaced_cost(c, p.horizon)
            continue
        delay += c.weight * (pl.start - c.release)
        if c.deadline is not None and pl.end > c.deadline:
            late += 1
        cost += _case_cost(c, pl.start, pl.end, p.horizon)
        ot += _overtime(p, pl.room, pl.start, pl.end)
    return Score(delay, ot, late, unplaced, cost * scale + ot)


# ---- greedy first fit ----------------------------------------------------------------------
class _Busy:
    """Sorted busy intervals of one room or provider."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)

    def remove(self, start: int, end: int) -> None:
        i = bisect.bisect_left(self.starts, start)
        while self.ends[i] != end:
            i += 1
        del self.starts[i]
        del self.ends[i]

    def next_free(self, t: int, length: int) -> int:
        """The earliest time ≥ t at which [time, time + length) overlaps nothing."""
        i = max(0, bisect.bisect_right(self.starts, t) - 1)
        while i < len(self.starts):
            if self.ends[i] <= t:
                i += 1
                continue
            if self.starts[i] >= t + length:
                return t
            t = max(t, self.ends[i])
            i += 1
        return t


def _earliest(slot: Slot, minutes: int, room: _Busy, prov: _Busy, step: int) -> int | None:
    """The earliest start in `slot`, on the step, free in the room and for the provider."""
    t = slot.lo
    while t <= slot.hi:
        r = _up(room.next_free(t, minutes), step)
        q = _up(prov.next_free(r, minutes), step)
        if q == r == t:
            return t
        t = q
    return None


def order(cases: Iterable[Case]) -> list[Case]:
    """Most urgent first: weight, then deadline, then release."""
    far = 10**12
    return sorted(
        cases,
        key=lambda c: (-c.weight, c.deadline if c.deadline is not None else far, c.release, c.id),
    )


class _Book:
    def __init__(self, p: Problem) -> None:
        self.p = p
        self.rooms: dict[str, _Busy] = {}
        self.provs: dict[str, _Busy] = {}
        for b in p.bookings:
            self.room(b.room).add(b.start, b.end)
            self.prov(b.provider).add(b.start, b.end)

    def room(self, r: str) -> _Busy:
        return self.rooms.setdefault(r, _Busy())

    def prov(self, pr: str) -> _Busy:
        return self.provs.setdefault(pr, _Busy())

    def best(self, c: Case, slots: Sequence[Slot]) -> Placement | None:
        """First fit: the earliest start ending within the regular day and the deadline;
        else within the deadline with overtime; else the earliest start at all."""
        found: list[tuple[int, Slot]] = []
        for s in slots:
            t = _earliest(s, c.minutes, self.room(s.room), self.prov(c.provider), self.p.step)
            if t is not None:
                found.append((t, s))
        if not found:
            return None
        dl = c.deadline

        def ok(t: int, s: Slot, regular: bool) -> bool:
            end = t + c.minutes
            return (dl is None or end <= dl) and (not regular or end <= s.regular)

        for regular in (True, False):
            fits = [(t, s) for t, s in found if ok(t, s, regular)]
            if fits:
                t, s = min(fits, key=lambda x: (x[0], x[1].room))
                return Placement(c.id, s.room, t, t + c.minutes)
        t, s = min(found, key=lambda x: (x[0], x[1].room))
        return Placement(c.id, s.room, t, t + c.minutes)

    def take(self, c: Case, pl: Placement) -> None:
        self.room(pl.room).add(pl.start, pl.end)
        self.prov(c.provider).add(pl.start, pl.end)

    def release(self, c: Case, pl: Placement) -> None:
        self.room(pl.room).remove(pl.start, pl.end)
        self.prov(c.provider).remove(pl.start, pl.end)


def greedy(p: Problem) -> Proposal:
    t0 = time.perf_counter()
    book = _Book(p)
    placements: dict[str, Placement] = {}
    for c in order(p.cases):
        pl = book.best(c, candidate_slots(p, c))
        if pl is not None:
            book.take(c, pl)
            placements[c.id] = pl
    return Proposal(placements, score(p, placements), "greedy", time.perf_counter() - t0)


def repair_deadlines(p: Problem, placements: dict[str, Placement]) -> int:
    """Move each case that is late or unplaced, most urgent first, to a free start that
    meets its deadline when there is one (the others stay). Returns how many moved."""
    book = _Book(p)
    by_id = {c.id: c for c in p.cases}
    for cid, placed in placements.items():
        book.take(by_id[cid], placed)
    moved = 0
    for c in order(p.cases):
        pl = placements.get(c.id)
        if pl is not None and (c.deadline is None or pl.end <= c.deadline):
            continue
        if pl is not None:
            book.release(c, pl)
        better = book.best(c, candidate_slots(p, c))
        if (
            better is not None
            and (pl is None or c.deadline is None or better.end <= c.deadline)
            and (pl is None or better != pl)
        ):
            placements[c.id] = better
            book.take(c, better)
            moved += 1
        elif pl is not None:
            book.take(c, pl)
    return moved


# ---- CP-SAT -----------------------------------------------------------------------------
def parts(p: Problem, slots: Mapping[str, Sequence[Slot]]) -> list[list[Case]]:
    """Independent parts: cases linked when they share a provider or could share a room
    on the same day (union-find over providers and room-days)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb

    for c in p.cases:
        for s in slots[c.id]:
            union(f"p:{c.provider}", f"r:{s.room}:{s.day}")
        find(f"p:{c.provider}")
    groups: dict[str, list[Case]] = {}
    for c in p.cases:
        groups.setdefault(find(f"p:{c.provider}"), []).append(c)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0].id))


def solve(
    p: Problem,
    *,
    seconds: float = 30.0,
    workers: int = 2,
    hint: Proposal | None = None,
    seed: int = 0,
) -> Proposal:
    """CP-SAT over each independent part, in a share of `seconds` proportional to its
    size (time a part leaves unused goes to the next); the best of its answer and the
    hint's (greedy's unless given) per part; deadlines repaired last."""
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    hint = hint or greedy(p)
    slots = {c.id: candidate_slots(p, c) for c in p.cases}
    groups = parts(p, slots)
    placements: dict[str, Placement] = {}
    bound_total = 0
    optimal = 0
    notes: list[str] = []
    left = len(p.cases)
    for group in groups:
        remaining = seconds - (time.perf_counter() - t0)
        share = max(0.05, remaining * len(group) / max(1, left))
        left -= len(group)
        got, bound, status = _solve_part(p, group, slots, hint.placements, share, workers, seed)
        placements.update(got)
        bound_total += bound
        if status == cp_model.OPTIMAL:
            optimal += 1
    moved = repair_deadlines(p, placements)
    if moved:
        notes.append(f"{moved} case(s) moved after the search to meet their deadline")
    sc = score(p, placements)
    if sc.objective > hint.score.objective:  # cannot happen part by part; kept as a guard
        placements, sc = dict(hint.placements), hint.score
        notes.append("the greedy answer was better and is kept")
    return Proposal(
        placements,
        sc,
        "cp-sat",
        time.perf_counter() - t0,
        bound=min(bound_total, sc.objective),
        optimal_parts=optimal,
        parts=len(groups),
        notes=tuple(notes),
    )


def relaxed_bound(p: Problem, cases: Sequence[Case], slots: Mapping[str, Sequence[Slot]]) -> int:
    """A lower bound of the cases' objective: each case alone at its best start (the
    earliest of each window), no other case in the way, no overtime."""
    scale = overtime_scale(p, p.cases)
    total = 0
    for c in cases:
        best = _unplaced_cost(c, p.horizon)
        for s in slots[c.id]:
            best = min(best, _case_cost(c, s.lo, s.lo + c.minutes, p.horizon))
        total += best * scale
    return total


def _part_cost(
    p: Problem, cases: Sequence[Case], placements: Mapping[str, Placement], scale: int
) -> int:
    cost = 0
    for c in cases:
        pl = placements.get(c.id)
        if pl is None:
            cost += _unplaced_cost(c, p.horizon) * scale
        else:
            cost += _case_cost(c, pl.start, pl.end, p.horizon) * scale
            cost += _overtime(p, pl.room, pl.start, pl.end)
    return cost


def _solve_part(
    p: Problem,
    cases: Sequence[Case],
    slots: Mapping[str, Sequence[Slot]],
    hint: Mapping[str, Placement],
    seconds: float,
    workers: int,
    seed: int,
) -> tuple[dict[str, Placement], int, Any]:
    """One part: (its placements, the proven bound of its objective, the solver status).
    The objective counts in the problem-wide units of `score`."""
    from ortools.sat.python import cp_model

    scale = overtime_scale(p, p.cases)
    m = cp_model.CpModel()
    step = p.step
    providers = {c.provider for c in cases}
    rooms = {s.room for c in cases for s in slots[c.id]}
    by_room: dict[str, list[cp_model.IntervalVar]] = {r: [] for r in rooms}
    by_prov: dict[str, list[cp_model.IntervalVar]] = {pr: [] for pr in providers}
    for b in p.bookings:
        if b.room in by_room or b.provider in by_prov:
            iv = m.new_fixed_size_interval_var(b.start, b.end - b.start, f"b{b.id}")
            if b.room in by_room:
                by_room[b.room].append(iv)
            if b.provider in by_prov:
                by_prov[b.provider].append(iv)
    objective: list[Any] = []
    constant = 0
    choice: dict[str, list[tuple[Slot, cp_model.IntVar]]] = {}
    starts: dict[str, cp_model.IntVar] = {}
    for c in cases:
        cs = slots[c.id]
        unplaced = m.new_bool_var(f"u{c.id}")
        if not cs:
            m.add(unplaced == 1)
        lo = min((s.lo for s in cs), default=c.release)
        hi = max((s.hi for s in cs), default=c.release)
        # start in steps from the release's step: small, tight domains
        base = _up(c.release, step)
        lo_k, hi_k = max(0, (lo - base) // step), max(0, (hi - base) // step)
        k = m.new_int_var(0, hi_k, f"k{c.id}")
        start = m.new_int_var(base, base + hi_k * step, f"s{c.id}")
        m.add(start == base + step * k)
        lits = []
        for j, s in enumerate(cs):
            lit = m.new_bool_var(f"x{c.id}_{j}")
            m.add(k >= (s.lo - base) // step).only_enforce_if(lit)
            m.add(k <= (s.hi - base) // step).only_enforce_if(lit)
            iv = m.new_optional_fixed_size_interval_var(start, c.minutes, lit, f"i{c.id}_{j}")
            by_room[s.room].append(iv)
            by_prov[c.provider].append(iv)
            lits.append(lit)
            over = s.hi + c.minutes - s.regular
            if over > 0:
                ot = m.new_int_var(0, over, f"o{c.id}_{j}")
                m.add(ot >= start + c.minutes - s.regular).only_enforce_if(lit)
                m.add(ot == 0).only_enforce_if(~lit)
                objective.append(ot)
        m.add_exactly_one([*lits, unplaced])
        m.add(k == lo_k).only_enforce_if(unplaced)
        choice[c.id] = list(zip(cs, lits, strict=True))
        starts[c.id] = start
        # weighted delay from the release; lateness; the cost of placing it nowhere
        w = c.weight * scale
        constant += w * (base - c.release)
        objective.append(w * step * k)
        if c.deadline is not None:
            late_max = max(0, base + hi_k * step + c.minutes - c.deadline)
            if late_max > 0:
                late = m.new_int_var(0, late_max, f"l{c.id}")
                m.add(late >= start + c.minutes - c.deadline).only_enforce_if(~unplaced)
                objective.append(w * LATE * late)
        unplaced_extra = _unplaced_cost(c, p.horizon) - c.weight * (base + lo_k * step - c.release)
        objective.append(unplaced_extra * scale * unplaced)
        # the hint: greedy's placement
        h = hint.get(c.id)
        if h is None:
            m.add_hint(unplaced, 1)
            for _, lit in choice[c.id]:
                m.add_hint(lit, 0)
        else:
            m.add_hint(unplaced, 0)
            m.add_hint(k, (h.start - base) // step)
            m.add_hint(start, h.start)
            picked = False
            for s, lit in choice[c.id]:
                on = not picked and s.room == h.room and s.lo <= h.start <= s.hi
                picked = picked or on
                m.add_hint(lit, 1 if on else 0)
    for ivs in by_room.values():
        if len(ivs) > 1:
            m.add_no_overlap(ivs)
    for ivs in by_prov.values():
        if len(ivs) > 1:
            m.add_no_overlap(ivs)
    m.minimize(sum(objective) + constant)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    status = solver.solve(m)
    fallback = {c.id: hint[c.id] for c in cases if c.id in hint}
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return fallback, relaxed_bound(p, cases, slots), status
    out: dict[str, Placement] = {}
    for c in cases:
        for s, lit in choice[c.id]:
            if solver.boolean_value(lit):
                st = solver.value(starts[c.id])
                out[c.id] = Placement(c.id, s.room, st, st + c.minutes)
                break
    bound = max(int(solver.best_objective_bound), relaxed_bound(p, cases, slots))
    if _part_cost(p, cases, fallback, scale) < _part_cost(p, cases, out, scale):
        out = fallback
    return out, bound, status


def violations(p: Problem, placements: Mapping[str, Placement]) -> list[str]:
    """What is wrong with `placements` (empty when nothing): a room or provider booked
    twice (fixed bookings included), a case outside its candidate windows (room closed,
    provider elsewhere, a day the patient cannot come, past the hard end), a wrong length."""
    out = []
    by_id = {c.id: c for c in p.cases}
    rooms: dict[str, list[tuple[int, int, str]]] = {}
    provs: dict[str, list[tuple[int, int, str]]] = {}
    for bk in p.bookings:
        rooms.setdefault(bk.room, []).append((bk.start, bk.end, f"booking {bk.id}"))
        provs.setdefault(bk.provider, []).append((bk.start, bk.end, f"booking {bk.id}"))
    for cid, pl in placements.items():
        c = by_id.get(cid)
        if c is None:
            out.append(f"{cid}: not a case of the problem")
            continue
        if pl.end - pl.start != c.minutes:
            out.append(f"{cid}: {pl.end - pl.start} min placed, {c.minutes} needed")
        if not any(s.room == pl.room and s.lo <= pl.start <= s.hi for s in candidate_slots(p, c)):
            out.append(f"{cid}: {pl.room} at {pl.start} is outside its windows")
        rooms.setdefault(pl.room, []).append((pl.start, pl.end, cid))
        provs.setdefault(c.provider, []).append((pl.start, pl.end, cid))
    for kind, table in (("room", rooms), ("provider", provs)):
        for key, ivs in table.items():
            ivs.sort()
            reach, holder = -1, ""
            for s2, e2, b in ivs:
                if s2 < reach:
                    out.append(f"{kind} {key}: {holder} and {b} overlap")
                if e2 > reach:
                    reach, holder = e2, b
    return out
