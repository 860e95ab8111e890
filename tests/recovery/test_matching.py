"""Scoring a downtime registration against EHR Patients (pure): crafted pairs, accents and
case, near-matches raised only as far as "look at this", and the rule that nothing is
ever matched automatically."""

from __future__ import annotations

from typing import Any

from standby.recovery import matching
from standby.recovery.matching import EXACT, POSSIBLE, PROBABLE, UNLIKELY, assess, score

INSURANCE = "https://insurer.example.org/member"


def registration(**kw: Any) -> matching.Person:
    payload = {
        "family": "Nuñez",
        "given": "José",
        "birth_date": "1961-03-07",
        "sex": "male",
        "mrn": "DT4W-0001",
        "encounter_number": "DE4W-0001",
        **kw,
    }
    return matching.from_registration(payload)


def patient(pid: str = "p1", **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:mrn", "value": "MRN0042"}],
        "name": [{"use": "official", "family": "Nuñez", "given": ["José"]}],
        "gender": "male",
        "birthDate": "1961-03-07",
    }
    body.update(kw)
    return body


def test_accents_and_case_do_not_hide_a_match() -> None:
    reg = registration(family="NUNEZ", given="jose")
    s = score(reg, matching.from_patient(patient()))
    assert s.level == EXACT
    assert s.points == 30 + 20 + 30 + 5
    assert any("ignoring accents and case" in r.text for r in s.reasons)


def test_plain_form_of_names() -> None:
    assert matching.plain("José  O'Neil-Nuñez") == "jose oneil nunez"
    assert matching.plain("ØSTERGÅRD") == "ostergard"


def test_a_different_birth_date_is_not_a_match_whatever_the_name() -> None:
    s = score(registration(birth_date="1971-03-07"), matching.from_patient(patient()))
    assert s.level != EXACT
    assert any(r.field == "birth_date" and r.points < 0 for r in s.reasons)


def test_day_and_month_swapped_is_raised_but_never_exact() -> None:
    s = score(registration(birth_date="1961-07-03"), matching.from_patient(patient()))
    assert s.level == PROBABLE
    assert "day and month swapped" in " ".join(r.text for r in s.reasons)


def test_a_nickname_is_raised_but_never_exact() -> None:
    reg = registration(family="Smith", given="Bill", birth_date="1950-05-20")
    cand = patient(name=[{"family": "Smith", "given": ["William"]}], birthDate="1950-05-20")
    s = score(reg, matching.from_patient(cand))
    assert s.level == PROBABLE
    assert any("short form" in r.text for r in s.reasons)


def test_swapped_family_and_given_names() -> None:
    reg = registration(family="José", given="Nuñez")
    s = score(reg, matching.from_patient(patient()))
    assert any("swapped" in r.text for r in s.reasons) and s.level != EXACT


def test_same_identifier_is_exact_and_a_different_one_disagrees() -> None:
    cand = patient(identifier=[{"system": INSURANCE, "value": "ZX-1"}])
    same = registration(identifiers=[{"system": INSURANCE, "value": "zx-1"}], given="")
    assert score(same, matching.from_patient(cand)).level == EXACT
    other = registration(identifiers=[{"system": INSURANCE, "value": "ZX-2"}])
    s = score(other, matching.from_patient(cand))
    assert s.level != EXACT and any(r.points == -40 for r in s.reasons)


def test_the_downtime_mrn_is_not_a_persons_identifier() -> None:
    cand = patient(
        identifier=[
            {"system": matching.DOWNTIME_MRN_SYSTEM, "value": "DT4W-0001"},
        ],
        name=[{"family": "Other", "given": ["Person"]}],
        birthDate="1990-01-01",
    )
    assert score(registration(), matching.from_patient(cand)).level == UNLIKELY


def test_a_stranger_is_unlikely() -> None:
    cand = patient(
        name=[{"family": "Kowalski", "given": ["Anna"]}], birthDate="1988-10-30", gender="female"
    )
    assert score(registration(), matching.from_patient(cand)).level == UNLIKELY


def test_one_typo_in_a_long_family_name_is_possible_not_exact() -> None:
    reg = registration(family="Whitfeld", given="Dana", birth_date="1975-12-01", sex="female")
    cand = patient(
        name=[{"family": "Whitfield", "given": ["Dana"]}], birthDate="1975-12-01", gender="female"
    )
    s = score(reg, matching.from_patient(cand))
    assert s.level == PROBABLE and "one letter differs" in " ".join(r.text for r in s.reasons)


def test_a_maiden_name_among_the_patients_names_is_compared() -> None:
    cand = patient(
        name=[
            {"use": "official", "family": "Garcia", "given": ["Maria"]},
            {"use": "maiden", "family": "Nuñez", "given": ["José"]},
        ]
    )
    assert score(registration(), matching.from_patient(cand)).level == EXACT


def test_one_exact_candidate_is_suggested_never_decided() -> None:
    a = assess(registration(), [("p1", patient("p1"), "EHR")])
    assert a.suggested == "p1" and not a.ambiguous
    assert "confirm" in a.note


def test_two_same_name_same_birth_date_patients_are_ambiguous() -> None:
    twin = patient("p2", identifier=[{"system": "urn:mrn", "value": "MRN0099"}])
    a = assess(registration(), [("p1", patient("p1"), "EHR"), ("p2", twin, "replica")])
    assert a.ambiguous and a.suggested is None
    assert [c.patient_id for c in a.candidates] == ["p1", "p2"]
    assert all(c.score.level == EXACT for c in a.candidates)


def test_an_exact_candidate_beside_a_probable_one_is_not_suggested() -> None:
    near = patient("p2", birthDate="1961-07-03")
    a = assess(registration(), [("p1", patient("p1"), "EHR"), ("p2", near, "EHR")])
    assert a.suggested is None and a.ambiguous


def test_no_candidate_says_new_patient_and_drops_strangers() -> None:
    stranger = patient("p9", name=[{"family": "Li", "given": ["Wei"]}], birthDate="2001-01-01")
    a = assess(registration(), [("p9", stranger, "EHR")])
    assert a.candidates == () and a.suggested is None and "new patient" in a.note


def test_possible_level_for_name_only() -> None:
    cand = patient(birthDate="")
    s = score(registration(), matching.from_patient(cand))
    assert s.level == POSSIBLE


def test_an_identifier_alone_is_not_exact_when_the_name_is_another_persons() -> None:
    """Someone else's insurance card (a relative's) must not be pre-selected."""
    card = [{"system": INSURANCE, "value": "ZX-1"}]
    mother = patient(  # same sex, no birth date recorded: nothing *disagrees*
        identifier=card, name=[{"family": "Okafor", "given": ["Ngozi"]}], birthDate=""
    )
    s = score(registration(identifiers=card), matching.from_patient(mother))
    assert s.level != EXACT
    assert assess(registration(identifiers=card), [("p1", mother, "EHR")]).suggested is None
