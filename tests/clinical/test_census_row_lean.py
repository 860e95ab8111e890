"""The census built the way it is now (each row's summary worked out only as far as the
row shows: `census_row`, and no administration's drug or performer resolved) equals the
census built the way it was before (the whole summary builder over the row's
resources), on a generated hospital with what a downtime adds: the journal's doses,
allergies, "no known allergies" and transfers, and doses and results the HL7 v2 feed
brought after the EHR went down; a patient whose allergies are not recorded beside one
with "no known allergies". The read cache keeps each row until the same instant."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from standby import clinical
from standby.clinical import summary as clinical_summary
from standby.clinical.summary import Extent, build_summary
from standby.fhir.summary import patient_summary
from standby.journal import repository
from standby.journal.entries import Kind
from support.journal_entries import PAYLOADS, entry
from support.reports_support import NOW, load_ndjson

pytestmark = pytest.mark.slow  # a 20-bed hospital generated for this module (~5 s)

H = timedelta(hours=1)
DOWN = NOW - H  # when the EHR stopped hearing of charting


def _fed(resource: dict[str, Any], sender: str) -> bytes:
    at = (NOW - timedelta(minutes=20)).isoformat()
    resource["meta"] = {
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
    return orjson.dumps(resource)


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from standby.sim.generate import generate_hospital

    data = tmp_path_factory.mktemp("ward") / "ndjson"
    generate_hospital(20, 11, data, now=NOW)
    store = load_ndjson(data, tmp_path_factory.mktemp("db") / "replica.db")
    unit = max(clinical.units(store), key=lambda u: u.beds)
    census = clinical.unit_census(store, unit.id, NOW)
    pids = [p.id for p in census.patients]
    assert len(pids) >= 5
    empty = [b.bed_id for b in census.beds if b.patient is None and b.bed_id]
    orders = {
        pid: [
            sr.id
            for sr in store.search(
                "MedicationRequest", [("subject", f"Patient/{pid}"), ("status", "active")], count=50
            ).resources
        ]
        for pid in pids
    }
    dosed = [pid for pid in pids if orders[pid]]
    a, b = dosed[0], dosed[1]
    # the feed: a dose and a critical potassium after the EHR went down
    store.upsert(
        _fed(
            {
                "resourceType": "MedicationAdministration",
                "id": "v2ma-lean",
                "status": "completed",
                "medicationCodeableConcept": {"text": "Fed dose"},
                "subject": {"reference": f"Patient/{a}"},
                "request": {"reference": f"MedicationRequest/{orders[a][0]}"},
                "effectiveDateTime": (NOW - timedelta(minutes=25)).isoformat(),
                "performer": [{"actor": {"reference": "Practitioner/nobody-held"}}],
            },
            "SIMEHR^SGH",
        )
    )
    store.upsert(
        _fed(
            {
                "resourceType": "Observation",
                "id": "v2ob-lean",
                "status": "final",
                "category": [{"coding": [{"code": "laboratory"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
                "subject": {"reference": f"Patient/{a}"},
                "effectiveDateTime": (NOW - timedelta(minutes=25)).isoformat(),
                "valueQuantity": {"value": 6.9, "unit": "mmol/L"},
            },
            "SIMLAB^SGH",
        )
    )
    # allergies not recorded for one patient (their AllergyIntolerances deleted), "no
    # known allergies" by the journal for another
    unknown = pids[2]
    for sr in store.search("AllergyIntolerance", [("patient", f"Patient/{unknown}")]).resources:
        store.delete("AllergyIntolerance", sr.id)
    dose = {**PAYLOADS[Kind.ADMINISTRATION], "request_id": orders[b][0]}
    dose["scheduled_for"] = (NOW - timedelta(minutes=30)).isoformat()
    entries = [
        entry(Kind.ADMINISTRATION, patient_id=b, now=NOW, minutes_ago=25, payload=dose),
        entry(Kind.ALLERGY, patient_id=a, now=NOW, minutes_ago=15),
        entry(Kind.NO_KNOWN_ALLERGIES, patient_id=pids[3], now=NOW, minutes_ago=15),
        entry(Kind.VITALS, patient_id=b, now=NOW, minutes_ago=10),
    ]
    if empty:
        entries.append(
            entry(
                Kind.TRANSFER,
                patient_id=pids[4],
                now=NOW,
                minutes_ago=5,
                payload={"location_id": empty[0]},
            )
        )
    repository.append(store, entries)
    yield store, unknown, pids[3]
    store.close()


def _the_old_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build rows as before: every reference resolved, the whole summary worked out."""
    monkeypatch.setattr(clinical_summary, "naming", lambda resources, census_row: resources)

    def whole(*args: Any, census_row: bool = False, **kw: Any) -> Any:
        return patient_summary(*args, **kw)

    monkeypatch.setattr(clinical_summary, "summarise", whole)


@pytest.mark.parametrize("hours", [0, 1.5, 3, 17, -30])
@pytest.mark.parametrize("downtime", [False, True])
def test_the_census_equals_the_census_of_whole_summaries(
    ward: Any, monkeypatch: pytest.MonkeyPatch, hours: float, downtime: bool
) -> None:
    store, unknown, nka = ward
    now = NOW + timedelta(hours=hours)
    until = DOWN if downtime else None
    units = clinical.units(store)
    new = [clinical.unit_census(store, u.id, now, charted_until=until) for u in units]
    pids = [p.id for c in new for p in c.patients]
    reads = [
        build_summary(
            store, pid, now, extent=Extent.CENSUS_ROW, patient_required=False, charted_until=until
        )
        for pid in pids
    ]
    with monkeypatch.context() as m:
        _the_old_way(m)
        old = [clinical.unit_census(store, u.id, now, charted_until=until) for u in units]
        before = [
            build_summary(
                store,
                pid,
                now,
                extent=Extent.CENSUS_ROW,
                patient_required=False,
                charted_until=until,
            )
            for pid in pids
        ]
    assert new == old
    for x, y in zip(reads, before, strict=True):
        assert x is not None and y is not None
        assert (x.bed, x.expires) == (y.bed, y.expires)
        assert x.keys <= y.keys  # less resolved: no administration's drug or performer
    # what was compared holds the cases named above
    rows = {p.id: p for c in new for p in c.patients}
    assert rows[unknown].allergies.status != rows[nka].allergies.status
    if hours >= 0:
        assert any(p.due for p in rows.values())
    if downtime and 0 <= hours <= 3:
        assert any(p.not_charted for p in rows.values())
