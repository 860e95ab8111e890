"""Summary sections read from one resource type each: allergies (the trichotomy), problems,
notes, orders, care plan, upcoming procedures and appointments.

IPS sections: https://hl7.org/fhir/uv/ips/StructureDefinition-Composition-uv-ips.html
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from standby.fhir import display as d
from standby.fhir.mar import Medication
from standby.fhir.observations import category_codes
from standby.fhir.summary_model import (
    JSON,
    NKA_CODES,
    NOTE_TYPES,
    SURGERY_CATEGORY,
    Allergies,
    Allergy,
    AllergyStatus,
    CarePlanItem,
    Note,
    Order,
    Problem,
    Section,
    Upcoming,
    is_active,
    make_section,
)


def allergies(resources: Sequence[JSON], held: Collection[str] | None = None) -> Allergies:
    """The allergy trichotomy (plus "not synchronised"); entered-in-error and refuted
    entries are ignored, and inactive/resolved ones are not listed."""
    live = [
        r
        for r in resources
        if not (d.codes_of(r.get("verificationStatus")) & {"entered-in-error", "refuted"})
    ]
    if not live:
        if held is not None and "AllergyIntolerance" not in held:
            return Allergies(AllergyStatus.NOT_SYNCHRONISED, [])
        return Allergies(AllergyStatus.NOT_RECORDED, [])
    items = []
    nka = ""
    for r in live:
        if d.codes_of(r.get("code")) & NKA_CODES:
            nka = nka or f"AllergyIntolerance/{r.get('id')}"
            continue
        if not is_active(r):
            continue
        reactions = []
        severity = ""
        for rx in r.get("reaction") or []:
            for m in rx.get("manifestation") or []:
                t = d.concept_text(m)
                if t and t not in reactions:
                    reactions.append(t)
            severity = severity or str(rx.get("severity") or "")
        items.append(
            Allergy(
                substance=d.concept_text(r.get("code"), "(unnamed substance)"),
                reactions=reactions,
                criticality=str(r.get("criticality") or ""),
                severity=severity,
                category=", ".join(str(c) for c in r.get("category") or []),
                verification=next(iter(sorted(d.codes_of(r.get("verificationStatus")))), ""),
                onset=str(r.get("onsetDateTime") or r.get("recordedDate") or "")[:10],
                ref=f"AllergyIntolerance/{r.get('id')}",
            )
        )
    if items:
        items.sort(key=lambda a: (a.criticality != "high", a.substance.lower()))
        return Allergies(AllergyStatus.LISTED, items)
    if nka:
        return Allergies(AllergyStatus.NO_KNOWN_ALLERGIES, [], nka)
    return Allergies(AllergyStatus.NOT_RECORDED, [])


NOTES_SHOWN = 5  # the newest notes a summary shows


def notes(
    docs: Sequence[JSON], held: Collection[str] | None, limit: int = NOTES_SHOWN
) -> Section[Note]:
    out = []
    for r in docs:
        if r.get("status") not in (None, "current") or r.get("docStatus") == "entered-in-error":
            continue
        text = ""
        for c in r.get("content") or []:
            text = d.attachment_text(c.get("attachment"))
            if text:
                break
        code = d.first_code(r.get("type"))
        kind = NOTE_TYPES.get(code or "", "") or d.concept_text(r.get("type"), "Note")
        authors = r.get("author") or []
        out.append(
            Note(
                title=str(r.get("description") or "") or kind,
                kind=kind,
                when=d.parse_instant(r.get("date")),
                author=d.reference_display(authors[0], {}) if authors else "",
                text=text or "(The note's text is not held inline in the replica.)",
            )
        )
    out.sort(key=lambda n: n.when.timestamp() if n.when else 0, reverse=True)
    return make_section(out[:limit], "notes", ["DocumentReference"], held)


def _occurrence(r: JSON) -> str:
    if r.get("occurrenceDateTime"):
        return str(r["occurrenceDateTime"])[:16].replace("T", " ")
    p = r.get("occurrencePeriod")
    if p:
        return f"{str(p.get('start', ''))[:16].replace('T', ' ')}"
    t = r.get("occurrenceTiming")
    if t:
        from standby.fhir.timing import describe

        return describe(t).text
    return ""


def orders(
    requests: Sequence[JSON], resolved: Mapping[str, JSON], held: Collection[str] | None
) -> Section[Order]:
    out = []
    for r in requests:
        if r.get("status") not in ("active", "on-hold", "draft") or r.get("intent") in (
            "proposal",
            "plan",
        ):
            continue
        cats = [d.concept_text(c) for c in r.get("category") or []]
        out.append(
            Order(
                text=d.concept_text(r.get("code"), "(unnamed order)"),
                category=", ".join(c for c in cats if c),
                priority=str(r.get("priority") or "routine"),
                status=str(r.get("status")),
                when=_occurrence(r),
                requester=d.reference_display(r.get("requester"), resolved),
                authored=d.parse_instant(r.get("authoredOn")),
            )
        )
    prio = {"stat": 0, "asap": 1, "urgent": 2, "routine": 3}
    out.sort(key=lambda o: (prio.get(o.priority, 4), o.text.lower()))
    return make_section(out, "active orders", ["ServiceRequest"], held)


def care_plan(plans: Sequence[JSON], held: Collection[str] | None) -> Section[CarePlanItem]:
    out = []
    for r in plans:
        if r.get("status") not in ("active", "on-hold"):
            continue
        acts = []
        for a in r.get("activity") or []:
            det = a.get("detail") or {}
            text = det.get("description") or d.concept_text(det.get("code"))
            if not text and a.get("reference"):
                text = d.reference_display(a["reference"], {})
            if text:
                acts.append(str(text))
        title = (
            r.get("title") or r.get("description") or d.concept_text(r.get("category"), "Care plan")
        )
        p = r.get("period") or {}
        period = " – ".join(str(x)[:10] for x in (p.get("start"), p.get("end")) if x)
        out.append(CarePlanItem(str(title), acts, period))
    return make_section(out, "active care plan", ["CarePlan"], held)


def upcoming(
    appointments: Sequence[JSON],
    service_requests: Sequence[JSON],
    now: datetime,
    resolved: Mapping[str, JSON],
    held: Collection[str] | None,
) -> Section[Upcoming]:
    """Booked appointments and surgeries from now on (and today's earlier ones still
    scheduled), soonest first."""
    srs = {f"ServiceRequest/{r.get('id')}": r for r in service_requests}
    out = []
    for a in appointments:
        if a.get("status") not in (
            "booked",
            "pending",
            "proposed",
            "arrived",
            "checked-in",
            "waitlist",
        ):
            continue
        start = d.parse_instant(a.get("start"))
        end = d.parse_instant(a.get("end"))
        if start is not None and (end or start) < now - timedelta(hours=1):
            continue
        surgery = _is_surgery(a, srs)
        desc = a.get("description") or d.concept_text(a.get("serviceType"))
        for b in a.get("basedOn") or []:
            sr = srs.get(d.reference_key(b) or "")
            if sr and not desc:
                desc = d.concept_text(sr.get("code"))
        loc = who = ""
        for p in a.get("participant") or []:
            key = d.reference_key(p.get("actor")) or ""
            if key.startswith("Location/") and not loc:
                loc = d.reference_display(p.get("actor"), resolved)
            elif key.startswith("Practitioner/") and not who:
                who = d.reference_display(p.get("actor"), resolved)
        out.append(
            Upcoming(
                start,
                end,
                "Surgery" if surgery else "Appointment",
                str(desc or d.concept_text(a.get("appointmentType"), "Visit")),
                loc,
                who,
                str(a.get("status")),
            )
        )
    out.sort(key=lambda u: u.when.timestamp() if u.when else float("inf"))
    return make_section(out, "upcoming procedures or appointments", ["Appointment"], held)


def _is_surgery(a: JSON, srs: Mapping[str, JSON]) -> bool:
    text = (
        d.concept_text(a.get("serviceCategory")) + " " + d.concept_text(a.get("serviceType"))
    ).lower()
    if "surg" in text:
        return True
    for b in a.get("basedOn") or []:
        sr = srs.get(d.reference_key(b) or "")
        if sr and SURGERY_CATEGORY in category_codes(sr):
            return True
    return False


def problems(conditions: Sequence[JSON], held: Collection[str] | None) -> Section[Problem]:
    out = []
    for r in conditions:
        if not is_active(r) or d.codes_of(r.get("verificationStatus")) & {
            "entered-in-error",
            "refuted",
        }:
            continue
        cats = category_codes(r)
        out.append(
            Problem(
                text=d.concept_text(r.get("code"), "(unnamed problem)"),
                code=d.first_code(r.get("code")),
                onset=str(r.get("onsetDateTime") or r.get("recordedDate") or "")[:10],
                category="Encounter diagnosis" if "encounter-diagnosis" in cats else "Problem",
                status="active",
                ref=f"Condition/{r.get('id')}",
            )
        )
    out.sort(key=lambda p: (p.category != "Encounter diagnosis", p.text.lower()))
    return make_section(out, "active problems", ["Condition"], held)


# Drug classes whose members cross-react with an allergy named by the class (a small,
# deliberately conservative table: a hint for the nurse, not a pharmacy system).
CLASS_MEMBERS: dict[str, tuple[str, ...]] = {
    "penicillin": (
        "penicillin",
        "amoxicillin",
        "ampicillin",
        "piperacillin",
        "nafcillin",
        "oxacillin",
        "dicloxacillin",
    ),
    "sulfa": ("sulfamethoxazole", "sulfasalazine", "sulfadiazine"),
    "cephalosporin": ("cef", "ceph"),
    "nsaid": ("ibuprofen", "naproxen", "ketorolac", "diclofenac", "aspirin"),
    "opioid": ("morphine", "oxycodone", "hydromorphone", "codeine", "fentanyl"),
}
_WORD = re.compile(r"[a-z]{4,}")


def allergy_alerts(meds: Sequence[Medication], allergy: Allergies) -> dict[str, list[str]]:
    """Each medication whose name shares a word (4+ letters) with a listed allergy's
    substance, or belongs to a drug class the allergy names (penicillins, sulfonamides,
    cephalosporins, NSAIDs, opioids): "Vancomycin (Rash)"."""
    out: dict[str, list[str]] = {}
    if allergy.status is not AllergyStatus.LISTED:
        return out
    for m in meds:
        name = m.name.lower()
        words = set(_WORD.findall(name))
        for a in allergy.items:
            sub = a.substance.lower()
            hit = bool(set(_WORD.findall(sub)) & words)
            for cls, members in CLASS_MEMBERS.items():
                if cls in sub and any(name.startswith(x) or f" {x}" in name for x in members):
                    hit = True
            if hit:
                out.setdefault(m.id, []).append(a.line)
    return out
