"""PID -> Patient, AL1 -> AllergyIntolerance, and the subject every message refers to
(v2-to-FHIR: https://build.fhir.org/ig/HL7/v2-to-fhir/ConceptMap-segment-pid-to-patient.html,
ConceptMap-segment-al1-to-allergyintolerance.html)."""

from __future__ import annotations

from standby.hl7 import datatypes as dt
from standby.hl7.mapped import JSON, Lookup, Mapped, required
from standby.hl7.v2 import Message, Segment, component

_GENDER = {"M": "male", "F": "female", "O": "other", "A": "other", "N": "other", "U": "unknown"}


def mrn(pid: Segment, ctx: dt.Context) -> JSON:
    """The patient's medical record number: the PID-3 repetition of type MR (else the first;
    v2.3 senders often put it in PID-2 or leave the type out)."""
    reps = pid.field(3)
    for rep in reps:
        if component(rep, 5) == "MR":
            got = dt.identifier(rep, ctx)
            if got:
                return got
    first = reps or pid.field(2)
    value = component(first[0], 1) if first else ""
    if not value:
        raise required("PID-3 (patient identifier list) is empty: no medical record number")
    return {"system": ctx.mrn_system, "value": value}


def patient_id(mrn_identifier: JSON) -> str:
    return dt.stable_id("v2pt", mrn_identifier["system"], mrn_identifier["value"])


def subject(msg: Message, ctx: dt.Context, out: Mapped) -> JSON:
    """The Reference to the message's patient (PID required), noted in `out`."""
    pid = msg.first("PID")
    if pid is None:
        raise required(f"{msg.message_type}^{msg.trigger} without a PID segment")
    ident = mrn(pid, ctx)
    pt = patient_id(ident)
    out.patient_id = pt
    out.patient_mrn = ident["value"]
    out.lookups.append(Lookup("Patient", pt, ident["system"], ident["value"]))
    ref: JSON = {"reference": f"Patient/{pt}"}
    name = pid.field(5)
    if name:
        n = dt.human_name(name[0])
        if n:
            ref["display"] = " ".join([*n.get("given", []), n.get("family", "")]).strip()
    return ref


def patient(pid: Segment, ctx: dt.Context) -> JSON:
    """The whole Patient a PID describes (ADT carries it all)."""
    ident = mrn(pid, ctx)
    identifiers = [{**ident, "use": "usual"}]
    seen = {(ident["system"], ident["value"])}
    for rep in pid.field(3) + pid.field(2) + pid.field(4):
        got = dt.identifier(rep, ctx, kind="patient")
        if got and (got["system"], got["value"]) not in seen and got.get("value") != ident["value"]:
            seen.add((got["system"], got["value"]))
            identifiers.append(got)
    res: JSON = {
        "resourceType": "Patient",
        "id": patient_id(ident),
        "identifier": identifiers,
        "active": True,
    }
    names = [n for n in (dt.human_name(r) for r in pid.field(5)) if n]
    if names:
        res["name"] = names
    telecom = [t for t in (dt.contact_point(r, "home") for r in pid.field(13)) if t]
    telecom += [t for t in (dt.contact_point(r, "work") for r in pid.field(14)) if t]
    if telecom:
        res["telecom"] = telecom
    gender = _GENDER.get(pid.get(8).upper())
    if gender:
        res["gender"] = gender
    born = dt.date_only(pid.get(7), ctx)
    if born:
        res["birthDate"] = born
    addresses = [a for a in (dt.address(r) for r in pid.field(11)) if a]
    if addresses:
        res["address"] = addresses
    marital = dt.codeable(pid.field(16)[0] if pid.field(16) else None, ctx, table="0002")
    if marital:
        res["maritalStatus"] = marital
    language = dt.codeable(pid.field(15)[0] if pid.field(15) else None, ctx, table="0296")
    if language:
        res["communication"] = [{"language": language}]
    died = dt.date_time(pid.get(29), ctx)
    if died:
        res["deceasedDateTime"] = died
    elif pid.get(30).upper() == "Y":
        res["deceasedBoolean"] = True
    return res


_ALLERGY_CATEGORY = {
    "DA": "medication",
    "MA": "medication",
    "FA": "food",
    "EA": "environment",
    "AA": "environment",
    "PA": "environment",
    "LA": "environment",
    "MC": "medication",
}
_SEVERITY = {"SV": "severe", "MO": "moderate", "MI": "mild"}


def allergy(al1: Segment, ctx: dt.Context, subject_ref: JSON) -> JSON | None:
    """One AL1 -> AllergyIntolerance, identified by the patient and the allergen's code (AL1-1
    is only a counter within the message)."""
    allergen = dt.codeable(al1.field(3)[0] if al1.field(3) else None, ctx)
    if allergen is None:
        return None
    key = allergen.get("coding", [{}])[0].get("code") or allergen.get("text", "")
    res: JSON = {
        "resourceType": "AllergyIntolerance",
        "id": dt.stable_id("v2al", subject_ref["reference"], key.lower()),
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "code": "active",
                }
            ]
        },
        "code": allergen,
        "patient": subject_ref,
    }
    kind = (al1.get(2) or "").upper()
    category = _ALLERGY_CATEGORY.get(kind)
    if category:
        res["category"] = [category]
    if kind in ("AA", "MA", "FA", "DA", "EA", "PA", "LA"):
        res["type"] = "allergy"
    elif kind in ("MC",):
        res["type"] = "intolerance"
    severity = _SEVERITY.get(al1.get(4).upper())
    if severity == "severe":
        res["criticality"] = "high"
    elif severity:
        res["criticality"] = "low"
    manifestations = [{"text": r[0][0]} for r in al1.field(5) if r and r[0] and r[0][0]]
    if manifestations:
        reaction: JSON = {"manifestation": manifestations}
        if severity:
            reaction["severity"] = severity
        res["reaction"] = [reaction]
    onset = dt.date_time(al1.get(6), ctx)
    if onset:
        res["onsetDateTime"] = onset
    return res
