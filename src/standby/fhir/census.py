"""The unit census: one row per bed, read from the same summary the patient page shows.

Columns: bed, patient (name, age, sex, MRN, DOB), attending,
admission reason, length of stay, code status, allergy flag, isolation, falls and other
safety flags, and the medications due in the next 2 hours (overdue ones first; during a
downtime, doses the EHR cannot have heard of are "not charted — check the paper MAR",
never overdue). A due time on another day than the census's carries its day; a dose
the drug's name already states ("Furosemide 20 mg tab") is not repeated.
Pure: built from `PatientSummary` objects (standby.fhir.summary).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from standby.fhir.summary import Allergies, CodeStatus, Flag, PatientSummary

DUE_HOURS = 2.0


@dataclass(frozen=True, slots=True)
class DueDose:
    time: datetime
    medication: str
    dose: str
    route: str
    overdue: bool
    not_charted: bool = False  # downtime: the EHR cannot have heard whether it was given
    later: int = 0  # not charted: the order's later doses not charted either (one line for all)

    @property
    def line(self) -> str:
        return self.text(None)

    @property
    def status(self) -> str:
        if self.not_charted:
            return f"NOT CHARTED since the EHR went down — check the paper MAR{self.and_later}"
        return "OVERDUE" if self.overdue else ""

    @property
    def and_later(self) -> str:
        """ " (and 5 later doses)" when this line stands for more doses of its order."""
        if not self.later:
            return ""
        return f" (and {self.later} later dose{'' if self.later == 1 else 's'})"

    def clock(self, now: datetime | None) -> str:
        """ "14:00" on the day of `now`, "Mon 30 Nov 00:30" on another (in `now`'s zone)."""
        t = self.time
        if now is not None and now.tzinfo is not None:
            t = t.astimezone(now.tzinfo)
        if now is None or t.date() == now.date():
            return t.strftime("%H:%M")
        return t.strftime("%a %d %b %H:%M")

    def text(self, now: datetime | None) -> str:
        """ "14:00 Furosemide 20 mg tab oral OVERDUE", the time with its day when it is not
        on the day of `now`."""
        parts = (self.clock(now), self.medication, self.dose, self.route, self.status)
        return " ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class CensusPatient:
    id: str
    name: str
    dob: str
    age: str
    sex: str
    mrn: str
    attending: str
    admission_reason: str
    admitted: datetime | None
    length_of_stay: str
    code_status: CodeStatus
    allergies: Allergies
    isolation: list[str]
    flags: list[Flag]
    falls: bool
    weight: str
    due: list[DueDose]  # next DUE_HOURS, overdue first

    @property
    def overdue(self) -> int:
        return sum(1 for x in self.due if x.overdue)

    @property
    def not_charted(self) -> int:
        return sum(1 + x.later for x in self.due if x.not_charted)

    @property
    def other_flags(self) -> list[str]:
        return [f.text for f in self.flags if not f.isolation]


@dataclass(frozen=True, slots=True)
class CensusBed:
    bed_id: str | None
    bed: str  # bed label ("412-B"); "" for a patient placed on the unit without a bed
    room: str
    patient: CensusPatient | None  # None: empty bed
    # placed here by the journal while the EHR is down ("Moved here during downtime — not
    # yet in the EHR"); "" when the replica has the patient here
    downtime: str = ""


@dataclass(frozen=True, slots=True)
class Departure:
    """A patient the replica still has on the unit whom the journal has moved or
    discharged during the downtime (not yet in the EHR)."""

    patient_id: str
    name: str
    dob: str
    mrn: str
    what: str  # "Discharged (home)", "Moved to 3W 301-A"
    at: datetime  # performed


@dataclass(frozen=True, slots=True)
class Census:
    unit_id: str
    unit: str  # alias ("4W") or name
    unit_name: str
    now: datetime
    beds: list[CensusBed]
    # during a downtime: when the EHR stopped hearing of charting (None: normal operation)
    charted_until: datetime | None = None
    # patients the journal has moved off the unit or discharged (not yet in the EHR)
    departed: tuple[Departure, ...] = ()

    @property
    def occupied(self) -> list[CensusBed]:
        return [b for b in self.beds if b.patient is not None]

    @property
    def patients(self) -> list[CensusPatient]:
        return [b.patient for b in self.beds if b.patient is not None]


def census_patient(summary: PatientSummary, hours: float = DUE_HOURS) -> CensusPatient:
    h = summary.header
    due: list[DueDose] = []
    mar = summary.mar
    first_not_charted: dict[str, int] = {}  # order id → its line in `due`
    for t, med in mar.due_within(hours):
        state = mar.state_at(med.id, t)
        if state == "not-charted" and med.id in first_not_charted:
            # a long downtime: one line per order, from its first dose not charted, so the
            # row stays readable (and a printed census row fits on its page)
            k = first_not_charted[med.id]
            due[k] = replace(due[k], later=due[k].later + 1)
            continue
        if state == "not-charted":
            first_not_charted[med.id] = len(due)
        due.append(
            DueDose(
                t,
                med.name,
                med.dose_unless_named,
                med.route,
                state == "overdue",
                state == "not-charted",
            )
        )
    due.sort(key=lambda x: (not (x.overdue or x.not_charted), x.time, x.medication))
    return CensusPatient(
        id=h.patient_id,
        name=h.name,
        dob=h.dob,
        age=h.age,
        sex=h.sex,
        mrn=h.mrn,
        attending=h.attending,
        admission_reason=h.admission_reason,
        admitted=h.admitted,
        length_of_stay=h.length_of_stay,
        code_status=h.code_status,
        allergies=summary.allergies,
        isolation=h.isolation,
        flags=h.flags,
        falls=any(f.falls for f in h.flags),
        weight=h.weight.value if h.weight else "",
        due=due,
    )


def bed_sort_key(bed: CensusBed) -> tuple[str, int, str]:
    """Natural order of bed labels ("2-A" before "10-A")."""
    label = bed.bed or bed.room or "~"
    digits = "".join(ch for ch in label if ch.isdigit())
    return (bed.room if not digits else "", int(digits) if digits else 0, label)
