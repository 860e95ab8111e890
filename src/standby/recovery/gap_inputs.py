"""Who was on a unit during the downtime, and what was documented on them: the input of
the device-data gap list (`standby.recovery.gaps`), read from the replica and the journal.

A patient was on the unit when an inpatient Encounter of theirs at one of its Locations
(the unit, its rooms and beds) overlaps the window — still in progress or finished since
it began — or when the journal admitted, transferred in or registered them there during
the downtime. Their vital-sign Observations, MedicationRequests and
MedicationAdministrations come from the replica; what stands of their journal entries
(`standby.journal.overlay.as_resources`: struck ones gone, corrected ones replaced) is
added beside them, tagged as from the journal.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from standby.fhir import display as d
from standby.fhir.header import encounter_bed
from standby.journal import repository as journal
from standby.journal.entries import Entry, Kind
from standby.journal.overlay import as_resources
from standby.recovery.gaps import Stay
from standby.store.base import Store

JSON = Mapping[str, Any]
TYPES = ("Observation", "MedicationRequest", "MedicationAdministration")


@dataclass
class _Here:
    arrived: datetime | None
    left: datetime | None
    bed: str | None
    open: bool


def _encounters(store: Store, loc_ids: list[str]) -> list[JSON]:
    out: list[JSON] = []
    try:
        for i in range(0, len(loc_ids), 100):
            refs = ",".join(f"Location/{x}" for x in loc_ids[i : i + 100])
            offset = 0
            while True:
                page = store.search(
                    "Encounter",
                    [("location", refs), ("status", "in-progress,finished,onleave")],
                    count=500,
                    offset=offset,
                )
                out.extend(sr.json() for sr in page.resources)
                if len(page.resources) < 500:
                    break
                offset += 500
        return out
    except ValueError:  # the store does not index Encounter.location
        wanted = {f"Location/{x}" for x in loc_ids}
        return [
            e
            for e in (sr.json() for sr in store.iter_type("Encounter"))
            if any(d.reference_key(x.get("location")) in wanted for x in e.get("location") or [])
        ]


def _journal_here(
    store: Store, loc_ids: set[str], start: datetime, end: datetime, drill: bool
) -> tuple[dict[str, _Here], dict[str, Entry]]:
    """Patients the journal put on (or took off) the unit during the window, and the
    registrations among them (patient id → the registration that stands)."""
    by_patient: dict[str, list[Entry]] = {}
    after = 0
    while True:
        batch = journal.since(store, after, limit=5000)
        if not batch:
            break
        after = batch[-1][0]
        for _seq, e in batch:
            if e.drill == drill and e.kind in (
                Kind.ADMIT,
                Kind.TRANSFER,
                Kind.DISCHARGE,
                Kind.REGISTRATION,
                Kind.STRIKE,
            ):
                by_patient.setdefault(e.patient_id, []).append(e)
    here: dict[str, _Here] = {}
    registered: dict[str, Entry] = {}
    for pid, entries in by_patient.items():
        for e in sorted(journal.in_effect(entries), key=lambda x: x.performed_at):
            if e.performed_at >= end:
                continue
            loc = str(e.payload.get("location_id") or "")
            if e.kind is Kind.REGISTRATION:
                registered[pid] = e
            if e.kind in (Kind.ADMIT, Kind.TRANSFER, Kind.REGISTRATION) and loc in loc_ids:
                here[pid] = _Here(e.performed_at, None, loc, True)
            elif pid in here and e.kind in (Kind.TRANSFER, Kind.DISCHARGE):
                here[pid].left = e.performed_at
                here[pid].open = False
    return here, registered


def stays(
    store: Store,
    loc_ids: Collection[str],
    unit_kind: str,
    start: datetime,
    end: datetime,
    *,
    drill: bool = False,
) -> list[Stay]:
    """Each patient on the unit (Locations `loc_ids`) during [start, end), with what the
    replica and the journal hold on them, ordered by bed then name."""
    wanted = set(loc_ids)
    here: dict[str, _Here] = {}
    for enc in _encounters(store, sorted(wanted)):
        pid = d.reference_id(enc.get("subject"), "Patient")
        period = enc.get("period") or {}
        began = d.parse_instant(period.get("start"))
        ended = d.parse_instant(period.get("end")) if enc.get("status") == "finished" else None
        if not pid or (began and began >= end) or (ended and ended <= start):
            continue
        bed = encounter_bed(enc)
        seen = here.get(pid)
        if seen is None:
            here[pid] = _Here(began, ended, bed, ended is None)
        else:  # several encounters: the whole span
            if began and (seen.arrived is None or began < seen.arrived):
                seen.arrived = began
            seen.open = seen.open or ended is None
            seen.left = None if seen.open else max(x for x in (seen.left, ended) if x)
            seen.bed = seen.bed or bed
    moved, registered = _journal_here(store, wanted, start, end, drill)
    for pid, h in moved.items():
        if pid not in here:
            here[pid] = h
        elif not h.open:
            here[pid].left, here[pid].open = h.left, False
    out: list[Stay] = []
    for pid, h in here.items():
        if h.left is not None and h.left <= start:
            continue
        patient = store.read("Patient", pid)
        if patient is not None:
            body = patient.json()
            name, family, given = d.human_name(body.get("name"))
            shown = f"{family.upper()}, {given}" if family and given else name
            mrn, birth = d.mrn(body), str(body.get("birthDate") or "")
        elif pid in registered:
            p = registered[pid].payload
            shown = f"{str(p.get('family', '')).upper()}, {p.get('given', '')}".rstrip(", ")
            mrn, birth = f"{p.get('mrn', '')} (downtime)", str(p.get("birth_date") or "")
        else:
            shown, mrn, birth = "(not in the replica)", "", ""
        bed_res = store.read("Location", h.bed) if h.bed else None
        bed = str(bed_res.json().get("name") or h.bed) if bed_res else (h.bed or "")
        resources: list[JSON] = [sr.json() for sr in store.compartment(pid, TYPES)]
        resources += as_resources(journal.for_patient(store, pid), drill=drill)
        out.append(Stay(pid, shown, mrn, birth, bed, unit_kind, h.arrived, h.left, resources))
    out.sort(key=lambda s: (s.bed == "", s.bed, s.name))
    return out
