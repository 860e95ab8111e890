"""Each kind of entry as the FHIR R4 resources it will be filed as, validated by a FHIR
model no one here wrote (`fhir.resources`, R4B's structures: R4 plus fixes), and a
transfer and a discharge applied to an official R4 example Encounter."""

from __future__ import annotations

import base64
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from standby.journal.entries import Kind
from standby.journal.fhir_mapping import (
    URI_SYSTEM,
    Subject,
    entry_identifier,
    registration_reference,
    to_fhir,
)
from support.journal_entries import MEDICATION_ORDER, PAYLOADS, entry
from support.r4b import validate

TGZ = Path(__file__).resolve().parents[2] / ".cache" / "hl7.fhir.r4.examples-4.0.1.tgz"


def official_encounter() -> dict[str, Any]:
    with tarfile.open(TGZ) as tar:
        fh = tar.extractfile("package/Encounter-example.json")
        assert fh is not None
        return json.loads(fh.read())


@pytest.mark.parametrize("kind", [k for k in Kind if k is not Kind.STRIKE])
def test_every_kind_becomes_valid_fhir_carrying_the_entry_uuid(kind: Kind) -> None:
    e = entry(kind)
    resources = to_fhir(e)
    assert resources
    for r in resources:
        validate(r)
        ids = [i for i in r["identifier"] if i["system"] == URI_SYSTEM]
        assert len(ids) == 1 and ids[0]["value"].startswith("urn:uuid:")
        assert "downtime" in [t["code"] for t in r["meta"]["tag"]]
    values = [i["value"] for r in resources for i in r["identifier"] if i["system"] == URI_SYSTEM]
    assert len(set(values)) == len(values)  # one identifier per resource
    assert to_fhir(e) == resources  # the same entry always makes the same resources


def test_vitals_follow_the_vital_signs_profile() -> None:
    obs = to_fhir(entry(Kind.VITALS))
    codes = {o["code"]["coding"][0]["code"]: o for o in obs}
    assert set(codes) == {"8310-5", "8867-4", "9279-1", "59408-5", "29463-7", "72514-3", "85354-9"}
    assert codes["8310-5"]["valueQuantity"] == {
        "value": 37.2,
        "unit": "°C",
        "system": "http://unitsofmeasure.org",
        "code": "Cel",
    }
    bp = codes["85354-9"]
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == ["8480-6", "8462-4"]
    assert all(o["category"][0]["coding"][0]["code"] == "vital-signs" for o in obs)
    assert all(o["subject"] == {"reference": "Patient/p1"} for o in obs)


def test_an_administration_not_given_says_why() -> None:
    payload = {**PAYLOADS[Kind.ADMINISTRATION], "status": "refused", "reason": "nauseated"}
    (ma,) = to_fhir(entry(Kind.ADMINISTRATION, payload=payload))
    assert ma["status"] == "not-done" and "dosage" not in ma
    assert ma["statusReason"][0]["text"] == "refused: nauseated"
    assert ma["request"] == {"reference": "MedicationRequest/mr-1"}


def test_a_note_carries_its_text() -> None:
    (doc,) = to_fhir(entry(Kind.NOTE))
    text = base64.b64decode(doc["content"][0]["attachment"]["data"]).decode()
    assert text == PAYLOADS[Kind.NOTE]["text"]


def test_a_medication_order_becomes_a_medication_request() -> None:
    (mr,) = to_fhir(entry(Kind.ORDER, payload=MEDICATION_ORDER))
    validate(mr)
    assert mr["resourceType"] == "MedicationRequest"
    assert mr["dosageInstruction"][0]["text"].startswith("1000 mg oral every 6 hours")


def test_transfer_and_discharge_change_the_official_example_encounter() -> None:
    current = official_encounter()
    (moved,) = to_fhir(entry(Kind.TRANSFER), current=current)
    validate(moved)
    assert moved["id"] == current["id"]
    assert moved["location"][-1]["location"] == {"reference": "Location/loc-icu-201-a"}
    assert moved["location"][-1]["status"] == "active"
    (gone,) = to_fhir(entry(Kind.DISCHARGE), current=current)
    validate(gone)
    assert gone["status"] == "finished" and "end" in gone["period"]
    assert current == official_encounter()  # the replica's copy is not changed


def test_a_registration_is_a_patient_and_an_encounter_that_refers_to_it() -> None:
    e = entry(Kind.REGISTRATION, patient_id="downtime-1")
    patient, encounter = to_fhir(e)
    assert encounter["subject"] == {"reference": registration_reference(e.id)}
    assert {"use": "temp"}.items() <= patient["identifier"][1].items()
    assert patient["identifier"][1]["value"] == "DT4W-0001"
    assert patient["identifier"][0] == entry_identifier(e.id)


def test_entries_on_a_registered_patient_refer_to_the_registration() -> None:
    reg = entry(Kind.REGISTRATION, patient_id="downtime-1")
    subject = Subject({"reference": registration_reference(reg.id)})
    (doc,) = to_fhir(entry(Kind.NOTE, patient_id="downtime-1"), subject)
    assert doc["subject"]["reference"] == registration_reference(reg.id)


def test_a_strike_files_nothing() -> None:
    assert to_fhir(entry(Kind.STRIKE, corrects=entry(Kind.NOTE).id)) == []
