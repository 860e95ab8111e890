"""standby.clinical against a generated hospital: census, search, schedules."""

from __future__ import annotations

from datetime import timedelta

from standby import clinical
from standby.fhir import display as d
from standby.fhir.summary import encounter_bed
from support.reports_support import NOW


def test_census_places_every_admitted_patient_in_one_bed(hospital):
    for unit in clinical.units(hospital):
        census = clinical.unit_census(hospital, unit.id, NOW)
        in_unit = set(clinical.directory.directory(hospital).subtree(unit.id))
        expected = set()
        for sr in hospital.iter_type("Encounter"):
            enc = sr.json()
            if enc.get("status") == "in-progress" and encounter_bed(enc) in in_unit:
                expected.add(d.reference_id(enc["subject"], "Patient"))
        got = [p.id for p in census.patients]
        assert sorted(got) == sorted(expected)
        assert len(got) == len(set(got))
        assert len(census.beds) >= unit.beds


def test_summary_matches_the_store(hospital):
    unit = clinical.units(hospital)[0]
    row = clinical.unit_census(hospital, unit.id, NOW).patients[0]
    s = clinical.patient_summary(hospital, row.id, NOW)
    assert s is not None
    patient = hospital.read("Patient", row.id).json()
    assert s.header.mrn == d.mrn(patient) == row.mrn
    assert s.header.birth_date.isoformat() == patient["birthDate"]
    assert s.header.unit == unit.alias
    active = [r.json() for r in hospital.compartment(row.id, ["MedicationRequest"])]
    assert {m.id for m in s.medications} == {r["id"] for r in active if r["status"] == "active"}
    assert clinical.patient_summary(hospital, "no-such-patient", NOW) is None


def test_search_tells_two_namesakes_apart_accent_and_case_insensitively(hospital):
    matches = clinical.find_patients(hospital, "garcia maria", now=NOW)
    same = [m for m in matches if m.name.startswith("García, María")]
    assert len(same) >= 2
    assert len({(m.dob, m.mrn) for m in same}) == len(same)
    assert all(m.mrn and m.dob and m.sex and m.location for m in same)
    one = same[0]
    assert [m.id for m in clinical.find_patients(hospital, one.mrn, now=NOW)] == [one.id]
    by_dob = clinical.find_patients(hospital, one.dob, now=NOW)
    assert one.id in [m.id for m in by_dob]
    assert clinical.find_patients(hospital, "   ") == []


def test_or_schedule_has_every_case_of_the_day(hospital):
    for day in (NOW.date(), NOW.date() + timedelta(days=1)):
        sched = clinical.or_schedule(hospital, day)
        expected = 0
        for sr in hospital.iter_type("Appointment"):
            a = sr.json()
            if (
                a.get("start", "")[:10] == day.isoformat()
                and a["status"] != "cancelled"
                and any("loc-or" in (p["actor"].get("reference") or "") for p in a["participant"])
            ):
                expected += 1
        assert sched.cases == expected
        for room in sched.rooms:
            starts = [c.start for c in room.cases]
            assert starts == sorted(starts)
            assert all(c.patient and c.surgeon and c.anesthesiologist for c in room.cases)


def test_clinic_schedule_carries_patient_phones(hospital):
    day = NOW.date() + timedelta(days=2)  # a Monday: clinics are open
    sched = clinical.clinic_schedule(hospital, day)
    assert sched.visits > 0
    for prov in sched.providers:
        for v in prov.visits:
            patient = hospital.read("Patient", v.patient.id).json()
            assert v.patient.phones == d.phones(patient.get("telecom"))


def test_a_type_the_replica_does_not_hold_reads_not_synchronised():
    import orjson

    from standby.fhir.summary import AllergyStatus, SectionStatus
    from standby.store.memory import MemoryStore
    from support.summary_fixtures import LOCATIONS, encounter, note, patient

    store = MemoryStore()
    store.upsert_many(orjson.dumps(r) for r in [patient(), encounter(), *LOCATIONS.values()])
    s = clinical.patient_summary(store, "p1", NOW)
    assert s.notes.status is SectionStatus.NOT_SYNCHRONISED
    assert s.allergies.status is AllergyStatus.NOT_SYNCHRONISED
    assert s.header.location == "4W 412-B"
    other = note("n9", "someone else's note", NOW)
    other["subject"] = {"reference": "Patient/p2"}
    store.upsert_many([orjson.dumps(other)])
    clinical.directory.invalidate(store)
    s = clinical.patient_summary(store, "p1", NOW)
    assert s.notes.status is SectionStatus.NONE_RECORDED  # held, but none for p1
    assert s.notes.empty_text == "No notes recorded in the EHR."


def test_or_case_priority_and_status_in_words():
    from standby.clinical.schedules import Case, _priority

    ext = "https://standby.example.org/fhir/StructureDefinition/surgical-priority"
    assert _priority({"priority": 1}, None) == "emergent"
    assert _priority({"priority": 3}, None) == "urgent"
    assert _priority({"priority": 5}, None) == "elective"
    assert _priority({"priority": 0}, None) == ""
    assert _priority({"extension": [{"url": ext, "valueCode": "routine"}]}, None) == "elective"
    assert _priority({"priority": 5}, {"priority": "stat"}) == "emergent"
    case = Case("a", None, None, None, None, "x", "", "", "urgent", "fulfilled")
    assert case.status_text == "Done"
    assert Case("a", None, None, None, None, "x", "", "", "", "checked-in").status_text == (
        "Checked in"
    )
