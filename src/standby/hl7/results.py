"""ORU^R01 -> DiagnosticReport and Observation; MDM^T02 -> DocumentReference
(v2-to-FHIR: ConceptMap segment-obr-to-diagnosticreport, segment-obx-to-observation,
segment-txa-to-documentreference; https://build.fhir.org/ig/HL7/v2-to-fhir/).

A result is identified by its order's filler number (OBR-3, else the placer number OBR-2)
and, for each Observation, the OBX's code and sub-id: a corrected result (status C) is a
new version of the same resources.
"""

from __future__ import annotations

import base64
import re

from standby.hl7 import datatypes as dt
from standby.hl7.adt import encounter_ref
from standby.hl7.mapped import JSON, Lookup, Mapped, required
from standby.hl7.patient import subject
from standby.hl7.v2 import Message, Segment

INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DIAG_SECTION = "http://terminology.hl7.org/CodeSystem/v2-0074"
# OBX-11 / OBR-25 result status (tables 0085, 0123) -> Observation / DiagnosticReport status
_OBS_STATUS = {
    "F": "final",
    "P": "preliminary",
    "C": "corrected",
    "R": "registered",
    "I": "registered",
    "S": "preliminary",
    "D": "entered-in-error",
    "W": "entered-in-error",
    "X": "cancelled",
    "U": "final",
    "A": "amended",
}
_REPORT_STATUS = {
    "F": "final",
    "P": "preliminary",
    "C": "corrected",
    "R": "partial",
    "I": "registered",
    "S": "partial",
    "A": "partial",
    "X": "cancelled",
    "O": "registered",
    "Y": "final",
    "Z": "final",
}
# OBX-8 (table 0078) -> v3 ObservationInterpretation (the IG's concept map is the identity
# for these codes, with "<"/">" off-scale and "N" normal)
_FLAGS = {
    "L": "Low",
    "H": "High",
    "LL": "Critical low",
    "HH": "Critical high",
    "<": "Off scale low",
    ">": "Off scale high",
    "N": "Normal",
    "A": "Abnormal",
    "AA": "Critical abnormal",
    "U": "Significant change up",
    "D": "Significant change down",
    "B": "Better",
    "W": "Worse",
    "S": "Susceptible",
    "R": "Resistant",
    "I": "Intermediate",
    "NEG": "Negative",
    "POS": "Positive",
    "IND": "Indeterminate",
    "DET": "Detected",
    "ND": "Not detected",
    "LU": "Significantly low",
    "HU": "Significantly high",
}
_RANGE = re.compile(r"^\s*([-+]?\d*\.?\d+)\s*(?:-|–|to)\s*([-+]?\d*\.?\d+)\s*$")
_BOUND = re.compile(r"^\s*(<=?|>=?)\s*([-+]?\d*\.?\d+)\s*$")


def _number(text: str) -> float | int:
    f = float(text)
    return int(f) if f.is_integer() and "." not in text else f


def reference_range(text: str, unit: JSON | None) -> JSON | None:
    """OBX-7 ("3.5-5.1", "<5", ">=60", anything else as text) -> Observation.referenceRange."""
    if not text.strip():
        return None

    def q(v: str) -> JSON:
        out: JSON = {"value": _number(v)}
        if unit:
            out.update({k: unit[k] for k in ("unit", "system", "code") if k in unit})
        return out

    m = _RANGE.match(text)
    if m:
        return {"low": q(m.group(1)), "high": q(m.group(2)), "text": text.strip()}
    m = _BOUND.match(text)
    if m:
        side = "high" if m.group(1).startswith("<") else "low"
        return {side: q(m.group(2)), "text": text.strip()}
    return {"text": text.strip()}


def _value(obx: Segment, ctx: dt.Context) -> tuple[str, object] | None:
    """OBX-5 read by its type OBX-2: (the Observation's value[x] name, the value)."""
    vtype = obx.get(2).upper()
    reps = obx.field(5)
    if not reps:
        return None
    first = reps[0]
    raw = first[0][0] if first and first[0] else ""
    units = obx.field(6)[0] if obx.field(6) else None
    if vtype == "NM":
        q = dt.quantity(raw, units, ctx)
        return ("valueQuantity", q) if q else ("valueString", raw)
    if vtype == "SN":  # structured numeric: comparator^num1^separator^num2
        comparator, n1, sep, n2 = (first[i][0] if i < len(first) else "" for i in range(4))
        if sep in (":", "/") and n2:
            q1, q2 = dt.quantity(n1, None, ctx), dt.quantity(n2, None, ctx)
            if q1 and q2:
                return "valueRatio", {"numerator": q1, "denominator": q2}
        q = dt.quantity(n1, units, ctx)
        if q and not sep:
            if comparator in ("<", ">", "<=", ">="):
                q["comparator"] = comparator
            return "valueQuantity", q
        return "valueString", "".join(c[0] for c in first if c)
    if vtype in ("CWE", "CE", "CNE", "CF"):
        cc = dt.codeable(first, ctx)
        return ("valueCodeableConcept", cc) if cc else None
    if vtype in ("DT", "TS", "DTM"):
        when = dt.date_time(raw, ctx)
        return ("valueDateTime", when) if when else ("valueString", raw)
    if vtype == "TM":
        return "valueString", raw
    # ST, TX, FT: text; repetitions are lines, formatted text's line breaks kept
    text = "\n".join("^".join(c[0] for c in rep if c) for rep in reps).replace("\r", "\n")
    return "valueString", text


def observation(
    obx: Segment, ctx: dt.Context, report_key: str, seen: dict[str, int], base: JSON
) -> JSON | None:
    code = dt.codeable(obx.field(3)[0] if obx.field(3) else None, ctx)
    if code is None:
        return None
    code_key = (code.get("coding", [{}])[0].get("code") or code.get("text", "")).lower()
    key = f"{code_key}|{obx.get(4)}"
    seen[key] = seen.get(key, 0) + 1  # the same code twice without sub-ids: keep both
    res: JSON = {
        "resourceType": "Observation",
        "id": dt.stable_id("v2ob", report_key, key, str(seen[key])),
        "status": _OBS_STATUS.get(obx.get(11).upper(), "final"),
        "category": [
            {"coding": [{"system": OBS_CATEGORY, "code": "laboratory", "display": "Laboratory"}]}
        ],
        "code": code,
        **base,
    }
    when = dt.date_time(obx.get(14), ctx)
    if when:
        res["effectiveDateTime"] = when
    value = _value(obx, ctx)
    if value is not None:
        res[value[0]] = value[1]
    flags = []
    for rep in obx.field(8):
        flag = rep[0][0] if rep and rep[0] else ""
        if flag:
            c: JSON = {"system": INTERPRETATION, "code": flag.upper()}
            if flag.upper() in _FLAGS:
                c["display"] = _FLAGS[flag.upper()]
            flags.append({"coding": [c]})
    if flags:
        res["interpretation"] = flags
    unit = res.get("valueQuantity") if isinstance(res.get("valueQuantity"), dict) else None
    rng = reference_range(obx.get(7), {k: v for k, v in (unit or {}).items() if k != "value"})
    if rng:
        res["referenceRange"] = [rng]
    performer = dt.practitioner_ref(obx.field(16)[0], ctx) if obx.field(16) else None
    if performer:
        res["performer"] = [performer]
    return res


def _notes(segments: list[Segment]) -> list[JSON]:
    text = "\n".join(n.get(3) for n in segments if n.name == "NTE" and n.get(3))
    return [{"text": text}] if text else []


def map_oru(msg: Message, ctx: dt.Context) -> Mapped:
    """ORU^R01: each OBR with its OBX and NTE -> one DiagnosticReport and its Observations."""
    out = Mapped()
    patient_ref = subject(msg, ctx, out)
    enc = encounter_ref(msg, ctx, out, patient_ref)
    groups = list(msg.groups("OBR", ("OBX", "NTE", "ORC", "TQ1", "SPM", "CTI")))
    if not groups:
        raise required("ORU^R01 without an OBR segment")
    orc = msg.first("ORC")
    for group in groups:
        obr = group[0]
        filler = (
            dt.entity_identifier(obr.field(3)[0], ctx, "filler-order", "FILL")
            if obr.field(3)
            else None
        )
        placer = (
            dt.entity_identifier(obr.field(2)[0], ctx, "placer-order", "PLAC")
            if obr.field(2)
            else None
        )
        if filler is None and placer is None and orc is not None:
            filler = (
                dt.entity_identifier(orc.field(3)[0], ctx, "filler-order", "FILL")
                if orc.field(3)
                else None
            )
            placer = (
                dt.entity_identifier(orc.field(2)[0], ctx, "placer-order", "PLAC")
                if orc.field(2)
                else None
            )
        key_id = filler or placer
        if key_id is None:
            raise required("OBR-2 and OBR-3 (placer and filler order numbers) are both empty")
        report_key = f"{key_id['system']}|{key_id['value']}"
        rid = dt.stable_id("v2dr", report_key)
        out.lookups.append(Lookup("DiagnosticReport", rid, key_id["system"], key_id["value"]))
        code = dt.codeable(obr.field(4)[0] if obr.field(4) else None, ctx)
        if code is None:
            raise required("OBR-4 (universal service identifier) is empty")
        base: JSON = {"subject": patient_ref}
        if enc:
            base["encounter"] = enc
        effective = dt.date_time(obr.get(7), ctx)
        report: JSON = {
            "resourceType": "DiagnosticReport",
            "id": rid,
            "identifier": [i for i in (placer, filler) if i],
            "status": _REPORT_STATUS.get(obr.get(25).upper(), "final"),
            "category": [{"coding": [{"system": DIAG_SECTION, "code": obr.get(24) or "LAB"}]}],
            "code": code,
            **base,
        }
        if effective:
            report["effectiveDateTime"] = effective
        issued = dt.instant(obr.get(22), ctx)
        if issued:
            report["issued"] = issued
        seen: dict[str, int] = {}
        results = []
        obs_base = dict(base)
        if effective:
            obs_base["effectiveDateTime"] = effective
        for seg in group[1:]:
            if seg.name != "OBX":
                continue
            obs = observation(seg, ctx, report_key, seen, obs_base)
            if obs is None:
                continue
            idx = group.index(seg)
            notes = _notes(group[idx + 1 : idx + 1 + _note_run(group, idx + 1)])
            if notes:
                obs["note"] = notes
            results.append(obs)
        if results:
            report["result"] = [{"reference": f"Observation/{o['id']}"} for o in results]
        conclusion = _notes(group[1 : 1 + _note_run(group, 1)])
        if conclusion:
            report["conclusion"] = conclusion[0]["text"]
        out.resources.append(report)
        out.resources.extend(results)
    return out


def _note_run(group: list[Segment], start: int) -> int:
    n = 0
    while start + n < len(group) and group[start + n].name == "NTE":
        n += 1
    return n


_DOC_STATUS = {
    "AU": "final",
    "LA": "final",
    "DO": "preliminary",
    "IP": "preliminary",
    "IN": "preliminary",
    "PA": "preliminary",
    "DI": "preliminary",
}


def map_mdm(msg: Message, ctx: dt.Context) -> Mapped:
    """MDM^T02 (original document notification and content) -> DocumentReference with the
    text of its OBX segments as a text/plain attachment."""
    out = Mapped()
    patient_ref = subject(msg, ctx, out)
    enc = encounter_ref(msg, ctx, out, patient_ref)
    txa = msg.first("TXA")
    if txa is None:
        raise required("MDM^T02 without a TXA segment")
    number = (
        dt.entity_identifier(txa.field(12)[0], ctx, "document", "FILL") if txa.field(12) else None
    )
    if number is None:
        raise required("TXA-12 (unique document number) is empty")
    did = dt.stable_id("v2doc", number["system"], number["value"])
    out.lookups.append(Lookup("DocumentReference", did, number["system"], number["value"]))
    lines = []
    for obx in msg.all("OBX"):
        for rep in obx.field(5):
            lines.append("^".join(c[0] for c in rep if c).replace("\r", "\n"))
    doc_type = dt.codeable(txa.field(2)[0] if txa.field(2) else None, ctx, table="0270")
    res: JSON = {
        "resourceType": "DocumentReference",
        "id": did,
        "masterIdentifier": {"system": number["system"], "value": number["value"]},
        "status": "current",
        "type": doc_type or {"text": "Document"},
        "subject": patient_ref,
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode("\n".join(lines).encode()).decode(),
                    "title": (doc_type or {}).get("text", "Document"),
                }
            }
        ],
    }
    doc_status = _DOC_STATUS.get(txa.get(17).upper())
    if doc_status:
        res["docStatus"] = doc_status
    when = dt.instant(txa.get(4), ctx) or dt.instant(txa.get(6), ctx)
    if when:
        res["date"] = when
    authors = [a for a in (dt.practitioner_ref(r, ctx) for r in txa.field(9) + txa.field(5)) if a]
    if authors:
        res["author"] = authors[:1]
    if enc:
        res["context"] = {"encounter": [enc]}
    out.resources.append(res)
    return out
