"""Units and their census: who is in which bed, read from the replica.

A unit is a Location with `physicalType` `wi` (docs/data-model.md); its beds are the `bd`
Locations below it. A patient is on the unit when their in-progress Encounter's active
location is the unit or a room or bed below it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from standby.clinical.directory import directory
from standby.clinical.search import every_match
from standby.clinical.summary import Extent, build_summary
from standby.fhir import display as d
from standby.fhir.census import Census, CensusBed, Departure, bed_sort_key, census_patient
from standby.fhir.header import location_path, place
from standby.fhir.summary import PatientSummary, encounter_bed
from standby.fhir.timing import StandardTimes
from standby.journal import adt as journal_adt
from standby.journal import batched as journal_batched
from standby.journal import schema as journal_schema
from standby.journal.entries import Kind
from standby.store import digest
from standby.store.base import Store

if TYPE_CHECKING:
    from standby.clinical.read_cache import ReadCache

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
        """ "4W — 4 West Medical", or the name alone when it already starts with the alias
        ("3W Step-Down Unit", never "3W — 3W Step-Down Unit")."""
        return unit_label(self.alias, self.name)


def unit_label(alias: str, name: str) -> str:
    """A unit's alias and name, the alias said once."""
    if not alias or name == alias or name.startswith(f"{alias} ") or not name:
        return name or alias
    return f"{alias} — {name}"


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
            params = [("location", refs), ("status", "in-progress")]
            out.extend(sr.json() for sr in every_match(store, "Encounter", params, page_size=500))
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
    store: Store,
    unit_id: str,
    now: datetime,
    *,
    cache: ReadCache | None = None,
    charted_until: datetime | None = None,
    standard_times: StandardTimes | None = None,
) -> Census:
    """Every bed of the unit with its patient (or empty), and patients placed on the unit
    without a bed listed after the beds. With `cache`, each patient's row is reused from
    it under its rules (docs/web.md#performance): a refreshed census reads only the
    unit's encounters and what changed. `charted_until`: during a downtime, when the EHR
    stopped hearing of charting (`standby.fhir.mar.charting_cutoff`). `standard_times`:
    the hospital's standard administration times (a `cache` builds with its own)."""
    return unit_census_and_summaries(
        store,
        unit_id,
        now,
        full=False,
        cache=cache,
        charted_until=charted_until,
        standard_times=standard_times,
    )[0]


def unit_census_and_summaries(
    store: Store,
    unit_id: str,
    now: datetime,
    *,
    full: bool = True,
    cache: ReadCache | None = None,
    charted_until: datetime | None = None,
    standard_times: StandardTimes | None = None,
) -> tuple[Census, list[PatientSummary]]:
    """The census and, in the same order, the summary of each patient on it. `full`
    reads each whole compartment (the packets print every section); otherwise only what
    a census row shows is read (allergies, flags, code status, weight, the MAR with the
    last day of administrations: an older "last given" is then not in the summaries).
    Everything is read in one read transaction: one consistent snapshot of the replica."""
    journal_schema.ensure(store)  # before the snapshot (the summaries read the journal)
    with store.read_transaction():
        return _census_and_summaries(
            store, unit_id, now, full, cache, charted_until, standard_times
        )


def _census_and_summaries(
    store: Store,
    unit_id: str,
    now: datetime,
    full: bool,
    cache: ReadCache | None,
    charted_until: datetime | None,
    standard_times: StandardTimes | None = None,
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
    # the patient digest: who is on the unit and each row's resources, one indexed read
    rows_of = None if full else digest.census_resources(store, subtree, now)
    if rows_of is not None:
        placed = {pid: loc for pid, (loc, _r) in rows_of.items()}
    else:
        for enc in _encounters_in(store, subtree):
            pid = d.reference_id(enc.get("subject"), "Patient")
            loc = encounter_bed(enc)
            if pid and loc in in_unit and pid not in placed:
                placed[pid] = loc
    # the journal's admissions, transfers, discharges and registrations (not yet in the
    # EHR): patients it placed on this unit join; where each is now, their summary says.
    # Only those placed here or that the replica has here: the rest cannot be on it
    moved = journal_adt.placements_among(store, in_unit, placed)
    for pid, pl in moved.items():
        if pl.location_id in in_unit and pid not in placed:
            placed[pid] = pl.location_id
    departed: list[Departure] = []
    by_bed: dict[str, CensusBed] = {}
    unplaced: list[CensusBed] = []
    summaries: dict[str, PatientSummary] = {}
    extent = Extent.WHOLE if full else Extent.CENSUS_ROW
    # every row's journal in one read at the first row that needs it, not a few queries
    # per row (each a round trip on PostgreSQL); the full census reads whole compartments
    reads = (
        contextlib.nullcontext() if full else journal_batched.census_reads(store, list(placed), now)
    )
    with reads:
        for pid in placed:
            gathered = rows_of[pid][1] if rows_of is not None and pid in rows_of else None
            if cache is None or full:
                got = build_summary(
                    store,
                    pid,
                    now,
                    extent=extent,
                    patient_required=False,
                    charted_until=charted_until,
                    standard_times=standard_times,
                    gathered=gathered,
                )
            else:
                got = cache.census_row(pid, now, charted_until, gathered=gathered)
            if got is None:
                continue
            s, loc = got.summary, got.bed
            if loc not in in_unit:
                if pid in moved:  # the replica has them here; the journal moved or discharged them
                    departed.append(_departure(s, moved[pid], dire.resolved))
                continue  # the patient's current encounter is elsewhere
            row = census_patient(s)
            summaries[pid] = s
            note = _downtime_note(moved[pid].kind) if pid in moved else ""
            if loc in beds and loc not in by_bed:
                room = dire.location(d.reference_id(beds[loc].get("partOf"), "Location"))
                by_bed[loc] = CensusBed(
                    loc,
                    str(beds[loc].get("name") or loc),
                    str((room or {}).get("name") or ""),
                    row,
                    note,
                )
            else:
                unplaced.append(CensusBed(None, s.header.bed, s.header.room, row, note))
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
    name = str(unit.get("name") or alias)
    departed.sort(key=lambda x: x.at)
    census = Census(unit_id, str(alias), name, now, rows + unplaced, charted_until, tuple(departed))
    return census, [summaries[b.patient.id] for b in census.beds if b.patient is not None]


NOT_IN_EHR = "not yet in the EHR"
DOWNTIME_NOTES = {
    Kind.ADMIT: f"Admitted during downtime — {NOT_IN_EHR}",
    Kind.TRANSFER: f"Moved here during downtime — {NOT_IN_EHR}",
    Kind.REGISTRATION: "Registered during downtime — not in the EHR (downtime MRN)",
}


def _downtime_note(kind: Kind) -> str:
    """What a census row says of a patient the journal placed."""
    return DOWNTIME_NOTES.get(kind, f"Entered during downtime — {NOT_IN_EHR}")


def _departure(s: PatientSummary, pl: journal_adt.Placement, resolved: JSON) -> Departure:
    if pl.location_id is None:
        what = "Discharged" + (f" ({pl.disposition})" if pl.disposition else "")
    else:
        path = location_path(pl.location_id, resolved)
        unit = path.get("wi")
        spot = path.get("bd") or path.get("ro")
        unit_name = str((unit.get("alias") or [unit.get("name")])[0]) if unit else ""
        what = "Moved to " + (
            place(unit_name, str((spot or {}).get("name") or "")) or "another unit"
        )
    h = s.header
    return Departure(h.patient_id, h.name, h.dob, h.mrn, what, pl.at)


def bed_occupancy(store: Store) -> dict[str, str]:
    """Who is in each bed of the care units now (bed Location id → patient id), as the
    census shows it: the replica's in-progress encounters, then where the journal last put
    each patient it admitted, moved, discharged or registered. Cheaper than every unit's
    census (no summaries): what the admit, transfer and registration forms offer."""
    journal_schema.ensure(store)
    with store.read_transaction():
        dire = directory(store)
        where: dict[str, str] = {}
        for unit in units(store):
            for enc in _encounters_in(store, dire.subtree(unit.id)):
                pid = d.reference_id(enc.get("subject"), "Patient")
                loc = encounter_bed(enc)
                if pid and loc and pid not in where:
                    where[pid] = loc
        for pid, pl in journal_adt.placements(store).items():
            if pl.location_id is None:
                where.pop(pid, None)
            else:
                where[pid] = pl.location_id
    out: dict[str, str] = {}
    for pid, loc in sorted(where.items()):
        out.setdefault(loc, pid)
    return out


def unit_patients(store: Store, unit_id: str) -> list[str]:
    """The ids of the patients the replica places on the unit now (their in-progress
    Encounter's location is the unit or below it), without the journal's moves: what a
    Bulk Data export of the unit's Group holds."""
    with store.read_transaction():
        dire = directory(store)
        out = {
            pid
            for enc in _encounters_in(store, dire.subtree(unit_id))
            if (pid := d.reference_id(enc.get("subject"), "Patient"))
        }
    return sorted(out)
