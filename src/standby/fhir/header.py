"""The summary header: who the patient is, where they are, who looks after them, and
what no one may miss (code status, weight, isolation and safety flags).

Encounter: https://hl7.org/fhir/R4/encounter.html; Flag: https://hl7.org/fhir/R4/flag.html
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime

from standby.fhir import display as d
from standby.fhir.observations import code_status, vital_signs
from standby.fhir.summary_model import (
    FALLS,
    ISOLATION,
    JSON,
    Contact,
    Flag,
    Header,
    Measurement,
    VitalSigns,
)


def flags(resources: Sequence[JSON], now: datetime) -> list[Flag]:
    out = []
    for r in resources:
        if r.get("status") != "active":
            continue
        end = d.parse_instant((r.get("period") or {}).get("end"))
        if end is not None and end < now:
            continue
        codes = d.codes_of(r.get("code"))
        iso = next((ISOLATION[c] for c in codes if c in ISOLATION), None)
        out.append(
            Flag(
                text=iso or d.concept_text(r.get("code"), "(flag)"),
                code=next(iter(sorted(codes)), None),
                isolation=iso is not None,
                falls=bool(codes & FALLS),
            )
        )
    out.sort(key=lambda f: (not f.isolation, not f.falls, f.text))
    return out


def _by_type(resources: Iterable[JSON]) -> dict[str, list[JSON]]:
    out: dict[str, list[JSON]] = {}
    for r in resources:
        out.setdefault(str(r.get("resourceType")), []).append(r)
    return out


def current_encounter(encounters: Sequence[JSON]) -> JSON | None:
    """The in-progress inpatient (else ED, else any in-progress) encounter, newest first."""
    live = [e for e in encounters if e.get("status") in ("in-progress", "arrived", "onleave")]
    if not live:
        return None
    rank = {"IMP": 0, "ACUTE": 0, "EMER": 1, "OBSENC": 1}

    def key(e: JSON) -> tuple[int, float]:
        cls = e.get("class") or {}
        code = cls.get("code") if isinstance(cls, Mapping) else None
        start = d.parse_instant((e.get("period") or {}).get("start"))
        return (rank.get(str(code), 2), -(start.timestamp() if start else 0))

    return sorted(live, key=key)[0]


def encounter_bed(enc: JSON) -> str | None:
    """Location id of the encounter's active location (the most specific one listed)."""
    locs = [x for x in enc.get("location") or [] if isinstance(x, Mapping)]
    active = [x for x in locs if x.get("status") in (None, "active")] or locs
    best = None
    for x in active:
        lid = d.reference_id(x.get("location"), "Location")
        if lid:
            best = lid  # later entries are more specific (bed after room after unit)
    return best


def location_path(loc_id: str | None, resolved: Mapping[str, JSON]) -> dict[str, JSON]:
    """physicalType code → Location, walking `partOf` up from `loc_id`."""
    out: dict[str, JSON] = {}
    seen = set()
    while loc_id and loc_id not in seen:
        seen.add(loc_id)
        loc = resolved.get(f"Location/{loc_id}")
        if loc is None:
            break
        pt = d.first_code(loc.get("physicalType")) or ""
        out.setdefault(pt, loc)
        loc_id = d.reference_id(loc.get("partOf"), "Location")
    return out


def _loc_name(loc: JSON | None) -> str:
    if not loc:
        return ""
    alias = loc.get("alias") or []
    if loc.get("physicalType") and d.first_code(loc.get("physicalType")) == "wi" and alias:
        return str(alias[0])
    return str(loc.get("name") or (alias[0] if alias else "") or loc.get("id") or "")


def place(unit: str, spot: str) -> str:
    """ "4W 412-B" from the unit's alias and the bed's name (which may already start with
    the alias, as the synthetic hospital's do)."""
    if unit and spot.startswith(unit):
        return spot
    return " ".join(x for x in (unit, spot) if x)


def length_of_stay(start: datetime | None, now: datetime) -> str:
    if start is None:
        return ""
    delta = now - start
    days = delta.days
    if days >= 1:
        return f"{days} d"
    return f"{max(0, int(delta.total_seconds() // 3600))} h"


def header(
    patient: JSON,
    by_type: Mapping[str, list[JSON]],
    now: datetime,
    resolved: Mapping[str, JSON],
    held: Collection[str] | None,
    vitals: VitalSigns | None = None,
) -> Header:
    """The header; `vitals` (already computed by the caller) gives the latest weight and
    height, whenever they were measured."""
    name, family, given = d.human_name(patient.get("name"))
    birth = d.parse_date(patient.get("birthDate"))
    address, city = d.address_text(patient.get("address"))
    contacts = []
    for c in patient.get("contact") or []:
        cname = d.human_name([c["name"]])[0] if c.get("name") else ""
        contacts.append(
            Contact(cname, d.concept_text(c.get("relationship")), d.phones(c.get("telecom")))
        )
    langs = [d.concept_text(c.get("language")) for c in patient.get("communication") or []]
    enc = current_encounter(by_type.get("Encounter", []))
    loc_id = encounter_bed(enc) if enc else None
    path = location_path(loc_id, resolved)
    unit = path.get("wi")
    room, bed = path.get("ro"), path.get("bd")
    if loc_id and not path and enc is not None:  # Location not resolvable: use display
        for x in enc.get("location") or []:
            if d.reference_id(x.get("location"), "Location") == loc_id:
                unit = {"name": (x.get("location") or {}).get("display") or loc_id}
    unit_name = _loc_name(unit)
    room_name, bed_name = _loc_name(room), _loc_name(bed)
    if enc is None:
        location = "Not admitted"
    else:
        location = place(unit_name, bed_name or room_name) or "Location not recorded"
    attending = ""
    if enc is not None:
        for p in enc.get("participant") or []:
            types = set()
            for t in p.get("type") or []:
                types |= d.codes_of(t)
            if "ATND" in types or (not attending and "PPRF" in types):
                attending = d.reference_display(p.get("individual"), resolved)
    start = d.parse_instant(((enc or {}).get("period") or {}).get("start"))
    reason = ""
    if enc is not None:
        reason = d.concept_text(enc.get("reasonCode"))
        if not reason:
            for diag in enc.get("diagnosis") or []:
                reason = d.reference_display(diag.get("condition"), resolved)
                if reason:
                    break
    obs = by_type.get("Observation", [])
    vit = vitals if vitals is not None else vital_signs(obs, now)
    weight = vit.latest.get("Weight")
    height = vit.latest.get("Height")
    cls = (enc or {}).get("class") or {}
    return Header(
        patient_id=str(patient.get("id", "")),
        name=name,
        family=family,
        given=given,
        birth_date=birth,
        age=d.age(birth, now),
        sex=d.sex(patient.get("gender")),
        mrn=d.mrn(patient),
        phones=d.phones(patient.get("telecom")),
        address=address,
        city=city,
        contacts=contacts,
        language=", ".join(x for x in langs if x),
        encounter_id=str(enc.get("id")) if enc else None,
        encounter_class=str(cls.get("code") or "") if isinstance(cls, Mapping) else "",
        unit=unit_name,
        unit_id=str(unit.get("id")) if unit and unit.get("id") else None,
        room=room_name,
        bed=bed_name,
        bed_id=str(bed.get("id")) if bed else loc_id,
        location=location,
        admitted=start,
        length_of_stay=length_of_stay(start, now),
        attending=attending or ("Not recorded" if enc else ""),
        admission_reason=reason,
        code_status=code_status(obs, held),
        weight=Measurement(weight[1], weight[0]) if weight else None,
        height=Measurement(height[1], height[0]) if height else None,
        flags=flags(by_type.get("Flag", []), now),
    )
