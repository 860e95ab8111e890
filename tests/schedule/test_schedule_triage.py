"""Triage decisions from the shipped rules (pure: no store)."""

from __future__ import annotations

from datetime import timedelta

from cases import T0, case

from standby.schedule.rules import default_rules
from standby.schedule.triage import SystemsSeen, Unavailable, triage

CABG = frozenset({"232717009"})  # needs imaging in the shipped rules
RULES = default_rules()


def _one(item, seen, unavailable=()):  # type: ignore[no-untyped-def]
    [row] = triage([item], RULES, seen, unavailable)
    return row


def test_emergent_case_proceeds_with_its_systems_down() -> None:
    seen = SystemsSeen(
        failed=frozenset({"pacs", "lab", "pharmacy"}),
        reported=frozenset({"pacs", "lab", "pharmacy"}),
        ehr_down=True,
    )
    row = _one(case(priority="emergent", codes=CABG), seen)
    assert row.decision == "proceed on paper"
    assert set(row.down) == {
        "Imaging (PACS)",
        "Laboratory",
        "Pharmacy",
        "Anesthesia record (in the EHR)",
    }
    assert any("Imaging (PACS) down" in r for r in row.reasons)


def test_elective_case_needing_imaging_is_postponed_when_imaging_is_down() -> None:
    seen = SystemsSeen(failed=frozenset({"pacs"}), reported=frozenset({"pacs", "lab"}))
    row = _one(case(priority="elective", codes=CABG), seen)
    assert row.decision == "postpone"
    assert row.moves
    assert any("Imaging (PACS) down" in r and "postpone" in r for r in row.reasons)


def test_elective_case_not_needing_imaging_goes_ahead_when_imaging_is_down() -> None:
    seen = SystemsSeen(failed=frozenset({"pacs"}), reported=frozenset({"pacs", "lab"}))
    row = _one(case(priority="elective"), seen)  # a cholecystectomy: no imaging rule
    assert row.decision == "proceed"
    assert "Imaging (PACS)" not in row.needs


def test_everything_up_proceeds() -> None:
    seen = SystemsSeen(reported=frozenset({"pacs", "lab", "pharmacy"}))
    row = _one(case(priority="elective", codes=CABG), seen)
    assert row.decision == "proceed"
    assert row.down == ()


def test_a_system_never_heard_from_is_said_unknown_not_up() -> None:
    row = _one(case(priority="elective", codes=CABG), SystemsSeen())
    assert row.decision == "proceed"
    assert any("state unknown" in r and "pacs" in r for r in row.reasons)


def test_closed_room_postpones_elective_and_not_emergent() -> None:
    closed = Unavailable(
        "u1",
        "room",
        "or1",
        "OR 1",
        T0 - timedelta(hours=1),
        T0 + timedelta(hours=1),
        "no scrub nurse",
        "desk",
    )
    seen = SystemsSeen(reported=frozenset({"pacs", "lab", "pharmacy"}))
    assert _one(case(priority="elective"), seen, [closed]).decision == "postpone"
    row = _one(case(priority="emergent"), seen, [closed])
    assert row.decision == "proceed"
    assert any("OR 1 closed per OR desk (no scrub nurse)" in r for r in row.reasons)
    later = case(priority="elective", start=T0 + timedelta(hours=2))
    assert _one(later, seen, [closed]).decision == "proceed"


def test_surgeon_away_postpones() -> None:
    away = Unavailable("u2", "person", "dr1", "Dr dr1", T0, T0 + timedelta(days=1), "", "desk")
    row = _one(case(priority="urgent"), SystemsSeen(), [away])
    assert row.decision == "postpone"
    assert any("Dr dr1 unavailable" in r for r in row.reasons)


def test_override_replaces_the_rules_decision_and_keeps_both() -> None:
    from standby.schedule.triage import Override

    seen = SystemsSeen(failed=frozenset({"pacs"}), reported=frozenset({"pacs"}))
    ov = Override("ap1", "proceed on paper", "films printed yesterday", "sched", T0)
    [row] = triage([case(codes=CABG)], RULES, seen, (), {"ap1": ov})
    assert row.decision == "proceed on paper"
    assert row.by_rules == "postpone"
    assert row.override == ov


def test_visit_without_priority_takes_visit_priority() -> None:
    seen = SystemsSeen(failed=frozenset({"video"}), reported=frozenset({"video"}))
    row = _one(case(kind="visit", priority="", what="Telehealth follow-up"), seen)
    assert row.priority == "elective"
    assert row.decision == "postpone"
