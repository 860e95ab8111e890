"""What device data and doses must be re-entered after a downtime (pure: no I/O).

For each patient on the census during the downtime window, the stretches in which
**neither** the EHR (the replica's vital-signs Observations and MedicationAdministrations)
**nor** the journal (vital signs and doses documented in Standby that still stand) has
anything: what must be re-entered from the monitors' memory, the pumps' logs and the
paper flowsheets and MAR before the chart is whole again (docs/recovery.md, "Device-data
gaps").

Vital signs: each set documented at *t* covers [*t*, *t* + the expected interval +
`allowance`]; so does the patient's arrival (the first set is due one interval after
it). What no set covers, inside the part of the window the patient was on the census, is
a gap, reported from the last documented set (or the arrival, or the start of the
window) to the next one (or the end of the window). The expected interval is the
patient's (`vitals_every`: 4 h by default, 1 h on an intensive care unit; both settings).

Doses: every dose an active scheduled order (not PRN, not a continuous infusion) had due
inside the window, at the times the MAR works out (`standby.fhir.timing.dose_times`, the
hospital's standard times), with **no** administration of that order — given, held,
refused, in the EHR or in the journal — within `standby.fhir.mar.WINDOW` (60 min) of it.
Each administration answers one dose (the closest pairs first, as on the MAR). A dose
documented as not given is not a gap: it was documented.

Documented during the downtime and documented in the EHR are the same for this list:
both count. Resources tagged as from the journal are counted as such (`source`), so the
page can say where the documentation is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from standby.fhir.display import has_code, parse_instant
from standby.fhir.mar import WINDOW
from standby.fhir.medication_orders import (
    ACTIVE_REQUEST,
    administered_at,
    medication,
    request_id_of,
)
from standby.fhir.timing import StandardTimes, dose_times

JSON = Mapping[str, Any]
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DOWNTIME_TAG_SYSTEM = "https://standby.example.org/fhir/CodeSystem/origin"
NOT_MEASURED = frozenset({"entered-in-error", "cancelled", "registered"})
NOT_RECORDED = frozenset({"entered-in-error"})
INTENSIVE_CARE = frozenset({"ICU", "PEDICU", "NICU", "CCU", "SICU", "MICU", "CVICU"})


@dataclass(frozen=True, slots=True)
class Policy:
    """How often vital signs are expected, and how late a set may be before it is a gap."""

    vitals_every: timedelta = timedelta(hours=4)
    icu_vitals_every: timedelta = timedelta(hours=1)
    allowance: timedelta = timedelta(minutes=30)

    def interval(self, unit_kind: str) -> timedelta:
        """The expected interval on a unit of this kind (v3-RoleCode: ICU, HU, ER...)."""
        return self.icu_vitals_every if unit_kind.upper() in INTENSIVE_CARE else self.vitals_every


@dataclass(frozen=True, slots=True)
class Stay:
    """One patient on the census during the window, and everything documented on them."""

    patient_id: str
    name: str  # "SMITH, John"
    mrn: str
    birth_date: str
    bed: str  # as people read it ("" when none)
    unit_kind: str  # v3-RoleCode of the unit (ICU → the ICU interval)
    arrived: datetime | None  # the encounter's start (None: unknown)
    left: datetime | None  # the encounter's end (None: still here)
    resources: Sequence[JSON] = field(repr=False, default=())  # EHR's and journal's


@dataclass(frozen=True, slots=True)
class VitalsGap:
    start: datetime  # the last set documented before it (or the arrival / window start)
    end: datetime  # the next set documented (or the departure / window end)
    expected_every: timedelta
    after: str  # what `start` is: "last documented set", "arrival", "start of downtime"
    before: str  # what `end` is: "next documented set", "departure", "end of downtime"

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True, slots=True)
class MissedDose:
    due: datetime
    request_id: str
    medication: str  # "Metoprolol tartrate 25 mg oral BID"


@dataclass(frozen=True, slots=True)
class PatientGaps:
    stay: Stay
    on_census: tuple[datetime, datetime]  # the part of the window the patient was here
    expected_every: timedelta
    vitals: tuple[VitalsGap, ...]
    doses: tuple[MissedDose, ...]
    vitals_sets: dict[str, int]  # documented sets in the window by source: EHR, journal

    @property
    def complete(self) -> bool:
        return not self.vitals and not self.doses


def is_from_journal(resource: JSON) -> bool:
    tags = (resource.get("meta") or {}).get("tag") or []
    return any(t.get("system") == DOWNTIME_TAG_SYSTEM and t.get("code") == "downtime" for t in tags)


def _vital_times(resources: Iterable[JSON]) -> list[tuple[datetime, str]]:
    out = []
    for r in resources:
        if r.get("resourceType") != "Observation" or r.get("status") in NOT_MEASURED:
            continue
        if not any(has_code(c, OBS_CATEGORY, "vital-signs") for c in r.get("category") or []):
            continue
        when = parse_instant(r.get("effectiveDateTime")) or parse_instant(
            (r.get("effectivePeriod") or {}).get("start")
        )
        if when is not None:
            out.append((when.astimezone(UTC), "journal" if is_from_journal(r) else "EHR"))
    return sorted(set(out))


def vitals_gaps(
    times: Sequence[datetime],
    start: datetime,
    end: datetime,
    every: timedelta,
    *,
    allowance: timedelta = timedelta(minutes=30),
    arrived: datetime | None = None,
    end_is: str = "end of the downtime",
) -> list[VitalsGap]:
    """The stretches of [start, end) no set of vital signs covers (module docstring).
    `times`: every documented set (before `start` too: the last one before the window
    covers its beginning). `end_is`: what `end` is, in words."""
    reach = every + allowance
    anchors = sorted({(t.astimezone(UTC), "last documented set") for t in times})
    if arrived is not None:
        anchors = sorted({*anchors, (arrived.astimezone(UTC), "arrival")})
    out: list[VitalsGap] = []
    cursor = start.astimezone(UTC)  # covered up to here
    prev: tuple[datetime, str] | None = None
    for t, what in anchors:
        if t >= end:
            break
        if t > cursor:
            out.append(_gap(prev, start, t, "next documented set", every))
        cursor = max(cursor, t + reach)
        prev = (t, what)
    if cursor < end:
        out.append(_gap(prev, start, end, end_is, every))
    return out


def _gap(
    prev: tuple[datetime, str] | None,
    start: datetime,
    until: datetime,
    before: str,
    every: timedelta,
) -> VitalsGap:
    if prev is None:
        return VitalsGap(start, until, every, "start of the window (no set before it)", before)
    return VitalsGap(prev[0], until, every, prev[1], before)


def missed_doses(
    resources: Sequence[JSON],
    start: datetime,
    end: datetime,
    *,
    tz: Any = None,
    standard: StandardTimes | None = None,
) -> list[MissedDose]:
    """Doses due in [start, end) of active scheduled orders with no administration of the
    order within `WINDOW` of them (module docstring)."""
    zone = tz or start.tzinfo or UTC
    admins: dict[str, list[datetime]] = {}
    for r in resources:
        if r.get("resourceType") != "MedicationAdministration" or r.get("status") in NOT_RECORDED:
            continue
        rid = request_id_of(r)
        when = administered_at(r)
        if rid and when is not None:
            admins.setdefault(rid, []).append(when.astimezone(UTC))
    out: list[MissedDose] = []
    for r in resources:
        if r.get("resourceType") != "MedicationRequest" or r.get("status") not in ACTIVE_REQUEST:
            continue
        med = medication(r)
        if med.prn or med.continuous or not med.timing:
            continue
        rid = str(r.get("id") or "")
        given = sorted(admins.get(rid, []))
        before = [t for t in given if t < start.astimezone(UTC)]
        due = dose_times(
            med.timing,
            start.astimezone(zone),
            end.astimezone(zone),
            zone,
            standard=standard,
            last_given=before[-1] if before else None,
            written=med.authored_on,
        )
        if med.authored_on is not None:
            due = [t for t in due if t >= med.authored_on - WINDOW]
        for t in _unanswered(due, given):
            out.append(MissedDose(t, rid, med.line))
    out.sort(key=lambda m: (m.due, m.medication))
    return out


def _unanswered(due: Sequence[datetime], given: Sequence[datetime]) -> list[datetime]:
    """The dose times no administration answers (closest pairs first, one each)."""
    pairs = sorted(
        (abs(g - t.astimezone(UTC)), i, j)
        for i, t in enumerate(due)
        for j, g in enumerate(given)
        if abs(g - t.astimezone(UTC)) <= WINDOW
    )
    matched: set[int] = set()
    used: set[int] = set()
    for _d, i, j in pairs:
        if i not in matched and j not in used:
            matched.add(i)
            used.add(j)
    return [t for i, t in enumerate(due) if i not in matched]


def gaps(
    stays: Iterable[Stay],
    window_start: datetime,
    window_end: datetime,
    policy: Policy | None = None,
    *,
    standard: StandardTimes | None = None,
) -> list[PatientGaps]:
    """The gaps of each patient on the census during [window_start, window_end), in the
    order given (a patient who was not on the census during the window is left out)."""
    policy = policy or Policy()
    out: list[PatientGaps] = []
    for s in stays:
        on_from = max(window_start, s.arrived) if s.arrived else window_start
        on_to = min(window_end, s.left) if s.left else window_end
        if on_to <= on_from:
            continue
        every = policy.interval(s.unit_kind)
        timed = _vital_times(s.resources)
        counts: dict[str, int] = {"EHR": 0, "journal": 0}
        for t, source in timed:
            if on_from <= t < on_to:
                counts[source] += 1
        vitals = vitals_gaps(
            [t for t, _s in timed],
            on_from,
            on_to,
            every,
            allowance=policy.allowance,
            arrived=s.arrived,
            end_is="departure" if s.left and s.left < window_end else "end of the downtime",
        )
        doses = missed_doses(s.resources, on_from, on_to, tz=window_start.tzinfo, standard=standard)
        out.append(PatientGaps(s, (on_from, on_to), every, tuple(vitals), tuple(doses), counts))
    return out
