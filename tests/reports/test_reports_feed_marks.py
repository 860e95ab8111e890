"""Packets mark what the HL7 v2 feed brought during downtime, as they mark the journal's
entries: the patient summary's results and the MAR's administrations."""

from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfReader

from standby.fhir.summary import patient_summary
from standby.reports import render
from standby.reports.pages import Furniture
from support.summary_fixtures import NOW, administration, iso, lab, med_request, patient

H = timedelta(hours=1)
FEED = "https://standby.example.org/fhir/CodeSystem/data-source"


def fed(resource: dict, sender: str) -> dict:
    resource["meta"] = {
        "lastUpdated": iso(NOW - H),
        "tag": [{"system": FEED, "code": "hl7v2", "display": f"HL7 v2 feed from {sender}"}],
    }
    return resource


def _text(pdf: bytes) -> str:
    return " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages
    )


def test_the_packets_mark_results_and_doses_received_by_feed_in_downtime() -> None:
    k = lab("k1", "Potassium", 6.9, 3.5, 5.1, NOW - H)
    k["code"]["coding"][0]["code"] = "2823-3"
    res = [
        patient(),
        fed(k, "SIMLAB^SGH"),
        med_request("mr1", "Heparin"),
        fed(administration("ma1", "mr1", NOW - H), "SIMEHR^SGH"),
    ]
    s = patient_summary(res, NOW, charted_until=NOW - 2 * H)
    text = _text(render.patient_pdf(s, Furniture(NOW, NOW, "4W", charted_until=NOW - 2 * H)))
    assert "received during downtime from SIMLAB^SGH — not seen in the EHR" in text
    assert "received during downtime from SIMEHR^SGH — not seen in the EHR" in text
