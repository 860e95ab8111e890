"""Active medications and the medication administration record (MAR), from FHIR.

MedicationRequest: https://hl7.org/fhir/R4/medicationrequest.html
MedicationAdministration: https://hl7.org/fhir/R4/medicationadministration.html

A scheduled dose at time *t* is **given** when a MedicationAdministration for the same
request (status `completed`, or `in-progress`) has `effective` within ±`WINDOW` of *t*
(CMS's one-hour rule for non-time-critical medications); **documented not given** when
such an administration is `not-done`; **overdue** when neither and `now` is more than
`WINDOW` past *t*; **due now** when `now` is within ±`WINDOW` of *t*. Overdue doses are
looked for over the last `LOOKBACK` hours (older misses belong to the pharmacist's review,
not the bedside). PRN orders have no schedule: the MAR shows when they were last given,
their minimum interval and when the next dose is allowed (`standby.fhir.infusion`).
Continuous infusions show their current rate and its last change.

**During a downtime** the EHR no longer hears of doses given on paper. The caller passes
`charted_until`: the instant up to which the replica can know what was charted (the
earlier of the declaration and "data as of"). A dose not documented as given whose window
reaches past it (`t + WINDOW > charted_until`) and has opened is then **not charted**
("not charted since the EHR went down — check the paper MAR"), never overdue or due: a
nurse must not read it as a dose still to give.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from standby.fhir.display import (
    zone_span,
)
from standby.fhir.infusion import (
    Infusion,
    RateChange,
    infusion,
)
from standby.fhir.medication_orders import (
    ACTIVE_REQUEST,
    GIVEN,
    REQUEST_STATUS_TEXT,
    STATUS_TEXT,
    Administration,
    Medication,
    administered_at,
    administration,
    dose_record,
    medication,
    request_id_of,
)
from standby.fhir.timing import (
    StandardTimes,
    derived_from,
    dose_times,
    planned_wall_times,
    skipped_wall_time,
)

JSON = Mapping[str, Any]

__all__ = [
    "ACTIVE_REQUEST",
    "GIVEN",
    "LOOKBACK",
    "REQUEST_STATUS_TEXT",
    "STATUS_TEXT",
    "TIME_RULE",
    "WINDOW",
    "Administration",
    "Mar",
    "MarEntry",
    "Medication",
    "ScheduledDose",
    "administration",
    "charting_cutoff",
    "medication",
    "medication_administration_record",
    "next_change",
]

# How dose times behave when the clocks change: the MAR legend, on screen and on paper
# (docs/clinical-summary.md, "Dose times and the clock change").
TIME_RULE = (
    "Every-N-hours doses (q4h, q8h) are counted in real hours from the last dose given, "
    "else from the order's start: q8h stays 8 hours apart on the nights the clocks change. "
    "Doses at clock times (09:00, BID, daily) stay at that clock time. Times the order "
    "does not state (BID, TID, daily at the hospital's standard times; q8h from midnight "
    'when no dose was given) are marked "derived": check the order. A time in the hour '
    "repeated when the clocks go back carries its zone's abbreviation (it happens twice); "
    "a clock time that does not exist when they go forward is due at the real time it "
    "falls at (an hour later), and says so."
)
WINDOW = timedelta(minutes=60)
LOOKBACK = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class ScheduledDose:
    time: datetime
    state: str  # "given" | "not-given" | "overdue" | "due" | "upcoming" | "not-charted"
    administration: Administration | None = None
    # a clock-time dose whose planned time did not exist that day ("02:30" on the night
    # the clocks go forward): it is due at `time` (03:30 EDT), and says so
    skipped_time: str = ""


@dataclass(frozen=True, slots=True)
class MarEntry:
    """One medication's line of the MAR."""

    medication: Medication
    doses: list[ScheduledDose]  # past LOOKBACK and next 24 h, in time order
    last_given: Administration | None
    next_due: datetime | None
    overdue: list[datetime]
    administrations: list[Administration]  # in the last 24 h, newest first
    not_charted: list[datetime] = field(default_factory=list)  # downtime: see the paper MAR
    next_allowed: datetime | None = None  # PRN: the last dose + the minimum interval
    infusion: Infusion | None = None  # continuous orders
    # the frequency the dose times were worked out from when neither the order nor a dose
    # given states them ("q8h", "BID"); "" when they are read from the EHR
    derived_from: str = ""

    @property
    def derived_note(self) -> str:
        """ "times derived from q8h — check the order" ("" when the EHR states them)."""
        return (
            f"times derived from {self.derived_from} — check the order" if self.derived_from else ""
        )

    @property
    def upcoming(self) -> list[datetime]:
        return [d.time for d in self.doses if d.state in ("due", "upcoming")]

    def skipped_time(self, t: datetime | None) -> str:
        """The planned wall-clock time that did not exist, of the dose at `t` ("")."""
        for d in self.doses:
            if t is not None and d.time.astimezone(UTC) == t.astimezone(UTC):
                return d.skipped_time
        return ""


@dataclass(frozen=True, slots=True)
class Mar:
    scheduled: list[MarEntry]  # by next due time
    prn: list[MarEntry]  # by name
    recent: list[Administration]  # every administration of the last 24 h, newest first
    now: datetime
    infusions: list[MarEntry] = field(default_factory=list)  # continuous orders, by name
    # downtime: what the EHR can have heard of charting ends here (None: not in downtime)
    charted_until: datetime | None = None

    def received_in_downtime(self, a: Administration) -> str:
        """The sender of an administration the HL7 v2 feed brought during the downtime, not
        seen in the EHR ("" otherwise; standby.fhir.data_source)."""
        if not a.feed_sender or self.charted_until is None:
            return ""
        return a.feed_sender if (a.received_at or a.when) >= self.charted_until else ""

    @property
    def time_rule(self) -> str:
        """How dose times behave when the clocks change (the MAR legend)."""
        return TIME_RULE

    @property
    def zone_label(self) -> str:
        """The hospital's zone over the times this MAR shows ("EST"; "EDT/EST,
        America/New_York" when the clocks change in them)."""
        tz = self.now.tzinfo or UTC
        now = self.now.astimezone(UTC)
        return zone_span(tz, now - LOOKBACK, now + timedelta(days=1))

    @property
    def overdue_count(self) -> int:
        return sum(len(e.overdue) for e in self.scheduled)

    @property
    def not_charted_count(self) -> int:
        return sum(len(e.not_charted) for e in self.scheduled)

    @property
    def in_downtime(self) -> bool:
        return self.charted_until is not None

    def due_within(self, hours: float) -> list[tuple[datetime, Medication]]:
        """(time, medication) of every scheduled dose not yet given up to `hours` from now,
        overdue and not-charted ones included (they are due now, or to be checked on the
        paper MAR)."""
        end = self.now.astimezone(UTC) + timedelta(hours=hours)
        out = [(t, e.medication) for e in self.scheduled for t in e.overdue]
        out += [(t, e.medication) for e in self.scheduled for t in e.not_charted]
        out += [
            (d.time, e.medication)
            for e in self.scheduled
            for d in e.doses
            if d.state in ("due", "upcoming") and d.time.astimezone(UTC) < end
        ]
        return sorted(out, key=lambda x: (x[0].astimezone(UTC), x[1].name))

    def state_at(self, medication_id: str, t: datetime) -> str:
        """The state of the scheduled dose of that order at `t` ("" when none)."""
        for e in self.scheduled:
            if e.medication.id == medication_id:
                for d in e.doses:
                    if d.time.astimezone(UTC) == t.astimezone(UTC):
                        return d.state
        return ""


def next_change(mar: Mar, horizons: Sequence[timedelta] = ()) -> datetime | None:
    """The first instant after `mar.now` at which this MAR, worked out again, could say
    something else about a dose that is not given: it turns due (`WINDOW` before its
    time), overdue (`WINDOW` after), leaves the lookback (`LOOKBACK` after), or comes
    within one of `horizons` of now (`due_within`). None when no listed dose will change.
    (Doses entering the list 24 h ahead are not counted.)"""
    out: datetime | None = None
    now = mar.now.astimezone(UTC)
    for entry in mar.scheduled:
        for dose in entry.doses:
            if dose.state in ("given", "not-given"):
                continue
            t = dose.time.astimezone(UTC)
            edges = [t - WINDOW, t + WINDOW, t + LOOKBACK]
            edges += [t - h for h in horizons]
            for edge in edges:
                if edge > now and (out is None or edge < out):
                    out = edge
    return out.astimezone(mar.now.tzinfo) if out is not None and mar.now.tzinfo else out


def _doses(
    times: Sequence[datetime],
    admins: Sequence[Administration],
    now: datetime,
    charted_until: datetime | None = None,
    planned: Sequence[tuple[int, int]] = (),
) -> list[ScheduledDose]:
    # instants (UTC), never wall clocks: the repeated hour of fall-back night is two hours
    now = now.astimezone(UTC)
    until = charted_until.astimezone(UTC) if charted_until is not None else None
    # each administration goes to the dose nearest it, closest pairs first: a dose given
    # on time is never taken by the dose an interval before it (q1h: 60 min either side)
    pairs = sorted(
        (abs(a.when.astimezone(UTC) - shown.astimezone(UTC)), i, j)
        for i, shown in enumerate(times)
        for j, a in enumerate(admins)
        if a.status != "entered-in-error" and abs(a.when.astimezone(UTC) - shown) <= WINDOW
    )
    matched: dict[int, Administration] = {}
    used: set[int] = set()
    for _gap, i, j in pairs:
        if i not in matched and j not in used:
            matched[i] = admins[j]
            used.add(j)
    out = []
    for i, shown in enumerate(times):
        t = shown.astimezone(UTC)
        match = matched.get(i)
        if match is not None:
            state = "given" if match.given else "not-given"
        elif until is not None and t + WINDOW > until and now >= t - WINDOW:
            state = "not-charted"
        elif now > t + WINDOW:
            state = "overdue"
        elif now >= t - WINDOW:
            state = "due"
        else:
            state = "upcoming"
        out.append(ScheduledDose(shown, state, match, skipped_wall_time(shown, planned)))
    return out


def medication_administration_record(
    requests: Sequence[JSON],
    administrations: Sequence[JSON],
    now: datetime,
    resolved: Mapping[str, JSON] | None = None,
    hours_ahead: float = 24,
    medications: Sequence[Medication] | None = None,
    charted_until: datetime | None = None,
    standard: StandardTimes | None = None,
    *,
    doses_only: bool = False,
) -> Mar:
    """The MAR of one patient: each active order's doses (past `LOOKBACK` to `hours_ahead`),
    what was given when, what is due next, what is overdue; PRN with last given and next
    allowed; infusions with their rate. `medications`, when given, is
    `medication(r, resolved)` of each active request in order (the caller has them
    already). `charted_until`, during a downtime, is when the EHR stopped hearing of
    charting (module docstring). `standard`: the hospital's standard administration times
    (the setting `mar_standard_times`; by default `standby.fhir.timing.DAILY_TIMES`).
    `doses_only`: the administrations carry only what the doses are decided from
    (`medication_orders.dose_record`): every dose, state, next due and overdue time is the
    same, but no administration can be displayed (a census row's MAR)."""
    resolved = resolved or {}
    if medications is None:
        medications = [
            medication(r, resolved) for r in requests if r.get("status") in ACTIVE_REQUEST
        ]
    meds = list(medications)
    zone = now.tzinfo or UTC  # the hospital's: every schedule is computed in it
    now_utc = now.astimezone(UTC)
    start = now_utc - LOOKBACK
    end = now_utc + timedelta(hours=hours_ahead)
    day_ago = now_utc - timedelta(hours=24)
    # Only the last 24 h (recent, and every dose match: LOOKBACK + WINDOW < 24 h) and each
    # order's last given dose are shown: older administrations are read lazily.
    timed = [(w, m) for m, w in ((m, administered_at(m)) for m in administrations) if w]
    timed.sort(key=lambda x: x[0].astimezone(UTC), reverse=True)
    names: dict[str, str] = {}  # performers' names, each worked out once

    def read(m: JSON) -> Administration | None:
        return dose_record(m) if doses_only else administration(m, resolved, names)

    admins = [a for a in (read(m) for w, m in timed if w >= day_ago) if a]
    older: dict[str, list[JSON]] | None = None  # by request id, grouped when first needed
    by_request: dict[str, list[Administration]] = {}
    for a in admins:
        by_request.setdefault(a.request_id or "", []).append(a)
    scheduled: list[MarEntry] = []
    prn: list[MarEntry] = []
    infusions: list[MarEntry] = []
    for med in meds:
        mine = by_request.get(med.id, [])
        chrono = sorted(mine, key=lambda a: a.when)
        last = next((a for a in mine if a.given), None)
        if last is None:
            if older is None:
                older = {}
                for w, m in timed:
                    if w < day_ago:
                        older.setdefault(request_id_of(m) or "", []).append(m)
            ma = next((m for m in older.get(med.id, []) if m.get("status") in GIVEN), None)
            last = read(ma) if ma is not None else None
        recent = [a for a in mine if a.when >= day_ago]
        if med.prn:
            allowed = last.when + med.min_interval if last and med.min_interval else None
            prn.append(MarEntry(med, [], last, None, [], recent, next_allowed=allowed))
            continue
        if med.continuous:
            rates = [RateChange(a.when, a.rate) for a in chrono if a.rate and a.given]
            if last is not None and last.rate and not rates:
                rates = [RateChange(last.when, last.rate)]
            drip = infusion(med.dosage, rates)
            infusions.append(MarEntry(med, [], last, None, [], recent, infusion=drip))
            continue
        # no dose is due before the order existed (boundsPeriod, else authoredOn)
        lo = max(start, med.authored_on.astimezone(UTC)) if med.authored_on else start
        # counted from the last dose given in the last 24 h: what every reader of the MAR
        # holds (a census row reads no older administration), so all agree
        anchor = next((a.when for a in mine if a.given), None)
        times = dose_times(
            med.timing,
            lo,
            end,
            zone,
            standard=standard,
            last_given=anchor,
            written=med.authored_on,
        )
        planned = planned_wall_times(med.timing, standard)
        doses = _doses(times, chrono, now, charted_until, planned)
        overdue = [d.time for d in doses if d.state == "overdue"]
        unknown = [d.time for d in doses if d.state == "not-charted"]
        nxt = next((d.time for d in doses if d.state in ("due", "upcoming")), None)
        derived = derived_from(med.timing, standard, given=anchor is not None)
        scheduled.append(
            MarEntry(
                med, doses, last, nxt, overdue, recent, not_charted=unknown, derived_from=derived
            )
        )
    far = now_utc + timedelta(days=3650)
    scheduled.sort(
        key=lambda e: (
            min(t.astimezone(UTC) for t in [*e.overdue, *e.not_charted, e.next_due or far]),
            e.medication.name.lower(),
        )
    )
    prn.sort(key=lambda e: e.medication.name.lower())
    infusions.sort(key=lambda e: e.medication.name.lower())
    recent_all = [a for a in admins if a.when >= day_ago]
    return Mar(scheduled, prn, recent_all, now, infusions, charted_until)


def charting_cutoff(
    downtime_since: datetime | None, data_as_of: datetime | None
) -> datetime | None:
    """`charted_until` for a MAR: None outside a downtime (`downtime_since` None); during
    one, the earlier of its declaration and "data as of" (nothing charted after either can
    be in the replica: from the declaration on, doses are charted on paper)."""
    if downtime_since is None:
        return None
    if data_as_of is None:
        return downtime_since
    return min(downtime_since, data_as_of)
