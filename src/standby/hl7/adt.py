"""ADT (admit, discharge, transfer) -> Patient, Encounter with its bed Location,
AllergyIntolerance (v2-to-FHIR: https://build.fhir.org/ig/HL7/v2-to-fhir/ ConceptMap
segment-pv1-to-encounter, and the message maps of ADT_A01, ADT_A02, ADT_A03, ADT_A40).

Every ADT message carries the whole PID and PV1, so each one maps to complete resources
(a snapshot as of the message): no earlier message is needed to read it.
"""

from __future__ import annotations

import re

from standby.hl7 import datatypes as dt
from standby.hl7.mapped import JSON, Lookup, Mapped, required, unsupported
from standby.hl7.patient import allergy, patient, patient_id, subject
from standby.hl7.v2 import Message, Rep, Segment, component

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
_CLASS = {
    "I": ("IMP", "inpatient encounter"),
    "E": ("EMER", "emergency"),
    "O": ("AMB", "ambulatory"),
    "P": ("PRENC", "pre-admission"),
    "R": ("AMB", "ambulatory"),
    "B": ("AMB", "ambulatory"),
    "C": ("AMB", "ambulatory"),
    "N": ("AMB", "ambulatory"),
}
# the events taken, and the Encounter.status each leaves the visit in
_STATUS = {
    "A01": "in-progress",  # admit
    "A02": "in-progress",  # transfer
    "A03": "finished",  # discharge
    "A04": "arrived",  # register an outpatient or ED visit
    "A08": None,  # update: the status the PV1 implies
    "A11": "entered-in-error",  # cancel admit / visit
    "A12": "in-progress",  # cancel transfer: PV1-3 holds the bed before the transfer
    "A13": "in-progress",  # cancel discharge
}
EVENTS = (*_STATUS, "A40")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def bed_locations(pl: Rep) -> tuple[str, list[JSON]]:
    """PL (unit^room^bed) -> the bed's id and its Locations (unit, room, bed; partOf chained).
    Ids follow the synthetic hospital's (`loc-3w-301-a`), so a bed the FHIR sync brought is
    the same resource; they are written only where nothing is held (`Mapped.create_only`)."""
    unit, room, bed = component(pl, 1), component(pl, 2), component(pl, 3)
    parts = [(unit, "wi", "Wing"), (room, "ro", "Room"), (bed, "bd", "Bed")]
    out: list[JSON] = []
    path: list[str] = []
    parent: str | None = None
    for value, code, display in parts:
        if not value:
            continue
        path.append(value)
        lid = "loc-" + "-".join(_slug(p) for p in path)
        loc: JSON = {
            "resourceType": "Location",
            "id": lid[:64],
            "status": "active",
            "name": " ".join(p for p in (unit, "-".join(x for x in path[1:] if x)) if p),
            "mode": "instance",
            "physicalType": {
                "coding": [{"system": PHYSICAL_TYPE, "code": code, "display": display}]
            },
        }
        if parent:
            loc["partOf"] = {"reference": f"Location/{parent}"}
        out.append(loc)
        parent = loc["id"]
    return (parent or ""), out


def visit_number(msg: Message, pv1: Segment, ctx: dt.Context) -> JSON | None:
    """PV1-19 (visit number) as an Identifier of type VN."""
    reps = pv1.field(19)
    if not reps or not component(reps[0], 1):
        return None
    got = dt.identifier(reps[0], ctx, kind="visit") or {}
    got["type"] = {"coding": [{"system": dt.V2_0203, "code": "VN"}]}
    return got


def encounter_ref(msg: Message, ctx: dt.Context, out: Mapped, patient_ref: JSON) -> JSON | None:
    """The Reference to the visit a non-ADT message names in its PV1 (by visit number)."""
    pv1 = msg.first("PV1")
    if pv1 is None:
        return None
    vn = visit_number(msg, pv1, ctx)
    if vn is None:
        return None
    eid = dt.stable_id("v2en", vn["system"], vn["value"])
    out.lookups.append(Lookup("Encounter", eid, vn["system"], vn["value"]))
    return {"reference": f"Encounter/{eid}"}


def encounter(msg: Message, pv1: Segment, ctx: dt.Context, patient_ref: JSON, out: Mapped) -> JSON:
    """PV1 (and PV2) -> Encounter, its bed as a Location written where none is held."""
    vn = visit_number(msg, pv1, ctx)
    admitted = dt.date_time(pv1.get(44), ctx)
    if vn is not None:
        eid = dt.stable_id("v2en", vn["system"], vn["value"])
        out.lookups.append(Lookup("Encounter", eid, vn["system"], vn["value"]))
    elif admitted:  # no visit number: the patient and the admission time name the visit
        eid = dt.stable_id("v2en", patient_ref["reference"], admitted)
    else:
        raise required("PV1-19 (visit number) and PV1-44 (admit date/time) are both empty")
    discharged = dt.date_time(pv1.get(45), ctx)
    status = _STATUS[msg.trigger] or ("finished" if discharged else "in-progress")
    cls_code, cls_display = _CLASS.get(pv1.get(2).upper(), ("IMP", "inpatient encounter"))
    res: JSON = {
        "resourceType": "Encounter",
        "id": eid,
        "status": status,
        "class": {"system": ACT_CODE, "code": cls_code, "display": cls_display},
        "subject": patient_ref,
    }
    if vn is not None:
        res["identifier"] = [vn]
    period: JSON = {}
    if admitted:
        period["start"] = admitted
    if discharged and msg.trigger not in ("A13",):
        period["end"] = discharged
    if period:
        res["period"] = period
    service = dt.codeable(pv1.field(10)[0] if pv1.field(10) else None, ctx, table="0069")
    if service:
        res["serviceType"] = service
    participants = []
    for n, code, display in (
        (7, "ATND", "attender"),
        (8, "REF", "referrer"),
        (17, "ADM", "admitter"),
    ):
        for rep in pv1.field(n):
            who = dt.practitioner_ref(rep, ctx)
            if who:
                participants.append(
                    {
                        "type": [
                            {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/"
                                        "v3-ParticipationType",
                                        "code": code,
                                        "display": display,
                                    }
                                ]
                            }
                        ],
                        "individual": who,
                    }
                )
    if participants:
        res["participant"] = participants
    locations: list[JSON] = []
    prior = pv1.field(6)
    if prior and msg.trigger == "A02":
        bed, locs = bed_locations(prior[0])
        if bed:
            out.create_only.extend(locs)
            locations.append(
                {
                    "location": {"reference": f"Location/{bed}", "display": dt.bed_name(prior[0])},
                    "status": "completed",
                }
            )
    current = pv1.field(3)
    if current:
        bed, locs = bed_locations(current[0])
        if bed:
            out.create_only.extend(locs)
            entry: JSON = {
                "location": {"reference": f"Location/{bed}", "display": dt.bed_name(current[0])},
                "status": "completed" if status in ("finished", "entered-in-error") else "active",
            }
            evn = msg.first("EVN")
            when = dt.date_time(evn.get(6), ctx) if evn is not None else None
            if when and msg.trigger == "A02":
                entry["period"] = {"start": when}
            locations.append(entry)
    if locations:
        res["location"] = locations
    disposition = dt.codeable(pv1.field(36)[0] if pv1.field(36) else None, ctx, table="0112")
    if disposition:
        res["hospitalization"] = {"dischargeDisposition": disposition}
    pv2 = msg.first("PV2")
    if pv2 is not None:
        reason = dt.codeable(pv2.field(3)[0] if pv2.field(3) else None, ctx)
        if reason:
            res["reasonCode"] = [reason]
    return res


def map_adt(msg: Message, ctx: dt.Context) -> Mapped:
    """ADT A01/A02/A03/A04/A08/A11/A12/A13 -> Patient, Encounter (+ bed Locations,
    AllergyIntolerance); A40 -> the merge."""
    if msg.trigger == "A40":
        return map_merge(msg, ctx)
    if msg.trigger not in _STATUS:
        raise unsupported(f"ADT^{msg.trigger} is not an event Standby takes")
    out = Mapped(registers_patient=True)
    pid = msg.first("PID")
    if pid is None:
        raise required(f"ADT^{msg.trigger} without a PID segment")
    pt = patient(pid, ctx)
    ref = subject(msg, ctx, out)
    out.resources.append(pt)
    pv1 = msg.first("PV1")
    if pv1 is not None:
        out.resources.append(encounter(msg, pv1, ctx, ref, out))
    elif msg.trigger not in ("A08",):
        raise required(f"ADT^{msg.trigger} without a PV1 segment")
    for al1 in msg.all("AL1"):
        got = allergy(al1, ctx, ref)
        if got:
            out.resources.append(got)
    return out


def map_merge(msg: Message, ctx: dt.Context) -> Mapped:
    """ADT^A40 (merge patient, patient identifier list): the surviving Patient `replaces` the
    one MRG-1 names, which becomes inactive and `replaced-by` it (FHIR Patient.link)."""
    out = Mapped(registers_patient=True)
    pid, mrg = msg.first("PID"), msg.first("MRG")
    if pid is None or mrg is None:
        raise required("ADT^A40 needs a PID and an MRG segment")
    survivor = patient(pid, ctx)
    subject(msg, ctx, out)
    old_reps = mrg.field(1)
    old = dt.identifier(old_reps[0], ctx) if old_reps else None
    if old is None:
        raise required("MRG-1 (prior patient identifier list) is empty")
    old = (
        {"system": ctx.mrn_system, "value": old["value"]}
        if component(old_reps[0], 5) in ("MR", "")
        else old
    )
    old_id = patient_id(old)
    out.lookups.append(Lookup("Patient", old_id, old["system"], old["value"]))
    survivor["link"] = [{"other": {"reference": f"Patient/{old_id}"}, "type": "replaces"}]
    retired: JSON = {
        "resourceType": "Patient",
        "id": old_id,
        "identifier": [{**old, "use": "old"}],
        "active": False,
        "link": [{"other": {"reference": f"Patient/{survivor['id']}"}, "type": "replaced-by"}],
    }
    if "name" in survivor:
        retired["name"] = survivor["name"]
    out.resources.extend([survivor, retired])
    return out
