"""Who a downtime registration might be: the registrations in the journal, and the EHR
Patients that resemble each one (docs/recovery.md, "Patient matching").

Candidates come from two places, **the replica first, then the live EHR**:

1. the replica (always answers, even while the EHR is still shaky after the outage, and
   costs the EHR nothing) — it holds the patients the sync followed, not every patient;
2. the live EHR through FHIR search (`standby.sync.http.FhirClient` with the sync's
   authentication), when a source is configured: it knows every patient, including
   those registered or changed since the replica last heard. Its answer wins for a
   patient both hold. When it cannot be asked, the page says so: candidates may then be
   missing, and "create new" needs more care.

The searches (`searches`, pure) are few and narrow: each identifier the patient carried;
family name and birth date; given name and birth date (a misspelt family name); family
name and the birth date with day and month swapped; family and given names (a wrong
birth date). FHIR string search is case- and accent-insensitive and matches the start of
a name (https://hl7.org/fhir/R4/search.html#string); the replica's is the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from standby.journal import repository as journal
from standby.journal.entries import Entry, Kind
from standby.recovery import matching
from standby.store.base import Store
from standby.sync.http import FhirClient, SourceError

JSON = Mapping[str, Any]
PER_SEARCH = 20  # candidates per search: more than this is not a match, it is a crowd


@dataclass(frozen=True, slots=True)
class Registration:
    """A patient registered during the downtime, as it stands (after any correction)."""

    id: str  # the registration entry's id (the first one, when it was corrected since)
    entry: Entry  # the entry that stands: the newest correction, or the original
    person: matching.Person


def registrations(store: Store, *, drill: bool = False) -> list[Registration]:
    """Every registration that stands (struck ones are gone), oldest first."""
    by_patient: dict[str, list[Entry]] = {}
    after = 0
    while True:
        batch = journal.since(store, after, limit=5000)
        if not batch:
            break
        after = batch[-1][0]
        for _seq, e in batch:
            if e.drill == drill:
                by_patient.setdefault(e.patient_id, []).append(e)
    out: list[Registration] = []
    for entries in by_patient.values():
        originals = {e.id: e for e in entries}
        for e in journal.in_effect(entries):
            if e.kind is not Kind.REGISTRATION:
                continue
            root = e
            while root.corrects and root.corrects in originals:
                root = originals[root.corrects]
            out.append(Registration(root.id, e, matching.from_registration(e.payload)))
    out.sort(key=lambda r: r.entry.recorded_at)
    return out


def registration(store: Store, registration_id: str) -> Registration | None:
    """One registration by the id of its first entry (None: no such registration)."""
    first = journal.read(store, registration_id)
    if first is None or first.kind is not Kind.REGISTRATION:
        return None
    entries = journal.for_patient(store, first.patient_id, drill=first.drill)
    originals = {e.id: e for e in entries}
    for e in journal.in_effect(entries):
        if e.kind is not Kind.REGISTRATION:
            continue
        root = e
        while root.corrects and root.corrects in originals:
            root = originals[root.corrects]
        if root.id == registration_id:
            return Registration(root.id, e, matching.from_registration(e.payload))
    return None


def searches(person: matching.Person) -> list[list[tuple[str, str]]]:
    """The FHIR Patient searches that find the candidates of `person` (pure)."""
    out: list[list[tuple[str, str]]] = []
    for system, value in person.identifiers:
        out.append([("identifier", f"{system}|{value}" if system else value)])
    family, given = person.names[0] if person.names else ("", "")
    birth = person.birth_date
    if family and birth:
        out.append([("family", family), ("birthdate", birth)])
    if given and birth:
        out.append([("given", given.split()[0]), ("birthdate", birth)])
    swapped = matching.swapped_day_month(birth) if birth else None
    if family and swapped:
        out.append([("family", family), ("birthdate", swapped)])
    if family and given:
        out.append([("family", family), ("given", given.split()[0])])
    return out


def from_replica(store: Store, person: matching.Person) -> dict[str, JSON]:
    """Patient id → Patient, from the replica."""
    found: dict[str, JSON] = {}
    for params in searches(person):
        page = store.search("Patient", params, count=PER_SEARCH)
        for sr in page.resources:
            found.setdefault(sr.id, sr.json())
    return found


def from_ehr(client: FhirClient, person: matching.Person) -> dict[str, JSON]:
    """Patient id → Patient, from the live EHR (SourceError when it cannot answer)."""
    found: dict[str, JSON] = {}
    for params in searches(person):
        bundle = client.get_json("Patient", params=[*params, ("_count", str(PER_SEARCH))])
        for entry in bundle.get("entry") or []:
            res = entry.get("resource") if isinstance(entry, Mapping) else None
            if (
                isinstance(res, Mapping)
                and res.get("resourceType") == "Patient"
                and isinstance(res.get("id"), str)
                and (entry.get("search") or {}).get("mode", "match") == "match"
            ):
                found.setdefault(res["id"], res)
    return found


@dataclass(frozen=True, slots=True)
class Found:
    assessment: matching.Assessment
    ehr_searched: bool
    ehr_problem: str  # why the EHR was not asked or did not answer ("" when it answered)


def find(
    store: Store, person: matching.Person, client: FhirClient | None, *, why_not: str = ""
) -> Found:
    """The candidates of `person`: the replica's, then the EHR's (module docstring).
    `why_not`: why there is no client, when the caller knows (a broken key)."""
    replica = from_replica(store, person)
    ehr: dict[str, JSON] = {}
    problem = ""
    if client is None:
        problem = why_not or "no EHR is configured (STANDBY_SOURCE_URL)"
        problem += ": only the replica was searched"
    else:
        try:
            ehr = from_ehr(client, person)
        except (SourceError, OSError) as e:
            problem = f"the EHR did not answer ({e}): only the replica was searched"
    merged: list[tuple[str, JSON, str]] = []
    for pid in sorted(set(replica) | set(ehr)):
        if pid in ehr and pid in replica:
            merged.append((pid, ehr[pid], "EHR and replica"))
        elif pid in ehr:
            merged.append((pid, ehr[pid], "EHR"))
        else:
            merged.append((pid, replica[pid], "replica"))
    return Found(matching.assess(person, merged), client is not None and not problem, problem)


def patients(store: Store, client: FhirClient | None, ids: Sequence[str]) -> dict[str, JSON]:
    """Patients by id (for a decision already taken: the patient it names)."""
    out: dict[str, JSON] = {}
    for pid in ids:
        sr = store.read("Patient", pid)
        if sr is not None:
            out[pid] = sr.json()
        elif client is not None:
            try:
                out[pid] = client.get_json(f"Patient/{pid}")
            except (SourceError, OSError):
                continue
    return out
