"""The OR board (by room and time) and clinic schedules (by provider) for one day.

Surgeries are Appointments with an operating-room Location participant (a `ro` Location of
`type` OR, or any Location under the OR suite); clinic visits are the other booked
Appointments with a Practitioner participant (docs/data-model.md). A day is the
hospital's day (midnight to midnight in `tz`, the setting `timezone`), and the times in
the result are in `tz`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from standby.clinical.directory import Directory, directory
from standby.clinical.patients import patient_location
from standby.clinical.search import every_match
from standby.fhir import display as d
from standby.store.base import Store

JSON = Mapping[str, Any]
CANCELLED = {"cancelled", "noshow", "entered-in-error"}
PRIORITY_WORDS = {  # the OR board's legend: what each priority means
    "emergent": "emergent: operate as soon as a room and team are free",
    "urgent": "urgent: within hours, ahead of elective cases",
    "elective": "elective: planned; may be moved if the day changes",
}
# Words for a surgical priority as EHRs send it: the extension's code, the ServiceRequest's
# priority, or R4's Appointment.priority number (1 the most urgent; 0 means not set).
_PRIORITY_OF = {
    "emergent": "emergent",
    "emergency": "emergent",
    "stat": "emergent",
    "urgent": "urgent",
    "asap": "urgent",
    "routine": "elective",
    "elective": "elective",
}
CASE_STATUS = {  # Appointment.status (https://hl7.org/fhir/R4/valueset-appointmentstatus.html)
    "proposed": "Proposed",
    "pending": "Awaiting confirmation",
    "booked": "Booked",
    "arrived": "Patient arrived",
    "checked-in": "Checked in",
    "fulfilled": "Done",
    "waitlist": "On the waiting list",
}


@dataclass(frozen=True, slots=True)
class ScheduledPatient:
    id: str
    name: str
    dob: str
    mrn: str
    phones: list[str]
    location: str = ""  # "4W 412-B" for an inpatient, "" for an outpatient

    @property
    def phone(self) -> str:
        return self.phones[0] if self.phones else "no phone recorded"


@dataclass(frozen=True, slots=True)
class Case:
    """One surgery on the OR board."""

    appointment_id: str
    start: datetime | None
    end: datetime | None
    minutes: int | None
    patient: ScheduledPatient | None
    procedure: str
    surgeon: str
    anesthesiologist: str
    priority: str  # "emergent", "urgent", "elective" or "" (PRIORITY_WORDS)
    status: str  # Appointment.status code ("booked", "arrived", "fulfilled", ...)

    @property
    def status_text(self) -> str:
        """The status in words ("booked" → "Booked", "fulfilled" → "Done")."""
        return CASE_STATUS.get(self.status, self.status.replace("-", " ").capitalize())


@dataclass
class OperatingRoom:
    id: str
    name: str
    cases: list[Case] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ORSchedule:
    day: date
    rooms: list[OperatingRoom]

    @property
    def cases(self) -> int:
        return sum(len(r.cases) for r in self.rooms)


@dataclass(frozen=True, slots=True)
class Visit:
    appointment_id: str
    start: datetime | None
    end: datetime | None
    patient: ScheduledPatient | None
    reason: str
    clinic: str
    status: str


@dataclass
class ProviderDay:
    id: str
    name: str
    role: str
    visits: list[Visit] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ClinicSchedule:
    day: date
    providers: list[ProviderDay]

    @property
    def visits(self) -> int:
        return sum(len(p.visits) for p in self.providers)


def _local(dt: datetime | None, tz: tzinfo) -> datetime | None:
    return None if dt is None else dt.astimezone(tz)


def _day_appointments(store: Store, day: date, tz: tzinfo) -> list[JSON]:
    lo = datetime(day.year, day.month, day.day, tzinfo=tz)  # the hospital's midnight
    hi = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    lo_z = lo.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    hi_z = hi.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    params = [("date", f"ge{lo_z}"), ("date", f"lt{hi_z}")]
    try:
        out = [sr.json() for sr in every_match(store, "Appointment", params)]
    except ValueError:  # the store does not index Appointment.date: scan
        out = []
        for sr in store.iter_type("Appointment"):
            a = sr.json()
            s = d.parse_instant(a.get("start"))
            if s is not None and lo <= s < hi:
                out.append(a)
    return [a for a in out if a.get("status") not in CANCELLED]


def _is_or(loc_id: str, dire: Directory) -> bool:
    loc = dire.location(loc_id)
    if loc is None:
        return False
    if d.type_code(loc) == "OR":
        return True
    unit = dire.unit_of(loc_id)
    return unit is not None and d.type_code(unit) == "OR"


class _Patients:
    def __init__(self, store: Store, dire: Directory, where: bool = False) -> None:
        self.store = store
        self.dire = dire
        self.where = where  # look up where each patient is now (the OR board does)
        self.cache: dict[str, ScheduledPatient | None] = {}

    def get(self, ref: object) -> ScheduledPatient | None:
        pid = d.reference_id(ref, "Patient")
        if not pid:
            return None
        if pid not in self.cache:
            sr = self.store.read("Patient", pid)
            if sr is None or sr.deleted:
                self.cache[pid] = None
            else:
                p = sr.json()
                birth = d.parse_date(p.get("birthDate"))
                self.cache[pid] = ScheduledPatient(
                    pid,
                    d.human_name(p.get("name"))[0],
                    birth.isoformat() if birth else "DOB unknown",
                    d.mrn(p),
                    d.phones(p.get("telecom")),
                    self._location(pid),
                )
        return self.cache[pid]

    def _location(self, pid: str) -> str:
        if not self.where:
            return ""
        location, _, admitted = patient_location(self.store, pid, self.dire)
        return location if admitted else ""


def _role(participant: JSON, pract_id: str, dire: Directory) -> str:
    text = " ".join(d.concept_text(t) for t in participant.get("type") or []).lower()
    return (text + " " + dire.roles.get(pract_id, "").lower()).strip()


def _priority(a: JSON, request: JSON | None) -> str:
    """The surgical priority in words (emergent, urgent, elective): a coded extension when
    the EHR sends one, else the ServiceRequest's priority, else Appointment.priority
    (1 emergent, 2–3 urgent, 4 and above elective); "" when none is set."""
    for ext in a.get("extension") or []:
        if str(ext.get("url", "")).endswith("priority") and ext.get("valueCode"):
            word = _PRIORITY_OF.get(str(ext["valueCode"]).lower())
            if word:
                return word
    if request is not None and request.get("priority"):
        word = _PRIORITY_OF.get(str(request["priority"]).lower())
        if word:
            return word
    n = a.get("priority")
    if isinstance(n, int) and n > 0:
        return "emergent" if n == 1 else "urgent" if n <= 3 else "elective"
    return ""


def or_schedule(store: Store, day: date, tz: tzinfo = UTC) -> ORSchedule:
    """Surgeries of `day`, per operating room, by start time (rooms by name)."""
    dire = directory(store)
    pats = _Patients(store, dire, where=True)
    rooms: dict[str, OperatingRoom] = {}
    for a in _day_appointments(store, day, tz):
        room_id = None
        surgeon = anesth = ""
        patient_ref = None
        for p in a.get("participant") or []:
            key = d.reference_key(p.get("actor")) or ""
            rt, _, rid = key.partition("/")
            if rt == "Location" and _is_or(rid, dire):
                room_id = rid
            elif rt == "Practitioner":
                role = _role(p, rid, dire)
                name = d.reference_display(p.get("actor"), dire.resolved)
                codes = set().union(*(d.codes_of(t) for t in p.get("type") or [{}]))
                if (
                    "anesth" in role
                    or "anaesth" in role
                    or ("SPRF" in codes and "surg" not in role)
                ):
                    anesth = anesth or name
                elif "surg" in role or "PPRF" in codes or not surgeon:
                    surgeon = (
                        name if ("surg" in role or "PPRF" in codes or not surgeon) else surgeon
                    )
            elif rt == "Patient":
                patient_ref = p.get("actor")
        if room_id is None:
            continue
        loc = dire.location(room_id) or {}
        room = rooms.setdefault(room_id, OperatingRoom(room_id, str(loc.get("name") or room_id)))
        request = None
        for b in a.get("basedOn") or []:
            sr = store.read("ServiceRequest", d.reference_id(b, "ServiceRequest") or "")
            if sr is not None and not sr.deleted:
                request = sr.json()
                break
        procedure = str(a.get("description") or "") or (
            d.concept_text(request.get("code")) if request else ""
        )
        procedure = procedure or d.concept_text(a.get("serviceType"), "(procedure not named)")
        room.cases.append(
            Case(
                str(a.get("id")),
                _local(d.parse_instant(a.get("start")), tz),
                _local(d.parse_instant(a.get("end")), tz),
                a.get("minutesDuration"),
                pats.get(patient_ref),
                procedure,
                surgeon,
                anesth,
                _priority(a, request),
                str(a.get("status") or ""),
            )
        )
    far = datetime.max.replace(tzinfo=UTC)
    for r in rooms.values():
        r.cases.sort(key=lambda c: c.start or far)
    return ORSchedule(day, sorted(rooms.values(), key=lambda r: r.name))


def clinic_schedule(store: Store, day: date, tz: tzinfo = UTC) -> ClinicSchedule:
    """Clinic visits of `day`, per provider, by start time, with the patient's phone."""
    dire = directory(store)
    pats = _Patients(store, dire)
    providers: dict[str, ProviderDay] = {}
    for a in _day_appointments(store, day, tz):
        locs = [d.reference_id(p.get("actor"), "Location") for p in a.get("participant") or []]
        if any(x and _is_or(x, dire) for x in locs):
            continue
        clinic = ""
        for x in locs:
            if x:
                clinic = str((dire.location(x) or {}).get("name") or "")
                break
        patient_ref = None
        practs = []
        for p in a.get("participant") or []:
            key = d.reference_key(p.get("actor")) or ""
            if key.startswith("Patient/"):
                patient_ref = p.get("actor")
            elif key.startswith("Practitioner/"):
                practs.append(p)
        if not practs:
            continue
        p0 = practs[0]
        pid = d.reference_id(p0.get("actor"), "Practitioner") or ""
        prov = providers.setdefault(
            pid,
            ProviderDay(
                pid,
                d.reference_display(p0.get("actor"), dire.resolved, pid),
                dire.roles.get(pid, ""),
            ),
        )
        reason = (
            a.get("description")
            or d.concept_text(a.get("reasonCode"))
            or d.concept_text(a.get("serviceType"))
            or d.concept_text(a.get("appointmentType"))
            or "Visit"
        )
        prov.visits.append(
            Visit(
                str(a.get("id")),
                _local(d.parse_instant(a.get("start")), tz),
                _local(d.parse_instant(a.get("end")), tz),
                pats.get(patient_ref),
                str(reason),
                clinic,
                str(a.get("status") or ""),
            )
        )
    far = datetime.max.replace(tzinfo=UTC)
    for p in providers.values():
        p.visits.sort(key=lambda v: v.start or far)
    return ClinicSchedule(day, sorted(providers.values(), key=lambda p: p.name))
