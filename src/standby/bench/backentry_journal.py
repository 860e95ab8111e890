"""A synthetic downtime journal for back-entry's tests and bench (synthetic data only).

`hospital(store, patients)` writes, into a store, the patients and in-progress inpatient
Encounters the journal documents on (the same into the simulated EHR and into the
replica, so that both hold the same versions, as a replica does when the EHR goes down).
`journal(patients, hours, start)` documents on them as a ward does: vital signs every four
hours, doses given or held, nursing and progress notes, an order now and then, an
allergy, a transfer for some and a discharge for a few; a strike and a correction here
and there; and a patient registered during downtime for every `registrations` patients.

Until the journal load simulation (4 weeks of a 300-bed hospital) is merged, `standby bench
backentry` uses this one at its scale.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from standby.journal.entries import Capture, Entry, Kind, make_entry
from standby.store.base import Store

CLASS_IMP = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "code": "IMP",
    "display": "inpatient encounter",
}


def patient_ids(n: int) -> list[tuple[str, str]]:
    return [(f"bp{i}", f"be{i}") for i in range(n)]


def hospital(store: Store, patients: int, *, at: datetime) -> None:
    """The patients and their in-progress Encounters (last updated `at`)."""
    stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    batch: list[bytes] = []
    for i, (pid, eid) in enumerate(patient_ids(patients)):
        meta = {"versionId": "1", "lastUpdated": stamp}
        batch.append(
            orjson.dumps(
                {
                    "resourceType": "Patient",
                    "id": pid,
                    "meta": meta,
                    "identifier": [{"system": "urn:bench:mrn", "value": f"MRN{i:06d}"}],
                    "name": [{"family": f"Bench{i}", "given": ["Test"]}],
                    "gender": "female" if i % 2 else "male",
                    "birthDate": "1960-01-01",
                }
            )
        )
        batch.append(
            orjson.dumps(
                {
                    "resourceType": "Encounter",
                    "id": eid,
                    "meta": meta,
                    "status": "in-progress",
                    "class": CLASS_IMP,
                    "subject": {"reference": f"Patient/{pid}"},
                    "period": {"start": "2026-11-01T08:00:00Z"},
                    "location": [
                        {
                            "location": {"reference": f"Location/bed-{i}"},
                            "status": "active",
                            "period": {"start": "2026-11-01T08:00:00Z"},
                        }
                    ],
                }
            )
        )
    store.upsert_many(batch)


@dataclass
class _Writer:
    rng: random.Random
    node: str = "bench-node"

    def entry(
        self,
        kind: Kind,
        pid: str,
        eid: str | None,
        at: datetime,
        payload: dict[str, object],
        *,
        recorded: datetime | None = None,
        **kw: object,
    ) -> Entry:
        nurse = self.rng.randrange(40)
        transcribed = self.rng.random() < 0.2
        return make_entry(
            kind,
            patient_id=pid,
            encounter_id=eid,
            author=f"nurse{nurse}",
            author_name=f"Nurse {nurse}, RN",
            role="nurse",
            node=self.node,
            now=recorded or at + timedelta(minutes=self.rng.randrange(1, 40)),
            performed_at=at,
            payload=payload,
            capture=Capture.TRANSCRIBED if transcribed else Capture.BEDSIDE,
            transcribed_by="clerk1" if transcribed else None,
            **kw,  # type: ignore[arg-type]
        )


def _vitals(rng: random.Random) -> dict[str, object]:
    return {
        "temperature_c": round(rng.uniform(36.2, 38.0), 1),
        "heart_rate": rng.randrange(55, 110),
        "resp_rate": rng.randrange(12, 22),
        "systolic": rng.randrange(100, 150),
        "diastolic": rng.randrange(60, 90),
        "spo2": rng.randrange(92, 100),
    }


def _dose(rng: random.Random, n: int) -> dict[str, object]:
    if rng.random() < 0.1:
        return {
            "request_id": f"mr-{n % 7}",
            "medication": "Metoprolol tartrate 25 mg tablet",
            "status": "held",
            "reason": "heart rate 52",
        }
    return {
        "request_id": f"mr-{n % 7}",
        "medication": "Metoprolol tartrate 25 mg tablet",
        "status": "given",
        "dose": "25 mg",
        "route": "oral",
    }


def journal(
    patients: int,
    hours: float,
    start: datetime,
    *,
    seed: int = 1,
    registrations: int = 20,
    strikes: float = 0.01,
    corrections: float = 0.01,
) -> list[Entry]:
    """A downtime of `hours` on `patients` (those of `hospital`), in the order written."""
    rng = random.Random(seed)
    w = _Writer(rng)
    out: list[Entry] = []
    end = start + timedelta(hours=hours)
    for i, (pid, eid) in enumerate(patient_ids(patients)):
        out.extend(_one_patient(w, rng, i, pid, eid, start, end, strikes, corrections))
    for r in range(patients // registrations if registrations else 0):
        at = start + timedelta(hours=rng.uniform(0, hours * 0.5))
        reg = w.entry(
            Kind.REGISTRATION,
            f"reg-{r}",
            None,
            at,
            {
                "family": f"Unknown{r}",
                "given": "Trauma",
                "birth_date": "1990-01-01",
                "sex": "unknown",
                "mrn": f"DT-{r:04d}",
                "encounter_number": f"DE-{r:04d}",
                "location_id": f"ed-{r}",
            },
        )
        reg = dataclasses.replace(reg, patient_id=reg.id)
        out.append(reg)
        t = at + timedelta(minutes=30)
        while t < end:
            out.append(w.entry(Kind.VITALS, reg.id, None, t, _vitals(rng)))
            t += timedelta(hours=4)
    out.sort(key=lambda e: e.recorded_at)
    return out


def _one_patient(
    w: _Writer,
    rng: random.Random,
    i: int,
    pid: str,
    eid: str,
    start: datetime,
    end: datetime,
    strikes: float,
    corrections: float,
) -> Iterator[Entry]:
    t = start + timedelta(minutes=rng.randrange(0, 240))
    n = 0
    while t < end:
        e = w.entry(Kind.VITALS, pid, eid, t, _vitals(rng))
        yield e
        if rng.random() < strikes:
            yield w.entry(
                Kind.STRIKE,
                pid,
                eid,
                t,
                {"reason": "wrong patient"},
                recorded=e.recorded_at + timedelta(minutes=5),
                corrects=e.id,
            )
        elif rng.random() < corrections:
            yield w.entry(
                Kind.VITALS,
                pid,
                eid,
                t,
                _vitals(rng),
                recorded=e.recorded_at + timedelta(minutes=5),
                corrects=e.id,
            )
        for k in range(2):
            yield w.entry(
                Kind.ADMINISTRATION, pid, eid, t + timedelta(minutes=30 + k), _dose(rng, n)
            )
            n += 1
        if n % 6 == 0:
            yield w.entry(
                Kind.NOTE,
                pid,
                eid,
                t + timedelta(minutes=45),
                {"note_type": "nursing", "title": "Shift note", "text": f"Stable. Note {n}."},
            )
        t += timedelta(hours=4)
    mid = start + (end - start) / 2
    if i % 10 == 0:
        yield w.entry(Kind.ALLERGY, pid, eid, mid, {"substance": "Penicillin", "reaction": "Rash"})
    if i % 7 == 0:
        yield w.entry(
            Kind.ORDER,
            pid,
            eid,
            mid + timedelta(minutes=3),
            {"category": "lab", "text": "CBC", "orderer": "Dr. Bench", "priority": "routine"},
        )
    if i % 5 == 0:
        yield w.entry(
            Kind.TRANSFER, pid, eid, mid + timedelta(minutes=7), {"location_id": f"icu-{i}"}
        )
    if i % 9 == 0:
        yield w.entry(
            Kind.DISCHARGE, pid, eid, end - timedelta(minutes=30), {"disposition": "Home"}
        )
