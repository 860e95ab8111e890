"""The census planner: who matters now, and what to ask the source about them (pure).

Real EHRs restrict search to one patient (docs/sync.md, "Staying fresh"), so the sync
keeps fresh the people who matter now: inpatient and ED Encounters in progress, surgeries
and clinic appointments in the next N days. For each of them it searches the configured
resource types with `_lastUpdated=gt<high-water mark − overlap>`; a patient new to the
census gets a full pull (no `_lastUpdated`). Patients who leave the census are kept for
`keep_hours`.

Everything here is data in, data out (STYLE.md "Plan as data, then execute"): the executor
(`standby.sync.incremental`) runs the requests. FHIR search: https://hl7.org/fhir/R4/search.html
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from standby.sync.checkpoints import Streams, pull_group

JSON = dict[str, Any]

INPATIENT_CLASSES = {"IMP", "EMER", "ACUTE", "NONAC", "OBSENC", "SS"}
ACTIVE_APPOINTMENT = {"proposed", "pending", "booked", "arrived", "checked-in", "waitlist"}


@dataclass(frozen=True)
class SearchRequest:
    """One search to run and follow `next` links of; `stream` names its checkpoint."""

    stream: str  # what its success counts towards: a checkpoint stream or a pull group
    resource_type: str
    params: tuple[tuple[str, str], ...]
    patient_id: str | None = None
    full: bool = False  # a full pull (no _lastUpdated)


@dataclass(frozen=True, kw_only=True)
class CensusConfig:
    """What one round plans from. The types come from the settings `sync_patient_types`
    and `sync_shared_types` (their one list: `standby.settings`), see `runner.census_config`."""

    source: str = "ehr"
    patient_types: tuple[str, ...]  # searched per census patient
    shared_types: tuple[str, ...]  # not tied to one patient: searched type-wide
    horizon_days: float = 2.0
    overlap_seconds: float = 60.0
    keep_hours: float = 24.0
    page_size: int = 200
    patients_per_search: int = 20
    #: type → the parameter naming the patient (`patient` unless listed: plan.py picks
    #: `subject` for a server that lists only that)
    patient_params: tuple[tuple[str, str], ...] = ()
    #: an edge node's units (alias, name or Location id): only their patients are on the
    #: census (`standby.sync.units`); empty: the whole hospital
    units: tuple[str, ...] = ()
    #: whether the source searches Encounters by `location` (another Standby does): an edge
    #: node then asks only for its units' Encounters (`unit_census_queries`), else for the
    #: hospital's, filtered to the units here
    encounter_location: bool = True

    def patient_param(self, rtype: str) -> str:
        return dict(self.patient_params).get(rtype, "patient")


@dataclass(frozen=True)
class CensusEntry:
    patient_id: str
    reason: str  # "inpatient", "ed", "surgery", "appointment"


@dataclass
class CensusPlan:
    """The result of planning one round."""

    requests: list[SearchRequest] = field(default_factory=list)
    new_patients: list[str] = field(default_factory=list)
    dropped_patients: list[str] = field(default_factory=list)
    current: dict[str, str] = field(default_factory=dict)  # patient id → reason


def instant(t: datetime) -> str:
    """A FHIR instant (UTC, milliseconds)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t


def census_queries(
    cfg: CensusConfig, now: datetime, since: str | None = None
) -> list[SearchRequest]:
    """The searches that find the census: encounters in progress, appointments soon, and
    (with `since`, the Encounter mark) encounters finished since the last round, so that a
    patient admitted and discharged between two rounds is still pulled (and kept)."""
    end = now + timedelta(days=cfg.horizon_days)
    start = now - timedelta(hours=12)  # today's earlier surgeries may still be running
    n = str(cfg.page_size)
    queries = [
        SearchRequest(
            "census-query",
            "Encounter",
            (("status", "in-progress"), ("_count", n)),
            full=True,
        ),
        SearchRequest(
            "census-query",
            "Appointment",
            (("date", f"ge{instant(start)}"), ("date", f"le{instant(end)}"), ("_count", n)),
            full=True,
        ),
    ]
    after = since_param(since, cfg.overlap_seconds)
    if after is not None:
        queries.append(
            SearchRequest(
                "census-query",
                "Encounter",
                (("status", "finished"), after, ("_count", n)),
                full=True,
            )
        )
    return queries


#: Location references per census search of an edge node (keeps its URL short)
LOCATIONS_PER_SEARCH = 100


def unit_census_queries(
    cfg: CensusConfig, locations: Iterable[str], since: str | None = None
) -> list[SearchRequest]:
    """An edge node's census searches: its units' Encounters only, by `location` (the
    ward, its rooms and beds), in progress and (with `since`) finished since the last
    round. A round then asks for what its units hold, however large the hospital; no
    Appointment is asked for (an outpatient is on no unit, `standby.sync.units`)."""
    locs = sorted(locations)
    n = str(cfg.page_size)
    after = since_param(since, cfg.overlap_seconds)
    queries: list[SearchRequest] = []
    for i in range(0, len(locs), LOCATIONS_PER_SEARCH):
        refs = ("location", ",".join(f"Location/{x}" for x in locs[i : i + LOCATIONS_PER_SEARCH]))
        queries.append(
            SearchRequest(
                "census-query",
                "Encounter",
                (("status", "in-progress"), refs, ("_count", n)),
                full=True,
            )
        )
        if after is not None:
            queries.append(
                SearchRequest(
                    "census-query",
                    "Encounter",
                    (("status", "finished"), refs, after, ("_count", n)),
                    full=True,
                )
            )
    return queries


def _patient_of(reference: Any) -> str | None:
    if isinstance(reference, dict):
        ref = reference.get("reference")
        if isinstance(ref, str) and ref.startswith("Patient/"):
            return ref.split("/", 1)[1].split("/", 1)[0] or None
    return None


def _codes(value: Any) -> set[str]:
    out: set[str] = set()
    items = value if isinstance(value, list) else [value]
    for v in items:
        if isinstance(v, dict):
            if isinstance(v.get("code"), str):
                out.add(v["code"])
            for c in v.get("coding") or []:
                if isinstance(c, dict) and isinstance(c.get("code"), str):
                    out.add(c["code"])
    return out


def census_from(resources: Iterable[JSON], now: datetime, horizon_days: float) -> list[CensusEntry]:
    """Who is on the census, from the answers of `census_queries` (checked again here, since
    a server may ignore a search parameter)."""
    seen: dict[str, str] = {}
    end = now + timedelta(days=horizon_days)
    for r in resources:
        rtype = r.get("resourceType")
        if rtype == "Encounter":
            if r.get("status") == "finished":
                classes = _codes(r.get("class"))
                pid = _patient_of(r.get("subject"))
                if pid and classes & INPATIENT_CLASSES:
                    seen.setdefault(pid, "discharged")
                continue
            if r.get("status") != "in-progress":
                continue
            classes = _codes(r.get("class"))
            if not classes & INPATIENT_CLASSES:
                continue
            pid = _patient_of(r.get("subject"))
            if pid:
                seen.setdefault(pid, "ed" if "EMER" in classes else "inpatient")
        elif rtype == "Appointment":
            if r.get("status") not in ACTIVE_APPOINTMENT:
                continue
            start = parse_instant(r.get("start"))
            if start is None or start > end or start < now - timedelta(hours=12):
                continue
            surgical = "387713003" in _codes(r.get("serviceCategory"))
            for p in r.get("participant") or []:
                pid = _patient_of((p or {}).get("actor"))
                if pid:
                    seen.setdefault(pid, "surgery" if surgical else "appointment")
    return [CensusEntry(pid, reason) for pid, reason in sorted(seen.items())]


def plan_round(
    cfg: CensusConfig,
    census: Sequence[CensusEntry],
    known: Mapping[str, tuple[datetime, bool]],
    hwms: Mapping[str, str | None],
    now: datetime,
) -> CensusPlan:
    """The searches of one round.

    `known`: patients already on this source's census → (last seen on it, full pull done).
    `hwms`: checkpoint stream → high-water mark: the source's clock at the start of the last
    round in which every search of that stream succeeded.

    * A patient on the census whose full pull is not done gets one: every configured type,
      no `_lastUpdated` (`checkpoints.pull_group`: when all succeed, those patients are
      pulled).
    * Pulled patients (on the census now, or within `keep_hours`) are searched per type,
      `patients_per_search` at a time (`patient=Patient/a,Patient/b`; 1 for EHRs that
      allow only one),
      with `_lastUpdated=gt<hwm − overlap>` of that type's census stream.
    * Shared types (locations, staff, schedules) are searched type-wide the same way.
    """
    plan = CensusPlan(current={e.patient_id: e.reason for e in census})
    keep = timedelta(hours=cfg.keep_hours)
    pulled: list[str] = []
    to_pull: list[str] = []
    for pid in sorted(plan.current):
        if pid not in known:
            plan.new_patients.append(pid)
        (pulled if known.get(pid, (now, False))[1] else to_pull).append(pid)
    for pid, (last_seen, done) in sorted(known.items()):
        if pid in plan.current:
            continue
        if now - last_seen > keep:
            plan.dropped_patients.append(pid)
        elif done:
            pulled.append(pid)
    size = max(1, cfg.patients_per_search)
    for i in range(0, len(to_pull), size):
        chunk = to_pull[i : i + size]
        for rtype in cfg.patient_types:
            plan.requests.append(patient_search(cfg, rtype, chunk, pull_group(chunk), None))
    streams = Streams(cfg.source)
    for rtype in cfg.patient_types:
        stream = streams.census(rtype)
        for i in range(0, len(pulled), size):
            chunk = pulled[i : i + size]
            plan.requests.append(patient_search(cfg, rtype, chunk, stream, hwms.get(stream)))
    for rtype in cfg.shared_types:
        stream = streams.type(rtype)
        plan.requests.append(type_search(cfg, rtype, stream, hwms.get(stream)))
    return plan


def census_streams(cfg: CensusConfig) -> list[str]:
    """The checkpoint streams `plan_round` reads high-water marks from."""
    streams = Streams(cfg.source)
    return [streams.census(t) for t in cfg.patient_types] + [
        streams.type(t) for t in cfg.shared_types
    ]


def since_param(hwm: str | None, overlap_seconds: float) -> tuple[str, str] | None:
    t = parse_instant(hwm)
    if t is None:
        return None
    return ("_lastUpdated", f"gt{instant(t - timedelta(seconds=overlap_seconds))}")


def patient_search(
    cfg: CensusConfig, rtype: str, pids: Sequence[str], group: str, hwm: str | None
) -> SearchRequest:
    """A search of `rtype` for the patients `pids`. References carry their type
    (`patient=Patient/123`): a bare id is valid FHIR, but some servers match only the
    typed form (search.html#reference), and every server matches that one."""
    if rtype == "Patient":
        params: list[tuple[str, str]] = [("_id", ",".join(pids))]
    else:
        params = [(cfg.patient_param(rtype), ",".join(f"Patient/{p}" for p in pids))]
    since = since_param(hwm, cfg.overlap_seconds)
    if since:
        params.append(since)
    params.append(("_count", str(cfg.page_size)))
    return SearchRequest(
        group,
        rtype,
        tuple(params),
        patient_id=pids[0] if len(pids) == 1 else None,
        full=since is None,
    )


def type_search(cfg: CensusConfig, rtype: str, stream: str, hwm: str | None) -> SearchRequest:
    """Type-level `_lastUpdated` search (for shared types, and the `type` sync mode)."""
    params: list[tuple[str, str]] = []
    since = since_param(hwm, cfg.overlap_seconds)
    if since:
        params.append(since)
    params.append(("_count", str(cfg.page_size)))
    return SearchRequest(stream, rtype, tuple(params), full=since is None)


def plan_type_round(
    cfg: CensusConfig, types: Sequence[str], hwms: Mapping[str, str | None]
) -> list[SearchRequest]:
    """The `type` mode: every type searched by `_lastUpdated`, no census."""
    streams = Streams(cfg.source)
    return [type_search(cfg, t, streams.type(t), hwms.get(streams.type(t))) for t in types]
