"""The dataclasses of the patient downtime summary (see standby.fhir.summary)."""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from standby.fhir import display as d
from standby.fhir.mar import Mar, Medication

JSON = Mapping[str, Any]
T = TypeVar("T")

NKA_CODES = {"716186003", "409137002", "428607008", "429625007"}  # no known (drug) allergy
CODE_STATUS_LOINC = "100822-6"
CODE_STATUS_TEXT = {
    "304252001": "Full code",
    "304253006": "DNR (do not resuscitate)",
    "450476008": "Limited code (do not intubate)",
}
FULL_CODE = "304252001"
# code statuses that limit treatment: the short mark that must stand out, and its words
CODE_STATUS_LIMITS = {
    "304253006": ("DNR", "do not resuscitate"),
    "450476008": ("DNI", "Limited code: do not intubate"),
}
ISOLATION = {
    "409524006": "Airborne precautions",
    "409525007": "Contact precautions",
    "409526008": "Droplet precautions",
}
FALLS = {"129839007"}
VITALS = {
    "85354-9": "BP",
    "8867-4": "HR",
    "9279-1": "RR",
    "8310-5": "Temp",
    "59408-5": "SpO2",
    "2708-6": "SpO2",
    "72514-3": "Pain",
    "29463-7": "Weight",
    "8302-2": "Height",
}
VITAL_COLUMNS = ("BP", "HR", "RR", "Temp", "SpO2", "Pain")
ABNORMAL = {"H", "L", "HH", "LL", "A", "AA", "HU", "LU", "<", ">", "POS", "R"}
NOTE_TYPES = {
    "11506-3": "Progress note",
    "34117-2": "History and physical",
    "18842-5": "Discharge summary",
}
SURGERY_CATEGORY = "387713003"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SectionStatus(enum.StrEnum):
    PRESENT = "present"
    NONE_RECORDED = "none-recorded"
    NOT_SYNCHRONISED = "not-synchronised"


class AllergyStatus(enum.StrEnum):
    LISTED = "listed"
    NO_KNOWN_ALLERGIES = "no-known-allergies"
    NOT_RECORDED = "not-recorded"
    NOT_SYNCHRONISED = "not-synchronised"


@dataclass(frozen=True, slots=True)
class Section(Generic[T]):
    """Entries of one summary section and why it may be empty."""

    items: list[T]
    status: SectionStatus
    what: str  # "problems", "vital signs" — used in the empty-section text
    source: str  # the FHIR resource type(s) it is read from

    @property
    def empty_text(self) -> str:
        """What an empty section says (never a blank that reads as "none")."""
        if self.status is SectionStatus.NOT_SYNCHRONISED:
            return f"Not synchronised: this replica does not hold {self.source} resources."
        if self.status is SectionStatus.NONE_RECORDED:
            return f"No {self.what} recorded in the EHR."
        return ""

    def __bool__(self) -> bool:
        return bool(self.items)

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class Allergy:
    substance: str
    reactions: list[str]
    criticality: str  # high | low | unable-to-assess | ""
    severity: str  # of the first reaction
    category: str  # medication | food | environment | biologic
    verification: str  # confirmed | unconfirmed | ...
    onset: str
    ref: str = ""  # "AllergyIntolerance/<id>" it is read from

    @property
    def line(self) -> str:
        extra = []
        if self.reactions:
            extra.append(", ".join(self.reactions))
        if self.criticality == "high":
            extra.append("HIGH criticality")
        if self.verification and self.verification != "confirmed":
            extra.append(self.verification)
        return f"{self.substance} ({'; '.join(extra)})" if extra else self.substance


@dataclass(frozen=True, slots=True)
class Allergies:
    status: AllergyStatus
    items: list[Allergy]
    asserted_by: str = ""  # "AllergyIntolerance/<id>" asserting no known allergies

    @property
    def text(self) -> str:
        """One line for headers: the substances, or what the absence means."""
        if self.status is AllergyStatus.LISTED:
            return ", ".join(a.substance for a in self.items)
        return {
            AllergyStatus.NO_KNOWN_ALLERGIES: "No known allergies",
            AllergyStatus.NOT_RECORDED: "Allergies not recorded",
            AllergyStatus.NOT_SYNCHRONISED: "Allergies not synchronised",
        }[self.status]

    @property
    def flag(self) -> str:
        """Census flag: "ALLERGY", "NKA", "NOT RECORDED", "NOT SYNCED"."""
        return {
            AllergyStatus.LISTED: "ALLERGY",
            AllergyStatus.NO_KNOWN_ALLERGIES: "NKA",
            AllergyStatus.NOT_RECORDED: "NOT RECORDED",
            AllergyStatus.NOT_SYNCHRONISED: "NOT SYNCED",
        }[self.status]


@dataclass(frozen=True, slots=True)
class CodeStatus:
    text: str  # "Full code", "DNR ...", "Not recorded", "Not synchronised"
    code: str | None
    recorded: datetime | None

    @property
    def known(self) -> bool:
        return self.code is not None or self.recorded is not None

    @property
    def limits(self) -> bool:
        """Treatment is limited (DNR, DNI, or any recorded status that is not full code):
        what must stand out on every screen and sheet."""
        return self.known and self.code != FULL_CODE

    @property
    def mark(self) -> str:
        """The short mark of a limiting status: "DNR", "DNI", "LIMITS" ("" otherwise)."""
        if not self.limits:
            return ""
        return CODE_STATUS_LIMITS.get(self.code or "", ("LIMITS", ""))[0]

    @property
    def words(self) -> str:
        """What the mark means: "do not resuscitate"; the status's own text otherwise."""
        return CODE_STATUS_LIMITS.get(self.code or "", ("", self.text))[1]


@dataclass(frozen=True, slots=True)
class Flag:
    text: str
    code: str | None
    isolation: bool
    falls: bool


@dataclass(frozen=True, slots=True)
class Measurement:
    value: str  # "72.5 kg"
    when: datetime | None


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    relationship: str
    phones: list[str]


@dataclass(frozen=True, slots=True)
class Header:
    """The always-visible header: two identifiers and what no one may miss."""

    patient_id: str
    name: str  # "Family, Given"
    family: str
    given: str
    birth_date: date | None
    age: str
    sex: str  # M / F / X / U
    mrn: str
    phones: list[str]
    address: str
    city: str
    contacts: list[Contact]
    language: str
    encounter_id: str | None
    encounter_class: str  # IMP / EMER / AMB / ""
    unit: str  # unit alias or name
    unit_id: str | None
    room: str
    bed: str
    bed_id: str | None
    location: str  # "4W 412-B", "not admitted"
    admitted: datetime | None
    length_of_stay: str
    attending: str
    admission_reason: str
    code_status: CodeStatus
    weight: Measurement | None
    height: Measurement | None
    flags: list[Flag]

    @property
    def dob(self) -> str:
        return self.birth_date.isoformat() if self.birth_date else "DOB unknown"

    @property
    def isolation(self) -> list[str]:
        return [f.text for f in self.flags if f.isolation]

    @property
    def identifiers(self) -> str:
        """ "SMITH, John · DOB 1957-03-02 · MRN 100234" — the two-identifier line."""
        return f"{self.name} · DOB {self.dob} · MRN {self.mrn or 'unknown'}"


@dataclass(frozen=True, slots=True)
class Problem:
    text: str
    code: str | None
    onset: str
    category: str
    status: str
    ref: str = ""  # "Condition/<id>" it is read from


FULL_SET = ("BP", "HR", "RR", "Temp", "SpO2")  # the measurements of a full set of vitals


@dataclass(frozen=True, slots=True)
class VitalRow:
    """One set of vital signs: the readings taken together (within minutes of `when`)."""

    when: datetime
    values: dict[str, str]  # column (VITAL_COLUMNS) → "120/80", "72", "37.1 °C"
    flags: dict[str, str] = field(default_factory=dict)  # column → "H", "L", "HH", "LL"
    refs: dict[str, str] = field(default_factory=dict)  # column → "Observation/<id>"

    @property
    def complete(self) -> bool:
        """Every measurement of a full set (BP, HR, RR, Temp, SpO2) is in this set."""
        return all(c in self.values for c in FULL_SET)

    @property
    def missing(self) -> list[str]:
        return [c for c in FULL_SET if c not in self.values]


@dataclass(frozen=True, slots=True)
class VitalSigns:
    rows: list[VitalRow]  # sets, newest first
    series: dict[str, list[tuple[datetime, float]]]  # "HR" → oldest first (for a chart)
    latest: dict[str, tuple[datetime, str]]
    ranges: str = ""  # the ranges the flags come from, in words ("" if none applied)

    @property
    def last_full(self) -> VitalRow | None:
        """The newest complete set, if any set in the window is complete."""
        return next((r for r in self.rows if r.complete), None)


@dataclass(frozen=True, slots=True)
class LabResult:
    name: str
    code: str | None
    value: str
    reference_range: str
    flag: str  # H, L, HH, LL, A, N or ""
    abnormal: bool
    when: datetime | None
    panel: str = ""  # "Complete blood count", "Basic metabolic panel", "Other results"
    previous: LabResult | None = None  # the same test's result before this one
    source: str = ""  # "EHR (FHIR sync)" or "HL7 v2 feed from LAB^SGH" (data_source.py)
    # the sender, when it arrived by feed during the downtime and the EHR has not shown it
    downtime_from: str = ""
    ref: str = ""  # "Observation/<id>" it is read from

    @property
    def downtime_note(self) -> str:
        return f"received during downtime from {self.downtime_from} — not seen in the EHR"


@dataclass(frozen=True, slots=True)
class Note:
    title: str
    kind: str
    when: datetime | None
    author: str
    text: str  # decoded readable text ("" when the EHR holds it elsewhere)


@dataclass(frozen=True, slots=True)
class Order:
    text: str
    category: str
    priority: str
    status: str
    when: str
    requester: str
    authored: datetime | None


@dataclass(frozen=True, slots=True)
class CarePlanItem:
    title: str
    activities: list[str]
    period: str


@dataclass(frozen=True, slots=True)
class Upcoming:
    when: datetime | None
    end: datetime | None
    kind: str  # "Surgery" | "Appointment" | "Procedure"
    description: str
    location: str
    with_whom: str
    status: str


@dataclass(frozen=True, slots=True)
class PatientSummary:
    now: datetime
    header: Header
    allergies: Allergies
    problems: Section[Problem]
    medications: Section[Medication]
    mar: Mar
    mar_status: SectionStatus
    vitals: VitalSigns
    vitals_status: SectionStatus
    labs: Section[LabResult]
    notes: Section[Note]
    orders: Section[Order]
    care_plan: Section[CarePlanItem]
    upcoming: Section[Upcoming]
    # MedicationRequest id → the listed allergies its drug may conflict with
    allergy_alerts: dict[str, list[str]] = field(default_factory=dict)

    def alerts_for(self, medication_id: str) -> list[str]:
        return self.allergy_alerts.get(medication_id, [])


# --------------------------------------------------------------------------------------
def section_status(n: int, types: Iterable[str], held: Collection[str] | None) -> SectionStatus:
    if n:
        return SectionStatus.PRESENT
    if held is not None and not any(t in held for t in types):
        return SectionStatus.NOT_SYNCHRONISED
    return SectionStatus.NONE_RECORDED


def make_section(
    items: list[T], what: str, types: Sequence[str], held: Collection[str] | None
) -> Section[T]:
    return Section(items, section_status(len(items), types, held), what, " / ".join(types))


def is_active(resource: JSON, field_: str = "clinicalStatus") -> bool:
    st = resource.get(field_)
    if st is None:
        return True
    codes = d.codes_of(st) if isinstance(st, Mapping) else {str(st)}
    return bool(codes & {"active", "recurrence", "relapse"}) or not codes
