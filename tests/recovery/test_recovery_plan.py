"""The back-entry plan, pure (no server, no database): what stands is filed, in order, as
conditional creates and versioned updates, each entry with its Provenance; downtime
registrations wait for the registrar."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from standby.journal.entries import Capture, Kind
from standby.journal.fhir_mapping import URI_SYSTEM, entry_identifier
from standby.recovery.plan import SeenVersion, make_plan, provenance_id, registration_encounter
from support.journal_entries import NOW, PAYLOADS, entry

ENCOUNTER = {
    "resourceType": "Encounter",
    "id": "enc-1",
    "status": "in-progress",
    "class": {"code": "IMP"},
    "subject": {"reference": "Patient/p1"},
    "location": [{"location": {"reference": "Location/bed-1"}, "status": "active"}],
}


def _plan(entries, *, seen=None, decisions=None, transactions=True, drill=False):  # type: ignore[no-untyped-def]
    return make_plan(
        entries,
        seen=seen or {},
        decisions=decisions or {},
        transactions=transactions,
        drill=drill,
    )


def test_every_create_is_conditional_on_the_entry_identifier() -> None:
    e = entry(Kind.VITALS)
    (step,) = _plan([e]).steps
    creates = [w for w in step.writes if w.method == "POST"]
    assert len(creates) == 7  # six measurements and the blood pressure
    for w in creates:
        assert w.resource["identifier"][0] == {"system": URI_SYSTEM, "value": w.identifier}
        assert w.if_none_exist == f"identifier={URI_SYSTEM}|{w.identifier}"
    assert len({w.identifier for w in creates}) == 7
    assert _plan([e]).steps[0].writes == step.writes  # the same every time


def test_each_entry_has_one_provenance_created_once() -> None:
    e = entry(Kind.NOTE, capture=Capture.TRANSCRIBED, transcribed_by="clerk.b")
    (step,) = _plan([e]).steps
    prov = step.writes[-1]
    assert prov.method == "PUT" and prov.target == f"Provenance/{provenance_id(e.id)}"
    res = prov.resource
    assert res["target"] == [{"reference": w.identifier} for w in step.writes[:-1]]
    agents = [a["who"]["display"] for a in res["agent"]]
    assert agents == [
        "Dana Whitfield, RN",
        "clerk.b (transcribed from paper)",
        "Standby node node-4w (back-entry)",
    ]
    assert res["reason"][0]["text"].startswith("Entered during EHR downtime")
    assert res["entity"][0]["what"]["identifier"] == entry_identifier(e.id)


def test_struck_entries_are_left_out_and_corrections_replace() -> None:
    a = entry(Kind.VITALS, minutes_ago=30)
    b = entry(Kind.NOTE, minutes_ago=20)
    fix = entry(Kind.VITALS, corrects=a.id, payload={"heart_rate": 72}, minutes_ago=30)
    strike = entry(Kind.STRIKE, corrects=b.id)
    p = _plan([a, b, fix, strike])
    assert [s.entry_id for s in p.steps] == [fix.id]
    assert p.left_out == {
        "corrected (replaced by the correction)": 1,
        "struck": 1,
        "strikes (not filed themselves)": 1,
    }


def test_drill_entries_are_never_filed_and_a_drill_files_only_them() -> None:
    real = entry(Kind.NOTE)
    drill = entry(Kind.NOTE, drill=True)
    assert [s.entry_id for s in _plan([real, drill]).steps] == [real.id]
    assert [s.entry_id for s in _plan([real, drill], drill=True).steps] == [drill.id]


def test_registrations_and_adt_first_then_clinical_by_performed_time() -> None:
    late_vitals = entry(Kind.VITALS, minutes_ago=5)
    early_note = entry(Kind.NOTE, minutes_ago=50)
    transfer = entry(Kind.TRANSFER, minutes_ago=10)
    seen = {transfer.id: SeenVersion("3", ENCOUNTER)}
    p = _plan([late_vitals, early_note, transfer], seen=seen)
    assert [s.kind for s in p.steps] == ["transfer", "note", "vitals"]


def test_a_transfer_is_an_update_on_the_version_seen_and_a_discharge_builds_on_it() -> None:
    transfer = entry(Kind.TRANSFER, minutes_ago=30)
    discharge = entry(Kind.DISCHARGE, minutes_ago=10)
    seen = {e.id: SeenVersion("3", ENCOUNTER) for e in (transfer, discharge)}
    t, d = _plan([discharge, transfer], seen=seen).steps
    put = t.writes[0]
    assert (put.method, put.target, put.if_match) == ("PUT", "Encounter/enc-1", "3")
    assert put.resource["location"][-1]["location"]["reference"] == "Location/loc-icu-201-a"
    follow = d.writes[0]
    assert follow.if_match is None and follow.if_match_after == transfer.id
    assert follow.resource["status"] == "finished"
    # the discharge keeps the transfer's bed (it builds on the transfer, not on the replica)
    beds = [loc["location"]["reference"] for loc in follow.resource["location"]]
    assert beds == ["Location/bed-1", "Location/loc-icu-201-a"]
    assert t.writes[1].resource["activity"]["coding"][0]["code"] == "UPDATE"


def test_a_transfer_without_the_encounter_cannot_be_filed() -> None:
    (step,) = _plan([entry(Kind.TRANSFER)]).steps
    assert step.writes == () and "does not hold Encounter/enc-1" in (step.problem or "")


def test_a_downtime_registration_waits_for_the_registrar() -> None:
    reg = entry(Kind.REGISTRATION, encounter_id=None)
    reg = dataclasses.replace(reg, patient_id=reg.id)
    vitals = entry(Kind.VITALS, patient_id=reg.id, encounter_id=None, payload={"heart_rate": 90})
    (held,) = _plan([reg, vitals]).patients
    assert held.held and held.patient_key == reg.id
    # a new patient: the Patient and Encounter created, the vitals refer to both by urn:uuid
    (new,) = _plan([reg, vitals], decisions={reg.id: None}).patients
    assert new.held is None
    r, v = new.steps
    assert [w.resource_type for w in r.writes] == ["Patient", "Encounter", "Provenance"]
    obs = v.writes[0].resource
    assert obs["subject"] == {"reference": f"urn:uuid:{reg.id}"}
    assert obs["encounter"] == {"reference": registration_encounter(reg.id)}
    assert v.needs == (reg.id,)
    # matched to a patient the EHR has: no new Patient; everything filed under theirs
    (known,) = _plan([reg, vitals], decisions={reg.id: "ehr-77"}).patients
    r, v = known.steps
    assert [w.resource_type for w in r.writes] == ["Encounter", "Provenance"]
    assert r.writes[0].resource["subject"] == {"reference": "Patient/ehr-77"}
    assert v.writes[0].resource["subject"] == {"reference": "Patient/ehr-77"}


def test_an_admission_then_transfer_during_downtime_chains_on_the_new_encounter() -> None:
    admit = entry(Kind.ADMIT, encounter_id=None, minutes_ago=60)
    transfer = entry(Kind.TRANSFER, encounter_id=f"journal-{admit.id}", minutes_ago=30)
    a, t = _plan([admit, transfer]).steps
    assert a.writes[0].method == "POST" and a.writes[0].resource_type == "Encounter"
    put = t.writes[0]
    assert put.target == f"urn:uuid:{admit.id}" and put.if_match_after == admit.id
    assert t.needs == (admit.id,)


def test_a_plan_says_what_it_took_from_the_replica() -> None:
    transfer = entry(Kind.TRANSFER)
    p = _plan([transfer], seen={transfer.id: SeenVersion("3", ENCOUNTER, "replica")})
    assert any("replica's version as of the entry's recorded time" in n for n in p.notes)
    named = _plan([transfer], seen={transfer.id: SeenVersion("3", ENCOUNTER, "payload")})
    assert named.notes == ()


def test_every_kind_plans() -> None:
    seen = {}
    entries = []
    for i, kind in enumerate(PAYLOADS):
        if kind is Kind.REGISTRATION:
            continue
        e = entry(kind, now=NOW + timedelta(seconds=i))
        entries.append(e)
        seen[e.id] = SeenVersion("1", ENCOUNTER)
    p = _plan(entries, seen=seen)
    assert sorted(s.kind for s in p.steps) == sorted(
        k.value for k in PAYLOADS if k is not Kind.REGISTRATION
    )
    assert all(s.problem is None and s.writes for s in p.steps)
