"""One replica, two sources: the same encounter, result and order arriving by HL7 v2 feed
and by FHIR sync, in both orders, are held once with the right version shown; a merge
(A40) moves the retired patient's data (docs/hl7.md, "Which source wins")."""

from __future__ import annotations

from typing import Any

import orjson

from standby.hl7.datatypes import Context
from standby.hl7.feed_writer import FeedWriter
from standby.sim.generate.codes import MRN_SYSTEM
from standby.store.base import Store
from standby.sync.replica_writer import ReplicaWriter
from support import hl7_messages as M
from support.store_engines import durable_store, pg_schema  # noqa: F401 (fixtures)

# The synthetic hospital's MRN system; the feed's systems of visit and order numbers
# (`Context.local_system`), which the EHR's resources carry here too.
VISIT = "https://standby.example.org/fhir/sid/v2/visit/sgh"
PLACER = "https://standby.example.org/fhir/sid/v2/placer-order/epic"
FILLER = "https://standby.example.org/fhir/sid/v2/filler-order/lab"
FEED = "urn:standby:hl7v2"
# the feed's messages: admitted 13:15Z, result 14:15Z, order 15:00Z
FEED_MESSAGES = (M.ADT_A01, M.ORU_R01, M.RDE_O11)


def ehr(at: str, version: str, *, status: str = "in-progress") -> list[dict[str, Any]]:
    """What FHIR sync brings from the EHR, under the EHR's ids, at `at`."""
    meta = {"versionId": version, "lastUpdated": at, "source": "https://ehr.example.org"}
    pt = {"reference": "Patient/ehr-pt"}
    return [
        {
            "resourceType": "Patient",
            "id": "ehr-pt",
            "meta": meta,
            "identifier": [{"system": MRN_SYSTEM, "value": "10000007"}],
            "name": [{"family": "O'Brien", "given": ["Mary"]}],
        },
        {
            "resourceType": "Encounter",
            "id": "ehr-enc",
            "meta": meta,
            "identifier": [{"system": VISIT, "value": "V000123"}],
            "status": status,
            "class": {"code": "IMP"},
            "subject": pt,
        },
        {
            "resourceType": "DiagnosticReport",
            "id": "ehr-dr",
            "meta": meta,
            "identifier": [
                {"system": PLACER, "value": "ORD777"},
                {"system": FILLER, "value": "F-5555"},
            ],
            "status": "final",
            "code": {"text": "Basic metabolic panel"},
            "subject": pt,
            "encounter": {"reference": "Encounter/ehr-enc"},
            "result": [{"reference": "Observation/ehr-k"}],
        },
        {
            "resourceType": "Observation",
            "id": "ehr-k",
            "meta": meta,
            "status": "final",
            "code": {"text": "Potassium"},
            "subject": pt,
            "valueQuantity": {"value": 6.2, "unit": "mmol/L"},
        },
        {
            "resourceType": "MedicationRequest",
            "id": "ehr-mr",
            "meta": meta,
            "identifier": [{"system": PLACER, "value": "RX-7001"}],
            "status": "active" if status == "in-progress" else "completed",
            "intent": "order",
            "medicationCodeableConcept": {"text": "Heparin"},
            "subject": pt,
        },
    ]


def sync(store: Store, resources: list[dict[str, Any]]) -> None:
    writer = ReplicaWriter(store, "ehr", max_bytes=1 << 20)
    got = [writer.admit(orjson.dumps(r), file=None) for r in resources]
    writer.write([r for r in got if r is not None])


def feed(writer: FeedWriter, *messages: str) -> None:
    out = writer.commit([(m.encode(), "engine") for m in messages])
    assert [o.ack_code for o in out] == ["AA"] * len(messages), out


def current(store: Store, rtype: str, system: str, value: str) -> list[dict[str, Any]]:
    """Every current resource of a type with this identifier."""
    return [r.json() for r in store.search(rtype, [("identifier", f"{system}|{value}")]).resources]


def one_of_each(store: Store) -> dict[str, dict[str, Any]]:
    """The one Patient, Encounter, DiagnosticReport and MedicationRequest held, by type."""
    found = {
        "Patient": current(store, "Patient", MRN_SYSTEM, "10000007"),
        "Encounter": current(store, "Encounter", VISIT, "V000123"),
        "DiagnosticReport": current(store, "DiagnosticReport", FILLER, "F-5555"),
        "MedicationRequest": current(store, "MedicationRequest", PLACER, "RX-7001"),
    }
    for rtype, got in found.items():
        assert len(got) == 1, (rtype, [g["id"] for g in got])
        assert store.counts_by_type()[rtype] == 1, rtype
    return {rtype: got[0] for rtype, got in found.items()}


def test_feed_first_then_fhir_sync_holds_the_ehrs_resource_once(store: Store) -> None:
    writer = FeedWriter(store, Context())
    feed(writer, *FEED_MESSAGES)
    assert store.counts_by_type()["Observation"] == 6  # the feed's results
    sync(store, ehr("2026-11-30T16:00:00Z", "1"))
    held = one_of_each(store)
    assert {r["id"] for r in held.values()} == {"ehr-pt", "ehr-enc", "ehr-dr", "ehr-mr"}
    assert all(not r["meta"]["source"].startswith(FEED) for r in held.values())
    # the feed's report came with its Observations: the EHR's report brings its own
    assert store.counts_by_type()["Observation"] == 1
    # what else the feed wrote (allergies, the bed) now refers to the EHR's patient
    allergies = store.search("AllergyIntolerance", [("patient", "Patient/ehr-pt")]).resources
    assert len(allergies) == 2
    assert [r.resource_type for r in store.compartment("ehr-pt")].count("Patient") == 1
    # a newer feed message (discharge, 17:00Z) updates the EHR's encounter, not a copy
    feed(writer, M.ADT_A03.replace("20261130", "20261201"))
    held = one_of_each(store)
    assert held["Encounter"]["id"] == "ehr-enc"
    assert held["Encounter"]["meta"]["source"].startswith(FEED)
    assert held["Encounter"]["status"] == "finished"
    # and the EHR's next version wins again
    sync(store, ehr("2026-12-02T09:00:00Z", "2", status="finished"))
    held = one_of_each(store)
    assert held["Encounter"]["meta"]["versionId"] == "2"
    assert held["Encounter"]["meta"]["source"] == "https://ehr.example.org"


def test_fhir_sync_first_then_older_and_newer_feed_messages(store: Store) -> None:
    sync(store, ehr("2026-11-30T14:30:00Z", "1"))
    writer = FeedWriter(store, Context())
    feed(writer, *FEED_MESSAGES)  # 13:15Z, 14:15Z older than the EHR's; 15:00Z newer
    held = one_of_each(store)
    assert {r["id"] for r in held.values()} == {"ehr-pt", "ehr-enc", "ehr-dr", "ehr-mr"}
    for rtype in ("Patient", "Encounter", "DiagnosticReport"):  # older messages: ignored
        assert held[rtype]["meta"]["versionId"] == "1", rtype
    order = held["MedicationRequest"]  # the newer order message wins, on the EHR's id
    assert order["meta"]["source"].startswith(FEED)
    assert order["medicationCodeableConcept"]["coding"][0]["code"] == "1049221"
    # the feed's Observations refer to the EHR's report's patient
    assert len(store.search("Observation", [("subject", "Patient/ehr-pt")]).resources) == 7
    # a later FHIR version wins again
    sync(store, ehr("2026-11-30T18:00:00Z", "2", status="finished"))
    held = one_of_each(store)
    assert all(r["meta"]["versionId"] == "2" for r in held.values())
    assert held["MedicationRequest"]["status"] == "completed"


def test_a_merge_moves_the_retired_patients_data_to_the_survivor(store: Store) -> None:
    writer = FeedWriter(store, Context())
    retired_mrn = "10009999"
    feed(
        writer,
        M.ADT_A01,
        *(
            m.replace("10000007^^^SGH^MR", f"{retired_mrn}^^^SGH^MR")
            .replace("|ADT0001|", "|ADT9001|")
            .replace("|LAB00001|", "|LAB09001|")
            .replace("V000123", "V000999")
            .replace("F-5555", "F-9999")
            .replace("ORD777", "ORD999")
            for m in (M.ADT_A01, M.ORU_R01)
        ),
    )
    retired = current(store, "Patient", MRN_SYSTEM, retired_mrn)[0]["id"]
    survivor = current(store, "Patient", MRN_SYSTEM, "10000007")[0]["id"]
    before = {(r.resource_type, r.id) for r in store.compartment(retired)}
    assert (
        "DiagnosticReport",
        current(store, "DiagnosticReport", FILLER, "F-9999")[0]["id"],
    ) in before
    feed(writer, M.ADT_A40)
    assert [r.resource_type for r in store.compartment(retired)] == ["Patient"]
    moved = {(r.resource_type, r.id) for r in store.compartment(survivor)}
    assert before - {("Patient", retired)} <= moved
    report = current(store, "DiagnosticReport", FILLER, "F-9999")[0]
    assert report["subject"]["reference"] == f"Patient/{survivor}"
    assert len(store.search("Observation", [("subject", f"Patient/{survivor}")]).resources) == 6
    assert not store.search("Observation", [("subject", f"Patient/{retired}")]).resources


# One dose given, two sources: the EHR's MedicationAdministration (FHIR sync) and the
# feed's RAS^O17 for the same order and time are held once, in both orders; the MAR would
# otherwise count the dose twice.
GIVEN_AT = "2026-11-30T19:00:00Z"  # RAS_O17's first RXA-3, 14:00 -0500


def ehr_dose(at: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": "ehr-ma",
        "meta": {"versionId": "1", "lastUpdated": at, "source": "https://ehr.example.org"},
        "status": "completed",
        "medicationCodeableConcept": {"text": "Heparin"},
        "subject": {"reference": "Patient/ehr-pt"},
        "request": {"reference": "MedicationRequest/ehr-mr"},
        "effectiveDateTime": GIVEN_AT,
        "dosage": {"dose": {"value": 5000, "unit": "units"}},
    }


def doses(store: Store) -> list[dict[str, Any]]:
    page = store.search("MedicationAdministration", [("request", "MedicationRequest/ehr-mr")])
    return sorted((sr.json() for sr in page.resources), key=lambda r: str(r["effectiveDateTime"]))


def test_the_feeds_dose_then_the_ehrs_is_held_once_as_the_ehrs(store: Store) -> None:
    sync(store, ehr("2026-11-30T14:30:00Z", "1"))
    feed(FeedWriter(store, Context()), M.RAS_O17)  # given 19:00Z, refused 03:00Z next day
    assert [d["effectiveDateTime"][:16] for d in doses(store)] == [
        "2026-11-30T19:00",
        "2026-12-01T03:00",
    ]
    sync(store, [ehr_dose("2026-11-30T19:05:00Z")])
    held = doses(store)
    assert held[0]["id"] == "ehr-ma"
    assert len(held) == 2  # the EHR's dose, and the refusal only the feed has told
    assert held[1]["status"] == "not-done"


def test_the_ehrs_dose_then_the_feeds_is_held_once_as_the_ehrs(store: Store) -> None:
    sync(store, [*ehr("2026-11-30T14:30:00Z", "1"), ehr_dose("2026-11-30T19:05:00Z")])
    feed(FeedWriter(store, Context()), M.RAS_O17)
    held = doses(store)
    assert held[0]["id"] == "ehr-ma"
    assert held[0]["meta"]["source"] == "https://ehr.example.org"
    assert len(held) == 2
    assert held[1]["status"] == "not-done"


# One note, two sources: the EHR's DocumentReference (FHIR sync), its number in
# masterIdentifier, and the feed's MDM^T02 (TXA-12 DOC-42^TRANS) are held once, in both
# orders: the feed finds the EHR's note by `identifier`, which is masterIdentifier too.
DOCUMENT = "https://standby.example.org/fhir/sid/v2/document/trans"
NOTE_SENT_AT = "2026-11-30T21:00:00.000Z"  # MDM_T02's MSH-7, 16:00 -0500


def ehr_note(at: str) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": "ehr-doc",
        "meta": {"versionId": "1", "lastUpdated": at, "source": "https://ehr.example.org"},
        "masterIdentifier": {"system": DOCUMENT, "value": "DOC-42"},
        "status": "current",
        "type": {"text": "Discharge summary"},
        "subject": {"reference": "Patient/ehr-pt"},
        "content": [{"attachment": {"contentType": "text/plain", "data": "RUhS"}}],
    }


def the_note(store: Store) -> dict[str, Any]:
    assert store.counts_by_type()["DocumentReference"] == 1
    held = current(store, "DocumentReference", DOCUMENT, "DOC-42")
    assert [r["id"] for r in held] == ["ehr-doc"]
    return held[0]


def test_the_ehrs_note_then_the_feeds_is_held_once_on_the_ehrs_id(store: Store) -> None:
    sync(store, [*ehr("2026-11-30T14:30:00Z", "1"), ehr_note("2026-11-30T20:30:00Z")])
    feed(FeedWriter(store, Context()), M.MDM_T02)  # newer than the EHR's version
    note = the_note(store)
    assert note["meta"]["source"].startswith(FEED)
    assert note["meta"]["lastUpdated"] == NOTE_SENT_AT
    assert note["subject"]["reference"] == "Patient/ehr-pt"
    sync(store, [ehr_note("2026-11-30T22:00:00Z")])  # the EHR's next version wins again
    assert the_note(store)["meta"]["source"] == "https://ehr.example.org"


def test_the_feeds_note_then_the_ehrs_is_held_once_as_the_ehrs(store: Store) -> None:
    feed(FeedWriter(store, Context()), M.ADT_A01, M.MDM_T02)
    assert store.counts_by_type()["DocumentReference"] == 1
    sync(store, [*ehr("2026-11-30T14:30:00Z", "1"), ehr_note("2026-11-30T22:00:00Z")])
    note = the_note(store)
    assert note["meta"]["source"] == "https://ehr.example.org"
    # an older copy of the message again: ignored, the EHR's note stays the one
    feed(FeedWriter(store, Context()), M.MDM_T02)
    assert the_note(store)["meta"]["source"] == "https://ehr.example.org"
