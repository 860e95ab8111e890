"""The device-data gap list on crafted data (pure): vital signs every 4 h leave no gap, a
9-hour hole is one, the ICU expects them hourly, the journal's documentation fills a gap
as the EHR's does, and a dose due with nothing recorded in either is listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from standby.journal.entries import Kind, make_entry
from standby.journal.overlay import as_resources
from standby.recovery.gaps import Policy, Stay, gaps, vitals_gaps

START = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # the downtime: 20:00 to 08:00
END = START + timedelta(hours=12)
VS = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
        }
    ]
}


def obs(oid: str, when: datetime, **kw: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [VS],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when.isoformat(),
        "valueQuantity": {"value": 80, "unit": "/min"},
        **kw,
    }


def order(rid: str = "mr-1", times: tuple[str, ...] = ("22:00", "06:00")) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "Metoprolol tartrate 25 mg tab"},
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2026-11-27T10:00:00Z",
        "dosageInstruction": [
            {
                "text": "25 mg BID",
                "timing": {
                    "repeat": {
                        "frequency": 2,
                        "period": 1,
                        "periodUnit": "d",
                        "timeOfDay": list(times),
                    }
                },
                "doseAndRate": [{"doseQuantity": {"value": 25, "unit": "mg"}}],
            }
        ],
    }


def admin(aid: str, when: datetime, rid: str = "mr-1", status: str = "completed") -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": aid,
        "status": status,
        "medicationCodeableConcept": {"text": "Metoprolol tartrate 25 mg tab"},
        "subject": {"reference": "Patient/p1"},
        "request": {"reference": f"MedicationRequest/{rid}"},
        "effectiveDateTime": when.isoformat(),
    }


def stay(resources: list[dict[str, Any]], *, kind: str = "HU", **kw: Any) -> Stay:
    base: dict[str, Any] = {
        "patient_id": "p1",
        "name": "SMITH, John",
        "mrn": "MRN0001",
        "birth_date": "1970-01-15",
        "bed": "401-A",
        "unit_kind": kind,
        "arrived": START - timedelta(days=2),
        "left": None,
        "resources": resources,
    }
    base.update(kw)
    return Stay(**base)


def every(hours: float, start: datetime = START, end: datetime = END) -> list[dict[str, Any]]:
    out, t, n = [], start, 0
    while t < end:
        out.append(obs(f"o{n}", t))
        t += timedelta(hours=hours)
        n += 1
    return out


def test_vitals_every_4_hours_leave_no_gap() -> None:
    [g] = gaps([stay(every(4))], START, END)
    assert g.vitals == () and g.complete
    assert g.vitals_sets == {"EHR": 3, "journal": 0}


def test_a_9_hour_hole_is_a_gap_from_the_last_set_to_the_next() -> None:
    times = [START, START + timedelta(hours=1), START + timedelta(hours=10)]
    [g] = gaps([stay([obs(f"o{i}", t) for i, t in enumerate(times)])], START, END)
    assert len(g.vitals) == 1
    gap = g.vitals[0]
    assert (gap.start, gap.end) == (times[1], times[2]) and gap.hours == 9
    assert gap.after == "last documented set" and gap.before == "next documented set"
    assert g.doses == ()


def test_nothing_after_the_last_set_is_a_gap_to_the_end_of_the_downtime() -> None:
    before = START - timedelta(hours=1)  # the last set the EHR heard of
    [g] = gaps([stay([obs("o0", before)])], START, END)
    [gap] = g.vitals
    assert (gap.start, gap.end, gap.before) == (before, END, "end of the downtime")


def test_the_icu_expects_vitals_hourly() -> None:
    [g] = gaps([stay(every(4), kind="ICU")], START, END)
    assert g.expected_every == timedelta(hours=1) and len(g.vitals) == 3
    [h] = gaps([stay(every(1), kind="ICU")], START, END)
    assert h.vitals == ()
    [custom] = gaps(
        [stay(every(4), kind="ICU")], START, END, Policy(icu_vitals_every=timedelta(hours=4))
    )
    assert custom.vitals == ()


def test_journal_documentation_fills_a_gap() -> None:
    ehr = [obs("o0", START), obs("o1", START + timedelta(hours=8))]
    [hole] = gaps([stay(ehr)], START, END)
    assert len(hole.vitals) == 1
    entry = make_entry(
        Kind.VITALS,
        patient_id="p1",
        author="n",
        author_name="N, RN",
        role="nurse",
        node="n1",
        now=START + timedelta(hours=4, minutes=5),
        performed_at=START + timedelta(hours=4),
        payload={"heart_rate": 88},
    )
    filled = ehr + as_resources([entry])
    [g] = gaps([stay(filled)], START, END)
    assert g.vitals == () and g.vitals_sets == {"EHR": 2, "journal": 1}


def test_a_struck_journal_entry_does_not_fill_a_gap() -> None:
    ehr = [obs("o0", START), obs("o1", START + timedelta(hours=8))]
    kw = {"patient_id": "p1", "author": "n", "author_name": "N, RN", "role": "nurse", "node": "n1"}
    entry = make_entry(
        Kind.VITALS, now=START + timedelta(hours=4), payload={"heart_rate": 88}, **kw
    )
    strike = make_entry(
        Kind.STRIKE,
        now=START + timedelta(hours=5),
        payload={"reason": "wrong patient"},
        corrects=entry.id,
        **kw,
    )
    [g] = gaps([stay(ehr + as_resources([entry, strike]))], START, END)
    assert len(g.vitals) == 1


def test_a_dose_due_with_nothing_recorded_is_listed() -> None:
    res = [*every(4), order()]
    [g] = gaps([stay(res)], START, END)
    assert [d.due.astimezone(UTC) for d in g.doses] == [
        datetime(2026, 11, 29, 22, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 6, 0, tzinfo=UTC),
    ]
    assert "Metoprolol" in g.doses[0].medication


def test_a_dose_recorded_in_either_place_or_held_is_not_listed() -> None:
    ehr_given = admin("a1", datetime(2026, 11, 29, 22, 20, tzinfo=UTC))
    entry = make_entry(
        Kind.ADMINISTRATION,
        patient_id="p1",
        author="n",
        author_name="N, RN",
        role="nurse",
        node="n1",
        now=datetime(2026, 11, 30, 6, 30, tzinfo=UTC),
        performed_at=datetime(2026, 11, 30, 6, 10, tzinfo=UTC),
        payload={
            "request_id": "mr-1",
            "medication": "Metoprolol",
            "status": "held",
            "reason": "HR 48",
        },
    )
    [g] = gaps([stay([*every(4), order(), ehr_given, *as_resources([entry])])], START, END)
    assert g.doses == ()
    far = admin("a2", datetime(2026, 11, 29, 23, 30, tzinfo=UTC))  # 90 min late: another dose?
    [h] = gaps([stay([*every(4), order(), far])], START, END)
    assert [d.due.hour for d in h.doses] == [22, 6]


def test_only_the_time_on_the_census_counts() -> None:
    arrived = START + timedelta(hours=6)
    [g] = gaps(
        [stay([obs("o0", arrived + timedelta(hours=1)), order()], arrived=arrived)], START, END
    )
    assert g.on_census == (arrived, END)
    # arrival at 02:00 and a set at 03:00: the next was due by 07:00 (+30 min)
    [tail] = g.vitals
    assert (tail.start, tail.end) == (arrived + timedelta(hours=1), END)
    assert [d.due.hour for d in g.doses] == [6]
    gone = gaps([stay([], left=START - timedelta(hours=1))], START, END)
    assert gone == []


def test_vitals_gaps_directly() -> None:
    t0 = START
    assert (
        vitals_gaps(
            [t0, t0 + timedelta(hours=4, minutes=20)],
            t0,
            t0 + timedelta(hours=8),
            timedelta(hours=4),
        )
        == []
    )
    late = vitals_gaps(
        [t0, t0 + timedelta(hours=4, minutes=40)], t0, t0 + timedelta(hours=8), timedelta(hours=4)
    )
    assert len(late) == 1 and late[0].start == t0
