"""The registrars' decisions on each engine: stored with who, when and why; changed with
the history kept; refused without a reason or a person; frozen once back-entry starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from standby.recovery import matches
from standby.store.base import Store

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
REG = "7d1c3a6e-0000-4000-8000-000000000001"


def test_no_decision_until_a_registrar_decides(store: Store) -> None:
    assert matches.decision(store, REG) is None
    assert matches.all_decisions(store) == {}


def test_decide_then_change_keeps_the_history(store: Store) -> None:
    d = matches.decide(
        store, REG, ehr_patient_id="Patient/p1", by="reg.a", reason="same insurance card", now=NOW
    )
    assert d.ehr_patient_id == "p1" and not d.create_new
    later = NOW + timedelta(minutes=5)
    matches.decide(
        store, REG, ehr_patient_id=None, by="reg.b", reason="different mother's name", now=later
    )
    got = matches.decision(store, REG)
    assert got is not None
    assert (got.ehr_patient_id, got.by, got.at, got.reason) == (
        None,
        "reg.b",
        later,
        "different mother's name",
    )
    assert matches.all_decisions(store) == {REG: None}
    events = matches.history(store, REG)
    assert [(e.action, e.by, e.ehr_patient_id) for e in events] == [
        ("decided", "reg.a", "p1"),
        ("changed", "reg.b", None),
    ]


@pytest.mark.parametrize(("by", "reason"), [("reg.a", ""), ("reg.a", " ok "), ("  ", "reason!")])
def test_a_decision_needs_a_person_and_a_reason(store: Store, by: str, reason: str) -> None:
    with pytest.raises(matches.DecisionError):
        matches.decide(store, REG, ehr_patient_id="p1", by=by, reason=reason, now=NOW)
    assert matches.decision(store, REG) is None


def test_frozen_once_back_entry_starts(store: Store) -> None:
    with pytest.raises(matches.DecisionError, match="no registrar has decided"):
        matches.freeze(store, REG, by="backentry", now=NOW)
    matches.decide(store, REG, ehr_patient_id="p1", by="reg.a", reason="same card", now=NOW)
    frozen = matches.freeze(store, REG, by="backentry", now=NOW + timedelta(hours=1))
    assert frozen.frozen_at == NOW + timedelta(hours=1)
    with pytest.raises(matches.DecisionFrozen):
        matches.decide(store, REG, ehr_patient_id=None, by="reg.a", reason="oops wrong", now=NOW)
    got = matches.decision(store, REG)
    assert got is not None and got.ehr_patient_id == "p1" and got.frozen_at is not None
    assert [e.action for e in matches.history(store, REG)] == ["decided", "frozen"]
