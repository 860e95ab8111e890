"""The rebooking solvers on random instances: never a room or provider booked twice,
fixed bookings kept, nothing late that could be on time, CP-SAT never worse than greedy."""

from __future__ import annotations

import random

import pytest

from standby.schedule.rebook import (
    DAY,
    Booking,
    Case,
    Placement,
    Problem,
    ProviderWindow,
    Window,
    candidate_slots,
    greedy,
    violations,
)
from standby.schedule.rebook_cpsat import solve
from standby.schedule.rebook_instances import random_problem

SEEDS = range(6)


def _small(seed: int) -> Problem:
    return random_problem(seed, cases=14, providers=3, rooms=3, days=5, booked=0.35)


def _late_but_could_be_on_time(p: Problem, placements: dict[str, Placement]) -> list[str]:
    """Cases late or unplaced although a start meeting their deadline is free in the
    final schedule (everything else where it is)."""
    out = []
    for c in p.cases:
        pl = placements.get(c.id)
        if c.deadline is None or (pl is not None and pl.end <= c.deadline):
            continue
        others = {k: v for k, v in placements.items() if k != c.id}
        for s in candidate_slots(p, c):
            for t in range(s.lo, min(s.hi, c.deadline - c.minutes) + 1, p.step):
                trial = {**others, c.id: Placement(c.id, s.room, t, t + c.minutes)}
                if not violations(p, trial):
                    out.append(f"{c.id} could start in {s.room} at {t}")
                    break
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_greedy_books_nothing_twice_and_respects_every_window(seed: int) -> None:
    p = _small(seed)
    g = greedy(p)
    assert violations(p, g.placements) == []
    assert _late_but_could_be_on_time(p, g.placements) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_cp_sat_books_nothing_twice_and_is_never_worse_than_greedy(seed: int) -> None:
    p = _small(seed)
    g = greedy(p)
    s = solve(p, seconds=5, workers=2)
    assert violations(p, s.placements) == []
    assert _late_but_could_be_on_time(p, s.placements) == []
    assert s.score.objective <= g.score.objective
    assert s.bound is not None and s.bound <= s.score.objective


def test_violations_sees_a_double_booking_and_a_closed_room() -> None:
    """The checker the tests rely on can fail."""
    p = _small(0)
    c0, c1 = p.cases[0], next(c for c in p.cases[1:] if c.provider == p.cases[0].provider)
    slot = candidate_slots(p, c0)[0]
    twice = {
        c0.id: Placement(c0.id, slot.room, slot.lo, slot.lo + c0.minutes),
        c1.id: Placement(c1.id, slot.room, slot.lo, slot.lo + c1.minutes),
    }
    assert any("overlap" in v for v in violations(p, twice))
    night = {c0.id: Placement(c0.id, slot.room, 60, 60 + c0.minutes)}
    assert any("outside its windows" in v for v in violations(p, night))


def test_fixed_bookings_stay_and_are_worked_around() -> None:
    w = Window("or1", 480, 1020, 1080)
    fixed = Booking("b1", "or1", "dr1", 480, 600)
    case = Case("c1", "dr1", 60, 1, 0)
    p = Problem(1, (w,), (case,), (fixed,))
    for proposal in (greedy(p), solve(p, seconds=2)):
        assert proposal.placements["c1"].start == 600
        assert "b1" not in proposal.placements


def test_deadline_met_when_a_feasible_placement_exists() -> None:
    """Two days, one room: the urgent case must go on day 0; the elective case released
    earlier would take day 0's only slot first if order were by release."""
    windows = (Window("or1", 480, 600, 600), Window("or1", DAY + 480, DAY + 600, DAY + 600))
    elective = Case("e", "dr1", 120, 1, 0)
    urgent = Case("u", "dr1", 120, 10, 60, deadline=DAY)
    p = Problem(2, windows, (elective, urgent))
    for proposal in (greedy(p), solve(p, seconds=2)):
        assert proposal.placements["u"].end <= DAY
        assert proposal.score.late == 0


def test_provider_block_and_unavailable_days() -> None:
    windows = tuple(
        Window(r, d * DAY + 480, d * DAY + 1020, d * DAY + 1020)
        for d in range(3)
        for r in ("or1", "or2")
    )
    blocks = {
        "dr1": (
            ProviderWindow(DAY + 480, DAY + 1020, "or2"),
            ProviderWindow(2 * DAY + 480, 2 * DAY + 1020, "or1"),
        )
    }
    case = Case("c", "dr1", 60, 1, 0, unavailable_days=frozenset({1}))
    p = Problem(3, windows, (case,), (), blocks)
    for proposal in (greedy(p), solve(p, seconds=2)):
        pl = proposal.placements["c"]
        assert (pl.room, pl.start) == ("or1", 2 * DAY + 480)


def test_a_case_with_no_room_anywhere_is_left_unplaced() -> None:
    p = Problem(1, (Window("or1", 480, 540, 540),), (Case("long", "dr1", 120, 1, 0),))
    for proposal in (greedy(p), solve(p, seconds=2)):
        assert proposal.placements == {}
        assert proposal.score.unplaced == 1


@pytest.mark.parametrize("seed", range(3))
def test_cp_sat_is_no_worse_on_larger_random_instances(seed: int) -> None:
    rng = random.Random(seed)
    p = random_problem(seed, cases=60, providers=6, rooms=6, days=7, booked=rng.choice((0.2, 0.4)))
    g = greedy(p)
    s = solve(p, seconds=6, workers=2, hint=g)
    assert violations(p, s.placements) == []
    assert s.score.objective <= g.score.objective
