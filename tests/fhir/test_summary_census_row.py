"""A census row decided from less than the whole summary (`patient_summary(...,
census_row=True)`: administrations read only for the doses, no allergy alerts) is the row
the whole summary gives, at every time of day, in and out of a downtime."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from standby.fhir.census import DUE_HOURS, census_patient
from standby.fhir.mar import next_change
from standby.fhir.summary import patient_summary
from support import mar_fixtures as mf
from support import summary_fixtures as sf

H = timedelta(hours=1)


def _fed(resource: dict[str, Any], at: datetime, sender: str) -> dict[str, Any]:
    resource = dict(resource)
    resource["meta"] = {
        "versionId": "v2-abc",
        "lastUpdated": sf.iso(at),
        "source": f"urn:standby:hl7v2:{sender.replace('^', ':')}",
        "tag": [
            {
                "system": "https://standby.example.org/fhir/CodeSystem/data-source",
                "code": "hl7v2",
                "display": f"HL7 v2 feed from {sender}",
            }
        ],
    }
    return resource


def _ward_patient(allergies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A patient of the summary fixtures: scheduled, PRN and stated-time orders, doses
    given, not given and fed by HL7 v2 during a downtime, vitals, labs, a code status."""
    now = sf.NOW
    q6 = {"repeat": {"frequency": 1, "period": 6, "periodUnit": "h"}}
    bid = {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}
    at = {"repeat": {"timeOfDay": ["09:00:00", "13:30:00", "21:00:00"]}}
    orders = [
        sf.med_request("mr-q6", "Furosemide 20 mg tab", dose=20, timing=q6),
        sf.med_request("mr-bid", "Metoprolol", dose=25, timing=bid),
        sf.med_request("mr-at", "Insulin lispro", dose=4, unit="U", timing=at),
        sf.med_request("mr-prn", "Oxycodone", timing=q6, prn=True),
        sf.med_request("mr-none", "Senna"),
    ]
    admins = [
        sf.administration("ma-1", "mr-q6", now - 6 * H),
        sf.administration("ma-2", "mr-q6", now - 12 * H - timedelta(minutes=20)),
        sf.administration("ma-3", "mr-bid", now - 3 * H, status="not-done"),
        sf.administration("ma-4", "mr-prn", now - 2 * H),
        sf.administration("ma-5", "mr-at", now - 30 * H),
        _fed(
            sf.administration("ma-6", "mr-at", now - 3 * H + timedelta(minutes=35)),
            now - H,
            "SIMEHR^SGH",
        ),
        sf.administration("ma-7", "mr-q6", now + 20 * timedelta(minutes=1), status="in-progress"),
    ]
    obs = [
        sf.vital("v1", "8867-4", 112, "/min", now - 2 * H),
        sf.vital("v2", "8867-4", 80, "/min", now - 60 * H),
        sf.vital("v3", "29463-7", 71.5, "kg", now - 100 * H),
        sf.vital("v4", "8302-2", 172, "cm", now - 400 * H),
        sf.code_status("cs1", "304253006", now - 50 * H),
        sf.lab("l1", "Sodium", 131, 135, 145, now - 5 * H),
        sf.lab("l2", "Sodium", 137, 135, 145, now - 70 * H),
        _fed(sf.lab("l3", "Potassium", 6.9, 3.5, 5.1, now - H, "HH"), now - H, "SIMLAB^SGH"),
        sf.note("n1", "Comfortable.", now - 4 * H),
    ]
    return [sf.patient(), sf.encounter(), *allergies, *orders, *admins, *obs]


FIXTURES = {
    "icu drips and code status (mar fixtures)": (mf.compartment(), mf.NOW, mf.UNIT),
    "allergies not recorded": (_ward_patient([]), sf.NOW, []),
    "no known allergies": (_ward_patient([sf.nka()]), sf.NOW, []),
    "allergies listed": (
        _ward_patient([sf.allergy("Penicillin"), sf.allergy("Latex", code="1003755")]),
        sf.NOW,
        [],
    ),
}


def _doses(s: Any) -> list[Any]:
    """Every scheduled order's doses and what is due, overdue or not charted."""
    return [
        (
            e.medication,
            [(x.time, x.state, x.skipped_time) for x in e.doses],
            e.next_due,
            e.overdue,
            e.not_charted,
            e.derived_from,
        )
        for e in s.mar.scheduled
    ]


def _resolved(extra: list[dict[str, Any]]) -> dict[str, Any]:
    return {f"{r['resourceType']}/{r['id']}": r for r in extra}


@pytest.mark.parametrize("name", sorted(FIXTURES))
@pytest.mark.parametrize("downtime", [False, True])
def test_the_census_row_of_the_lean_summary_is_the_row_of_the_whole(
    name: str, downtime: bool
) -> None:
    resources, base, outside = FIXTURES[name]
    resolved = _resolved(outside)
    seen: set[str] = set()  # the states the rows compared showed
    for step in range(-40, 41):  # every 20 minutes over ± 13 h 20 min
        now = base + step * timedelta(minutes=20)
        until = now - 90 * timedelta(minutes=1) if downtime else None
        whole = patient_summary(resources, now, resolved=resolved, charted_until=until)
        lean = patient_summary(
            resources, now, resolved=resolved, charted_until=until, census_row=True
        )
        row = census_patient(lean)
        assert row == census_patient(whole), (name, now)
        seen |= {
            "overdue" if x.overdue else "not charted" if x.not_charted else "due" for x in row.due
        }
        assert lean.header == whole.header
        assert lean.allergies == whole.allergies
        # the read cache keeps a census row until the same instant
        horizons = (timedelta(hours=DUE_HOURS),)
        assert next_change(lean.mar, horizons) == next_change(whole.mar, horizons)
        assert _doses(lean) == _doses(whole)
    assert seen == ({"due", "overdue", "not charted"} if downtime else {"due", "overdue"})
