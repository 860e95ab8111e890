"""What the simulated EHR's interface engine sends: its change feed's resources as HL7 v2.5.1
messages (pure: FHIR R4 in, message bytes out).

* an Encounter -> ADT: A01 when admitted, A02 when it has left a bed for another, A03 when
  finished; PID from the Patient, PV1 with the bed (`loc-3w-301-a` -> `3W^301^A`, the
  convention `standby.hl7.adt` reads back) and the visit number (PV1-19, in the EHR's
  visit-number system given as the assigning authority's universal id);
* a laboratory Observation -> ORU^R01 from the lab (a sender of its own): one OBR whose
  filler order number is the Observation's id, one OBX with value, units, reference range
  and abnormal flag;
* a MedicationAdministration -> RAS^O17: ORC-2 the order's placer number (the EHR's
  MedicationRequest id, namespace SIMEHR), RXA given or not given, RXR route.

Anything else the feed writes (vital signs, appointments) is not sent. Values are escaped
(`\\F\\`, `\\S\\`, ...), so the receiver sees the text the EHR holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from standby.sim.generate import codes as c

JSON = dict[str, Any]
LAB_SENDER = ("SIMLAB", "SGH")  # MSH-3, MSH-4 of results
EHR_SENDER = ("SIMEHR", "SGH")  # of admissions, transfers, discharges and administrations


@dataclass(frozen=True, slots=True)
class Outgoing:
    kind: str  # "ADT", "ORU", "RAS"
    control_id: str
    data: bytes

    @property
    def from_lab(self) -> bool:
        return self.kind == "ORU"


def escape(text: object) -> str:
    """HL7 v2 escape sequences for the delimiters (`|^~\\&`) and line breaks."""
    s = str(text)
    s = s.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    s = s.replace("&", "\\T\\").replace("~", "\\R\\")
    return s.replace("\r\n", "\\.br\\").replace("\n", "\\.br\\").replace("\r", "\\.br\\")


def ts(value: str | datetime | None) -> str:
    """An instant or date as a v2 DTM in UTC (`20261130081500+0000`); a date stays a date."""
    if value is None:
        return ""
    if isinstance(value, str):
        if len(value) == 10:
            return value.replace("-", "")
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def bed_pl(location_id: str) -> str:
    """`loc-3w-301-a` -> `3W^301^A` (unit^room^bed); another Location -> its id's tail."""
    parts = location_id.removeprefix("loc-").split("-")
    if len(parts) == 3:
        return "^".join(escape(p.upper()) for p in parts)
    return escape(location_id.removeprefix("loc-").upper())


def _ref_id(ref: JSON | None) -> str:
    return str((ref or {}).get("reference", "")).rsplit("/", 1)[-1]


def _msh(sender: tuple[str, str], at: str, kind: str, control_id: str) -> str:
    return f"MSH|^~\\&|{sender[0]}|{sender[1]}|STANDBY|SGH|{at}||{kind}|{control_id}|P|2.5.1"


def _pid(patient: JSON) -> str:
    mrn = next(
        (i["value"] for i in patient.get("identifier") or [] if i.get("system") == c.MRN_SYSTEM),
        patient.get("id", ""),
    )
    name = (patient.get("name") or [{}])[0]
    given = " ".join(name.get("given") or [])
    sex = {"male": "M", "female": "F", "other": "O"}.get(str(patient.get("gender")), "U")
    return (
        f"PID|1||{escape(mrn)}^^^SGH^MR||{escape(name.get('family', ''))}^{escape(given)}"
        f"||{ts(patient.get('birthDate'))}|{sex}"
    )


def _visit(encounter: JSON) -> str:
    vn = next(
        (
            i["value"]
            for i in encounter.get("identifier") or []
            if i.get("system") == c.VISIT_SYSTEM
        ),
        "",
    )
    return f"{escape(vn)}^^^&{c.VISIT_SYSTEM}&URI^VN" if vn else ""


def _beds(encounter: JSON) -> tuple[str, str]:
    """(the bed now, the bed left last) as PLs."""
    locs = encounter.get("location") or []
    active = [x for x in locs if x.get("status") != "completed"]
    left = [x for x in locs if x.get("status") == "completed"]
    now = bed_pl(_ref_id(active[-1]["location"])) if active else ""
    before = bed_pl(_ref_id(left[-1]["location"])) if left else ""
    return now, before


def _pv1(encounter: JSON) -> str:
    now, before = _beds(encounter)
    cls = {"IMP": "I", "EMER": "E", "AMB": "O"}.get(
        str((encounter.get("class") or {}).get("code")), "I"
    )
    period = encounter.get("period") or {}
    fields = [""] * 46
    fields[1], fields[2], fields[3], fields[6] = "1", cls, now, before
    fields[19] = _visit(encounter)
    fields[44], fields[45] = ts(period.get("start")), ts(period.get("end"))
    return "PV1|" + "|".join(fields[1:]).rstrip("|")


def adt(encounter: JSON, patient: JSON, at: datetime, control_id: str) -> Outgoing:
    """The ADT message an Encounter's new state is: A03, A02 or A01 (see the module doc)."""
    now_bed, left_bed = _beds(encounter)
    if encounter.get("status") == "finished":
        event = "A03"
    elif left_bed and now_bed:
        event = "A02"
    else:
        event = "A01"
    t = ts(at)
    segs = [
        _msh(EHR_SENDER, t, f"ADT^{event}^ADT_A01", control_id),
        f"EVN|{event}|{t}||||{t}",
        _pid(patient),
        _pv1(encounter),
    ]
    return Outgoing("ADT", control_id, ("\r".join(segs) + "\r").encode())


def _coding(concept: JSON | None, system: str) -> tuple[str, str]:
    codings = (concept or {}).get("coding") or []
    hit = next((x for x in codings if x.get("system") == system), codings[0] if codings else {})
    return str(hit.get("code", "")), str(hit.get("display") or (concept or {}).get("text") or "")


def _flag(obs: JSON) -> str:
    for concept in obs.get("interpretation") or []:
        code, _ = _coding(concept, "")
        if code:
            return code
    return ""


def _range(obs: JSON) -> str:
    rr = (obs.get("referenceRange") or [{}])[0]
    low, high = (rr.get("low") or {}).get("value"), (rr.get("high") or {}).get("value")
    if low is not None and high is not None:
        return f"{low}-{high}"
    if high is not None:
        return f"<{high}"
    if low is not None:
        return f">{low}"
    return escape(rr.get("text", ""))


def oru(
    obs: JSON, patient: JSON, encounter: JSON | None, at: datetime, control_id: str
) -> Outgoing:
    """ORU^R01 of one laboratory Observation, from the lab."""
    code, name = _coding(obs.get("code"), c.LOINC)
    q = obs.get("valueQuantity") or {}
    when = ts(obs.get("effectiveDateTime") or obs.get("issued")) or ts(at)
    issued = ts(obs.get("issued")) or ts(at)
    status = {"preliminary": "P", "corrected": "C", "amended": "C"}.get(str(obs.get("status")), "F")
    filler = escape(obs.get("id", control_id))
    segs = [
        _msh(LAB_SENDER, ts(at), "ORU^R01^ORU_R01", control_id),
        _pid(patient),
        *([_pv1(encounter)] if encounter else []),
        f"ORC|RE||{filler}^SIMLAB",
        f"OBR|1||{filler}^SIMLAB|{escape(code)}^{escape(name)}^LN|||{when}"
        f"|||||||||||||||{issued}||CH|{status}",
        f"OBX|1|NM|{escape(code)}^{escape(name)}^LN||{escape(q.get('value', ''))}"
        f"|{escape(q.get('code') or q.get('unit') or '')}|{_range(obs)}|{escape(_flag(obs))}"
        f"|||{status}|||{when}",
    ]
    return Outgoing("ORU", control_id, ("\r".join(segs) + "\r").encode())


def ras(
    admin: JSON, patient: JSON, encounter: JSON | None, at: datetime, control_id: str
) -> Outgoing:
    """RAS^O17 of one MedicationAdministration; ORC-2 names its order."""
    order = _ref_id(admin.get("request"))
    code, name = _coding(admin.get("medicationCodeableConcept"), c.RXNORM)
    when = admin.get("effectiveDateTime") or (admin.get("effectivePeriod") or {}).get("start")
    end = (admin.get("effectivePeriod") or {}).get("end") or when
    dosage = admin.get("dosage") or {}
    dose = dosage.get("dose") or {}
    route_code, route_name = _coding(dosage.get("route"), "")
    given = admin.get("status") != "not-done"
    performer = _ref_id(((admin.get("performer") or [{}])[0]).get("actor"))
    segs = [
        _msh(EHR_SENDER, ts(at), "RAS^O17^RAS_O17", control_id),
        _pid(patient),
        *([_pv1(encounter)] if encounter else []),
        f"ORC|RE|{escape(order)}^SIMEHR",
        f"RXA|0|1|{ts(when)}|{ts(end)}|{escape(code)}^{escape(name)}^RXN"
        f"|{escape(dose.get('value', '')) if given else '0'}"
        f"|{escape(dose.get('code') or dose.get('unit') or '') if given else ''}"
        f"|||{escape(performer)}||||||||||{'CP' if given else 'NA'}",
        *([f"RXR|{escape(route_code)}^{escape(route_name)}"] if route_code else []),
    ]
    return Outgoing("RAS", control_id, ("\r".join(segs) + "\r").encode())
