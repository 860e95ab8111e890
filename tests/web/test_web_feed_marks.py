"""The viewer marks what the HL7 v2 feed brought during downtime, and says where each
result came from: the patient page's results and MAR, and the unit census, over a copy of
the synthetic hospital's replica (in-process HTTP)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson

from standby import clinical
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from support.web_site import Hospital

MARK_LAB = "received during downtime from SIMLAB^SGH — not seen in the EHR"
MARK_DOSE = "received during downtime from SIMEHR^SGH — not seen in the EHR"


def _feed_meta(at: str, sender: str) -> dict[str, Any]:
    return {
        "versionId": "v2-test",
        "lastUpdated": at,
        "source": f"urn:standby:hl7v2:{sender.replace('^', ':')}",
        "tag": [
            {
                "system": "https://standby.example.org/fhir/CodeSystem/data-source",
                "code": "hl7v2",
                "display": f"HL7 v2 feed from {sender}",
            }
        ],
    }


def test_results_and_doses_by_feed_in_downtime_are_marked_on_the_patient_page(
    hospital: Hospital,
) -> None:
    store, now = hospital.store, hospital.clock.now
    patients = [
        b.patient for b in clinical.unit_census(store, hospital.unit_id, now).beds if b.patient
    ]
    pid, order = next(
        (p.id, sr.id)
        for p in patients
        for sr in store.search(
            "MedicationRequest", [("subject", f"Patient/{p.id}"), ("status", "active")], count=5
        ).resources
    )
    downtime.declare(store, MonitorConfig(), "ic", now - timedelta(minutes=30))
    at = (now - timedelta(minutes=5)).isoformat()
    potassium = {
        "resourceType": "Observation",
        "id": "v2ob-test-k",
        "meta": _feed_meta(at, "SIMLAB^SGH"),
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "Potassium"},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": at,
        "valueQuantity": {"value": 6.9, "unit": "mmol/L", "code": "mmol/L"},
        "interpretation": [{"coding": [{"code": "HH"}]}],
    }
    dose = {
        "resourceType": "MedicationAdministration",
        "id": "v2ma-test",
        "meta": _feed_meta(at, "SIMEHR^SGH"),
        "status": "completed",
        "medicationCodeableConcept": {"text": "Fed dose"},
        "subject": {"reference": f"Patient/{pid}"},
        "request": {"reference": f"MedicationRequest/{order}"},
        "effectiveDateTime": at,
    }
    store.upsert_many([orjson.dumps(potassium), orjson.dumps(dose)])
    c = hospital.login("physician")
    page = c.get(f"/patients/{pid}")
    assert page.status_code == 200, page.text
    labs = page.text.split('id="labs"')[1].split("</section>")[0]
    k_row = next(line for line in labs.splitlines() if "Potassium" in line and "6.9" in line)
    assert MARK_LAB in k_row and "HL7 v2 feed from SIMLAB^SGH" in k_row
    assert "EHR (FHIR sync)" in labs  # the synced results say so
    mar = page.text.split('id="mar"')[1].split("</section>")[0]
    assert MARK_DOSE in mar
    census = c.get(f"/units/{hospital.unit_id}")
    row = census.text.split(f'data-patient="{pid}"')[1].split("</tr>")[0]
    assert f"Potassium 6.9 mmol/L HH — {MARK_LAB}" in row
    assert f"Fed dose given — {MARK_DOSE}" in row
    others = census.text.split(f'data-patient="{pid}"')[0]
    assert "received during downtime" not in others
