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

Two solvers: `greedy` here (first fit, most urgent first) and `rebook_cpsat.solve`
(OR-Tools CP-SAT, hinted with greedy's answer, with a proven lower bound).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

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
    room: str = ""  # "" = any room; a room id also covers its sub-rooms ("clinic#dr")


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
    # computed once (a problem never changes): each case's candidate slots by case id,
    # the windows each provider may work in by provider
    _slots: dict[str, list[Slot]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    _pairs: dict[str, list[tuple[Window, int, int]]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

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
    objective: int  # what the solvers minimise first: weighted delay with lateness and
    # cases left unplaced as `_case_cost` and `_unplaced_cost` count them; then overtime

    @property
    def key(self) -> tuple[int, int]:
        """Lexicographic: the objective, then overtime."""
        return (self.objective, self.overtime)


@dataclass(frozen=True)
class Proposal:
    placements: dict[str, Placement]
    score: Score
    method: str
    seconds: float
    bound: int | None = None  # proven lower bound of `score.objective` (CP-SAT)
    bounds: Mapping[str, int] = field(default_factory=dict)  # each bound found, by name
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
    provider's windows, not on a day the patient cannot come, long enough for it.
    Computed once per case of a problem; the list is shared: do not change it."""
    cached = p._slots.get(c.id)
    if cached is None:
        cached = p._slots[c.id] = _candidate_slots(p, c)
    return cached


def _pairs(p: Problem, provider: str) -> list[tuple[Window, int, int]]:
    """(window, from, to) where `provider` may work in the window (computed once)."""
    cached = p._pairs.get(provider)
    if cached is not None:
        return cached
    pws = p.provider_windows.get(provider)
    if pws is None:
        out = [(w, w.start, w.hard_end) for w in p.windows]
    else:
        out = []
        for w in p.windows:
            for pw in pws:
                if pw.start >= w.hard_end or w.start >= pw.end:
                    continue
                if not pw.room or pw.room == w.room or w.room.startswith(pw.room + "#"):
                    out.append((w, max(w.start, pw.start), min(w.hard_end, pw.end)))
    p._pairs[provider] = out
    return out


def _candidate_slots(p: Problem, c: Case) -> list[Slot]:
    out = []
    for w, a, b in _pairs(p, c.provider):
        if c.rooms and w.room not in c.rooms:
            continue
        day = w.start // DAY
        if day in c.unavailable_days:
            continue
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


def score(p: Problem, placements: Mapping[str, Placement]) -> Score:
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
    return Score(delay, ot, late, unplaced, cost)


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
                # two fixed bookings overlapping is the EHR's business, not the proposal's
                if s2 < reach and not (holder.startswith("booking ") and b.startswith("booking ")):
                    out.append(f"{kind} {key}: {holder} and {b} overlap")
                if e2 > reach:
                    reach, holder = e2, b
    return out


def resequence(p: Problem, placements: Mapping[str, Placement]) -> dict[str, Placement]:
    """Each room-day's cases again, in Smith's order (weight per minute, highest first),
    each at the earliest free start of the windows it had (a case stays in its room and on
    its day); kept only where it lowers that room-day's cost."""
    by_id = {c.id: c for c in p.cases}
    out = dict(placements)
    groups: dict[tuple[str, int], list[str]] = {}
    for cid, where in placements.items():
        groups.setdefault((where.room, where.start // DAY), []).append(cid)
    book = _Book(p)
    for cid, placed in out.items():
        book.take(by_id[cid], placed)
    for (room, day), ids in sorted(groups.items()):
        before = [out[i] for i in ids]
        cost_before = sum(_case_cost(by_id[i], out[i].start, out[i].end, p.horizon) for i in ids)
        for i in ids:
            book.release(by_id[i], out[i])
        trial: dict[str, Placement] = {}
        ok = True
        for i in sorted(
            ids, key=lambda i: (-by_id[i].weight / by_id[i].minutes, by_id[i].release, i)
        ):
            c = by_id[i]
            slots = [s for s in candidate_slots(p, c) if s.room == room and s.day == day]
            pl = book.best(c, slots)
            if pl is None:
                ok = False
                break
            book.take(c, pl)
            trial[i] = pl
        cost_after = (
            sum(_case_cost(by_id[i], t.start, t.end, p.horizon) for i, t in trial.items())
            if ok
            else None
        )
        if cost_after is None or cost_after >= cost_before:
            for i, t in trial.items():
                book.release(by_id[i], t)
            for old in before:
                book.take(by_id[old.case], old)
        else:
            out.update(trial)
    return out
