"""Active medications and the medication administration record (MAR), from FHIR.

MedicationRequest: https://hl7.org/fhir/R4/medicationrequest.html
MedicationAdministration: https://hl7.org/fhir/R4/medicationadministration.html

A scheduled dose at time *t* is **given** when a MedicationAdministration for the same
request (status `completed`, or `in-progress`) has `effective` within ±`WINDOW` of *t*
(CMS's one-hour rule for non-time-critical medications); **documented not given** when
such an administration is `not-done`; **overdue** when neither and `now` is more than
`WINDOW` past *t*; **due now** when `now` is within ±`WINDOW` of *t*. Overdue doses are
looked for over the last `LOOKBACK` hours (older misses belong to the pharmacist's review,
not the bedside). PRN orders have no schedule: the MAR shows when they were last given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from standby.fhir.display import (
    concept_text,
    parse_instant,
    quantity,
    reference_display,
    reference_key,
)
from standby.fhir.timing import describe, dose_times

JSON = Mapping[str, Any]

WINDOW = timedelta(minutes=60)
LOOKBACK = timedelta(hours=12)
ACTIVE_REQUEST = {"active", "on-hold"}
GIVEN = {"completed", "in-progress"}


@dataclass(frozen=True, slots=True)
class Medication:
    """One active medication order, as the nurse reads it."""

    id: str  # MedicationRequest id
    name: str
    dose: str  # "5 mg" ("" when the order carries none)
    route: str  # "oral"
    frequency: str  # "q6h", "BID", "PRN"
    prn: bool
    prn_reason: str
    instructions: str  # dosageInstruction.text
    status: str
    authored_on: datetime | None
    timing: Mapping[str, Any] | None = field(repr=False, default=None)

    @property
    def line(self) -> str:
        """ "Metoprolol tartrate 25 mg oral BID"."""
        return " ".join(p for p in (self.name, self.dose, self.route, self.frequency) if p)


@dataclass(frozen=True, slots=True)
class Administration:
    id: str
    request_id: str | None
    medication: str
    when: datetime
    dose: str
    route: str
    status: str  # completed | not-done | ...
    performer: str
    reason_not_given: str = ""

    @property
    def given(self) -> bool:
        return self.status in GIVEN


@dataclass(frozen=True, slots=True)
class ScheduledDose:
    time: datetime
    state: str  # "given" | "not-given" | "overdue" | "due" | "upcoming"
    administration: Administration | None = None


@dataclass(frozen=True, slots=True)
class MarEntry:
    """One medication's line of the MAR."""

    medication: Medication
    doses: list[ScheduledDose]  # past LOOKBACK and next 24 h, in time order
    last_given: Administration | None
    next_due: datetime | None
    overdue: list[datetime]
    administrations: list[Administration]  # in the last 24 h, newest first

    @property
    def upcoming(self) -> list[datetime]:
        return [d.time for d in self.doses if d.state in ("due", "upcoming")]


@dataclass(frozen=True, slots=True)
class Mar:
    scheduled: list[MarEntry]  # by next due time
    prn: list[MarEntry]  # by name
    recent: list[Administration]  # every administration of the last 24 h, newest first
    now: datetime

    @property
    def overdue_count(self) -> int:
        return sum(len(e.overdue) for e in self.scheduled)

    def due_within(self, hours: float) -> list[tuple[datetime, Medication]]:
        """(time, medication) of every scheduled dose not yet given up to `hours` from now,
        overdue ones included (they are due now)."""
        end = self.now + timedelta(hours=hours)
        out = [(t, e.medication) for e in self.scheduled for t in e.overdue]
        out += [
            (d.time, e.medication)
            for e in self.scheduled
            for d in e.doses
            if d.state in ("due", "upcoming") and d.time < end
        ]
        return sorted(out, key=lambda x: (x[0], x[1].name))


def _medication_name(req: JSON, resolved: Mapping[str, JSON]) -> str:
    if req.get("medicationCodeableConcept"):
        return concept_text(req["medicationCodeableConcept"], "(unnamed medication)")
    ref = req.get("medicationReference")
    key = reference_key(ref)
    med = resolved.get(key) if key else None
    if med and med.get("code"):
        return concept_text(med["code"], "(unnamed medication)")
    return reference_display(ref, {}, "(unnamed medication)")


def medication(req: JSON, resolved: Mapping[str, JSON] | None = None) -> Medication:
    """A MedicationRequest read for display. Tolerates `medicationReference` (resolved
    through `resolved` or its `display`), a missing dosage, `asNeededCodeableConcept`."""
    resolved = resolved or {}
    dosages = req.get("dosageInstruction") or [{}]
    d = dosages[0] if isinstance(dosages[0], Mapping) else {}
    dose = ""
    for dr in d.get("doseAndRate") or []:
        dose = quantity(dr.get("doseQuantity"))
        if not dose and dr.get("doseRange"):
            rng = dr["doseRange"]
            dose = f"{quantity(rng.get('low'))}–{quantity(rng.get('high'))}"
        if dose:
            break
    prn = bool(d.get("asNeededBoolean")) or bool(d.get("asNeededCodeableConcept"))
    timing = d.get("timing")
    freq = describe(timing).text
    if prn:
        freq = f"PRN {freq}" if freq != "as directed" else "PRN"
    return Medication(
        id=str(req.get("id", "")),
        name=_medication_name(req, resolved),
        dose=dose,
        route=concept_text(d.get("route")),
        frequency=freq,
        prn=prn,
        prn_reason=concept_text(d.get("asNeededCodeableConcept")),
        instructions=str(d.get("text") or ""),
        status=str(req.get("status") or ""),
        authored_on=parse_instant(req.get("authoredOn")),
        timing=timing,
    )


def _administered_at(ma: JSON) -> datetime | None:
    return parse_instant(ma.get("effectiveDateTime")) or parse_instant(
        (ma.get("effectivePeriod") or {}).get("start")
    )


def _request_id(ma: JSON) -> str | None:
    return (reference_key(ma.get("request")) or "").removeprefix("MedicationRequest/") or None


def administration(ma: JSON, resolved: Mapping[str, JSON] | None = None) -> Administration | None:
    resolved = resolved or {}
    when = _administered_at(ma)
    if when is None:
        return None
    dosage = ma.get("dosage") or {}
    performers = ma.get("performer") or []
    performer = ""
    if performers and isinstance(performers[0], Mapping):
        performer = reference_display(performers[0].get("actor"), resolved)
    return Administration(
        id=str(ma.get("id", "")),
        request_id=_request_id(ma),
        medication=_medication_name(ma, resolved),
        when=when,
        dose=quantity(dosage.get("dose")),
        route=concept_text(dosage.get("route")),
        status=str(ma.get("status") or ""),
        performer=performer,
        reason_not_given=concept_text(ma.get("statusReason")),
    )


def next_change(mar: Mar, horizons: Sequence[timedelta] = ()) -> datetime | None:
    """The first instant after `mar.now` at which this MAR, worked out again, could say
    something else about a dose that is not given: it turns due (`WINDOW` before its
    time), overdue (`WINDOW` after), leaves the lookback (`LOOKBACK` after), or comes
    within one of `horizons` of now (`due_within`). None when no listed dose will change.
    (Doses entering the list 24 h ahead are not counted.)"""
    out: datetime | None = None
    for entry in mar.scheduled:
        for dose in entry.doses:
            if dose.state in ("given", "not-given"):
                continue
            edges = [dose.time - WINDOW, dose.time + WINDOW, dose.time + LOOKBACK]
            edges += [dose.time - h for h in horizons]
            for edge in edges:
                if edge > mar.now and (out is None or edge < out):
                    out = edge
    return out


def _doses(
    times: Sequence[datetime], admins: Sequence[Administration], now: datetime
) -> list[ScheduledDose]:
    used: set[str] = set()
    out = []
    for t in times:
        match = None
        for a in admins:
            if a.id not in used and abs(a.when - t) <= WINDOW and a.status != "entered-in-error":
                match = a
                break
        if match is not None:
            used.add(match.id)
            state = "given" if match.given else "not-given"
        elif now > t + WINDOW:
            state = "overdue"
        elif now >= t - WINDOW:
            state = "due"
        else:
            state = "upcoming"
        out.append(ScheduledDose(t, state, match))
    return out


def medication_administration_record(
    requests: Sequence[JSON],
    administrations: Sequence[JSON],
    now: datetime,
    resolved: Mapping[str, JSON] | None = None,
    hours_ahead: float = 24,
    medications: Sequence[Medication] | None = None,
) -> Mar:
    """The MAR of one patient: each active order's doses (past `LOOKBACK` to `hours_ahead`),
    what was given when, what is due next, what is overdue; PRN with last given.
    `medications`, when given, is `medication(r, resolved)` of each active request in
    order (the caller has them already)."""
    resolved = resolved or {}
    if medications is None:
        medications = [
            medication(r, resolved) for r in requests if r.get("status") in ACTIVE_REQUEST
        ]
    meds = list(medications)
    start = now - LOOKBACK
    end = now + timedelta(hours=hours_ahead)
    day_ago = now - timedelta(hours=24)
    # Only the last 24 h (recent, and every dose match: LOOKBACK + WINDOW < 24 h) and each
    # order's last given dose are shown: older administrations are read lazily.
    timed = [(w, m) for m, w in ((m, _administered_at(m)) for m in administrations) if w]
    timed.sort(key=lambda x: x[0], reverse=True)
    admins = [a for a in (administration(m, resolved) for w, m in timed if w >= day_ago) if a]
    older: dict[str, list[JSON]] | None = None  # by request id, grouped when first needed
    by_request: dict[str, list[Administration]] = {}
    for a in admins:
        by_request.setdefault(a.request_id or "", []).append(a)
    scheduled: list[MarEntry] = []
    prn: list[MarEntry] = []
    for med in meds:
        mine = by_request.get(med.id, [])
        chrono = sorted(mine, key=lambda a: a.when)
        last = next((a for a in mine if a.given), None)
        if last is None:
            if older is None:
                older = {}
                for w, m in timed:
                    if w < day_ago:
                        older.setdefault(_request_id(m) or "", []).append(m)
            ma = next((m for m in older.get(med.id, []) if m.get("status") in GIVEN), None)
            last = administration(ma, resolved) if ma is not None else None
        recent = [a for a in mine if a.when >= day_ago]
        if med.prn:
            prn.append(MarEntry(med, [], last, None, [], recent))
            continue
        # no dose is due before the order existed (boundsPeriod, else authoredOn)
        lo = max(start, med.authored_on) if med.authored_on else start
        doses = _doses(dose_times(med.timing, lo, end), chrono, now)
        overdue = [d.time for d in doses if d.state == "overdue"]
        nxt = next((d.time for d in doses if d.state in ("due", "upcoming")), None)
        scheduled.append(MarEntry(med, doses, last, nxt, overdue, recent))
    far = now + timedelta(days=3650)
    scheduled.sort(key=lambda e: (min([*e.overdue, e.next_due or far]), e.medication.name.lower()))
    prn.sort(key=lambda e: e.medication.name.lower())
    return Mar(scheduled, prn, [a for a in admins if a.when >= day_ago], now)
