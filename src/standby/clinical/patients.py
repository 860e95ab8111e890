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
from standby.clinical.summary import with_journal
from standby.fhir import display as d
from standby.fhir.header import place
from standby.fhir.summary import current_encounter, encounter_bed, location_path
from standby.journal import adt as journal_adt
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


def _candidates(
    store: Store, rt: str, params: list[tuple[str, str]], limit: int
) -> tuple[list[JSON], int]:
    """The first `limit` matches and how many there are in all."""
    try:
        page = store.search(rt, params, count=limit, total=True)
    except ValueError:
        return [], 0
    found: list[JSON] = [sr.json() for sr in page.resources]
    return found, max(page.total or 0, len(found))


@dataclass(frozen=True, slots=True)
class PatientResults:
    """The patients shown (ranked, at most `limit`) and how many matched in all."""

    matches: list[PatientMatch]
    total: int
    ranked_all: bool  # every match was ranked (False: more than `CANDIDATES` matched)

    @property
    def truncated(self) -> bool:
        return self.total > len(self.matches)


CANDIDATES = 500  # matches ranked before the list is cut; more means "narrow the search"


def search_patients(
    store: Store,
    query: str,
    *,
    dob: str = "",
    now: datetime | None = None,
    limit: int = 50,
) -> PatientResults:
    """Patients whose name contains the words of `query` (each word a name-part prefix,
    accent- and case-insensitive: the store's string search), whose MRN (any identifier)
    equals it, or whose birth date is it (YYYY-MM-DD or MM/DD/YYYY); `dob`, if given,
    keeps those born that day (or, without a query, finds them).

    Ranked before they are cut to `limit`: exact matches first (the MRN or birth date
    asked for, or every word a whole name), then patients admitted now, then by name and
    date of birth. `total` counts every match, so a page can say "50 of 59"."""
    q = query.strip()
    dob_iso = _iso_date(dob.strip()) if dob.strip() else ""
    if not q:
        q, dob_iso = dob_iso, ""
    if not q:
        return PatientResults([], 0, True)
    found: dict[str, JSON] = {}
    exact: set[str] = set()
    total = 0
    q_date = _iso_date(q) if _DATE_ISO.match(_iso_date(q)) else ""
    if q_date:
        hits, total = _candidates(store, "Patient", [("birthdate", q_date)], CANDIDATES)
        for p in hits:
            found.setdefault(str(p.get("id")), p)
            exact.add(str(p.get("id")))
    elif any(ch.isdigit() for ch in q) and " " not in q:
        hits, total = _candidates(store, "Patient", [("identifier", q)], CANDIDATES)
        for p in hits:
            found.setdefault(str(p.get("id")), p)
            exact.add(str(p.get("id")))
    words: list[str] = []
    if not q_date:
        words = [w for w in re.split(r"[\s,]+", q) if w and not w.isdigit()]
        if words:
            hits, n = _candidates(store, "Patient", [("name", w) for w in words], CANDIDATES)
            total += n
            for p in hits:
                found.setdefault(str(p.get("id")), p)
                if _whole_names(p, words):
                    exact.add(str(p.get("id")))
    for p in _registered_matches(store, q, q_date, words):  # registered during downtime
        if str(p.get("id")) not in found:
            found[str(p.get("id"))] = p
            total += 1
            exact.add(str(p.get("id")))
    ranked_all = total <= len(found)
    if dob_iso:
        found = {k: p for k, p in found.items() if p.get("birthDate") == dob_iso}
        total = len(found) if ranked_all else total
    total = max(total, len(found))
    when = now or datetime.now().astimezone()
    dire = directory(store)
    out = [_match(store, p, dire, when) for p in found.values()]
    out.sort(key=lambda x: (x.id not in exact, not x.admitted, fold(x.name), x.dob))
    return PatientResults(out[:limit], total, ranked_all)


def _registered_matches(store: Store, q: str, q_date: str, words: list[str]) -> list[JSON]:
    """Patients registered during downtime (only in the journal) whose downtime MRN (or
    any identifier given) equals `q`, whose birth date is `q_date`, or whose names start
    with every word."""
    out: list[JSON] = []
    for p in journal_adt.registered_patients(store):
        idents = {fold(str(i.get("value") or "")) for i in p.get("identifier") or []}
        parts = [
            fold(x)
            for n in p.get("name") or []
            for part in [n.get("family") or "", *(n.get("given") or [])]
            for x in re.split(r"[\s-]+", str(part))
            if x
        ]
        if (
            (q_date and p.get("birthDate") == q_date)
            or fold(q) in idents
            or (words and all(any(x.startswith(fold(w)) for x in parts) for w in words))
        ):
            out.append(p)
    return out


def find_patients(
    store: Store, query: str, *, now: datetime | None = None, limit: int = 50
) -> list[PatientMatch]:
    """The ranked matches of `search_patients` (without the count)."""
    return search_patients(store, query, now=now, limit=limit).matches


def _iso_date(text: str) -> str:
    """YYYY-MM-DD from YYYY-MM-DD or MM/DD/YYYY (else the text unchanged)."""
    m = _DATE_US.match(text)
    return f"{m.group(3)}-{int(m.group(1)):02d}-{int(m.group(2)):02d}" if m else text


def _whole_names(patient: JSON, words: list[str]) -> bool:
    """Every word of the query is a whole name part (family or given), not a prefix."""
    parts: set[str] = set()
    for n in patient.get("name") or []:
        if isinstance(n, dict):
            for part in [n.get("family") or "", *(n.get("given") or [])]:
                parts.update(fold(x) for x in re.split(r"[\s-]+", str(part)) if x)
    return all(fold(w) in parts for w in words)


def _match(store: Store, patient: JSON, dire: Directory, now: datetime) -> PatientMatch:
    pid = str(patient.get("id"))
    name, _, _ = d.human_name(patient.get("name"))
    birth = d.parse_date(patient.get("birthDate"))
    _, city = d.address_text(patient.get("address"))
    location, unit_id, admitted = patient_location(store, pid, dire)
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
        admitted,
    )


def patient_location(
    store: Store, patient_id: str, dire: Directory
) -> tuple[str, str | None, bool]:
    """Where the patient is now, from their current encounter: ("4W 412-B", unit id,
    True), ("Admitted (location not recorded)", None, True) or ("Not admitted", None,
    False)."""
    stored = [sr.json() for sr in store.compartment(patient_id, ["Encounter"])]
    encs = [
        r for r in with_journal(store, patient_id, stored) if r.get("resourceType") == "Encounter"
    ]
    enc = current_encounter(encs)
    if enc is None:
        return "Not admitted", None, False
    path = location_path(encounter_bed(enc), dire.resolved)
    unit = path.get("wi")
    spot = path.get("bd") or path.get("ro")
    unit_name = (unit.get("alias") or [unit.get("name")])[0] if unit else ""
    location = place(str(unit_name or ""), str((spot or {}).get("name") or ""))
    return (
        location or "Admitted (location not recorded)",
        str(unit.get("id")) if unit else None,
        True,
    )
