"""The hospital a simulated downtime journal documents (`journal.simulate`): its inpatient
beds, who is in each now, their medication orders, each unit's staff, read from the replica
(`read_hospital`), and who was in each bed over the window (`stays`).

Deterministic in (replica, seed, window): each bed's and each stay's random generator is
seeded from their ids.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from standby.fhir import display as d
from standby.fhir.header import encounter_bed
from standby.fhir.medication_orders import ACTIVE_REQUEST, Medication, medication
from standby.store.base import Store

JSON = Mapping[str, Any]
HOUR = timedelta(hours=1)
NOT_WARDS = {"OR", "OF", "PHARM", "LAB", "ER"}
FAMILY = ("Okafor", "Lindqvist", "Haddad", "Moreau", "Takahashi", "Brennan", "Silva", "Novak")
GIVEN = ("Rosa", "Ivan", "Mei", "Tomas", "Aisha", "Peter", "Lena", "Jorge", "Ana", "Sam")


@dataclass(frozen=True, slots=True)
class Person:
    username: str
    name: str  # as people read it
    role: str  # "nurse" | "physician" | "clerk"


@dataclass(slots=True)
class Bed:
    id: str
    unit_id: str
    unit_alias: str
    kind: str  # v3-RoleCode of the unit: ICU, CCU, HU...
    q1h: bool  # vital signs every hour


@dataclass(slots=True)
class Stay:
    """One patient in one bed from `start` to `end` (None: still there at the end)."""

    patient_id: str
    encounter_id: str | None
    bed: Bed
    start: datetime
    end: datetime | None
    rng: random.Random
    orders: list[Medication] = field(default_factory=list)
    arrived: str = ""  # "registration" | "admit" | "" (the replica's current patient)
    via_ed: str | None = None  # an ED bed they were registered in before the ward
    baseline: dict[str, float] = field(default_factory=dict)
    last_prn: dict[str, datetime] = field(default_factory=dict)


@dataclass
class Hospital:
    beds: list[Bed]
    current: dict[str, tuple[str, str, datetime]]  # bed → patient, encounter, stay start
    orders: dict[str, list[JSON]]  # patient → MedicationRequests
    known: list[str]  # patients the EHR knows with no current stay (for admissions)
    ed_beds: list[str]
    nurses: dict[str, list[Person]]  # unit → its nurses
    physicians: dict[str, list[Person]]


def read_hospital(store: Store, beds_wanted: int | None) -> Hospital:
    locations = {sr.id: sr.json() for sr in store.iter_type("Location")}

    def unit_of(lid: str) -> str | None:
        seen = set()
        while lid and lid not in seen:
            seen.add(lid)
            loc = locations.get(lid) or {}
            if d.first_code(loc.get("physicalType")) == "wi":
                return lid
            lid = d.reference_id(loc.get("partOf"), "Location") or ""
        return None

    beds: list[Bed] = []
    ed_beds: list[str] = []
    for lid in sorted(locations):
        loc = locations[lid]
        if d.first_code(loc.get("physicalType")) != "bd" or loc.get("status") == "inactive":
            continue
        uid = unit_of(lid)
        if uid is None:
            continue
        unit = locations[uid]
        kind = d.type_code(unit) or ""
        if kind == "ER":
            ed_beds.append(lid)
        if kind in NOT_WARDS:
            continue
        alias = str((unit.get("alias") or [unit.get("name") or uid])[0])
        beds.append(Bed(lid, uid, alias, kind, False))
    if beds_wanted is not None:
        beds = beds[:beds_wanted]
    bed_ids = {b.id for b in beds}
    current: dict[str, tuple[str, str, datetime]] = {}
    patients_known: set[str] = set()
    inpatients: set[str] = set()
    for sr in store.iter_type("Encounter"):
        enc = sr.json()
        pid = d.reference_id(enc.get("subject"), "Patient")
        if not pid:
            continue
        patients_known.add(pid)
        if enc.get("status") != "in-progress":
            continue
        inpatients.add(pid)
        bed = encounter_bed(enc)
        start = d.parse_instant((enc.get("period") or {}).get("start"))
        if bed in bed_ids and start is not None and bed not in current:
            current[bed] = (pid, sr.id, start)
    orders: dict[str, list[JSON]] = {}
    wanted = {pid for pid, _, _ in current.values()}
    for pid in sorted(wanted):
        orders[pid] = [
            sr.json()
            for sr in store.compartment(pid, ["MedicationRequest"])
            if sr.json().get("status") in ACTIVE_REQUEST
        ]
    nurses: dict[str, list[Person]] = {}
    physicians: dict[str, list[Person]] = {}
    for sr in store.iter_type("PractitionerRole"):
        role = sr.json()
        code = d.first_code((role.get("code") or [None])[0])
        display = str((role.get("practitioner") or {}).get("display") or sr.id)
        prid = d.reference_id(role.get("practitioner"), "Practitioner") or sr.id
        for x in role.get("location") or []:
            uid = d.reference_id(x, "Location")
            if not uid:
                continue
            if code == "224535009":  # registered nurse
                nurses.setdefault(uid, []).append(Person(f"rn.{prid}", display, "nurse"))
            elif code == "309343006":  # physician
                physicians.setdefault(uid, []).append(Person(f"md.{prid}", display, "physician"))
    return Hospital(
        beds,
        current,
        orders,
        sorted(patients_known - inpatients),
        ed_beds,
        nurses,
        physicians,
    )


def staff(h: Hospital, unit: str, rng: random.Random, role: str) -> Person:
    pool = (h.nurses if role == "nurse" else h.physicians).get(unit)
    if pool:
        return pool[rng.randrange(len(pool))]
    n = rng.randrange(6)
    name = f"{GIVEN[n]} {FAMILY[n]}"
    if role == "nurse":
        return Person(f"rn.{unit}.{n}", f"{name}, RN", "nurse")
    return Person(f"md.{unit}.{n}", f"Dr. {name}", "physician")


def stays(h: Hospital, seed: int, start: datetime, end: datetime) -> list[Stay]:
    """Who was in each bed over [start, end]: the current patient, earlier ones before."""
    out: list[Stay] = []
    for bed in h.beds:
        rng = random.Random(f"{seed}:bed:{bed.id}")
        bed.q1h = bed.kind in ("ICU", "CCU") and rng.random() < 0.5
        cur = h.current.get(bed.id)
        free_from = end  # the bed's time before this is for earlier patients
        if cur is not None:
            pid, eid, since = cur
            s = max(start, since)
            orders = []
            for req in h.orders.get(pid, []):
                try:
                    orders.append(medication(req))
                except (ValueError, KeyError, TypeError):
                    continue
            out.append(Stay(pid, eid, bed, s, None, random.Random(f"{seed}:{pid}"), orders))
            free_from = since
        else:
            free_from = end - timedelta(hours=rng.uniform(2, 30))  # an empty bed now
        k = 0
        t = free_from
        while t > start:
            leave = t - timedelta(hours=rng.uniform(2, 12))  # cleaned and empty
            length = timedelta(days=rng.triangular(1, 10, 3))
            arrive = max(start, leave - length)
            if leave - arrive < 6 * HOUR:
                break
            srng = random.Random(f"{seed}:bed:{bed.id}:{k}")
            admit = bool(h.known) and srng.random() < 0.12
            if admit:
                pid = h.known[srng.randrange(len(h.known))]
                stay = Stay(pid, None, bed, arrive, leave, srng, arrived="admit")
            else:
                pid = str(uuid.UUID(int=srng.getrandbits(128), version=4))
                via = (
                    h.ed_beds[srng.randrange(len(h.ed_beds))]
                    if h.ed_beds and srng.random() < 0.25
                    else None
                )
                stay = Stay(pid, None, bed, arrive, leave, srng, arrived="registration", via_ed=via)
            out.append(stay)
            t = arrive
            k += 1
    return out
