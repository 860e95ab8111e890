"""`solve`: rebooking with OR-Tools CP-SAT (docs/schedule.md#rebooking).

The problem is cut into independent parts (cases linked when they share a provider or
could share a room on the same day); each part gets a share of the time limit in
proportion to its cases (a part that finishes early leaves its time to the next). Per part:

1. the delay model, on `Problem.step`-minute steps: one start variable per case, an
   optional interval per window it may start in (present = it goes there), no-overlap per
   provider and per room with the fixed bookings, lateness past the deadline, a literal
   for "placed nowhere"; minimise the weighted delay; hinted with the greedy answer;
2. the overtime model: the same with the delay held at what step 1 found; minimise
   overtime;
3. the day-bucket bound (`lower_bound`; after the search, in its own `bound_seconds`,
   the parts sharing them): which window each case goes to, with each window's and each
   provider-day's free minutes as capacities and each case costed at the earliest start
   of its window, plus the wait behind each other on a provider's day that any order
   must cost (`_Part.buckets`). Every schedule is a solution of it, so its optimum (or
   its proven bound) is a lower bound of the delay. The bound reported is the best of
   it, the delay model's own (when it saw every window) and "each case alone".

The answer is, per part, the better of the search and the greedy hint, so it is never
worse than greedy; deadlines are repaired last (`rebook.repair_deadlines`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from ortools.sat.python import cp_model

from standby.schedule.rebook import (
    DAY,
    LATE,
    Case,
    Placement,
    Problem,
    Proposal,
    Slot,
    Window,
    _case_cost,
    _overtime,
    _unplaced_cost,
    candidate_slots,
    greedy,
    repair_deadlines,
    resequence,
    score,
)

SHARES = (0.9, 0.1)  # of a part's time: the delay model, then overtime
LATER_DAYS = 0  # the delay model may move a case to a day up to this many after its hint's


def parts(p: Problem, slots: Mapping[str, Sequence[Slot]]) -> list[list[Case]]:
    """Independent parts: union-find over providers and the room-days of their slots."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for c in p.cases:
        a = find(f"p:{c.provider}")
        for s in slots[c.id]:
            b = find(f"r:{s.room}:{s.day}")
            if a != b:
                parent[b] = a
    groups: dict[str, list[Case]] = {}
    for c in p.cases:
        groups.setdefault(find(f"p:{c.provider}"), []).append(c)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0].id))


def _near(slots: Sequence[Slot], placed: Placement | None) -> list[Slot]:
    """The windows the delay model offers a case: those on its hint's day or before (up to
    `LATER_DAYS` after): a case rarely gains by going later than a good first answer, and
    the smaller model searches much faster."""
    if placed is None:
        return list(slots)
    day = placed.start // DAY
    return [s for s in slots if s.day <= day + LATER_DAYS]


def relaxed_bound(p: Problem, cases: Sequence[Case], slots: Mapping[str, Sequence[Slot]]) -> int:
    """Each case alone at its best start (its windows' earliest), nothing in the way."""
    total = 0
    for c in cases:
        best = _unplaced_cost(c, p.horizon)
        for s in slots[c.id]:
            best = min(best, _case_cost(c, s.lo, s.lo + c.minutes, p.horizon))
        total += best
    return total


def lower_bound(
    p: Problem,
    seconds: float,
    workers: int = 2,
    seed: int = 0,
    slots: Mapping[str, Sequence[Slot]] | None = None,
    groups: Sequence[Sequence[Case]] | None = None,
) -> int:
    """The day-bucket lower bound of the whole problem's objective (`_Part.buckets`, part
    by part, the parts sharing `seconds`)."""
    t0 = time.perf_counter()
    slots = slots or {c.id: candidate_slots(p, c) for c in p.cases}
    groups = groups or parts(p, slots)
    total, left = 0, len(p.cases)
    for group in groups:
        share = max(0.05, (seconds - (time.perf_counter() - t0)) * len(group) / max(1, left))
        left -= len(group)
        total += max(
            _Part(p, group, slots, workers, seed, build=False).buckets(share),
            relaxed_bound(p, group, slots),
        )
    return total


def _cost(
    p: Problem, cases: Sequence[Case], placements: Mapping[str, Placement]
) -> tuple[int, int]:
    cost = ot = 0
    for c in cases:
        pl = placements.get(c.id)
        if pl is None:
            cost += _unplaced_cost(c, p.horizon)
        else:
            cost += _case_cost(c, pl.start, pl.end, p.horizon)
            ot += _overtime(p, pl.room, pl.start, pl.end)
    return cost, ot


def solve(
    p: Problem,
    *,
    seconds: float = 30.0,
    workers: int = 2,
    hint: Proposal | None = None,
    seed: int = 0,
    bound_seconds: float = 0.0,
) -> Proposal:
    """`seconds` limits the whole solve (the polish of the hint, then the search, whose
    parts share what is left; a hint not given is made first, outside the limit); the
    day-bucket bound, when `bound_seconds` > 0, is computed after it in that much more."""
    hint = hint or greedy(p)
    t0 = time.perf_counter()
    start = resequence(p, hint.placements)
    slots = {c.id: candidate_slots(p, c) for c in p.cases}
    near = {c.id: _near(slots[c.id], start.get(c.id)) for c in p.cases}
    groups = parts(p, slots)
    t_search = t0  # `seconds` covers everything here: the polish, the slots, the search
    placements: dict[str, Placement] = {}
    bounds = {"cp-sat": 0, "each case alone": 0}
    optimal = 0
    left = len(p.cases)
    for group in groups:
        remaining = seconds - (time.perf_counter() - t_search)
        share = max(0.05, remaining * len(group) / max(1, left))
        left -= len(group)
        full = all(len(near[c.id]) == len(slots[c.id]) for c in group)
        part = _Part(p, group, near, workers, seed)
        got, proven, is_optimal = part.delay(start, share * SHARES[0])
        got = part.overtime(got, share * SHARES[1])
        for kept in (start, hint.placements):
            if _cost(p, group, kept) < _cost(p, group, got):
                got = {c.id: kept[c.id] for c in group if c.id in kept}
        placements.update(got)
        optimal += is_optimal and full
        # the delay model's own bound holds for the whole problem only when it saw every
        # window of every case
        bounds["cp-sat"] += proven if full else 0
        bounds["each case alone"] += relaxed_bound(p, group, slots)
    search_seconds = time.perf_counter() - t0
    if bound_seconds > 0:
        bounds["day buckets"] = lower_bound(p, bound_seconds, workers, seed, slots, groups)
    notes = []
    moved = repair_deadlines(p, placements)
    if moved:
        notes.append(f"{moved} case(s) moved after the search to meet their deadline")
    sc = score(p, placements)
    if sc.key > hint.score.key:  # kept as a guard: each part is already no worse
        placements, sc = dict(hint.placements), hint.score
        notes.append("the greedy answer was better and is kept")
    best_bound = min(max(bounds.values()), sc.objective)
    return Proposal(
        placements,
        sc,
        "cp-sat",
        search_seconds,
        bound=best_bound,
        bounds=bounds,
        optimal_parts=optimal,
        parts=len(groups),
        notes=tuple(notes),
    )


class _Part:
    def __init__(
        self,
        p: Problem,
        cases: Sequence[Case],
        slots: Mapping[str, Sequence[Slot]],
        workers: int,
        seed: int,
        build: bool = True,
    ) -> None:
        self.p, self.cases, self.slots = p, cases, slots
        self.workers, self.seed = workers, seed
        self.m = cp_model.CpModel()
        self.starts: dict[str, cp_model.IntVar] = {}
        self.choice: dict[str, list[tuple[Slot, cp_model.IntVar]]] = {}
        self.unplaced: dict[str, cp_model.IntVar] = {}
        self.overtime_terms: list[Any] = []
        self.delay_terms: list[Any] = []
        self.constant = 0
        if build:
            self._build()

    def _solver(self, seconds: float) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, seconds)
        solver.parameters.num_workers = self.workers
        solver.parameters.random_seed = self.seed
        return solver

    def _build(self) -> None:
        p, m, step = self.p, self.m, self.p.step
        providers = {c.provider for c in self.cases}
        rooms = {s.room for c in self.cases for s in self.slots[c.id]}
        by_room: dict[str, list[Any]] = {r: [] for r in rooms}
        by_prov: dict[str, list[Any]] = {pr: [] for pr in providers}
        for b in p.bookings:
            if b.room in by_room or b.provider in by_prov:
                first, last = b.start // step, -(-b.end // step)
                iv = m.new_fixed_size_interval_var(first, last - first, f"b{b.id}")
                if b.room in by_room:
                    by_room[b.room].append(iv)
                if b.provider in by_prov:
                    by_prov[b.provider].append(iv)
        for c in self.cases:
            cs = self.slots[c.id]
            size = -(-c.minutes // step)
            lo = min((s.lo for s in cs), default=c.release - c.release % step) // step
            hi = max((s.hi for s in cs), default=lo * step) // step
            a = m.new_int_var(lo, hi, f"a{c.id}")
            u = m.new_bool_var(f"u{c.id}")
            lits = []
            for j, s in enumerate(cs):
                lit = m.new_bool_var(f"x{c.id}_{j}")
                m.add(a >= s.lo // step).only_enforce_if(lit)
                m.add(a <= s.hi // step).only_enforce_if(lit)
                iv = m.new_optional_fixed_size_interval_var(a, size, lit, f"i{c.id}_{j}")
                by_room[s.room].append(iv)
                by_prov[c.provider].append(iv)
                lits.append(lit)
                over = s.hi + c.minutes - s.regular
                if over > 0:
                    ot = m.new_int_var(0, over, f"o{c.id}_{j}")
                    m.add(ot >= step * a + c.minutes - s.regular).only_enforce_if(lit)
                    self.overtime_terms.append(ot)
            m.add_exactly_one([*lits, u])
            m.add(a == lo).only_enforce_if(u)
            self.starts[c.id], self.unplaced[c.id] = a, u
            self.choice[c.id] = list(zip(cs, lits, strict=True))
            # cost = w (start - release) + w LATE late, or the unplaced cost
            self.constant -= c.weight * c.release
            self.delay_terms.append(c.weight * step * a)
            if c.deadline is not None:
                late_max = max(0, hi * step + c.minutes - c.deadline)
                if late_max > 0:
                    late = m.new_int_var(0, late_max, f"l{c.id}")
                    m.add(late >= step * a + c.minutes - c.deadline).only_enforce_if(~u)
                    self.delay_terms.append(c.weight * LATE * late)
            extra = _unplaced_cost(c, p.horizon) - c.weight * (lo * step - c.release)
            self.delay_terms.append(extra * u)
        for ivs in [*by_room.values(), *by_prov.values()]:
            if len(ivs) > 1:
                m.add_no_overlap(ivs)

    def _hint(self, placements: Mapping[str, Placement]) -> None:
        m, step = self.m, self.p.step
        m.clear_hints()
        for c in self.cases:
            h = placements.get(c.id)
            m.add_hint(self.unplaced[c.id], h is None)
            if h is not None:
                m.add_hint(self.starts[c.id], h.start // step)
            picked = False
            for s, lit in self.choice[c.id]:
                on = h is not None and not picked and s.room == h.room and s.lo <= h.start <= s.hi
                picked = picked or on
                m.add_hint(lit, on)

    def _read(self, solver: cp_model.CpSolver) -> dict[str, Placement]:
        out = {}
        for c in self.cases:
            for s, lit in self.choice[c.id]:
                if solver.boolean_value(lit):
                    st = solver.value(self.starts[c.id]) * self.p.step
                    out[c.id] = Placement(c.id, s.room, st, st + c.minutes)
                    break
        return out

    def delay(
        self, hint: Mapping[str, Placement], seconds: float
    ) -> tuple[dict[str, Placement], int, bool]:
        """Minimise the weighted delay: (placements, proven bound, optimal?)."""
        self._hint(hint)
        self.objective = sum(self.delay_terms) + self.constant
        self.m.minimize(self.objective)
        solver = self._solver(seconds)
        status = solver.solve(self.m)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            kept = {c.id: hint[c.id] for c in self.cases if c.id in hint}
            return kept, 0, False
        self.best = round(solver.objective_value)
        bound = int(solver.best_objective_bound + 1e-6) if status != cp_model.OPTIMAL else self.best
        return self._read(solver), bound, status == cp_model.OPTIMAL

    def overtime(self, found: dict[str, Placement], seconds: float) -> dict[str, Placement]:
        """Least overtime with the delay no worse than `found`'s."""
        if not self.overtime_terms or not hasattr(self, "best") or seconds < 0.05:
            return found
        self.m.add(self.objective <= self.best)
        self._hint(found)
        self.m.minimize(sum(self.overtime_terms))
        solver = self._solver(seconds)
        status = solver.solve(self.m)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return found
        better = self._read(solver)
        return (
            better
            if _cost(self.p, self.cases, better) <= _cost(self.p, self.cases, found)
            else found
        )

    def buckets(self, seconds: float) -> int:
        """The day-bucket lower bound of this part's delay (see the module's doc).

        Each case chooses a window (or none); each room window and each provider-day
        holds at most its free minutes. A case costs its delay at its window's earliest
        start, plus, for the cases on one provider's day that are released by the day's
        first start B, how long they must wait behind each other: on one provider,
        Σ p·(S − B) ≥ ((Σ p)² − Σ p²) / 2 for any set of cases (Queyranne's inequality
        for one machine), so the cases of one weight w whose longest is P wait at least
        w·((Σ p)² − Σ p²) / (2P) in all. The model is scaled by `F` to stay in integers
        (coefficients rounded down: still a lower bound)."""
        p = self.p
        F = 360
        m = cp_model.CpModel()
        windows: dict[str, list[Window]] = {}
        for w in p.windows:
            windows.setdefault(w.room, []).append(w)
        room_use: dict[tuple[str, int], list[Any]] = {}
        prov_use: dict[tuple[str, int], list[Any]] = {}
        first: dict[tuple[str, int], int] = {}
        for c in self.cases:
            for s in self.slots[c.id]:
                key = (c.provider, s.day)
                first[key] = min(first.get(key, s.lo), s.lo)
        # (provider, day, weight) → [(minutes, x)] of the cases released by the day's start
        waiting: dict[tuple[str, int, int], list[tuple[int, Any]]] = {}
        terms: list[Any] = []
        for c in self.cases:
            lits = []
            for j, s in enumerate(self.slots[c.id]):
                x = m.new_bool_var(f"x{c.id}_{j}")
                lits.append(x)
                w = next(w for w in windows[s.room] if w.start <= s.lo < w.hard_end)
                room_use.setdefault((s.room, w.start), []).append(c.minutes * x)
                prov_use.setdefault((c.provider, s.day), []).append(c.minutes * x)
                b = first[(c.provider, s.day)]
                cost = _case_cost(c, s.lo, s.lo + c.minutes, p.horizon)
                if c.release <= b:
                    cost -= c.weight * (s.lo - b)  # the wait from B: counted below
                    waiting.setdefault((c.provider, s.day, c.weight), []).append((c.minutes, x))
                terms.append(F * cost * x)
            u = m.new_bool_var(f"u{c.id}")
            terms.append(F * _unplaced_cost(c, p.horizon) * u)
            m.add_exactly_one([*lits, u])
        for (_, _, weight), members in waiting.items():
            if len(members) < 2:
                continue
            most = max(mins for mins, _ in members)
            coef = (F * weight) // (2 * most)
            if coef <= 0:
                continue
            total = sum(mins for mins, _ in members)
            load = m.new_int_var(0, total, "load")
            m.add(load == sum(mins * x for mins, x in members))
            square = m.new_int_var(0, total * total, "square")
            m.add_multiplication_equality(square, [load, load])
            terms.append(coef * square)
            terms.extend(-coef * mins * mins * x for mins, x in members)
        for (room, start), use in room_use.items():
            w = next(w for w in windows[room] if w.start == start)
            busy = sum(
                max(0, min(b.end, w.hard_end) - max(b.start, w.start))
                for b in p.bookings
                if b.room == room
            )
            m.add(sum(use) <= w.hard_end - w.start - busy)
        for (prov, day), use in prov_use.items():
            lo, hi = day * DAY, (day + 1) * DAY
            pws = p.provider_windows.get(prov)
            spans = (
                [(w.start, w.hard_end) for ws in windows.values() for w in ws]
                if pws is None
                else [(pw.start, pw.end) for pw in pws]
            )
            busy = sum(
                max(0, min(b.end, hi) - max(b.start, lo)) for b in p.bookings if b.provider == prov
            )
            m.add(sum(use) <= max(0, _union(spans, lo, hi) - busy))
        m.minimize(sum(terms))
        solver = self._solver(seconds)
        status = solver.solve(m)
        if status == cp_model.OPTIMAL:
            return int(solver.objective_value + 1e-6) // F
        if status == cp_model.FEASIBLE:
            return int(solver.best_objective_bound + 1e-6) // F
        return 0


def _union(spans: Sequence[tuple[int, int]], lo: int, hi: int) -> int:
    """Minutes of [lo, hi) covered by the spans."""
    cut = sorted((max(a, lo), min(b, hi)) for a, b in spans if a < hi and lo < b)
    total, reach = 0, lo
    for a, b in cut:
        a = max(a, reach)
        if b > a:
            total += b - a
            reach = b
    return total
