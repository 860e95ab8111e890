"""SIU^S12-S15 (new, rescheduled, modified, cancelled appointment) -> Appointment
(v2-to-FHIR: ConceptMap segment-sch-to-appointment, segment-ais/aig/ail/aip).

An appointment is identified by its filler appointment id (SCH-2, else the placer's SCH-1).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from standby.hl7 import datatypes as dt
from standby.hl7.mapped import JSON, Lookup, Mapped, required
from standby.hl7.patient import subject
from standby.hl7.v2 import Message

# SCH-25 filler status code (table 0278) -> Appointment.status
_FILLER_STATUS = {
    "BOOKED": "booked",
    "PENDING": "pending",
    "WAITLIST": "waitlist",
    "CANCELLED": "cancelled",
    "DELETED": "entered-in-error",
    "COMPLETE": "fulfilled",
    "DC": "cancelled",
    "NOSHOW": "noshow",
    "STARTED": "arrived",
    "OVERBOOK": "booked",
    "BLOCKED": "booked",
}
_EVENT_STATUS = {"S12": "booked", "S13": "booked", "S14": "booked", "S15": "cancelled"}
_UNIT_SECONDS = {"S": 1, "M": 60, "MIN": 60, "H": 3600, "HR": 3600, "D": 86400}
EVENTS = tuple(_EVENT_STATUS)


def _plus(when: str, seconds: float) -> str:
    t = datetime.fromisoformat(when.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def map_siu(msg: Message, ctx: dt.Context) -> Mapped:
    out = Mapped()
    patient_ref = subject(msg, ctx, out)
    sch = msg.first("SCH")
    if sch is None:
        raise required(f"SIU^{msg.trigger} without an SCH segment")
    filler = (
        dt.entity_identifier(sch.field(2)[0], ctx, "appointment", "FILL") if sch.field(2) else None
    )
    placer = (
        dt.entity_identifier(sch.field(1)[0], ctx, "appointment", "PLAC") if sch.field(1) else None
    )
    key_id = filler or placer
    if key_id is None:
        raise required("SCH-1 and SCH-2 (placer and filler appointment ids) are both empty")
    aid = dt.stable_id("v2ap", key_id["system"], key_id["value"])
    out.lookups.append(Lookup("Appointment", aid, key_id["system"], key_id["value"]))
    status = _EVENT_STATUS[msg.trigger]
    if msg.trigger != "S15":
        status = _FILLER_STATUS.get(sch.get(25, 1).upper().replace("-", ""), status)
    res: JSON = {
        "resourceType": "Appointment",
        "id": aid,
        "identifier": [i for i in (placer, filler) if i],
        "status": status,
    }
    ais = msg.first("AIS")
    # v2.5+: AIS-4 start and AIS-7/8 duration; v2.3/2.4: SCH-11 (TQ) start^end
    start = dt.instant(ais.get(4), ctx) if ais else None
    start = start or dt.instant(sch.get(11, 4), ctx)
    end = dt.instant(sch.get(11, 5), ctx)
    if start and not end and ais is not None and ais.get(7):
        try:
            unit = _UNIT_SECONDS.get(ais.get(8, 1).upper(), 60)
            end = _plus(start, float(ais.get(7)) * unit)
        except ValueError:
            end = None
    if start and not end and sch.get(9):  # SCH-9 appointment duration, SCH-10 its units
        try:
            end = _plus(start, float(sch.get(9)) * _UNIT_SECONDS.get(sch.get(10, 1).upper(), 60))
        except ValueError:
            end = None
    if status not in ("proposed", "cancelled", "waitlist") and not (start and end):
        raise required("no start and end time (AIS-4 and AIS-7, or SCH-11)")
    if start:
        res["start"] = start
    if end:
        res["end"] = end
    if start and end:
        res["minutesDuration"] = max(
            1,
            int(
                (
                    datetime.fromisoformat(end.replace("Z", "+00:00"))
                    - datetime.fromisoformat(start.replace("Z", "+00:00"))
                ).total_seconds()
                // 60
            ),
        )
    kind = dt.codeable(sch.field(8)[0] if sch.field(8) else None, ctx, table="0277")
    if kind:
        res["appointmentType"] = kind
    reason = dt.codeable(sch.field(7)[0] if sch.field(7) else None, ctx)
    if reason:
        res["reasonCode"] = [reason]
    if ais is not None:
        service = dt.codeable(ais.field(3)[0] if ais.field(3) else None, ctx)
        if service:
            res["serviceType"] = [service]
    if msg.trigger == "S15":
        why = dt.codeable(sch.field(6)[0] if sch.field(6) else None, ctx)
        if why:
            res["cancelationReason"] = why
    participants: list[JSON] = [{"actor": patient_ref, "status": "accepted"}]
    for aip in msg.all("AIP"):
        who = dt.practitioner_ref(aip.field(3)[0], ctx) if aip.field(3) else None
        if who:
            participants.append({"actor": who, "status": "accepted"})
    for ail in msg.all("AIL"):
        where = dt.bed_name(ail.field(3)[0]) if ail.field(3) else ""
        if where:
            participants.append({"actor": {"display": where}, "status": "accepted"})
    res["participant"] = participants
    comment = sch.get(7, 2) if not reason else ""
    if comment:
        res["comment"] = comment
    out.resources.append(res)
    return out
