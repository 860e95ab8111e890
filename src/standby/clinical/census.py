"""Units and their census: who is in which bed, read from the replica.

A unit is a Location with `physicalType` `wi` (docs/data-model.md); its beds are the `bd`
Locations below it. A patient is on the unit when their in-progress Encounter's active
location is the unit or a room or bed below it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from standby.clinical.directory import directory
from standby.clinical.patients import resolve
from standby.fhir import display as d
from standby.fhir.census import DUE_HOURS, Census, CensusBed, bed_sort_key, census_patient
from standby.fhir.mar import next_change
from standby.fhir.summary import (
    PatientSummary,
    current_encounter,
    encounter_bed,
    patient_summary,
    referenced_keys,
)
from standby.store.base import Store, StoredResource

if TYPE_CHECKING:
    from standby.clinical.summary_cache import SummaryCache

JSON = Mapping[str, Any]
NOT_CARE_UNITS = {"OR", "OF", "PHARM", "LAB"}


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    name: str  # "4 West Medical"
    alias: str  # "4W" (name when there is no alias)
    kind: str  # v3-RoleCode: ICU, HU, ER, OR, OF ...
    beds: int

    @property
    def label(self) -> str:
        return f"{self.alias} — {self.name}" if self.alias != self.name else self.name


def units(store: Store, *, include_all: bool = False) -> list[Unit]:
    """The care units (wards with beds, ICU, ED), by alias. `include_all` adds the OR
    suite and clinics."""
    dire = directory(store)
    key = f"units:{include_all}"
    cached: list[Unit] | None = dire.derived.get(key)
    if cached is not None:
        return list(cached)
    out = []
    for loc in dire.locations():
        if d.first_code(loc.get("physicalType")) != "wi" or loc.get("status") == "inactive":
            continue
        kind = d.type_code(loc) or ""
        if kind in NOT_CARE_UNITS and not include_all:
            continue
        lid = str(loc.get("id"))
        beds = sum(
            1
            for x in dire.subtree(lid)
            if d.first_code((dire.location(x) or {}).get("physicalType")) == "bd"
        )
        alias = (loc.get("alias") or [loc.get("name") or lid])[0]
        out.append(Unit(lid, str(loc.get("name") or alias), str(alias), kind, beds))
    out.sort(key=lambda u: u.alias)
    dire.derived[key] = out
    return list(out)


def _encounters_in(store: Store, loc_ids: list[str]) -> list[JSON]:
    out: list[JSON] = []
    chunk = 100
    try:
        for i in range(0, len(loc_ids), chunk):
            refs = ",".join(f"Location/{x}" for x in loc_ids[i : i + chunk])
            offset = 0
            while True:
                page = store.search(
                    "Encounter",
                    [("location", refs), ("status", "in-progress")],
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
            if e.get("status") == "in-progress"
            and any(d.reference_key(x.get("location")) in wanted for x in e.get("location") or [])
        ]


def unit_census(
    store: Store, unit_id: str, now: datetime, *, cache: SummaryCache | None = None
) -> Census:
    """Every bed of the unit with its patient (or empty), and patients placed on the unit
    without a bed listed after the beds. With `cache`, each patient's row is reused from
    it under its rules (docs/web.md#performance): a refreshed census reads only the
    unit's encounters and what changed."""
    return unit_census_and_summaries(store, unit_id, now, full=False, cache=cache)[0]


# What a census row needs (the rest of the compartment is read only for full summaries).
CENSUS_TYPES = (
    "Patient",
    "Encounter",
    "AllergyIntolerance",
    "Flag",
    "MedicationRequest",
    "MedicationAdministration",
)
CENSUS_LOINC = ("100822-6", "29463-7", "8302-2")  # code status, weight, height


def _census_observations(store: Store, pids: list[str]) -> dict[str, list[JSON]] | None:
    """Code-status, weight and height Observations of the patients, one indexed search per
    patient (an OR over every patient's reference is planned far worse by SQLite); None
    when the store does not index what that search needs."""
    if not pids:
        return {}
    codes = ",".join(f"{d.LOINC}|{c}" for c in CENSUS_LOINC)
    for name in ("subject", "patient"):
        out: dict[str, list[JSON]] = {p: [] for p in pids}
        try:
            for pid in pids:
                offset = 0
                while True:
                    page = store.search(
                        "Observation",
                        [(name, f"Patient/{pid}"), ("code", codes)],
                        count=1000,
                        offset=offset,
                    )
                    for sr in page.resources:
                        body = sr.json()
                        if d.reference_id(body.get("subject"), "Patient") == pid:
                            out[pid].append(body)
                    if len(page.resources) < 1000:
                        break
                    offset += 1000
        except ValueError:
            continue
        return out
    return None


def _recent_administrations(store: Store, pid: str, now: datetime) -> list[JSON] | None:
    """The patient's MedicationAdministrations of the last day (all a census row's doses
    can match: the MAR looks back `LOOKBACK` ± `WINDOW`); None when the store cannot
    search them by date."""
    since = (now - timedelta(hours=24)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out: list[JSON] = []
    try:
        offset = 0
        while True:
            page = store.search(
                "MedicationAdministration",
                [("subject", f"Patient/{pid}"), ("date", f"ge{since}")],
                count=1000,
                offset=offset,
            )
            out.extend(sr.json() for sr in page.resources)
            if len(page.resources) < 1000:
                return out
            offset += 1000
    except ValueError:
        return None


def _patient_part(
    store: Store, pid: str, now: datetime, full: bool
) -> tuple[tuple[PatientSummary, str | None] | None, frozenset[str], datetime | None]:
    """One patient's census summary and the bed (Location id) of their current encounter,
    with the "Type/id" keys read or referenced (for `SummaryCache.get`)."""
    dire = directory(store)
    resources: list[JSON]
    stored: list[StoredResource] = []
    obs = None if full else _census_observations(store, [pid])
    if full or obs is None:
        stored = store.compartment(pid, None if full else [*CENSUS_TYPES, "Observation"])
        resources = [sr.json() for sr in stored]
    else:
        recent = _recent_administrations(store, pid, now)
        types = CENSUS_TYPES if recent is None else CENSUS_TYPES[:-1]
        stored = store.compartment(pid, types)
        resources = [sr.json() for sr in stored]
        resources += obs.get(pid, [])
        resources += recent or []
    current = current_encounter([r for r in resources if r.get("resourceType") == "Encounter"])
    loc = encounter_bed(current) if current else None
    refs = referenced_keys(resources)
    resolved = resolve(store, resources, dire, refs)
    s = patient_summary(resources, now, resolved=resolved, held_types=dire.held_types)
    keys = {f"{r.get('resourceType')}/{r.get('id')}" for r in resources}
    keys.update(refs)
    keys.update(resolved)
    return (s, loc), frozenset(keys), next_change(s.mar, (timedelta(hours=DUE_HOURS),))


def unit_census_and_summaries(
    store: Store,
    unit_id: str,
    now: datetime,
    *,
    full: bool = True,
    cache: SummaryCache | None = None,
) -> tuple[Census, list[PatientSummary]]:
    """The census and, in the same order, the summary of each patient on it. `full`
    reads each whole compartment (the packets print every section); otherwise only what
    a census row shows is read (allergies, flags, code status, weight, the MAR with the
    last day of administrations: an older "last given" is then not in the summaries).
    Everything is read in one read transaction: one consistent snapshot of the replica."""
    with store.read_transaction():
        return _census_and_summaries(store, unit_id, now, full, cache)


def _census_and_summaries(
    store: Store, unit_id: str, now: datetime, full: bool, cache: SummaryCache | None
) -> tuple[Census, list[PatientSummary]]:
    dire = directory(store)
    unit = dire.location(unit_id)
    if unit is None:
        raise KeyError(f"no unit Location/{unit_id}")
    subtree = dire.subtree(unit_id)
    in_unit = set(subtree)
    beds = {
        x: dire.location(x) or {}
        for x in subtree
        if d.first_code((dire.location(x) or {}).get("physicalType")) == "bd"
    }
    placed: dict[str, str] = {}  # patient id → the Location id they are at
    for enc in _encounters_in(store, subtree):
        pid = d.reference_id(enc.get("subject"), "Patient")
        loc = encounter_bed(enc)
        if pid and loc in in_unit and pid not in placed:
            placed[pid] = loc
    by_bed: dict[str, CensusBed] = {}
    unplaced: list[CensusBed] = []
    summaries: dict[str, PatientSummary] = {}
    for pid in placed:
        if cache is None or full:
            got = _patient_part(store, pid, now, full)[0]
        else:
            got = cache.get(
                "census", pid, now, functools.partial(_patient_part, store, pid, now, full)
            )
        if got is None:
            continue
        s, loc = got
        if loc not in in_unit:
            continue  # the patient's current encounter is elsewhere
        row = census_patient(s)
        summaries[pid] = s
        if loc in beds and loc not in by_bed:
            room = dire.location(d.reference_id(beds[loc].get("partOf"), "Location"))
            by_bed[loc] = CensusBed(
                loc, str(beds[loc].get("name") or loc), str((room or {}).get("name") or ""), row
            )
        else:
            unplaced.append(CensusBed(None, s.header.bed, s.header.room, row))
    rows = []
    for bid, bed in beds.items():
        if bid in by_bed:
            rows.append(by_bed[bid])
        else:
            room = dire.location(d.reference_id(bed.get("partOf"), "Location"))
            rows.append(
                CensusBed(
                    bid, str(bed.get("name") or bid), str((room or {}).get("name") or ""), None
                )
            )
    rows.sort(key=bed_sort_key)
    unplaced.sort(key=lambda b: b.patient.name if b.patient else "")
    alias = (unit.get("alias") or [unit.get("name") or unit_id])[0]
    census = Census(unit_id, str(alias), str(unit.get("name") or alias), now, rows + unplaced)
    return census, [summaries[b.patient.id] for b in census.beds if b.patient is not None]
