"""The pure downtime state machine (standby.monitor.state), with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from standby.monitor.state import (
    Health,
    InvalidTransition,
    Machine,
    Round,
    State,
    Thresholds,
    confirm_end,
    declare,
    observe,
    start_drill,
)

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
OK, SLOW, FAIL = Health.OK, Health.SLOW, Health.FAILED


def run(healths: list[Health], m: Machine | None = None, th: Thresholds = Thresholds()):
    m = m or Machine()
    states, timeline = [], []
    for i, h in enumerate(healths):
        step = observe(m, Round(T0 + timedelta(seconds=10 * i), h, f"round {i}"), th)
        m = step.machine
        timeline.extend(step.transitions)
        states.append(m.state)
    return m, states, timeline


def test_consecutive_failures_declare_downtime_after_n() -> None:
    m, states, timeline = run([OK, FAIL, FAIL, FAIL])
    assert states == [State.NORMAL, State.DEGRADED, State.DEGRADED, State.DOWNTIME]
    assert [(t.from_state, t.to_state) for t in timeline] == [
        (State.NORMAL, State.DEGRADED),
        (State.DEGRADED, State.DOWNTIME),
    ]
    assert timeline[-1].actor == "monitor"
    assert m.since == T0 + timedelta(seconds=30)
    assert m.first_failure_at == T0 + timedelta(seconds=10)


def test_single_lost_probe_and_latency_spike_do_not_declare() -> None:
    pattern = [OK, FAIL, OK, SLOW, SLOW, OK, FAIL, FAIL, SLOW, FAIL, FAIL, OK, OK, OK]
    m, states, _ = run(pattern * 20)
    assert State.DOWNTIME not in states
    assert m.state is State.NORMAL


def test_slow_rounds_degrade_but_never_declare() -> None:
    _m, states, _ = run([SLOW] * 50)
    assert set(states) == {State.DEGRADED}


def test_degraded_clears_after_healthy_rounds() -> None:
    _, states, _ = run([FAIL, OK, OK], th=Thresholds(healthy_to_clear=2))
    assert states == [State.DEGRADED, State.DEGRADED, State.NORMAL]


def test_manual_declaration_during_degraded() -> None:
    m, _states, _ = run([SLOW, SLOW])
    assert m.state is State.DEGRADED
    step = declare(m, T0 + timedelta(minutes=1), "ic.jones", "EHR unusably slow")
    assert step.machine.state is State.DOWNTIME
    assert step.machine.declared_by == "ic.jones"
    (t,) = step.transitions
    assert (t.from_state, t.to_state, t.actor) == (State.DEGRADED, State.DOWNTIME, "ic.jones")
    # healthy rounds never propose recovery of a downtime declared while the EHR answered
    m2, states2, _ = run([OK] * 10, m=step.machine)
    assert set(states2) == {State.DOWNTIME}
    assert confirm_end(m2, T0 + timedelta(hours=1), "ic.jones").machine.state is State.NORMAL


def test_recovery_is_only_proposed_and_needs_confirmation() -> None:
    m, _, _ = run([FAIL] * 3)
    m, states, timeline = run([OK] * 10, m=m)
    assert states[:3] == [State.DOWNTIME, State.DOWNTIME, State.RECOVERING]
    assert set(states[3:]) == {State.RECOVERING}  # never normal on its own
    assert "recovery proposed" in timeline[0].reason
    step = confirm_end(m, T0 + timedelta(hours=2), "ic.jones")
    assert step.machine.state is State.NORMAL
    assert step.transitions[0].actor == "ic.jones"
    assert step.machine.failures == 0 and not step.machine.drill


def test_failure_while_recovering_withdraws_the_proposal() -> None:
    m, _, _ = run([FAIL] * 3 + [OK] * 3)
    assert m.state is State.RECOVERING
    m, states, timeline = run([FAIL, OK, OK, OK], m=m)
    assert states == [State.DOWNTIME, State.DOWNTIME, State.DOWNTIME, State.RECOVERING]
    assert "withdrawn" in timeline[0].reason


def test_manual_actions_refused_in_the_wrong_state() -> None:
    with pytest.raises(InvalidTransition):
        confirm_end(Machine(), T0, "ic")
    m = declare(Machine(), T0, "ic").machine
    with pytest.raises(InvalidTransition):
        declare(m, T0, "ic")
    with pytest.raises(InvalidTransition):
        start_drill(m, T0)


def test_drill_marks_the_downtime_and_clears_at_the_end() -> None:
    m = start_drill(Machine(), T0)
    m, _states, timeline = run([FAIL] * 3, m=m)
    assert m.state is State.DOWNTIME and m.drill
    assert all(t.drill for t in timeline)
    assert not confirm_end(m, T0, "ic").machine.drill


def test_failures_to_declare_of_one_goes_straight_to_downtime() -> None:
    _, states, timeline = run([FAIL], th=Thresholds(failures_to_declare=1))
    assert states == [State.DOWNTIME]
    assert len(timeline) == 2


def test_machine_round_trips_through_json() -> None:
    m, _, _ = run([FAIL] * 3)
    assert Machine.from_json(m.to_json()) == m
