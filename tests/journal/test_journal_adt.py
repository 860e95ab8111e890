"""Admissions, transfers, discharges and registrations in the journal (`journal.adt`): the
encounters the read model shows after them, where the journal puts each patient (both
engines), and the FHIR resources of a patient registered during downtime and of what is
documented on them (validated with `fhir.resources`, R4B's models)."""

from __future__ import annotations

from typing import Any

from standby.journal import adt, overlay
from standby.journal import repository as journal
from standby.journal.entries import Kind
from standby.journal.fhir_mapping import (
    DOWNTIME_MRN_SYSTEM,
    URI_SYSTEM,
    registration_encounter_id,
    registration_patient_id,
    registration_reference,
    to_fhir,
)
from standby.store.base import Store
from support.journal_entries import PAYLOADS, entry
from support.r4b import validate

REPLICA_ENCOUNTER: dict[str, Any] = {
    "resourceType": "Encounter",
    "id": "enc-1",
    "status": "in-progress",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
    "subject": {"reference": "Patient/p1"},
    "period": {"start": "2026-11-25T10:00:00+00:00"},
    "location": [
        {"location": {"reference": "Location/4W"}, "status": "active"},
        {"location": {"reference": "Location/4W-412-B"}, "status": "active"},
    ],
}


def _active(enc: dict[str, Any]) -> list[str]:
    return [
        x["location"]["reference"]
        for x in enc.get("location", [])
        if x.get("status") in (None, "active")
    ]


def test_a_transfer_moves_the_current_encounter_to_the_new_bed() -> None:
    move = entry(Kind.TRANSFER, encounter_id="enc-1", payload={"location_id": "3W-301-A"})
    [enc] = adt.encounters_after([REPLICA_ENCOUNTER], [move])
    assert enc["id"] == "enc-1" and enc["status"] == "in-progress"
    assert _active(enc) == ["Location/3W-301-A"]
    assert overlay.is_from_journal(enc)
    assert _active(REPLICA_ENCOUNTER) == ["Location/4W", "Location/4W-412-B"]  # not changed


def test_a_discharge_finishes_it_and_an_admission_opens_a_new_one() -> None:
    out = adt.encounters_after(
        [REPLICA_ENCOUNTER],
        [
            entry(Kind.DISCHARGE, minutes_ago=30, payload={"disposition": "Home"}),
            entry(Kind.ADMIT, minutes_ago=10, payload={"location_id": "4W-412-B"}),
        ],
    )
    old, new = out
    assert old["id"] == "enc-1" and old["status"] == "finished"
    assert old["hospitalization"]["dischargeDisposition"] == {"text": "Home"}
    assert new["id"].startswith("journal-") and new["status"] == "in-progress"
    assert _active(new) == ["Location/4W-412-B"]


def test_a_struck_transfer_moves_no_one(store: Store) -> None:
    move = entry(Kind.TRANSFER, payload={"location_id": "3W-301-A"})
    strike = entry(Kind.STRIKE, corrects=move.id)
    journal.append(store, [move, strike])
    assert adt.placements(store) == {}
    again = entry(Kind.TRANSFER, payload={"location_id": "3W-302-A"})
    journal.append(store, [again])
    [(pid, where)] = [(k, v.location_id) for k, v in adt.placements(store).items()]
    assert (pid, where) == ("p1", "3W-302-A")


def test_placements_follow_the_last_entry_and_leave_drills_apart(store: Store) -> None:
    journal.append(
        store,
        [
            entry(Kind.TRANSFER, patient_id="p1", minutes_ago=40, payload={"location_id": "A"}),
            entry(Kind.TRANSFER, patient_id="p1", minutes_ago=30, payload={"location_id": "B"}),
            entry(Kind.DISCHARGE, patient_id="p2", payload={"disposition": "Home"}),
            entry(Kind.TRANSFER, patient_id="p3", drill=True, payload={"location_id": "C"}),
            entry(Kind.VITALS, patient_id="p4"),
        ],
    )
    got = {k: (v.kind, v.location_id) for k, v in adt.placements(store).items()}
    assert got == {"p1": (Kind.TRANSFER, "B"), "p2": (Kind.DISCHARGE, None)}
    assert set(adt.placements(store, drill=True)) == {"p3"}


def _registration(**payload: Any) -> Any:
    import uuid

    rid = str(uuid.uuid4())
    return entry(
        Kind.REGISTRATION,
        patient_id=registration_patient_id(rid),
        encounter_id=registration_encounter_id(rid),
        entry_id=rid,
        payload={**PAYLOADS[Kind.REGISTRATION], **payload},
    )


def test_a_registered_patient_and_their_vitals_are_valid_fhir_referring_by_urn_uuid() -> None:
    reg = _registration(
        ehr_mrn="MRN-000123",
        other_identifier_type="Driver's licence",
        other_identifier="D1234",
        brought_by="Ada Doe (sister)",
        setting="emergency",
        location_id="ED",
    )
    patient, encounter = to_fhir(reg)
    for r in (patient, encounter):
        validate(r)
    ref = registration_reference(reg.id)
    assert encounter["subject"] == {"reference": ref}
    assert encounter["class"]["code"] == "EMER"
    mrn = next(i for i in patient["identifier"] if i.get("system") == DOWNTIME_MRN_SYSTEM)
    assert mrn["use"] == "temp" and mrn["value"] == PAYLOADS[Kind.REGISTRATION]["mrn"]
    assert {i["value"] for i in patient["identifier"]} >= {"MRN-000123", "D1234"}
    assert patient["contact"][0]["name"]["text"] == "Ada Doe (sister)"
    # vital signs on the journal-only patient refer to its registration and encounter
    vitals = entry(Kind.VITALS, patient_id=reg.patient_id, encounter_id=reg.encounter_id)
    obs = to_fhir(vitals)
    enc_uuid = next(i["value"] for i in encounter["identifier"] if i["system"] == URI_SYSTEM)
    for o in obs:
        validate(o)
        assert o["subject"] == {"reference": ref}
        assert o["encounter"] == {"reference": enc_uuid}


def test_the_read_model_sees_a_registered_patient_under_its_local_id() -> None:
    reg = _registration(location_id="4W-412-B")
    vitals = entry(Kind.VITALS, patient_id=reg.patient_id, encounter_id=reg.encounter_id)
    got = overlay.with_journal([], [reg, vitals])
    by_type: dict[str, list[dict[str, Any]]] = {}
    for r in got:
        by_type.setdefault(r["resourceType"], []).append(r)
    [patient] = by_type["Patient"]
    [enc] = by_type["Encounter"]
    assert patient["id"] == reg.patient_id and enc["id"] == reg.encounter_id
    assert enc["subject"] == {"reference": f"Patient/{reg.patient_id}"}
    assert _active(enc) == ["Location/4W-412-B"]
    assert all(
        o["subject"] == {"reference": f"Patient/{reg.patient_id}"} for o in by_type["Observation"]
    )
    # a patient registered in a drill is shown with the drill's entries (it exists only there)
    drill_reg = _registration()
    drill_reg = type(drill_reg)(**{**_fields(drill_reg), "drill": True})
    assert any(r["resourceType"] == "Patient" for r in overlay.with_journal([], [drill_reg]))


def _fields(e: Any) -> dict[str, Any]:
    return {k: getattr(e, k) for k in e.__slots__}
