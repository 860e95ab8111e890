"""Where results and doses came from: the summary says feed or FHIR sync on every result,
and during a downtime marks what the HL7 v2 feed brought after the EHR went down —
"received during downtime from <sender> — not seen in the EHR" — as the journal's entries
are marked; not before the downtime, not outside one, not what FHIR sync brought."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from standby.fhir.summary import patient_summary
from support.summary_fixtures import NOW, administration, iso, lab, med_request, patient

H = timedelta(hours=1)
DOWN = NOW - 2 * H  # the declaration


def fed(resource: dict[str, Any], at: Any, sender: str = "SIMLAB^SGH") -> dict[str, Any]:
    resource["meta"] = {
        "versionId": "v2-abc",
        "lastUpdated": iso(at),
        "source": "urn:standby:hl7v2:SIMLAB:SGH",
        "tag": [
            {
                "system": "https://standby.example.org/fhir/CodeSystem/data-source",
                "code": "hl7v2",
                "display": f"HL7 v2 feed from {sender}",
            }
        ],
    }
    return resource


def potassium(oid: str, value: float, when: Any) -> dict[str, Any]:
    r = lab(oid, "Potassium", value, 3.5, 5.1, when)
    r["code"]["coding"][0]["code"] = "2823-3"
    return r


def test_a_result_by_feed_after_the_declaration_is_marked_with_its_sender() -> None:
    res = [
        patient(),
        fed(potassium("k2", 6.9, NOW - H), NOW - H),
        potassium("k1", 4.0, NOW - 5 * H),
    ]
    (k,) = patient_summary(res, NOW, charted_until=DOWN).labs
    assert k.value.startswith("6.9") and k.previous is not None
    assert k.source == "HL7 v2 feed from SIMLAB^SGH"
    assert k.downtime_note == "received during downtime from SIMLAB^SGH — not seen in the EHR"
    assert k.previous.source == "EHR (FHIR sync)" and k.previous.downtime_from == ""


def test_no_mark_outside_downtime_before_it_or_on_what_fhir_sync_brought() -> None:
    before = fed(potassium("k1", 4.2, NOW - 3 * H), NOW - 3 * H)
    (k,) = patient_summary([patient(), before], NOW, charted_until=DOWN).labs
    assert k.source.startswith("HL7 v2 feed") and k.downtime_from == ""
    after = fed(potassium("k2", 6.9, NOW - H), NOW - H)
    (k,) = patient_summary([patient(), after], NOW).labs  # not in downtime
    assert k.downtime_from == ""
    (k,) = patient_summary([patient(), potassium("k3", 6.9, NOW - H)], NOW, charted_until=DOWN).labs
    assert k.source == "EHR (FHIR sync)" and k.downtime_from == ""


def test_an_administration_by_feed_in_downtime_is_marked_on_the_mar() -> None:
    res = [
        patient(),
        med_request("mr1", "Heparin"),
        fed(administration("ma2", "mr1", NOW - H), NOW - H, "SIMEHR^SGH"),
        administration("ma1", "mr1", NOW - 8 * H),
    ]
    mar = patient_summary(res, NOW, charted_until=DOWN).mar
    marks = {a.id: mar.received_in_downtime(a) for a in mar.recent}
    assert marks == {"ma2": "SIMEHR^SGH", "ma1": ""}


def test_the_same_test_named_differently_by_feed_and_ehr_is_one_row_newest_first() -> None:
    """The lab names a test by LOINC's long name, the EHR by its short one: one row by the
    code, the feed's critical 6.9 as the latest and the EHR's 4.3 as the one before it (it
    was two rows, "Potassium 4.3 N" reading as the current potassium beside the 6.9)."""
    feed_k = fed(potassium("k2", 6.9, NOW - H), NOW - H)
    feed_k["code"]["text"] = "Potassium [Moles/volume] in Serum or Plasma"
    feed_k["code"]["coding"][0]["display"] = "Potassium [Moles/volume] in Serum or Plasma"
    labs = patient_summary(
        [patient(), feed_k, potassium("k1", 4.3, NOW - 5 * H)], NOW, charted_until=DOWN
    ).labs
    assert len(labs) == 1
    (k,) = labs
    assert k.value.startswith("6.9")
    assert k.previous is not None and k.previous.value.startswith("4.3")
