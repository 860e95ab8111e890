"""The medication administration form's guards: the wrong patient, a dose given twice
(on this node, or on another node's journal once merged), too early, inside a PRN's
interval, and an allergy that matches the drug."""

from __future__ import annotations

from datetime import timedelta

from standby.fhir.summary import PatientSummary, patient_summary
from standby.journal.entries import Entry, Kind
from standby.journal.overlay import as_resources
from standby.journal.warnings import administration_warnings, patient_confirmed
from support.journal_entries import PAYLOADS, entry
from support.summary_fixtures import LOCATIONS, NOW, allergy, encounter, med_request, patient

AT_NINE = {"repeat": {"timeOfDay": ["09:00:00"], "frequency": 1, "period": 1, "periodUnit": "d"}}
Q4H_PRN = {"repeat": {"frequency": 1, "period": 4, "periodUnit": "h"}}
NINE = NOW.replace(hour=9, minute=0)  # NOW is 12:00 UTC; the hospital is in UTC here


def _given(node: str, at, request: str = "mr-1", author: str = "nurse.a") -> Entry:
    return entry(
        Kind.ADMINISTRATION,
        now=NOW,
        performed_at=at,
        node=node,
        author=author,
        author_name=author,
        payload={**PAYLOADS[Kind.ADMINISTRATION], "request_id": request},
    )


def _summary(*journal: Entry, extra: list | None = None) -> PatientSummary:
    replica = [
        patient(),
        encounter(),
        med_request("mr-1", "Metoprolol tartrate", dose=25, timing=AT_NINE),
        med_request("mr-prn", "Oxycodone", dose=5, timing=Q4H_PRN, prn=True),
        *(extra or []),
    ]
    return patient_summary(replica + as_resources(journal), NOW, resolved=LOCATIONS)


def _line(s: PatientSummary, rid: str):
    return next(e for e in [*s.mar.scheduled, *s.mar.prn] if e.medication.id == rid)


def test_the_wristband_must_be_this_patients() -> None:
    assert patient_confirmed(" 100234 ", "100234")
    assert patient_confirmed("dt4w-0001", "DT4W-0001")
    assert not patient_confirmed("100243", "100234")
    assert not patient_confirmed("", "100234")
    assert not patient_confirmed("100234", "")


def test_a_dose_recorded_on_another_node_is_a_warning_here() -> None:
    other_node = _given("node-icu", NINE - timedelta(minutes=5), author="nurse.b")
    s = _summary(other_node)
    w = administration_warnings(
        _line(s, "mr-1"), performed_at=NOW - timedelta(minutes=30), scheduled_for=NINE
    )
    assert [x.code for x in w] == ["given-already"]
    assert "by nurse.b" in w[0].text and "08:55" in w[0].text


def test_no_warning_for_the_dose_not_yet_given() -> None:
    s = _summary()
    line = _line(s, "mr-1")
    assert administration_warnings(line, performed_at=NINE, scheduled_for=NINE) == []


def test_too_early() -> None:
    s = _summary()
    w = administration_warnings(
        _line(s, "mr-1"),
        performed_at=NINE + timedelta(days=1, minutes=-90),  # 07:30 for the 09:00 dose
        scheduled_for=NINE + timedelta(days=1),
    )
    assert [x.code for x in w] == ["too-early"] and "90 minutes" in w[0].text


def test_inside_a_prn_interval() -> None:
    s = _summary(_given("node-4w", NOW - timedelta(hours=1), request="mr-prn"))
    w = administration_warnings(_line(s, "mr-prn"), performed_at=NOW, scheduled_for=None)
    assert [x.code for x in w] == ["interval"]
    assert "next allowed at 28 Nov 15:00" in w[0].text


def test_an_allergy_that_matches_the_drug() -> None:
    s = _summary(
        extra=[
            allergy("Penicillin", code="70618"),
            med_request("mr-amox", "Amoxicillin 500 mg capsule", dose=500, timing=AT_NINE),
        ]
    )
    line = _line(s, "mr-amox")
    w = administration_warnings(
        line, performed_at=NINE, scheduled_for=NINE, allergy_alerts=s.alerts_for("mr-amox")
    )
    assert [x.code for x in w] == ["allergy"] and "Penicillin" in w[0].text


def test_an_extra_dose_of_a_scheduled_order_soon_after_one_given() -> None:
    s = _summary(_given("node-4w", NOW - timedelta(minutes=20)))
    w = administration_warnings(_line(s, "mr-1"), performed_at=NOW, scheduled_for=None)
    assert [x.code for x in w] == ["given-already"] and "11:40" in w[0].text
