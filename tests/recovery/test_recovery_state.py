"""Back-entry's state on every engine: entries move only forward along the arrows,
enrolment is idempotent, the review's outcomes are guarded, leases keep two runners
apart, and counts and timing read it back."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from standby.recovery import leases, state
from standby.recovery.state import Enrolment, Status, TransitionRefused, Written
from standby.store.base import Store

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def _enrol(store: Store, *ids: str, kind: str = "vitals", patient: str = "p1") -> None:
    state.enroll(
        store,
        [Enrolment(i, kind, patient, NOW - timedelta(hours=1)) for i in ids],
        NOW,
        "runner-a",
    )


def test_enrolment_is_idempotent_and_starts_pending(store: Store) -> None:
    assert state.enroll(store, [Enrolment("e1", "vitals", "p1", NOW)], NOW, "a") == 1
    assert state.enroll(store, [Enrolment("e1", "vitals", "p1", NOW)], NOW, "b") == 0
    got = state.get(store, "e1")
    assert got is not None and got.status is Status.PENDING and got.attempts == 0
    assert [e.to_status for e in state.events(store, "e1")] == [Status.PENDING]


def test_pending_sent_confirmed_keeps_what_was_written(store: Store) -> None:
    _enrol(store, "e1")
    assert state.mark_sent(store, "e1", NOW, "a")
    assert state.mark_sent(store, "e1", NOW + timedelta(seconds=5), "a")  # resent: one more try
    w = [Written("Observation", "o9", "1", "urn:uuid:x")]
    assert state.mark_confirmed(store, "e1", w, NOW + timedelta(seconds=9), "a")
    got = state.get(store, "e1")
    assert got is not None
    assert got.status is Status.CONFIRMED and got.attempts == 2 and got.written == w
    assert got.first_sent_at == NOW and got.finished_at == NOW + timedelta(seconds=9)
    assert state.timing(store).took == timedelta(seconds=9)


def test_a_confirmed_entry_never_moves_again(store: Store) -> None:
    _enrol(store, "e1")
    state.mark_sent(store, "e1", NOW, "a")
    state.mark_confirmed(store, "e1", [], NOW, "a")
    assert not state.mark_sent(store, "e1", NOW, "b")
    assert not state.mark_conflict(store, "e1", "412", NOW, "b")
    assert not state.mark_rejected(store, "e1", "400", NOW, "b")
    with pytest.raises(TransitionRefused, match="confirmed"):
        state.set_outcome(store, "e1", "discarded", "rev", "duplicate", now=NOW)
    got = state.get(store, "e1")
    assert got is not None and got.status is Status.CONFIRMED


def test_rejected_keeps_the_operation_outcome(store: Store) -> None:
    _enrol(store, "e1")
    state.mark_sent(store, "e1", NOW, "a")
    oo = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid"}]}
    assert state.mark_rejected(store, "e1", "HTTP 422: invalid", NOW, "a", outcome=oo)
    got = state.get(store, "e1")
    assert got is not None and got.status is Status.REJECTED
    assert got.outcome == oo and got.last_error == "HTTP 422: invalid"
    assert [e.entry_id for e in state.list_by_status(store, "rejected")] == ["e1"]


def test_review_outcomes(store: Store) -> None:
    _enrol(store, "c", "r", "h", "p")
    for i in ("c", "r"):
        state.mark_sent(store, i, NOW, "a")
    state.mark_conflict(store, "c", "HTTP 412", NOW, "a")
    state.mark_rejected(store, "r", "HTTP 400", NOW, "a")
    state.mark_held(store, "h", "waits for the registrar's match", NOW, "a")
    with pytest.raises(TransitionRefused, match="reason"):
        state.set_outcome(store, "c", "discarded", "rev", "", now=NOW)
    with pytest.raises(TransitionRefused, match="not a review outcome"):
        state.set_outcome(store, "c", "confirmed", "rev", now=NOW)
    with pytest.raises(TransitionRefused, match="pending"):  # nothing to review yet
        state.set_outcome(store, "p", "entered-by-hand", "rev", now=NOW)
    got = state.set_outcome(store, "c", "entered-by-hand", "rev", "typed in the EHR", now=NOW)
    assert got.status is Status.ENTERED_BY_HAND and got.reviewed_by == "rev"
    assert got.finished_at == NOW
    got = state.set_outcome(store, "r", "pending", "rev", "fixed the code", now=NOW)
    assert got.status is Status.PENDING and got.finished_at is None
    got = state.set_outcome(store, "h", "discarded", "rev", "registered twice", now=NOW)
    assert got.status is Status.DISCARDED and got.review_reason == "registered twice"
    history = [(e.from_status, e.to_status, e.by) for e in state.events(store, "c")]
    assert history[-1] == (Status.CONFLICT, Status.ENTERED_BY_HAND, "rev")


def test_held_until_released(store: Store) -> None:
    _enrol(store, "e1")
    assert state.mark_held(store, "e1", "no match yet", NOW, "a")
    assert not state.mark_sent(store, "e1", NOW, "a")  # a held entry is not sent
    assert state.release_held(store, "e1", NOW, "a")
    assert state.mark_sent(store, "e1", NOW, "a")


def test_counts_by_kind_and_status(store: Store) -> None:
    _enrol(store, "v1", "v2")
    _enrol(store, "n1", kind="note", patient="p2")
    state.mark_sent(store, "v1", NOW, "a")
    state.mark_confirmed(store, "v1", [], NOW, "a")
    assert state.counts(store) == {"note": {"pending": 1}, "vitals": {"confirmed": 1, "pending": 1}}
    totals = state.totals(store)
    assert totals["pending"] == 2 and totals["confirmed"] == 1 and totals["conflict"] == 0
    assert state.open_patients(store) == ["p1", "p2"]


def test_a_lease_keeps_a_second_runner_out_until_it_ends(store: Store) -> None:
    assert leases.claim(store, "p1", "a", NOW, LEASE)
    assert not leases.claim(store, "p1", "b", NOW + timedelta(seconds=30), LEASE)
    assert leases.claim(store, "p1", "a", NOW + timedelta(seconds=30), LEASE)  # renewed
    assert not leases.claim(store, "p1", "b", NOW + timedelta(seconds=80), LEASE)
    assert leases.claim(store, "p1", "b", NOW + timedelta(seconds=91), LEASE)  # a's ended
    leases.release(store, "p1", "a")  # not a's any more: stays b's
    assert not leases.claim(store, "p1", "a", NOW + timedelta(seconds=92), LEASE)
    leases.release(store, "p1", "b")
    assert leases.claim(store, "p1", "a", NOW + timedelta(seconds=93), LEASE)


def test_many_runners_claiming_at_once_get_one_lease_each_patient(store: Store) -> None:
    if store.engine == "memory":
        pytest.skip("the memory engine is one connection")
    winners: dict[str, list[str]] = {f"p{i}": [] for i in range(20)}
    lock = threading.Lock()

    def runner(name: str) -> None:
        for p in winners:
            if leases.claim(store, p, name, NOW, LEASE):
                with lock:
                    winners[p].append(name)

    threads = [threading.Thread(target=runner, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(w) == 1 for w in winners.values()), winners
