"""Call lists (pure): grouping, the patient's language, nothing clinical on voicemail."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date

from cases import PATIENT, T0, case

from standby.schedule.contacts import call_lists
from standby.schedule.repository import Call
from standby.schedule.rules import default_rules
from standby.schedule.triage import SystemsSeen, triage

CABG = frozenset({"232717009"})
PACS_DOWN = SystemsSeen(failed=frozenset({"pacs"}), reported=frozenset({"pacs"}))


def _rows(*items):  # type: ignore[no-untyped-def]
    return triage(items, default_rules(), PACS_DOWN)


def test_lists_per_surgeon_and_clinic_hold_only_what_moves() -> None:
    rows = _rows(
        case("a1", codes=CABG, surgeon="dr1", what="CABG"),
        case("a2", codes=CABG, surgeon="dr2", what="CABG"),
        case("a3", surgeon="dr1"),  # no imaging: proceeds, not on a list
        case("v1", kind="visit", priority="", what="Cardiology Clinic visit", room="card"),
    )
    lists = call_lists(rows, {}, UTC)
    assert [c.title for c in lists] == ["CARD", "Surgeon: Dr dr1", "Surgeon: Dr dr2"]
    assert [t.row.item.id for t in lists[1].people] == ["a1"]


def test_script_in_the_patients_language_and_voicemail_without_clinical_words() -> None:
    [lst] = call_lists(_rows(case("a1", codes=CABG, what="CABG")), {}, UTC, "Mercy", "555-0199")
    [t] = lst.people
    assert t.language == "Spanish"
    assert t.say.startswith("Hola, le llamamos de Mercy")
    assert "del martes 1 de diciembre a las 08:00 con Dr dr1" in t.say
    assert "CABG" not in t.say and "CABG" not in t.voicemail
    assert "cirugía" in t.say and "cirugía" not in t.voicemail
    assert "555-0199" in t.voicemail
    assert t.interpreter == ""


def test_a_language_without_a_script_asks_for_an_interpreter() -> None:
    vi = replace(PATIENT, language="vi", language_text="Vietnamese")
    [lst] = call_lists(_rows(case("a1", codes=CABG, patient=vi)), {}, UTC)
    [t] = lst.people
    assert t.language == "English"
    assert t.interpreter == "Interpreter: Vietnamese (no script in that language)"
    no_lang = replace(PATIENT, language="", language_text="")
    [lst] = call_lists(_rows(case("a1", codes=CABG, patient=no_lang)), {}, UTC)
    assert lst.people[0].interpreter == "" and lst.people[0].language == "English"


def test_calls_are_attached_and_unavailable_days_gathered() -> None:
    calls = {
        "a1": [
            Call("a1", "p1", "voicemail", (), "", "s", T0),
            Call(
                "a1", "p1", "unavailable-days", (date(2026, 12, 3), date(2026, 12, 2)), "", "s", T0
            ),
        ]
    }
    [lst] = call_lists(_rows(case("a1", codes=CABG)), calls, UTC)
    [t] = lst.people
    assert t.last is not None and t.last.outcome == "unavailable-days"
    assert t.unavailable_days == (date(2026, 12, 2), date(2026, 12, 3))
    assert lst.done == 1
