"""The schedule's tables on every engine: overrides (newest wins, history kept), OR desk
entries (withdrawn, not deleted), calls, accepted placements; bad input refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from standby.schedule import repository as repo
from standby.store.base import Store

T = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_overrides_newest_wins_and_history_is_kept(store: Store) -> None:
    repo.record_override(store, "ap1", "p1", "proceed on paper", "postpone", "films", "s1", T)
    repo.record_override(store, "ap1", "p1", "cancel", "postpone", "patient ill", "s2", T)
    assert repo.overrides(store)["ap1"].decision == "cancel"
    history = repo.override_history(store, "ap1")
    assert [(o.decision, o.by, rules) for o, rules in history] == [
        ("proceed on paper", "s1", "postpone"),
        ("cancel", "s2", "postpone"),
    ]
    with pytest.raises(repo.RecordError, match="reason"):
        repo.record_override(store, "ap2", "p2", "cancel", "proceed", " ", "s1", T)
    with pytest.raises(repo.RecordError, match="decision"):
        repo.record_override(store, "ap2", "p2", "later", "proceed", "why not", "s1", T)
    assert "ap2" not in repo.overrides(store)


def test_or_desk_entries_are_withdrawn_not_deleted(store: Store) -> None:
    u = repo.add_unavailable(store, "room", "or1", "OR 1", T, T + timedelta(hours=4), "", "d", T)
    assert [x.id for x in repo.unavailable(store, T)] == [u.id]
    assert repo.unavailable(store, T + timedelta(hours=5)) == []
    assert repo.withdraw_unavailable(store, u.id, "d", T)
    assert not repo.withdraw_unavailable(store, u.id, "d", T)
    assert repo.unavailable(store, T) == []
    with pytest.raises(repo.RecordError, match="end"):
        repo.add_unavailable(store, "room", "or1", "OR 1", T, T, "", "d", T)


def test_calls_and_accepted_placements(store: Store) -> None:
    days = repo.parse_days("2026-12-03, 2026-12-02")
    repo.record_call(store, "ap1", "p1", "unavailable-days", days, "", "s", T)
    repo.record_call(store, "ap1", "p1", "voicemail", [], "", "s", T)
    calls = repo.calls(store)["ap1"]
    assert [c.outcome for c in calls] == ["unavailable-days", "voicemail"]
    assert calls[0].unavailable_days == (date(2026, 12, 2), date(2026, 12, 3))
    with pytest.raises(repo.RecordError, match="unavailable_days"):
        repo.record_call(store, "ap1", "p1", "unavailable-days", [], "", "s", T)
    with pytest.raises(repo.RecordError, match="not a date"):
        repo.parse_days("next tuesday")
    placed = repo.AcceptedPlacement("prop1", "ap1", "p1", "or1", "dr1", T, T + timedelta(hours=1))
    assert repo.accept(store, [placed], "s", T) == 1
    assert repo.accepted(store) == [placed]
