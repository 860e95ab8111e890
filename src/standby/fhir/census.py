"""The unit census: one row per bed, read from the same summary the patient page shows.

Columns (issue 4, "Unit census"): bed, patient (name, age, sex, MRN, DOB), attending,
admission reason, length of stay, code status, allergy flag, isolation, falls and other
safety flags, and the medications due in the next 2 hours (overdue ones first).
Pure: built from `PatientSummary` objects (standby.fhir.summary).
"""

from __future__ import annotations

from dataclasses import dataclass
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

    @property
    def line(self) -> str:
        return " ".join(
            p for p in (self.time.strftime("%H:%M"), self.medication, self.dose, self.route) if p
        ) + (" OVERDUE" if self.overdue else "")


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
    def other_flags(self) -> list[str]:
        return [f.text for f in self.flags if not f.isolation]


@dataclass(frozen=True, slots=True)
class CensusBed:
    bed_id: str | None
    bed: str  # bed label ("412-B"); "" for a patient placed on the unit without a bed
    room: str
    patient: CensusPatient | None  # None: empty bed


@dataclass(frozen=True, slots=True)
class Census:
    unit_id: str
    unit: str  # alias ("4W") or name
    unit_name: str
    now: datetime
    beds: list[CensusBed]

    @property
    def occupied(self) -> list[CensusBed]:
        return [b for b in self.beds if b.patient is not None]

    @property
    def patients(self) -> list[CensusPatient]:
        return [b.patient for b in self.beds if b.patient is not None]


def census_patient(summary: PatientSummary, hours: float = DUE_HOURS) -> CensusPatient:
    h = summary.header
    due = []
    for t, med in summary.mar.due_within(hours):
        due.append(
            DueDose(
                t,
                med.name,
                med.dose,
                med.route,
                t < summary.now
                and any(t in e.overdue for e in summary.mar.scheduled if e.medication.id == med.id),
            )
        )
    due.sort(key=lambda x: (not x.overdue, x.time, x.medication))
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
