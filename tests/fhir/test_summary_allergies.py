"""The allergy trichotomy and section statuses of standby.fhir.summary."""

from __future__ import annotations

from standby.fhir.summary import AllergyStatus, SectionStatus, allergies, patient_summary
from support.summary_fixtures import LOCATIONS, NOW, allergy, encounter, nka, patient


def test_listed_allergies_have_reactions_and_criticality_first():
    a = allergies(
        [
            allergy("Sulfa", criticality="low", reaction="Rash"),
            allergy("Penicillin", reaction="Anaphylaxis"),
        ]
    )
    assert a.status is AllergyStatus.LISTED
    assert [x.substance for x in a.items] == ["Penicillin", "Sulfa"]  # high criticality first
    assert a.items[0].reactions == ["Anaphylaxis"]
    assert a.text == "Penicillin, Sulfa"


def test_no_known_allergies_is_asserted_not_absent():
    a = allergies([nka()])
    assert a.status is AllergyStatus.NO_KNOWN_ALLERGIES
    assert a.text == "No known allergies"


def test_no_allergy_intolerance_means_not_recorded():
    a = allergies([])
    assert a.status is AllergyStatus.NOT_RECORDED
    assert a.text == "Allergies not recorded"
    assert "none" not in a.text.lower()


def test_allergies_not_synchronised_when_replica_lacks_the_type():
    a = allergies([], held={"Patient", "Encounter"})
    assert a.status is AllergyStatus.NOT_SYNCHRONISED


def test_real_allergy_beside_stale_nka_wins():
    a = allergies([nka(), allergy("Latex", reaction="Hives")])
    assert a.status is AllergyStatus.LISTED
    assert [x.substance for x in a.items] == ["Latex"]


def test_entered_in_error_and_resolved_are_not_listed():
    bad = allergy("Codeine")
    bad["verificationStatus"] = {"coding": [{"code": "entered-in-error"}]}
    old = allergy("Aspirin")
    old["clinicalStatus"] = {"coding": [{"code": "resolved"}]}
    assert allergies([bad]).status is AllergyStatus.NOT_RECORDED
    assert allergies([old]).status is AllergyStatus.NOT_RECORDED


def test_summary_sections_say_why_they_are_empty():
    res = [patient(), encounter()]
    held = {"Patient", "Encounter", "Condition", "Observation", "MedicationRequest"}
    s = patient_summary(res, NOW, resolved=LOCATIONS, held_types=held)
    assert s.problems.status is SectionStatus.NONE_RECORDED
    assert s.problems.empty_text == "No active problems recorded in the EHR."
    assert s.notes.status is SectionStatus.NOT_SYNCHRONISED
    assert "Not synchronised" in s.notes.empty_text
    assert s.care_plan.status is SectionStatus.NOT_SYNCHRONISED
    assert s.allergies.status is AllergyStatus.NOT_SYNCHRONISED
    # without knowledge of what is held, absence is "none recorded", never blank
    s2 = patient_summary(res, NOW, resolved=LOCATIONS)
    assert s2.notes.status is SectionStatus.NONE_RECORDED
    assert s2.allergies.status is AllergyStatus.NOT_RECORDED


def test_header_has_two_identifiers_and_location():
    s = patient_summary([patient(), encounter()], NOW, resolved=LOCATIONS)
    h = s.header
    assert h.identifiers == "Smith, John · DOB 1957-03-02 · MRN 100234"
    assert h.location == "4W 412-B"
    assert h.attending == "Gregory House"
    assert h.length_of_stay == "3 d"
    assert h.age == "69 y"


def test_orders_that_may_conflict_with_an_allergy_are_flagged():
    from support.summary_fixtures import med_request

    res = [
        patient(),
        encounter(),
        allergy("Vancomycin", reaction="Rash"),
        allergy("Penicillin", code="70618", reaction="Anaphylaxis"),
        med_request("m1", "Vancomycin 1 g inj"),
        med_request("m2", "Piperacillin-tazobactam"),
        med_request("m3", "Metoprolol tartrate 25 mg tab"),
    ]
    s = patient_summary(res, NOW, resolved=LOCATIONS)
    assert s.alerts_for("m1") == ["Vancomycin (Rash; HIGH criticality)"]
    assert s.alerts_for("m2") == ["Penicillin (Anaphylaxis; HIGH criticality)"]
    assert s.alerts_for("m3") == []
    assert (
        patient_summary([patient(), nka(), med_request("m1", "Vancomycin")], NOW).allergy_alerts
        == {}
    )
