"""One patient's summary, read from the replica: the one place that gathers what a
summary is built from.

`build_summary` reads the patient's compartment with one indexed lookup
(`Store.compartment`), resolves the Practitioners, Locations and Medications it names
(from the cached directory, else one by one), and hands everything to the pure
`standby.fhir.summary.patient_summary`, which decides what the summary contains. With the
summary it returns what a cache needs to keep it exactly (`SummaryRead`): the "Type/id"
of everything read or referenced (dropped when the store's change marks name one of them)
and the instant the clock changes what it shows (`standby.fhir.mar.next_change`).

The summary page, the packets and the census rows all come from here; the census row
reads less (`Extent.CENSUS_ROW`). `patient_identity` reads less still: who the patient is
and which unit they are on, enough to decide access before the whole record is read.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from standby.clinical.directory import Directory, directory
from standby.clinical.search import every_match
from standby.fhir import display as d
from standby.fhir.census import DUE_HOURS
from standby.fhir.header import header
from standby.fhir.mar import next_change
from standby.fhir.summary import (
    PatientSummary,
    current_encounter,
    encounter_bed,
    referenced_keys,
)
from standby.fhir.summary import (
    patient_summary as summarise,
)
from standby.fhir.timing import StandardTimes
from standby.journal import batched as journal_batched
from standby.journal import overlay as journal_overlay
from standby.journal import repository as journal_repository
from standby.journal import schema as journal_schema
from standby.journal import summary_entries as journal_summary_entries
from standby.journal.entries import Entry
from standby.journal.fhir_mapping import JOURNAL_ID_PREFIX
from standby.store.base import Store

JSON = Mapping[str, Any]

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


class Extent(enum.Enum):
    """How much of the compartment a summary is built from."""

    WHOLE = "whole"  # every resource: the summary page and the packets
    # what a census row shows: allergies, flags, code status, weight, height, the MAR
    # with the last day of administrations (an older "last given" is not in it); it also
    # changes when a dose enters the census's "due next" window
    CENSUS_ROW = "census-row"


@dataclass(frozen=True, slots=True)
class SummaryRead:
    """A summary with what keeping it needs (`standby.clinical.read_cache`)."""

    summary: PatientSummary
    bed: str | None  # Location id of the current encounter's active location
    keys: frozenset[str]  # "Type/id" of every resource read or referenced
    expires: datetime | None  # when the clock changes what it shows (None: never)
    # with `keep_resources`: what it was built from, "Type/id" → resource (the compartment
    # with the journal's entries, and the resources it names outside the compartment)
    resources: Mapping[str, JSON] | None = None


@dataclass(frozen=True, slots=True)
class PatientIdentity:
    """Who the patient is and where: what the break-the-glass form shows to be sure of the
    patient, and the unit that access is decided on. The same values as the summary's
    header (`standby.fhir.header.header` over the Patient and their encounters)."""

    patient_id: str
    name: str
    dob: str
    mrn: str
    location: str
    unit_id: str | None


@dataclass(frozen=True, slots=True)
class IdentityRead:
    identity: PatientIdentity
    keys: frozenset[str]
    expires: datetime | None


def build_summary(
    store: Store,
    patient_id: str,
    now: datetime,
    *,
    extent: Extent = Extent.WHOLE,
    hours: float = 48,
    patient_required: bool = True,
    charted_until: datetime | None = None,
    standard_times: StandardTimes | None = None,
    gathered: Sequence[JSON] | None = None,
    keep_resources: bool = False,
) -> SummaryRead | None:
    """The downtime summary of one patient at `now`, with the keys it depends on and when
    it expires. None when `patient_required` and the replica holds no such Patient (a
    census places a patient by their encounter, whatever else has arrived). One read
    transaction: the compartment and what it references from the same snapshot.
    `charted_until`: during a downtime, when the EHR stopped hearing of charting
    (`standby.fhir.mar.charting_cutoff`, from the downtime start the caller passes).
    `standard_times`: the hospital's standard administration times (the setting
    `mar_standard_times`; None: the default table). `gathered`: the resources of the
    extent, already read by the caller in this read transaction (the census reads every
    row's from the patient digest at once: `standby.store.digest.census_resources`).
    `keep_resources`: the summary read keeps the resources it was built from (what an IPS
    document carries beside its sections), which a cached summary does not."""
    journal_schema.ensure(store)  # before the snapshot: a table made inside it is not in it
    with store.read_transaction():
        if gathered is None:
            resources, keys = _gather(store, patient_id, now, extent)
        else:
            resources = list(gathered)
            keys = {f"{r.get('resourceType')}/{r.get('id')}" for r in resources}
        resources = with_journal(
            store, patient_id, resources, now, hours, census_row=extent is Extent.CENSUS_ROW
        )
        if patient_required and not any(r.get("resourceType") == "Patient" for r in resources):
            return None
        dire = directory(store)
        row = extent is Extent.CENSUS_ROW
        refs = referenced_keys(naming(resources, row))
        resolved = resolve(store, resources, dire, refs)
    summary = summarise(
        resources,
        now,
        resolved=resolved,
        held_types=dire.held_types,
        hours=hours,
        charted_until=charted_until,
        standard_times=standard_times,
        census_row=row,
    )
    current = current_encounter([r for r in resources if r.get("resourceType") == "Encounter"])
    horizons = (timedelta(hours=DUE_HOURS),) if extent is Extent.CENSUS_ROW else ()
    return SummaryRead(
        summary,
        encounter_bed(current) if current else None,
        frozenset(keys | refs | resolved.keys()),
        next_change(summary.mar, horizons),
        {
            **{f"{r.get('resourceType')}/{r.get('id')}": r for r in resources},
            **resolved,
        }
        if keep_resources
        else None,
    )


def naming(resources: Sequence[JSON], census_row: bool) -> Sequence[JSON]:
    """The resources whose references a summary shows: all of them, but for a census row
    not the administrations (it names no administration's drug or performer: see
    `standby.fhir.summary.patient_summary`'s `census_row`)."""
    if not census_row:
        return resources
    return [r for r in resources if r.get("resourceType") != "MedicationAdministration"]


def with_journal(
    store: Store,
    patient_id: str,
    resources: Sequence[JSON],
    now: datetime | None = None,
    hours: float = 48,
    *,
    census_row: bool = False,
) -> list[JSON]:
    """The patient's resources from the replica with what stands of their journal entries
    (`standby.journal.overlay.with_journal`): what was documented, their encounters as
    the journal's admissions, transfers and discharges left them, and for a patient
    registered during downtime (`journal-<uuid>`) the registration's Patient. Drill
    entries are not shown here (except on a patient registered in a drill). With `now`:
    only what a summary at `now` can show is read (`journal_entries`)."""
    entries = journal_entries(store, patient_id, now, hours, census_row=census_row)
    if not entries:
        return list(resources)
    return list(
        journal_overlay.with_journal(
            resources, entries, now=now, hours=hours, census_row=census_row
        )
    )


def journal_entries(
    store: Store,
    patient_id: str,
    now: datetime | None = None,
    hours: float = 48,
    *,
    census_row: bool = False,
) -> list[Entry]:
    """The patient's journal entries a summary reads: all of them without `now` (and for a
    patient registered during downtime, whose entries are few and may be a drill's);
    with `now` only what a summary at `now` can show (weeks of entries are neither read
    nor converted at every view: `journal.summary_entries`); `census_row`: what a census
    row shows."""
    if now is None or patient_id.startswith(JOURNAL_ID_PREFIX):
        return journal_repository.for_patient(store, patient_id)
    return journal_batched.entries(store, patient_id, now, hours=hours, census_row=census_row)


def patient_summary(
    store: Store,
    patient_id: str,
    now: datetime,
    *,
    hours: float = 48,
    charted_until: datetime | None = None,
    standard_times: StandardTimes | None = None,
) -> PatientSummary | None:
    """The downtime summary of one patient; None when the replica holds no such patient."""
    read = build_summary(
        store,
        patient_id,
        now,
        hours=hours,
        charted_until=charted_until,
        standard_times=standard_times,
    )
    return None if read is None else read.summary


def patient_identity(store: Store, patient_id: str, now: datetime) -> IdentityRead | None:
    """The patient's identity and unit from the Patient and their encounters (not the
    whole compartment); None when the replica holds no such patient."""
    journal_schema.ensure(store)
    with store.read_transaction():
        stored = store.compartment(patient_id, ["Patient", "Encounter"])
        # only the entries that place the patient: not their weeks of documentation
        placing = (
            journal_repository.for_patient(store, patient_id)
            if patient_id.startswith(JOURNAL_ID_PREFIX)
            else journal_summary_entries.placing(store, patient_id)
        )
        resources: list[JSON] = [sr.json() for sr in stored]
        if placing:
            resources = journal_overlay.with_journal(resources, placing)
        patients = [r for r in resources if r.get("resourceType") == "Patient"]
        if not patients:
            return None
        dire = directory(store)
        refs = referenced_keys(resources)
        resolved = resolve(store, resources, dire, refs)
    encounters: list[JSON] = [r for r in resources if r.get("resourceType") == "Encounter"]
    h = header(patients[0], {"Encounter": encounters}, now, resolved, dire.held_types)
    keys = {f"{sr.resource_type}/{sr.id}" for sr in stored} | refs | resolved.keys()
    identity = PatientIdentity(h.patient_id, h.name, h.dob, h.mrn, h.location, h.unit_id)
    return IdentityRead(identity, frozenset(keys), None)


def resolve(
    store: Store, resources: Sequence[JSON], dire: Directory, keys: set[str] | None = None
) -> dict[str, JSON]:
    """The referenced resources a summary names (`keys`, by default `referenced_keys`):
    directory entries, plus Medications and anything else read one by one."""
    out: dict[str, JSON] = {}
    for key in referenced_keys(resources) if keys is None else keys:
        hit = dire.resolved.get(key)
        if hit is None:
            rt, _, rid = key.partition("/")
            sr = store.read(rt, rid)
            if sr is None or sr.deleted:
                continue
            hit = sr.json()
        out[key] = hit
    # the bed's room and unit, for the location line
    for r in resources:
        if r.get("resourceType") == "Encounter":
            for x in r.get("location") or []:
                lid = d.reference_id(x.get("location"), "Location")
                while lid and f"Location/{lid}" in dire.resolved:
                    loc = dire.resolved[f"Location/{lid}"]
                    out[f"Location/{lid}"] = loc
                    nxt = d.reference_id(loc.get("partOf"), "Location")
                    lid = nxt if nxt != lid else None
    return out


def _gather(
    store: Store, patient_id: str, now: datetime, extent: Extent
) -> tuple[list[JSON], set[str]]:
    """The resources the summary is built from and their "Type/id"."""
    resources: list[JSON]
    if extent is Extent.WHOLE:
        resources = [sr.json() for sr in store.compartment(patient_id)]
    else:
        resources = _census_row_resources(store, patient_id, now)
    return resources, {f"{r.get('resourceType')}/{r.get('id')}" for r in resources}


def _census_row_resources(store: Store, pid: str, now: datetime) -> list[JSON]:
    obs = _census_observations(store, pid)
    if obs is None:
        return [sr.json() for sr in store.compartment(pid, [*CENSUS_TYPES, "Observation"])]
    recent = _recent_administrations(store, pid, now)
    types = CENSUS_TYPES if recent is None else CENSUS_TYPES[:-1]
    return [sr.json() for sr in store.compartment(pid, types)] + obs + (recent or [])


def _census_observations(store: Store, pid: str) -> list[JSON] | None:
    """The patient's code-status, weight and height Observations, one indexed search (an
    OR over several patients' references is planned far worse by SQLite); None when the
    store does not index what that search needs."""
    codes = ",".join(f"{d.LOINC}|{c}" for c in CENSUS_LOINC)
    for name in ("subject", "patient"):
        params = [(name, f"Patient/{pid}"), ("code", codes)]
        try:
            return [
                body
                for body in (sr.json() for sr in every_match(store, "Observation", params))
                if d.reference_id(body.get("subject"), "Patient") == pid
            ]
        except ValueError:
            continue
    return None


def _recent_administrations(store: Store, pid: str, now: datetime) -> list[JSON] | None:
    """The patient's MedicationAdministrations of the last day (all a census row's doses
    can match: the MAR looks back `LOOKBACK` ± `WINDOW`); None when the store cannot
    search them by date."""
    since = (now - timedelta(hours=24)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    params = [("subject", f"Patient/{pid}"), ("date", f"ge{since}")]
    try:
        return [sr.json() for sr in every_match(store, "MedicationAdministration", params)]
    except ValueError:
        return None
