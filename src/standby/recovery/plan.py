"""The back-entry plan: from the journal to an ordered list of FHIR writes (pure: data in,
data out; docs/recovery.md#the-plan).

What is filed: what stands of the journal (`journal.repository.in_effect`: struck entries
are not sent, a corrected entry is sent as its newest correction); drill entries never
(a drill's back-entry files only drill entries, to a test EHR). Per patient, in order:
the downtime registration, then admissions, transfers and discharges, then the clinical
entries in the order they were performed.

Each entry becomes one `Step`: its writes, and one `Provenance` naming who documented it,
who transcribed it, on which node, "entered during EHR downtime":

* a new resource is a conditional create (`POST` with `If-None-Exist:
  identifier=urn:ietf:rfc:3986|urn:uuid:<uuid>`), so that a resend never files it twice.
  The other resources of the patient refer to it by that `urn:uuid:` until the EHR has
  given it an id (in a transaction, through its `fullUrl`, `Write.full_url`);
* a transfer or discharge is an update of the Encounter as the clinician saw it, with
  `If-Match` on that version (`seen`): the EHR refuses it (412) if the encounter changed
  since, and nothing is overwritten. A second update of the same encounter in the journal
  builds on the first and takes its `If-Match` from what the first wrote (`if_match_after`);
* the Provenance is written with `PUT Provenance/<uuid5(entry, "provenance")>`: R4's
  Provenance has no `identifier` element to create it conditionally by, so its logical id
  is derived from the entry, and a resend updates the same resource instead of adding one.

A downtime registration's patient is filed only once a registrar has decided who they are
(`decisions`: registration entry id → the EHR Patient id to file under, or None to create
a new Patient; missing: the patient's steps are `held`).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from standby.clock import instant
from standby.journal.entries import Capture, Entry, Kind
from standby.journal.fhir_mapping import (
    DOWNTIME_TAG,
    URI_SYSTEM,
    Subject,
    entry_identifier,
    to_fhir,
)
from standby.journal.repository import in_effect

JSON = dict[str, Any]

ADT = (Kind.ADMIT, Kind.TRANSFER, Kind.DISCHARGE)
UPDATES = (Kind.TRANSFER, Kind.DISCHARGE)
PROVENANCE_PART = "provenance"
#: The payload key a transfer or discharge may carry: the Encounter's versionId the
#: clinician saw (else the replica's version as of the entry's recorded time is used).
SEEN_VERSION_KEY = "encounter_version"


@dataclass(frozen=True, slots=True)
class SeenVersion:
    """A resource as the clinician saw it: its versionId and body (from the replica)."""

    version_id: str
    resource: Mapping[str, Any]
    source: str = "replica"  # "payload": the entry named the version; "replica": as of recorded


@dataclass(frozen=True, slots=True)
class Write:
    """One FHIR interaction: a conditional create, a versioned update, or the Provenance."""

    method: str  # "POST" | "PUT"
    resource_type: str
    resource: JSON  # may refer to `urn:uuid:` fullUrls of other writes
    identifier: str  # the urn:uuid value the resource carries (its fullUrl when created)
    target: str | None = None  # PUT: "Encounter/123", or a `urn:uuid:` created earlier
    if_match: str | None = None  # PUT: the versionId the clinician saw
    if_match_after: str | None = None  # PUT: the entry whose write of `target` it follows

    @property
    def if_none_exist(self) -> str:
        return f"identifier={URI_SYSTEM}|{self.identifier}"

    @property
    def is_provenance(self) -> bool:
        return self.resource_type == "Provenance"

    @property
    def full_url(self) -> str:
        """The `fullUrl` of a create in a transaction: derived from the identifier but not
        equal to it, because some servers (Medplum) rewrite every string in the Bundle
        that equals a fullUrl, identifiers included, not only references."""
        own = uuid.UUID(self.identifier.removeprefix("urn:uuid:"))
        return f"urn:uuid:{uuid.uuid5(own, 'fullUrl')}"


@dataclass(frozen=True, slots=True)
class Step:
    """What one journal entry is filed as."""

    entry_id: str
    kind: str
    patient_key: str
    performed_at: datetime
    writes: tuple[Write, ...]
    needs: tuple[str, ...] = ()  # entries (registration, admission) whose resources it names
    problem: str | None = None  # why it cannot be filed at all (rejected without sending)


@dataclass(frozen=True, slots=True)
class PatientPlan:
    patient_key: str  # the replica's Patient id, or the registration's entry id
    steps: tuple[Step, ...]
    held: str | None = None  # why its steps wait (no registrar's decision yet)


@dataclass(frozen=True, slots=True)
class Plan:
    patients: tuple[PatientPlan, ...]
    transactions: bool
    left_out: Mapping[str, int] = field(default_factory=dict)  # why entries are not filed
    notes: tuple[str, ...] = ()
    withdrawn: frozenset[str] = frozenset()  # struck or corrected entries (not filed)

    @property
    def steps(self) -> list[Step]:
        return [s for p in self.patients for s in p.steps]

    def writes(self) -> int:
        return sum(len(s.writes) for s in self.steps)


def _local(ref: str | None) -> str | None:
    """An id as the journal names a resource it made itself (`journal-<uuid>`), as a UUID."""
    if not ref:
        return None
    return ref.removeprefix("journal-")


def registration_encounter(registration_id: str) -> str:
    """The urn:uuid (identifier and fullUrl) of a registration's Encounter."""
    return str(entry_identifier(registration_id, "encounter")["value"])


def _urn(entry_id: str) -> str:
    return f"urn:uuid:{uuid.UUID(entry_id)}"


def provenance_id(entry_id: str) -> str:
    """The Provenance's logical id: derived from the entry, the same every time."""
    return str(uuid.uuid5(uuid.UUID(entry_id), PROVENANCE_PART))


def _identifier_of(resource: Mapping[str, Any]) -> str:
    for ident in resource.get("identifier") or []:
        if ident.get("system") == URI_SYSTEM:
            return str(ident["value"])
    raise ValueError(f"a {resource.get('resourceType')} from the journal has no entry identifier")


def provenance(entry: Entry, targets: Iterable[str], *, updated: bool) -> JSON:
    """Who documented the entry, who transcribed it, on which node, when; "entered during
    EHR downtime". https://hl7.org/fhir/R4/provenance.html"""
    agents: list[JSON] = [
        {
            "type": _cc(
                "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                "author",
                "Author",
            ),
            "who": {"display": entry.author_name or entry.author},
        }
    ]
    if entry.capture is Capture.TRANSCRIBED and entry.transcribed_by:
        agents.append(
            {
                "type": _cc(
                    "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                    "enterer",
                    "Enterer",
                ),
                "who": {"display": f"{entry.transcribed_by} (transcribed from paper)"},
            }
        )
    agents.append(
        {
            "type": _cc(
                "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                "assembler",
                "Assembler",
            ),
            "who": {"display": f"Standby node {entry.node} (back-entry)"},
        }
    )
    return {
        "resourceType": "Provenance",
        "id": provenance_id(entry.id),
        "meta": {"tag": [dict(DOWNTIME_TAG)]},
        "target": [{"reference": t} for t in targets],
        "occurredDateTime": instant(entry.performed_at),
        "recorded": instant(entry.recorded_at),
        "activity": _cc(
            "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
            "UPDATE" if updated else "CREATE",
            "revise" if updated else "create",
        ),
        "reason": [{"text": "Entered during EHR downtime (Standby back-entry)"}],
        "agent": agents,
        "entity": [
            {
                "role": "source",
                "what": {
                    "identifier": entry_identifier(entry.id),
                    "display": f"Standby journal entry ({entry.kind.value})",
                },
            }
        ],
    }


def _cc(system: str, code: str, display: str) -> JSON:
    return {"coding": [{"system": system, "code": code, "display": display}]}


class _Base(NamedTuple):
    entry_id: str
    kind: str
    patient_key: str
    performed_at: datetime


@dataclass
class _Context:
    registrations: dict[str, Entry]
    admissions: set[str]
    decisions: Mapping[str, str | None]


def patient_key(entry: Entry, registrations: Mapping[str, Entry]) -> str:
    """Whose entries these are: the registration's id for a downtime-registered patient."""
    if entry.kind is Kind.REGISTRATION:
        return entry.id
    local = _local(entry.patient_id) or entry.patient_id
    return local if local in registrations else entry.patient_id


def _subject(entry: Entry, ctx: _Context, key: str) -> tuple[Subject, list[str]]:
    """References to the patient and encounter as the EHR will know them, and the journal
    entries whose resources they name."""
    needs: list[str] = []
    if key in ctx.registrations:
        chosen = ctx.decisions.get(key)
        patient = {"reference": f"Patient/{chosen}" if chosen else _urn(key)}
        needs.append(key)
    else:
        patient = {"reference": f"Patient/{entry.patient_id}"}
    enc_local = _local(entry.encounter_id)
    encounter: JSON | None = None
    if enc_local in ctx.admissions:
        encounter = {"reference": _urn(enc_local)}
        needs.append(enc_local)
    elif enc_local in ctx.registrations or (key in ctx.registrations and not entry.encounter_id):
        reg = enc_local if enc_local in ctx.registrations else key
        encounter = {"reference": registration_encounter(reg)}
        if reg not in needs:
            needs.append(reg)
    elif entry.encounter_id:
        encounter = {"reference": f"Encounter/{entry.encounter_id}"}
    return Subject(patient, encounter), needs


def _order(e: Entry) -> tuple[int, datetime, datetime, str]:
    rank = 0 if e.kind is Kind.REGISTRATION else 1 if e.kind in ADT else 2
    return (rank, e.performed_at, e.recorded_at, e.id)


def make_plan(
    entries: Iterable[Entry],
    *,
    seen: Mapping[str, SeenVersion],
    decisions: Mapping[str, str | None],
    transactions: bool,
    drill: bool = False,
) -> Plan:
    """The writes that file what stands of `entries` (every entry of the journal, in the
    order written). `seen`: for each transfer and discharge on an Encounter the EHR holds,
    that Encounter as the clinician saw it. `decisions`: the registrar's, per downtime
    registration. `transactions`: whether the EHR takes transaction Bundles (the executor
    then sends one per patient; otherwise single requests in this order)."""
    all_entries = list(entries)
    left_out: dict[str, int] = {}
    wanted = []
    for e in all_entries:
        if e.drill != drill:
            key = "drill entries (never filed)" if e.drill else "not drill entries"
            left_out[key] = left_out.get(key, 0) + 1
        else:
            wanted.append(e)
    standing = in_effect(wanted)
    ids = {e.id for e in standing}
    struck = {e.corrects for e in wanted if e.kind is Kind.STRIKE and e.corrects}
    withdrawn: set[str] = set()
    for e in wanted:
        if e.id in ids:
            continue
        if e.kind is Kind.STRIKE:
            why = "strikes (not filed themselves)"
        else:
            why = "struck" if e.id in struck else "corrected (replaced by the correction)"
            withdrawn.add(e.id)
        left_out[why] = left_out.get(why, 0) + 1
    ctx = _Context(
        registrations={e.id: e for e in standing if e.kind is Kind.REGISTRATION},
        admissions={e.id for e in standing if e.kind is Kind.ADMIT},
        decisions=decisions,
    )
    by_patient: dict[str, list[Entry]] = {}
    for e in standing:
        by_patient.setdefault(patient_key(e, ctx.registrations), []).append(e)
    notes: list[str] = []
    from_replica = 0
    patients: list[PatientPlan] = []
    for key in sorted(by_patient, key=lambda k: (min(_order(e) for e in by_patient[k]), k)):
        held = None
        if key in ctx.registrations and key not in decisions:
            held = "waits for a registrar's decision on this downtime registration"
        latest: dict[str, tuple[JSON, str]] = {}  # target → (body written, entry id)
        steps: list[Step] = []
        for e in sorted(by_patient[key], key=_order):
            step, replica = _step(e, key, ctx, seen, latest)
            from_replica += replica
            steps.append(step)
        patients.append(PatientPlan(key, tuple(steps), held))
    if from_replica:
        notes.append(
            f"{from_replica} transfer/discharge entries do not name the Encounter version the"
            " clinician saw: the replica's version as of the entry's recorded time is used"
        )
    return Plan(tuple(patients), transactions, left_out, tuple(notes), frozenset(withdrawn))


def _step(
    e: Entry,
    key: str,
    ctx: _Context,
    seen: Mapping[str, SeenVersion],
    latest: dict[str, tuple[JSON, str]],
) -> tuple[Step, int]:
    subject, needs = _subject(e, ctx, key)
    base = _Base(e.id, e.kind.value, key, e.performed_at)
    if e.kind is Kind.REGISTRATION:
        return _registration(e, ctx, base, latest), 0
    if e.kind in UPDATES:
        return _update(e, subject, needs, seen, latest, base)
    writes: list[Write] = []
    for r in to_fhir(e, subject):
        ident = _identifier_of(r)
        writes.append(Write("POST", r["resourceType"], r, ident))
        if r["resourceType"] == "Encounter":  # an admission: later updates build on it
            latest[ident] = (r, e.id)
    writes.append(_provenance_write(e, [w.identifier for w in writes], updated=False))
    return Step(*base, writes=tuple(writes), needs=tuple(needs)), 0


def _registration(
    e: Entry, ctx: _Context, base: _Base, latest: dict[str, tuple[JSON, str]]
) -> Step:
    patient, encounter = to_fhir(e)
    chosen = ctx.decisions.get(e.id)
    writes: list[Write] = []
    if chosen:  # the registrar matched them to a patient the EHR has: file under that one
        encounter["subject"] = {"reference": f"Patient/{chosen}"}
    else:
        writes.append(Write("POST", "Patient", patient, _identifier_of(patient)))
    ident = _identifier_of(encounter)
    writes.append(Write("POST", "Encounter", encounter, ident))
    # a transfer or discharge of the registered patient later in the downtime builds on
    # this encounter, as on an admission's
    latest[ident] = (encounter, e.id)
    writes.append(_provenance_write(e, [w.identifier for w in writes], updated=False))
    return Step(*base, writes=tuple(writes))


def _update(
    e: Entry,
    subject: Subject,
    needs: list[str],
    seen: Mapping[str, SeenVersion],
    latest: dict[str, tuple[JSON, str]],
    base: _Base,
) -> tuple[Step, int]:
    target = (subject.encounter or {}).get("reference")
    if not target:
        return Step(*base, writes=(), problem="names no encounter to transfer or discharge"), 0
    replica = 0
    if target in latest:  # changed already in this plan: build on that
        current, after = latest[target]
        if_match, if_match_after = None, after
    elif target.startswith("urn:uuid:"):
        return Step(
            *base,
            writes=(),
            needs=tuple(needs),
            problem=f"its encounter {target} is not filed by this plan",
        ), 0
    else:
        s = seen.get(e.id)
        if s is None:
            return Step(
                *base,
                writes=(),
                problem=f"the replica does not hold {target} as the clinician saw it",
            ), 0
        current, if_match, if_match_after = dict(s.resource), s.version_id, None
        replica = 1 if s.source == "replica" else 0
    (enc,) = to_fhir(e, subject, current=current)
    if target.startswith("Encounter/"):
        enc["id"] = target.split("/", 1)[1]
    ident = str(entry_identifier(e.id)["value"])
    latest[target] = (copy.deepcopy(enc), e.id)
    write = Write(
        "PUT",
        "Encounter",
        enc,
        ident,
        target=target,
        if_match=if_match,
        if_match_after=if_match_after,
    )
    prov = _provenance_write(e, [target], updated=True)
    return Step(*base, writes=(write, prov), needs=tuple(needs)), replica


def _provenance_write(e: Entry, targets: list[str], *, updated: bool) -> Write:
    res = provenance(e, targets, updated=updated)
    return Write(
        "PUT",
        "Provenance",
        res,
        f"urn:uuid:{res['id']}",
        target=f"Provenance/{res['id']}",
    )
