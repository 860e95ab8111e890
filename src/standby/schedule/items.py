"""The surgeries and clinic visits of a window, read from the replica as plain data.

Surgeries are Appointments with an operating-room Location participant (a Location of
`type` OR, or under the OR suite); clinic visits are the other Appointments with a
Practitioner (docs/data-model.md). Cancelled, no-show and entered-in-error ones are left
out; so are those already over. `Item` holds what triage, the call lists and the
rebooking need: the priority in words, the codes and words its dependencies are matched
on, the people and room, and the patient's two identifiers, phones and language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from standby.fhir import display as d
from standby.store.base import Store

JSON = Mapping[str, Any]
LEFT_OUT = {"cancelled", "noshow", "entered-in-error", "fulfilled"}
# A surgical priority as EHRs send it: the extension's code, the ServiceRequest's priority.
PRIORITY_OF = {
    "emergent": "emergent",
    "emergency": "emergent",
    "stat": "emergent",
    "urgent": "urgent",
    "asap": "urgent",
    "routine": "elective",
    "elective": "elective",
}
PRIORITIES = ("emergent", "urgent", "elective")  # "" = the EHR recorded none


@dataclass(frozen=True, slots=True)
class Patient:
    id: str
    name: str
    dob: str  # "1957-03-02" or "DOB unknown"
    mrn: str
    phones: tuple[str, ...]
    language: str  # BCP-47 code of Patient.communication ("es"), "" when none recorded
    language_text: str  # the language in words as the EHR sent it ("Spanish"), or ""

    @property
    def phone(self) -> str:
        return self.phones[0] if self.phones else "no phone recorded"


UNKNOWN_PATIENT = Patient("", "patient not in Standby's copy", "DOB unknown", "—", (), "", "")


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Item:
    """One surgery (`kind` "surgery") or clinic visit ("visit")."""

    id: str  # the Appointment's id
    kind: str
    start: datetime
    end: datetime
    status: str  # Appointment.status
    priority: str  # "emergent", "urgent", "elective", or "" (none recorded)
    what: str  # the procedure or the visit's reason, in words
    codes: frozenset[str]  # codes of serviceType, specialty, appointmentType, the request
    words: str  # lower-case text the rules' `text` matches (what, service, specialty)
    specialty: str  # in words ("Cardiothoracic surgery"), "" when none
    place_id: str  # the OR or the clinic Location
    place: str  # its name
    provider: Person  # the surgeon, or the clinic's practitioner
    others: tuple[Person, ...]  # anesthesiologist and other practitioners
    patient: Patient

    @property
    def minutes(self) -> int:
        return max(1, int((self.end - self.start).total_seconds() // 60))


class _Directory:
    """Locations (to tell an OR from a clinic) and Practitioners' names, read once."""

    def __init__(self, store: Store) -> None:
        self.locations: dict[str, JSON] = {sr.id: sr.json() for sr in store.iter_type("Location")}
        self.store = store
        self._names: dict[str, str] = {}

    def is_or(self, loc_id: str) -> bool:
        seen: set[str] = set()
        cur = self.locations.get(loc_id)
        while cur is not None and loc_id not in seen:
            if d.type_code(cur) == "OR":
                return True
            seen.add(loc_id)
            loc_id = d.reference_id(cur.get("partOf"), "Location") or ""
            cur = self.locations.get(loc_id)
        return False

    def location_name(self, loc_id: str) -> str:
        return str((self.locations.get(loc_id) or {}).get("name") or loc_id)

    def person(self, ref: object) -> Person:
        pid = d.reference_id(ref, "Practitioner") or ""
        shown = str((ref or {}).get("display") or "") if isinstance(ref, Mapping) else ""
        if shown:
            return Person(pid, shown)
        if pid not in self._names:
            sr = self.store.read("Practitioner", pid)
            body = sr.json() if sr is not None and not sr.deleted else None
            self._names[pid] = d.practitioner_name(body, pid or "(not named)")
        return Person(pid, self._names[pid])


def _language(p: JSON) -> tuple[str, str]:
    comms = [c for c in p.get("communication") or [] if isinstance(c, Mapping)]
    comms.sort(key=lambda c: not c.get("preferred"))
    for c in comms:
        lang = c.get("language")
        code = d.first_code(lang) or ""
        text = d.concept_text(lang)
        if code or text:
            return code, text if text != code else ""
    return "", ""


class _Patients:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache: dict[str, Patient] = {}

    def get(self, ref: object) -> Patient:
        pid = d.reference_id(ref, "Patient") or ""
        if pid not in self.cache:
            sr = self.store.read("Patient", pid) if pid else None
            if sr is None or sr.deleted:
                self.cache[pid] = UNKNOWN_PATIENT
            else:
                p = sr.json()
                birth = d.parse_date(p.get("birthDate"))
                code, text = _language(p)
                self.cache[pid] = Patient(
                    pid,
                    d.human_name(p.get("name"))[0] or "(no name recorded)",
                    birth.isoformat() if birth else "DOB unknown",
                    d.mrn(p) or "no MRN recorded",
                    tuple(d.phones(p.get("telecom"))),
                    code,
                    text,
                )
        return self.cache[pid]


def priority_of(a: JSON, request: JSON | None) -> str:
    """The priority in words: the coded extension, else the ServiceRequest's priority, else
    R4's Appointment.priority number (1 emergent, 2–3 urgent, 4 and above elective); ""
    when none is recorded."""
    for ext in a.get("extension") or []:
        if str(ext.get("url", "")).endswith("priority") and ext.get("valueCode"):
            word = PRIORITY_OF.get(str(ext["valueCode"]).lower())
            if word:
                return word
    if request is not None and request.get("priority"):
        word = PRIORITY_OF.get(str(request["priority"]).lower())
        if word:
            return word
    n = a.get("priority")
    if isinstance(n, int) and not isinstance(n, bool) and n > 0:
        return "emergent" if n == 1 else "urgent" if n <= 3 else "elective"
    return ""


def _appointments(store: Store, start: datetime, end: datetime) -> Iterable[JSON]:
    lo = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    hi = end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    params = [("date", f"ge{lo}"), ("date", f"lt{hi}")]
    try:
        offset, out = 0, []
        while True:
            page = store.search("Appointment", params, count=1000, offset=offset)
            out += [sr.json() for sr in page.resources]
            if len(page.resources) < 1000:
                return out
            offset += 1000
    except ValueError:  # the store does not index Appointment.date: scan
        return [
            sr.json()
            for sr in store.iter_type("Appointment")
            if (s := d.parse_instant(sr.json().get("start"))) is not None and start <= s < end
        ]


def items_in_window(store: Store, start: datetime, end: datetime) -> list[Item]:
    """The surgeries and visits starting in [start, end), by start time; those already
    over (`end` before `start` of the window) and cancelled ones left out."""
    dire = _Directory(store)
    pats = _Patients(store)
    out: list[Item] = []
    for a in _appointments(store, start, end):
        item = _item(store, a, dire, pats)
        if item is not None and item.end > start:
            out.append(item)
    out.sort(key=lambda i: (i.start, i.place, i.id))
    return out


def _item(store: Store, a: JSON, dire: _Directory, pats: _Patients) -> Item | None:
    if a.get("status") in LEFT_OUT:
        return None
    s, e = d.parse_instant(a.get("start")), d.parse_instant(a.get("end"))
    if s is None:
        return None
    if e is None or e <= s:
        minutes = a.get("minutesDuration")
        e = s + timedelta(minutes=minutes if isinstance(minutes, int) and minutes > 0 else 30)
    room_id = clinic_id = ""
    practs: list[JSON] = []
    patient_ref: object = None
    for p in a.get("participant") or []:
        key = d.reference_key(p.get("actor")) or ""
        rt, _, rid = key.partition("/")
        if rt == "Location":
            if dire.is_or(rid):
                room_id = room_id or rid
            else:
                clinic_id = clinic_id or rid
        elif rt == "Practitioner":
            practs.append(p)
        elif rt == "Patient":
            patient_ref = p.get("actor")
    if not room_id and not practs:
        return None
    request = None
    for b in a.get("basedOn") or []:
        sr = store.read("ServiceRequest", d.reference_id(b, "ServiceRequest") or "")
        if sr is not None and not sr.deleted:
            request = sr.json()
            break
    kind = "surgery" if room_id else "visit"
    provider, others = _people(practs, dire, kind)
    concepts = [
        *(a.get("serviceType") or []),
        *(a.get("specialty") or []),
        a.get("appointmentType"),
        *(a.get("reasonCode") or []),
        (request or {}).get("code"),
    ]
    codes = frozenset().union(*(d.codes_of(c) for c in concepts if c))
    what = str(a.get("description") or "") or (
        d.concept_text((request or {}).get("code")) if request else ""
    )
    what = what or d.concept_text(a.get("serviceType"), "") or d.concept_text(a.get("reasonCode"))
    specialty = d.concept_text((a.get("specialty") or [None])[0])
    place_id = room_id or clinic_id
    place = dire.location_name(place_id) if place_id else "(no place recorded)"
    words = " ".join([what, specialty, place, *(d.concept_text(c) for c in concepts if c)]).lower()
    return Item(
        id=str(a.get("id")),
        kind=kind,
        start=s,
        end=e,
        status=str(a.get("status") or ""),
        priority=priority_of(a, request),
        what=what or ("Surgery" if kind == "surgery" else "Visit"),
        codes=codes,
        words=words,
        specialty=specialty,
        place_id=place_id,
        place=place,
        provider=provider,
        others=others,
        patient=pats.get(patient_ref),
    )


def _people(practs: list[JSON], dire: _Directory, kind: str) -> tuple[Person, tuple[Person, ...]]:
    """The surgeon (PPRF, or "surgeon" in the type's words) or the visit's first
    practitioner; and the others."""
    if not practs:
        return Person("", "(no surgeon recorded)"), ()
    lead = practs[0]
    if kind == "surgery":
        for p in practs:
            text = " ".join(d.concept_text(t) for t in p.get("type") or []).lower()
            codes = set().union(*(d.codes_of(t) for t in p.get("type") or [{}]))
            if "PPRF" in codes or "surg" in text:
                lead = p
                break
    others = tuple(dire.person(p.get("actor")) for p in practs if p is not lead)
    return dire.person(lead.get("actor")), others
