"""Finding patients by name, MRN or date of birth (one patient's summary:
`standby.clinical.summary`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from standby.clinical.directory import Directory, directory
from standby.fhir import display as d
from standby.fhir.header import place
from standby.fhir.summary import current_encounter, encounter_bed, location_path
from standby.store.base import Store

JSON = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PatientMatch:
    """Enough to tell two John Smiths apart."""

    id: str
    name: str
    dob: str
    age: str
    sex: str
    mrn: str
    city: str
    phone: str
    location: str  # "4W 412-B" or "Not admitted"
    unit_id: str | None
    admitted: bool


_DATE_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def fold(text: str) -> str:
    """Case- and accent-insensitive form ("Zoë" → "zoe")."""
    norm = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in norm if not unicodedata.combining(ch)).casefold()


def _first_page(store: Store, rt: str, params: list[tuple[str, str]], limit: int) -> list[JSON]:
    try:
        page = store.search(rt, params, count=limit)
    except ValueError:
        return []
    return [sr.json() for sr in page.resources]


def find_patients(
    store: Store, query: str, *, now: datetime | None = None, limit: int = 50
) -> list[PatientMatch]:
    """Patients whose name contains the words of `query` (each word a name-part prefix,
    accent- and case-insensitive: the store's string search), whose MRN (any identifier)
    equals it, or whose birth date is it (YYYY-MM-DD or MM/DD/YYYY)."""
    q = query.strip()
    if not q:
        return []
    found: dict[str, JSON] = {}
    m = _DATE_US.match(q)
    if m:
        q_date = f"{m.group(3)}-{int(m.group(1)):02d}-{int(m.group(2)):02d}"
    else:
        q_date = q if _DATE_ISO.match(q) else ""
    if q_date:
        for p in _first_page(store, "Patient", [("birthdate", q_date)], limit):
            found.setdefault(str(p.get("id")), p)
    elif any(ch.isdigit() for ch in q) and " " not in q:
        for p in _first_page(store, "Patient", [("identifier", q)], limit):
            found.setdefault(str(p.get("id")), p)
    if not q_date:
        words = [w for w in re.split(r"[\s,]+", q) if w and not w.isdigit()]
        if words:
            for p in _first_page(store, "Patient", [("name", w) for w in words], limit):
                found.setdefault(str(p.get("id")), p)
    when = now or datetime.now().astimezone()
    dire = directory(store)
    out = [_match(store, p, dire, when) for p in list(found.values())[:limit]]
    out.sort(key=lambda x: (fold(x.name), x.dob))
    return out


def _match(store: Store, patient: JSON, dire: Directory, now: datetime) -> PatientMatch:
    pid = str(patient.get("id"))
    name, _, _ = d.human_name(patient.get("name"))
    birth = d.parse_date(patient.get("birthDate"))
    _, city = d.address_text(patient.get("address"))
    encs = [sr.json() for sr in store.compartment(pid, ["Encounter"])]
    enc = current_encounter(encs)
    location, unit_id = "Not admitted", None
    if enc is not None:
        path = location_path(encounter_bed(enc), dire.resolved)
        unit = path.get("wi")
        spot = path.get("bd") or path.get("ro")
        unit_name = (unit.get("alias") or [unit.get("name")])[0] if unit else ""
        location = place(str(unit_name or ""), str((spot or {}).get("name") or ""))
        location = location or "Admitted (location not recorded)"
        unit_id = str(unit.get("id")) if unit else None
    phones = d.phones(patient.get("telecom"))
    return PatientMatch(
        pid,
        name,
        birth.isoformat() if birth else "DOB unknown",
        d.age(birth, now),
        d.sex(patient.get("gender")),
        d.mrn(patient),
        city,
        phones[0] if phones else "",
        location,
        unit_id,
        enc is not None,
    )
