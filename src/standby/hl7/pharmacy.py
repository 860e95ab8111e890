"""RDE^O11 (pharmacy encoded order) -> MedicationRequest; RAS^O17 (administration) ->
MedicationAdministration (v2-to-FHIR: ConceptMap segment-rxe-to-medicationrequest,
segment-rxa-to-medicationadministration, segment-orc-to-medicationrequest).

An order is identified by its placer order number (ORC-2, else the filler's ORC-3): the
administrations of a RAS point at the same MedicationRequest the RDE made.
"""

from __future__ import annotations

import re

from standby.hl7 import datatypes as dt
from standby.hl7.adt import encounter_ref
from standby.hl7.mapped import JSON, Lookup, Mapped, required
from standby.hl7.patient import subject
from standby.hl7.v2 import Message, Rep, Segment

# ORC-1 order control / ORC-5 order status -> MedicationRequest.status
_CONTROL = {
    "NW": "active",
    "XO": "active",
    "RE": "active",
    "SC": None,
    "OK": "active",
    "CA": "cancelled",
    "OC": "cancelled",
    "CR": "cancelled",
    "DC": "stopped",
    "OD": "stopped",
    "DR": "stopped",
    "HD": "on-hold",
    "OH": "on-hold",
    "RL": "active",
    "OR": "active",
}
_ORDER_STATUS = {
    "CM": "completed",
    "DC": "stopped",
    "CA": "cancelled",
    "HD": "on-hold",
    "IP": "active",
    "SC": "active",
    "A": "active",
}
# RXA-20 completion status (table 0322)
_ADMIN_STATUS = {"CP": "completed", "PA": "completed", "RE": "not-done", "NA": "not-done"}
# common v2 repeat patterns (table 0335) -> Timing.repeat
_TIMING = {
    "QD": (1, 1, "d"),
    "DAILY": (1, 1, "d"),
    "BID": (2, 1, "d"),
    "TID": (3, 1, "d"),
    "QID": (4, 1, "d"),
    "QOD": (1, 2, "d"),
    "QHS": (1, 1, "d"),
    "QAM": (1, 1, "d"),
    "QPM": (1, 1, "d"),
    "Q1H": (1, 1, "h"),
    "QH": (1, 1, "h"),
}
_QNH = re.compile(r"^Q(\d+)H$")


def order_identifiers(orc: Segment | None, ctx: dt.Context) -> tuple[JSON | None, JSON | None]:
    if orc is None:
        return None, None
    placer = (
        dt.entity_identifier(orc.field(2)[0], ctx, "placer-order", "PLAC") if orc.field(2) else None
    )
    filler = (
        dt.entity_identifier(orc.field(3)[0], ctx, "filler-order", "FILL") if orc.field(3) else None
    )
    return placer, filler


def order_id(placer: JSON | None, filler: JSON | None, out: Mapped) -> tuple[str, str]:
    """The MedicationRequest's id and key, from the placer (else filler) order number."""
    key_id = placer or filler
    if key_id is None:
        raise required("ORC-2 and ORC-3 (placer and filler order numbers) are both empty")
    key = f"{key_id['system']}|{key_id['value']}"
    mid = dt.stable_id("v2mr", key)
    out.lookups.append(Lookup("MedicationRequest", mid, key_id["system"], key_id["value"]))
    return mid, key


def timing(pattern: str, start: str | None, end: str | None, prn: bool) -> JSON | None:
    """A v2 repeat pattern (Q6H, BID, ...) -> Timing; the pattern kept as its code's text."""
    pattern = pattern.strip().upper()
    out: JSON = {}
    repeat: JSON = {}
    if pattern in _TIMING:
        f, p, u = _TIMING[pattern]
        repeat = {"frequency": f, "period": p, "periodUnit": u}
    elif _QNH.match(pattern):
        repeat = {"frequency": 1, "period": int(_QNH.match(pattern).group(1)), "periodUnit": "h"}  # type: ignore[union-attr]
    if start or end:
        repeat["boundsPeriod"] = {k: v for k, v in (("start", start), ("end", end)) if v}
    if repeat:
        out["repeat"] = repeat
    if pattern and pattern != "PRN":
        out["code"] = {"text": pattern}
    return out or None


def _dose(amount: str, unit: Rep | None, ctx: dt.Context) -> JSON | None:
    q = dt.quantity(amount, unit, ctx) if amount else None
    return q


def map_rde(msg: Message, ctx: dt.Context) -> Mapped:
    """RDE^O11: each ORC with its RXE (and RXR, TQ1) -> MedicationRequest."""
    out = Mapped()
    patient_ref = subject(msg, ctx, out)
    enc = encounter_ref(msg, ctx, out, patient_ref)
    groups = list(msg.groups("ORC", ("RXE", "RXR", "TQ1", "TQ2", "RXC", "NTE", "RXO", "OBX")))
    if not groups:
        raise required("RDE^O11 without an ORC segment")
    for group in groups:
        orc = group[0]
        rxe = next((s for s in group if s.name == "RXE"), None)
        if rxe is None:
            raise required("RDE^O11 order without an RXE segment")
        placer, filler = order_identifiers(orc, ctx)
        mid, _ = order_id(placer, filler, out)
        med = dt.codeable(rxe.field(2)[0] if rxe.field(2) else None, ctx)
        if med is None:
            raise required("RXE-2 (give code) is empty")
        status = _ORDER_STATUS.get(orc.get(5).upper()) or _CONTROL.get(orc.get(1).upper())
        res: JSON = {
            "resourceType": "MedicationRequest",
            "id": mid,
            "identifier": [i for i in (placer, filler) if i],
            "status": status or "active",
            "intent": "order",
            "medicationCodeableConcept": med,
            "subject": patient_ref,
        }
        if enc:
            res["encounter"] = enc
        authored = dt.date_time(orc.get(9), ctx)
        if authored:
            res["authoredOn"] = authored
        requester = dt.practitioner_ref(orc.field(12)[0], ctx) if orc.field(12) else None
        if requester:
            res["requester"] = requester
        dosage: JSON = {}
        instructions = " ".join(rxe.get(7, 2) or rxe.get(7, 1) for _ in (0,)).strip()
        tq1 = next((s for s in group if s.name == "TQ1"), None)
        if tq1 is not None:  # v2.5 and later
            pattern, start, end = tq1.get(3), tq1.get(7), tq1.get(8)
            prn = tq1.get(9).upper() == "PRN"
        else:  # v2.3/2.4: RXE-1 quantity/timing (TQ): quantity^interval^duration^start^end
            pattern, start, end = rxe.get(1, 2), rxe.get(1, 4), rxe.get(1, 5)
            prn = "PRN" in rxe.get(1, 2).upper()
        t = timing(pattern, dt.date_time(start, ctx), dt.date_time(end, ctx), prn)
        if t:
            dosage["timing"] = t
        if prn or "PRN" in pattern.upper():
            dosage["asNeededBoolean"] = True
        dose = _dose(rxe.get(3), rxe.field(5)[0] if rxe.field(5) else None, ctx)
        if dose:
            dosage["doseAndRate"] = [{"doseQuantity": dose}]
        rxr = next((s for s in group if s.name == "RXR"), None)
        if rxr is not None:
            route = dt.codeable(rxr.field(1)[0] if rxr.field(1) else None, ctx, table="0162")
            if route:
                dosage["route"] = route
        text = " ".join(
            x for x in (rxe.get(2, 2), rxe.get(3), rxe.get(5, 1), pattern, instructions) if x
        )
        if text:
            dosage["text"] = text
        if dosage:
            res["dosageInstruction"] = [dosage]
        quantity = _dose(rxe.get(10), rxe.field(11)[0] if rxe.field(11) else None, ctx)
        if quantity:
            res["dispenseRequest"] = {"quantity": quantity}
        notes = [n.get(3) for n in group if n.name == "NTE" and n.get(3)]
        if notes:
            res["note"] = [{"text": "\n".join(notes)}]
        out.resources.append(res)
    return out


def map_ras(msg: Message, ctx: dt.Context) -> Mapped:
    """RAS^O17: each RXA (with its ORC and RXR) -> MedicationAdministration of the order the
    ORC names. Identified by the order and RXA-3 (when it was given) and RXA-2."""
    out = Mapped()
    patient_ref = subject(msg, ctx, out)
    enc = encounter_ref(msg, ctx, out, patient_ref)
    groups = list(msg.groups("ORC", ("RXA", "RXR", "RXC", "NTE", "OBX", "TQ1", "RXE", "RXO")))
    if not groups:
        raise required("RAS^O17 without an ORC segment")
    for group in groups:
        orc = group[0]
        placer, filler = order_identifiers(orc, ctx)
        mid, key = order_id(placer, filler, out)
        rxas = [s for s in group if s.name == "RXA"]
        if not rxas:
            raise required("RAS^O17 order without an RXA segment")
        for i, rxa in enumerate(rxas):
            med = dt.codeable(rxa.field(5)[0] if rxa.field(5) else None, ctx)
            if med is None:
                raise required("RXA-5 (administered code) is empty")
            start = dt.date_time(rxa.get(3), ctx)
            if start is None:
                raise required("RXA-3 (date/time start of administration) is empty")
            end = dt.date_time(rxa.get(4), ctx)
            res: JSON = {
                "resourceType": "MedicationAdministration",
                "id": dt.stable_id("v2ma", key, rxa.get(3), rxa.get(2) or str(i + 1)),
                "status": _ADMIN_STATUS.get(rxa.get(20).upper(), "completed"),
                "medicationCodeableConcept": med,
                "subject": patient_ref,
                "request": {"reference": f"MedicationRequest/{mid}"},
            }
            if end and end != start:
                res["effectivePeriod"] = {"start": start, "end": end}
            else:
                res["effectiveDateTime"] = start
            if enc:
                res["context"] = enc
            dosage: JSON = {}
            dose = _dose(rxa.get(6), rxa.field(7)[0] if rxa.field(7) else None, ctx)
            if dose and rxa.get(6) not in ("0", "999"):
                dosage["dose"] = dose
            rxr = next((s for s in group if s.name == "RXR"), None)
            if rxr is not None:
                route = dt.codeable(rxr.field(1)[0] if rxr.field(1) else None, ctx, table="0162")
                if route:
                    dosage["route"] = route
            if dosage:
                res["dosage"] = dosage
            performers = [p for p in (dt.practitioner_ref(r, ctx) for r in rxa.field(10)) if p]
            if performers:
                res["performer"] = [{"actor": p} for p in performers]
            reason = dt.codeable(rxa.field(18)[0] if rxa.field(18) else None, ctx)
            if reason and res["status"] == "not-done":
                res["statusReason"] = [reason]
            out.resources.append(res)
    return out
