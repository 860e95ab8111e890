"""The v2 -> FHIR R4 mappings, on messages shaped like real feeds (support/hl7_messages.py:
v2.3 to v2.8, Z-segments, repeating fields, escape sequences), each resource validated
against a FHIR model no one here wrote (`fhir.resources`, R4B)."""

from __future__ import annotations

import base64
import importlib
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from standby.hl7.datatypes import Context
from standby.hl7.mapped import Mapped, MappingError
from standby.hl7.mapping import FEED_TAG_SYSTEM, map_message
from standby.hl7.v2 import V2Error, parse
from support import hl7_messages as M

CTX = Context(tz=ZoneInfo("America/Chicago"))
MRN = "https://standby.example.org/fhir/sid/mrn"
ALL = [n for n in dir(M) if n.isupper() and n != "UNKNOWN_TYPE"]


def validate(resource: dict[str, Any]) -> None:
    rtype = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{rtype.lower()}")
    getattr(module, rtype).model_validate(resource)


def mapped(text: str) -> Mapped:
    return map_message(parse(text), CTX, received_at="2026-11-30T00:00:00.000Z")


def one(m: Mapped, rtype: str) -> dict[str, Any]:
    got = [r for r in m.resources if r["resourceType"] == rtype]
    assert len(got) == 1, [r["resourceType"] for r in m.resources]
    return got[0]


@pytest.mark.parametrize("name", ALL)
def test_every_message_maps_to_valid_fhir_with_the_feeds_meta(name: str) -> None:
    m = mapped(getattr(M, name))
    assert m.resources
    for res in [*m.resources, *m.create_only]:
        validate(res)
        assert res["meta"]["tag"][0]["system"] == FEED_TAG_SYSTEM
        assert res["meta"]["source"].startswith("urn:standby:hl7v2:")
        assert res["meta"]["versionId"].startswith("v2-")


def test_admit_makes_patient_encounter_bed_and_allergies() -> None:
    m = mapped(M.ADT_A01)
    pt = one(m, "Patient")
    assert pt["identifier"][0] == {
        "system": MRN,
        "value": "10000007",
        "type": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]
        },
        "use": "usual",
    }
    # \S\ is an escaped component separator: part of the name, not a split
    assert pt["name"][0]["family"] == "O^BRIEN"
    assert pt["name"][0]["given"] == ["MARY", "ANN"]
    assert pt["name"][1] == {"use": "maiden", "family": "SMITH", "given": ["MARY"]}
    # repeating PID-13: home and mobile
    assert [t["use"] for t in pt["telecom"]] == ["home", "mobile", "work"]
    assert pt["birthDate"] == "1958-02-14" and pt["gender"] == "female"
    enc = one(m, "Encounter")
    assert enc["status"] == "in-progress" and enc["class"]["code"] == "IMP"
    assert enc["identifier"][0]["value"] == "V000123"
    assert enc["period"] == {"start": "2026-11-30T13:00:00.000Z"}  # 08:00 at -05:00
    assert enc["location"][0]["location"] == {
        "reference": "Location/loc-3w-301-a",
        "display": "3W 301-A",
    }
    assert enc["participant"][0]["individual"]["identifier"]["system"] == (
        "http://hl7.org/fhir/sid/us-npi"
    )
    assert [loc["id"] for loc in m.create_only] == ["loc-3w", "loc-3w-301", "loc-3w-301-a"]
    allergies = [r for r in m.resources if r["resourceType"] == "AllergyIntolerance"]
    assert [a["code"]["text"] for a in allergies] == ["Penicillin", "Peanut"]
    assert allergies[0]["criticality"] == "high"
    assert [x["text"] for x in allergies[0]["reaction"][0]["manifestation"]] == [
        "HIVES",
        "ANAPHYLAXIS",
    ]
    assert m.registers_patient


def test_the_same_visit_from_every_event_is_one_encounter() -> None:
    ids = {
        one(mapped(getattr(M, n)), "Encounter")["id"]
        for n in ("ADT_A01", "ADT_A02", "ADT_A03", "ADT_A08_V28", "ADT_A11", "ADT_A12", "ADT_A13")
    }
    assert len(ids) == 1
    (eid,) = ids
    # and the ORU, RDE and MDM of that visit point at it
    assert one(mapped(M.ORU_R01), "DiagnosticReport")["encounter"] == {
        "reference": f"Encounter/{eid}"
    }
    assert (
        one(mapped(M.RDE_O11), "MedicationRequest")["encounter"]["reference"] == f"Encounter/{eid}"
    )
    assert one(mapped(M.MDM_T02), "DocumentReference")["context"]["encounter"][0] == {
        "reference": f"Encounter/{eid}"
    }


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("ADT_A01", "in-progress"),
        ("ADT_A02", "in-progress"),
        ("ADT_A03", "finished"),
        ("ADT_A04_V23", "arrived"),
        ("ADT_A11", "entered-in-error"),
        ("ADT_A12", "in-progress"),
        ("ADT_A13", "in-progress"),
    ],
)
def test_each_event_leaves_the_visit_in_its_status(name: str, status: str) -> None:
    assert one(mapped(getattr(M, name)), "Encounter")["status"] == status


def test_transfer_moves_the_patient_and_keeps_the_bed_left() -> None:
    enc = one(mapped(M.ADT_A02), "Encounter")
    assert [(x["location"]["reference"], x["status"]) for x in enc["location"]] == [
        ("Location/loc-3w-301-a", "completed"),
        ("Location/loc-icu-201-a", "active"),
    ]
    assert enc["location"][1]["period"] == {"start": "2026-11-30T16:55:00.000Z"}


def test_discharge_ends_the_visit() -> None:
    enc = one(mapped(M.ADT_A03), "Encounter")
    assert enc["period"]["end"] == "2026-12-01T15:00:00.000Z"
    assert enc["location"][-1]["status"] == "completed"


def test_v23_registration_without_identifier_type_and_lf_separators() -> None:
    m = mapped(M.ADT_A04_V23)
    pt = one(m, "Patient")
    assert pt["identifier"][0]["value"] == "20000001" and pt["identifier"][0]["system"] == MRN
    assert pt["telecom"][0]["value"] == "(217)555-0111"  # v2.3 XTN-1, the formatted number
    # no offset anywhere: the hospital's zone (Chicago, -06:00 in November)
    assert one(m, "Encounter")["period"]["start"] == "2003-11-30T16:00:00.000Z"


def test_v28_update_reads_the_unformatted_number_and_cwe_gender() -> None:
    pt = one(mapped(M.ADT_A08_V28), "Patient")
    assert pt["telecom"][0]["value"] == "2175550102"
    assert pt["gender"] == "female"
    assert pt["address"][0]["line"] == ["99 OAK AVE"]


def test_merge_links_survivor_and_retired_record() -> None:
    m = mapped(M.ADT_A40)
    survivor, retired = m.resources
    assert survivor["link"] == [
        {"other": {"reference": f"Patient/{retired['id']}"}, "type": "replaces"}
    ]
    assert retired["active"] is False
    assert retired["identifier"][0]["value"] == "10009999"
    assert retired["link"][0]["type"] == "replaced-by"


def test_result_has_report_observations_ranges_flags_and_notes() -> None:
    m = mapped(M.ORU_R01)
    report = one(m, "DiagnosticReport")
    obs = [r for r in m.resources if r["resourceType"] == "Observation"]
    assert report["result"] == [{"reference": f"Observation/{o['id']}"} for o in obs]
    assert {i["value"] for i in report["identifier"]} == {"ORD777", "F-5555"}
    assert report["conclusion"] == "Specimen slightly hemolyzed"
    assert report["category"][0]["coding"][0]["code"] == "CH"
    k, na, cr, comment, color, egfr = obs
    assert k["valueQuantity"] == {
        "value": 6.2,
        "unit": "mmol/L",
        "system": "http://unitsofmeasure.org",
        "code": "mmol/L",
    }
    assert k["interpretation"][0]["coding"][0]["code"] == "HH"
    assert k["referenceRange"][0]["low"]["value"] == 3.5
    assert k["referenceRange"][0]["high"]["value"] == 5.1
    assert k["note"] == [{"text": "Critical value called to RN Smith & read back"}]
    assert k["effectiveDateTime"] == "2026-11-30T13:30:00.000Z"
    assert na["interpretation"][0]["coding"][0]["code"] == "N"
    assert cr["valueQuantity"]["comparator"] == "<" and cr["valueQuantity"]["value"] == 0.3
    assert comment["valueString"] == "Repeat in AM\nFasting"  # repetitions are lines
    assert color["valueCodeableConcept"]["coding"][0]["code"] == "YEL"
    assert egfr["status"] == "corrected"
    assert (
        egfr["referenceRange"][0]["low"]["value"] == 60 and "high" not in egfr["referenceRange"][0]
    )


def test_v23_result_keeps_two_results_of_one_code_and_formatted_text() -> None:
    m = mapped(M.ORU_R01_V23)
    obs = [r for r in m.resources if r["resourceType"] == "Observation"]
    assert len({o["id"] for o in obs}) == 3
    assert [o.get("valueQuantity", {}).get("value") for o in obs[:2]] == [9.1, 9.3]
    assert obs[2]["valueString"] == "Line one\nLine two"  # \.br\ is a line break


def test_corrected_result_is_a_new_version_of_the_same_resources() -> None:
    first = mapped(M.ORU_R01)
    corrected = mapped(M.ORU_R01.replace("LAB00001", "LAB00002").replace("||6.2|", "||5.9|"))
    assert [r["id"] for r in first.resources] == [r["id"] for r in corrected.resources]
    assert first.resources[0]["meta"]["versionId"] != corrected.resources[0]["meta"]["versionId"]


def test_pharmacy_order_and_administrations_point_at_one_order() -> None:
    order = one(mapped(M.RDE_O11), "MedicationRequest")
    assert order["status"] == "active" and order["intent"] == "order"
    dosage = order["dosageInstruction"][0]
    assert dosage["timing"]["repeat"]["frequency"] == 1
    assert dosage["timing"]["repeat"]["period"] == 8
    assert dosage["timing"]["repeat"]["boundsPeriod"] == {"start": "2026-11-30T15:00:00.000Z"}
    assert dosage["route"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/v2-0162",
        "code": "SC",
        "display": "Subcutaneous",
    }
    given, refused = mapped(M.RAS_O17).resources
    assert given["request"] == {"reference": f"MedicationRequest/{order['id']}"}
    assert given["status"] == "completed" and given["dosage"]["dose"]["value"] == 5000
    assert given["performer"][0]["actor"]["display"] == "NINA NURSE"
    assert refused["status"] == "not-done"
    assert refused["statusReason"][0]["text"] == "Patient refused"
    assert "dose" not in refused.get("dosage", {})


def test_v24_order_reads_timing_from_rxe1() -> None:
    order = one(mapped(M.RDE_O01_V24), "MedicationRequest")
    assert order["dosageInstruction"][0]["timing"]["repeat"]["frequency"] == 2
    assert order["dosageInstruction"][0]["route"]["text"] == "Oral"


def test_appointment_booked_then_cancelled_is_one_appointment() -> None:
    booked = one(mapped(M.SIU_S12), "Appointment")
    cancelled = one(mapped(M.SIU_S15), "Appointment")
    assert booked["id"] == cancelled["id"]
    assert (booked["status"], cancelled["status"]) == ("booked", "cancelled")
    assert booked["start"] == "2026-12-05T14:30:00.000Z"
    assert booked["end"] == "2026-12-05T15:00:00.000Z" and booked["minutesDuration"] == 30
    assert booked["appointmentType"]["coding"][0]["code"] == "ROUTINE"
    v23 = one(mapped(M.SIU_S14_V23), "Appointment")
    assert (v23["start"], v23["end"]) == ("2003-12-05T15:30:00.000Z", "2003-12-05T16:00:00.000Z")


def test_transcribed_note_is_a_document_with_its_text() -> None:
    doc = one(mapped(M.MDM_T02), "DocumentReference")
    text = base64.b64decode(doc["content"][0]["attachment"]["data"]).decode()
    assert text == (
        "Patient admitted with chest pain.\nTroponin negative & stable.\nFollow up in 1 week."
    )
    assert doc["docStatus"] == "final" and doc["masterIdentifier"]["value"] == "DOC-42"


def test_ids_come_from_real_world_keys_not_the_message() -> None:
    """The same patient from two senders and two message types is one Patient id; the
    versionId names the message."""
    a = mapped(M.ADT_A01)
    b = mapped(M.ORU_R01)
    assert one(a, "Patient")["id"] == b.patient_id
    assert a.resources[0]["meta"]["versionId"] != b.resources[0]["meta"]["versionId"]
    assert a.resources[0]["meta"]["lastUpdated"] == "2026-11-30T13:15:00.000Z"


@pytest.mark.parametrize(
    ("text", "ack", "code", "words"),
    [
        (M.UNKNOWN_TYPE, "AR", "200", "DFT^P03"),
        (M.ADT_A01.replace("ADT^A01^ADT_A01", "ADT^A99"), "AR", "201", "ADT^A99"),
        (M.ORU_R01.replace("PID|1||10000007^^^SGH^MR||", "PID|1||||"), "AE", "101", "PID-3"),
        (
            M.ORU_R01.replace("2823-3^Potassium^LN||6.2", "2823-3^Potassium^LN||6.2")
            .replace("OBR|1|ORD777^EPIC|F-5555^LAB|", "OBR|1|||")
            .replace("ORC|RE|ORD777^EPIC|F-5555^LAB\r", ""),
            "AE",
            "101",
            "OBR-2 and OBR-3",
        ),
    ],
)
def test_what_cannot_be_mapped_says_why(text: str, ack: str, code: str, words: str) -> None:
    with pytest.raises(MappingError) as e:
        mapped(text)
    assert (e.value.ack_code, e.value.error_code) == (ack, code)
    assert words in e.value.reason


@pytest.mark.parametrize(
    "text", ["", "hello", "PID|1||123", "MSH|^~\\&|A|B|C|D|2026||ADT^A01||P|2.5"]
)
def test_garbage_is_not_a_message(text: str) -> None:
    with pytest.raises(V2Error):
        parse(text)
