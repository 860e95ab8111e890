"""A simulated downtime journal: weeks of a hospital's documentation over a replica
(docs/journal.md#a-simulated-downtime-journal).

For load tests and benchmarks: `simulate(store, weeks=4, beds=300, seed=1)` reads the
replica (the generator's hospital: units, beds, the in-progress encounters, their
medication orders, the staff of each unit) and yields what its clinicians would have
documented over the `weeks` before `end`, in the order it would have been written
(`recorded_at`). Every entry is made with `entries.make_entry`, so it passes the checks a
form's entry passes. The same store, arguments and seed give the same entries, ids
included.

Each inpatient bed (wards, ICU, step-down, maternity, paediatrics; not the ED or the OR)
is followed over the window:

* its current patient (the replica's in-progress encounter) is documented from the start
  of their stay, or of the window if later;
* before them the bed had earlier patients who arrived during the downtime: most were
  registered with a downtime MRN (a `registration`, a few through an ED bed and then a
  `transfer` to the ward bed), some were patients the EHR knew, admitted (`admit`); each
  ends with a `discharge`. Their medication orders are written in the journal (`order`),
  and their doses refer to them (`journal-<uuid>`, the order's local id).

For every stay: vital signs every 4 hours (every hour for a share of ICU and CCU beds; a
weight each morning), a dose for each scheduled time of each medication order — mostly
given, some held or refused with a reason — and PRN doses a few times a day, a nursing
note at the end of each 12-hour shift, a progress note each day, a few orders, an
allergy or "no known allergies" for a new patient, a new allergy now and then. Some
shifts of a unit are on paper and transcribed by a clerk hours later; a few entries are
corrected, a few struck. Registered patients' entries carry the registration's UUID as
their `patient_id` (the local id a registration gives its patient until the EHR gives it
one).

`bulk_load.load(store, entries)` writes them fast for a benchmark. Who is in which bed
when is `simulated_hospital`.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from standby.clock import instant
from standby.fhir.timing import dose_times
from standby.journal.entries import Capture, Entry, Kind, make_entry
from standby.journal.simulated_hospital import (
    FAMILY,
    GIVEN,
    HOUR,
    Hospital,
    Person,
    Stay,
    read_hospital,
    staff,
    stays,
)
from standby.store.base import Store

DAY = timedelta(days=1)
NODE = "sim-node-1"
CLERKS = ("clerk.amaya", "clerk.brooks", "clerk.chen")
HELD_REASONS = (
    "held: heart rate 48",
    "held: systolic BP 88",
    "held: NPO for procedure",
    "held: patient off the unit (imaging)",
    "held: potassium 5.8, physician informed",
)
REFUSED_REASONS = ("refused: nausea", "refused: patient asleep, declined when woken")
PRN_REASONS = ("pain", "nausea", "sleep", "anxiety")
# medications written in the journal for patients who arrived during the downtime
DOWNTIME_MEDS = (
    ("Acetaminophen 650 mg tablet", "650 mg", "oral", "q6h", 6),
    ("Enoxaparin 40 mg injection", "40 mg", "subcutaneous", "daily", 24),
    ("Metoprolol tartrate 25 mg tablet", "25 mg", "oral", "BID", 12),
    ("Pantoprazole 40 mg tablet", "40 mg", "oral", "daily", 24),
    ("Ceftriaxone 1 g IV", "1 g", "intravenous", "daily", 24),
    ("Furosemide 20 mg tablet", "20 mg", "oral", "BID", 12),
)
AMBULATING = ("with assistance", "independently", "to chair")
LABS = ("Basic metabolic panel", "Complete blood count", "Magnesium", "Troponin I", "INR")


class _Writer:
    """Makes entries (through `make_entry`) with ids drawn from the stay's generator."""

    def __init__(self, seed: int, end: datetime) -> None:
        self.seed = seed
        self.end = end
        self.paper: dict[tuple[str, datetime], bool] = {}

    def on_paper(self, unit: str, at: datetime) -> bool:
        """Whether the unit's shift containing `at` documented on paper (5 % of shifts)."""
        shift = at.replace(minute=0, second=0, microsecond=0)
        shift -= timedelta(hours=(shift.hour - 7) % 12)
        key = (unit, shift)
        if key not in self.paper:
            self.paper[key] = random.Random(f"{self.seed}:paper:{unit}:{shift}").random() < 0.05
        return self.paper[key]

    def make(
        self,
        stay: Stay,
        kind: Kind,
        who: Person,
        performed: datetime,
        payload: Mapping[str, Any],
        *,
        delay: timedelta | None = None,
        corrects: str | None = None,
        entry_id: str | None = None,
    ) -> Entry | None:
        rng = stay.rng
        capture = Capture.BEDSIDE
        clerk = None
        if self.on_paper(stay.bed.unit_id, performed) and kind is not Kind.STRIKE:
            capture = Capture.TRANSCRIBED
            clerk = CLERKS[rng.randrange(len(CLERKS))]
            recorded = performed + timedelta(minutes=rng.randrange(120, 720))
        else:
            recorded = performed + (delay or timedelta(minutes=rng.randrange(1, 25)))
        if recorded > self.end:
            return None  # still on paper, or not yet entered, when the window ends
        return make_entry(
            kind,
            patient_id=stay.patient_id,
            encounter_id=stay.encounter_id,
            author=who.username,
            author_name=who.name,
            role=who.role,
            node=NODE,
            now=recorded,
            performed_at=performed,
            payload=payload,
            capture=capture,
            transcribed_by=clerk,
            corrects=corrects,
            entry_id=entry_id or str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        )


def _vitals(stay: Stay, t: datetime) -> dict[str, Any]:
    rng, b = stay.rng, stay.baseline
    sys_bp = round(b["systolic"] + rng.gauss(0, 9))
    dia = round(min(sys_bp - 25, b["diastolic"] + rng.gauss(0, 6)))
    return {
        "temperature_c": round(b["temperature_c"] + rng.gauss(0, 0.3), 1),
        "heart_rate": round(b["heart_rate"] + rng.gauss(0, 7)),
        "resp_rate": round(max(8, b["resp_rate"] + rng.gauss(0, 2))),
        "systolic": max(70, sys_bp),
        "diastolic": max(35, dia),
        "spo2": round(min(100, max(88, b["spo2"] + rng.gauss(0, 1.5)))),
        "pain": rng.choice((0, 0, 0, 1, 2, 2, 3, 4, 5, 6)),
    }


def _stay_entries(h: Hospital, w: _Writer, stay: Stay, end: datetime) -> Iterator[Entry]:
    """Every entry of one stay, in no particular order."""
    rng = stay.rng
    bed = stay.bed
    stop = stay.end or end
    stay.baseline = {
        "temperature_c": rng.uniform(36.5, 37.4),
        "heart_rate": rng.uniform(62, 98),
        "resp_rate": rng.uniform(13, 19),
        "systolic": rng.uniform(108, 150),
        "diastolic": rng.uniform(62, 88),
        "spo2": rng.uniform(93, 98),
        "weight_kg": rng.uniform(48, 118),
    }
    nurse = lambda: staff(h, bed.unit_id, rng, "nurse")  # noqa: E731
    doctor = lambda: staff(h, bed.unit_id, rng, "physician")  # noqa: E731

    def emit(e: Entry | None) -> Iterator[Entry]:
        if e is None:
            return
        yield e
        roll = rng.random()
        if roll < 0.004 and e.kind is Kind.VITALS:  # a slip corrected
            p = dict(e.payload)
            p["heart_rate"] = int(p.get("heart_rate") or 80) + rng.choice((-10, 10))
            author = Person(e.author, e.author_name, e.role)
            yield from emit_plain(
                w.make(
                    stay,
                    Kind.VITALS,
                    author,
                    e.performed_at,
                    p,
                    corrects=e.id,
                    delay=e.recorded_at - e.performed_at + timedelta(minutes=rng.randrange(5, 90)),
                )
            )
        elif roll < 0.007 and e.kind is not Kind.REGISTRATION:  # entered on the wrong chart
            author = Person(e.author, e.author_name, e.role)
            reason = rng.choice(("wrong patient", "entered in error", "duplicate of paper entry"))
            yield from emit_plain(
                w.make(
                    stay,
                    Kind.STRIKE,
                    author,
                    e.recorded_at,
                    {"reason": reason},
                    corrects=e.id,
                    delay=timedelta(minutes=rng.randrange(3, 240)),
                )
            )

    def emit_plain(e: Entry | None) -> Iterator[Entry]:
        if e is not None:
            yield e

    # arrival
    start = stay.start
    if stay.arrived == "registration":
        n = rng.randrange(1, 10_000)
        loc = stay.via_ed or bed.id
        clerk = Person(CLERKS[rng.randrange(len(CLERKS))], "Registration clerk", "clerk")
        reg = w.make(
            stay,
            Kind.REGISTRATION,
            clerk,
            start,
            {
                "family": FAMILY[rng.randrange(len(FAMILY))],
                "given": GIVEN[rng.randrange(len(GIVEN))],
                "birth_date": f"{rng.randrange(1932, 2004)}-{rng.randrange(1, 13):02d}-"
                f"{rng.randrange(1, 29):02d}",
                "sex": rng.choice(("female", "male")),
                "mrn": f"DT{bed.unit_alias[:4].upper()}-{n:04d}",
                "encounter_number": f"DE{bed.unit_alias[:4].upper()}-{n:04d}",
                "location_id": loc,
            },
            delay=timedelta(minutes=rng.randrange(2, 15)),
            entry_id=stay.patient_id,  # the patient's local id is the registration's UUID
        )
        if reg is None:
            return
        yield reg
        if stay.via_ed:
            start += timedelta(minutes=rng.randrange(120, 360))
            yield from emit_plain(
                w.make(stay, Kind.TRANSFER, nurse(), start, {"location_id": bed.id})
            )
    elif stay.arrived == "admit":
        yield from emit_plain(w.make(stay, Kind.ADMIT, nurse(), start, {"location_id": bed.id}))
    if stay.arrived:
        first = start + timedelta(minutes=rng.randrange(20, 90))
        if rng.random() < 0.7:
            yield from emit(w.make(stay, Kind.NO_KNOWN_ALLERGIES, nurse(), first, {}))
        else:
            sub = rng.choice(("Penicillin", "Sulfa drugs", "Latex", "Codeine", "Shellfish"))
            yield from emit(
                w.make(
                    stay,
                    Kind.ALLERGY,
                    nurse(),
                    first,
                    {"substance": sub, "reaction": "Rash", "criticality": "low"},
                )
            )
        md = doctor()
        for name, dose, route, freq, hours in rng.sample(DOWNTIME_MEDS, rng.randrange(2, 5)):
            e = w.make(
                stay,
                Kind.ORDER,
                md,
                first + timedelta(minutes=rng.randrange(10, 60)),
                {
                    "category": "medication",
                    "text": f"{name} {dose} {route} {freq}",
                    "orderer": md.name,
                    "priority": "routine",
                    "medication": name,
                    "dose": dose,
                    "route": route,
                    "frequency": freq,
                },
            )
            if e is None:
                continue
            yield e
            # its doses, from the next round hour, every `hours`
            t = e.performed_at.replace(minute=0, second=0, microsecond=0) + HOUR
            while t < stop:
                yield from _dose(w, stay, nurse(), t, f"journal-{e.id}", name, dose, route, stop)
                t += timedelta(hours=hours)

    # vital signs: on the 4-hour round (hourly for some ICU beds), a weight each morning
    step = HOUR if bed.q1h else 4 * HOUR
    t = start.replace(minute=0, second=0, microsecond=0) + step
    while t < stop:
        at = t + timedelta(minutes=rng.randrange(0, 35))
        if at < stop:
            p = _vitals(stay, at)
            if t.hour == 6:
                p["weight_kg"] = round(stay.baseline["weight_kg"] + rng.gauss(0, 0.6), 1)
            yield from emit(w.make(stay, Kind.VITALS, nurse(), at, p))
        t += step

    # the replica's medication orders: each scheduled dose, PRNs now and then
    for med in stay.orders:
        if med.continuous:
            continue
        if med.prn:
            t = start + timedelta(hours=rng.uniform(2, 10))
            gap = med.min_interval or 4 * HOUR
            while t < stop:
                if rng.random() < 0.45:
                    yield from _dose(
                        w,
                        stay,
                        nurse(),
                        t,
                        med.id,
                        med.name,
                        med.dose or "1 dose",
                        med.route or "oral",
                        stop,
                        prn=True,
                    )
                t += max(gap, timedelta(hours=rng.uniform(4, 12)))
            continue
        for due in dose_times(med.timing, start, stop, UTC, written=med.authored_on):
            yield from _dose(
                w,
                stay,
                nurse(),
                due,
                med.id,
                med.name,
                med.dose or "1 dose",
                med.route or "oral",
                stop,
            )

    # notes: nursing at each shift's end, progress each day, a few orders, a new allergy
    t = start.replace(minute=0, second=0, microsecond=0)
    t += timedelta(hours=(7 - t.hour) % 12)
    while t + 11 * HOUR < stop:
        at = t + timedelta(hours=11, minutes=rng.randrange(0, 50))
        text = (
            f"Shift summary. Vital signs stable, within the patient's range. Pain controlled "
            f"(score {rng.randrange(0, 5)}). Ambulating {rng.choice(AMBULATING)}. "
            f"Tolerating diet. Lines and dressing checked. Plan of care reviewed with the patient."
        )
        yield from emit(
            w.make(
                stay,
                Kind.NOTE,
                nurse(),
                at,
                {"note_type": "nursing", "title": "Nursing shift note", "text": text},
            )
        )
        t += 12 * HOUR
    day = start.replace(hour=10, minute=0, second=0, microsecond=0)
    if day < start:
        day += DAY
    n = 1
    while day < stop:
        at = day + timedelta(minutes=rng.randrange(0, 180))
        if at < stop:
            md = doctor()
            yield from emit(
                w.make(
                    stay,
                    Kind.NOTE,
                    md,
                    at,
                    {
                        "note_type": "progress",
                        "title": f"Progress note, hospital day {n}",
                        "text": f"S: feels {rng.choice(('better', 'about the same', 'tired'))}.\n"
                        f"O: afebrile, haemodynamically stable on the downtime flowsheet.\n"
                        f"A/P: continue current plan; labs in the morning.",
                    },
                )
            )
            if rng.random() < 0.6:
                lab = LABS[rng.randrange(len(LABS))]
                yield from emit(
                    w.make(
                        stay,
                        Kind.ORDER,
                        md,
                        at + timedelta(minutes=5),
                        {
                            "category": "lab",
                            "text": lab,
                            "orderer": md.name,
                            "priority": rng.choice(("routine", "routine", "urgent")),
                        },
                    )
                )
            if rng.random() < 0.08:
                yield from emit(
                    w.make(
                        stay,
                        Kind.ORDER,
                        md,
                        at + timedelta(minutes=8),
                        {
                            "category": rng.choice(("imaging", "nursing")),
                            "text": rng.choice(
                                (
                                    "Chest X-ray, portable",
                                    "Fall precautions",
                                    "Strict intake and output",
                                )
                            ),
                            "orderer": md.name,
                            "priority": "routine",
                        },
                    )
                )
            if rng.random() < 0.01:
                yield from emit(
                    w.make(
                        stay,
                        Kind.ALLERGY,
                        nurse(),
                        at,
                        {"substance": "Morphine", "reaction": "Itching", "criticality": "low"},
                    )
                )
        day += DAY
        n += 1

    if stay.end is not None:
        disp = rng.choice(("Home", "Home", "Home with services", "Skilled nursing facility"))
        yield from emit_plain(
            w.make(stay, Kind.DISCHARGE, nurse(), stay.end, {"disposition": disp})
        )


def _dose(
    w: _Writer,
    stay: Stay,
    who: Person,
    due: datetime,
    request_id: str,
    name: str,
    dose: str,
    route: str,
    stop: datetime,
    *,
    prn: bool = False,
) -> Iterator[Entry]:
    rng = stay.rng
    at = due + timedelta(minutes=rng.randrange(-20, 40))
    if at >= stop or at < stay.start:
        return
    if prn:
        last = stay.last_prn.get(request_id)
        if last is not None and at - last < 4 * HOUR:
            return
        stay.last_prn[request_id] = at
    roll = rng.random()
    p: dict[str, Any] = {"request_id": request_id, "medication": name[:300]}
    if prn or roll < 0.93:
        p |= {"status": "given", "dose": dose[:100], "route": route[:100]}
        if prn:
            p["reason"] = f"PRN: {rng.choice(PRN_REASONS)}"
    elif roll < 0.97:
        p |= {"status": "held", "reason": rng.choice(HELD_REASONS)}
    else:
        p |= {"status": "refused", "reason": rng.choice(REFUSED_REASONS)}
    if not prn:
        p["scheduled_for"] = instant(due)
    e = w.make(stay, Kind.ADMINISTRATION, who, at, p)
    if e is not None:
        yield e


def simulate(
    store: Store,
    *,
    weeks: float = 4,
    beds: int | None = 300,
    seed: int = 1,
    end: datetime | None = None,
) -> Iterator[Entry]:
    """The downtime documentation of the replica's hospital over the `weeks` before `end`
    (default: now, to the minute), on at most `beds` inpatient beds (None: all), in the
    order written. Deterministic in (store, weeks, beds, seed, end)."""
    if end is None:
        end = datetime.now(UTC).replace(second=0, microsecond=0)
    if end.tzinfo is None:
        raise ValueError("end must carry its zone")
    if not 0 < weeks <= 4:
        raise ValueError(
            "weeks must be more than 0 and at most 4 (entries older than 31 days cannot be entered)"
        )
    start = end - timedelta(weeks=weeks)
    h = read_hospital(store, beds)
    every_stay = stays(h, seed, start, end)
    w = _Writer(seed, end)
    heap: list[tuple[datetime, int, Entry]] = []
    n = 0
    for stay in every_stay:
        for e in _stay_entries(h, w, stay, end):
            heapq.heappush(heap, (e.recorded_at, n, e))
            n += 1
    while heap:
        yield heapq.heappop(heap)[2]
