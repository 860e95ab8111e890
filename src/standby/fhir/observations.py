"""Observations in the summary: code status, vital signs (table and series), labs with
abnormal flags and reference ranges.

Observation: https://hl7.org/fhir/R4/observation.html (LOINC codes: docs/data-model.md)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from standby.fhir import display as d
from standby.fhir.summary_model import (
    _EPOCH,
    ABNORMAL,
    CODE_STATUS_LOINC,
    CODE_STATUS_TEXT,
    JSON,
    VITAL_COLUMNS,
    VITALS,
    CodeStatus,
    LabResult,
    Section,
    VitalRow,
    VitalSigns,
    make_section,
)


def effective(r: JSON) -> datetime | None:
    return (
        d.parse_instant(r.get("effectiveDateTime"))
        or d.parse_instant((r.get("effectivePeriod") or {}).get("start"))
        or d.parse_instant(r.get("effectiveInstant"))
        or d.parse_instant(r.get("issued"))
    )


def observation_code(r: JSON) -> str | None:
    cc = r.get("code")
    if isinstance(cc, dict):  # d.codings(cc), inlined: this runs for every Observation
        for c in cc.get("coding") or []:
            if isinstance(c, dict) and c.get("system") in (d.LOINC, None) and c.get("code"):
                return str(c["code"])
    return d.first_code(cc)


def category_codes(r: JSON) -> set[str]:
    cats = r.get("category") or []
    if isinstance(cats, Mapping):
        cats = [cats]
    out: set[str] = set()
    for c in cats:
        if isinstance(c, dict):  # d.codes_of(c), inlined
            for x in c.get("coding") or []:
                if isinstance(x, dict) and x.get("code"):
                    out.add(str(x.get("code")))
    return out


def code_status(observations: Sequence[JSON], held: Collection[str] | None) -> CodeStatus:
    best: tuple[datetime, JSON] | None = None
    for r in observations:
        if observation_code(r) != CODE_STATUS_LOINC or r.get("status") in (
            "entered-in-error",
            "cancelled",
        ):
            continue
        key = effective(r) or _EPOCH
        if best is None or key > best[0]:
            best = (key, r)
    if best is None:
        if held is not None and "Observation" not in held:
            return CodeStatus("Code status not synchronised", None, None)
        return CodeStatus("Code status not recorded", None, None)
    r = best[1]
    cc = r.get("valueCodeableConcept")
    code = next((c for c in sorted(d.codes_of(cc)) if c in CODE_STATUS_TEXT), None)
    text = (
        CODE_STATUS_TEXT.get(code or "", "")
        or d.concept_text(cc)
        or str(r.get("valueString") or "See order")
    )
    return CodeStatus(text, code or d.first_code(cc), None if best[0] == _EPOCH else best[0])


def vital_signs(observations: Sequence[JSON], now: datetime, hours: float = 48) -> VitalSigns:
    since = now - timedelta(hours=hours)
    until = now + timedelta(minutes=5)
    rows: dict[datetime, dict[str, str]] = {}
    series: dict[str, list[tuple[datetime, float]]] = {}
    latest: dict[str, tuple[datetime, str]] = {}
    for r in observations:
        if r.get("status") in ("entered-in-error", "cancelled"):
            continue
        col = VITALS.get(observation_code(r) or "")
        if col is None:
            continue
        w = effective(r)
        if w is None:
            continue
        outside = w < since or w > until
        if outside and col in latest and w <= latest[col][0]:
            continue  # neither shown nor the latest: its value is not needed
        text, num = _vital_value(r, col)
        if not text:
            continue
        if col not in latest or w > latest[col][0]:
            latest[col] = (w, text)
        if outside:
            continue
        if col in VITAL_COLUMNS:
            rows.setdefault(w, {})[col] = text
        if num is not None:
            series.setdefault(col, []).append((w, num))
    for s in series.values():
        s.sort()
    return VitalSigns(
        [VitalRow(w, v) for w, v in sorted(rows.items(), reverse=True)], series, latest
    )


def _vital_value(r: JSON, col: str) -> tuple[str, float | None]:
    if col == "BP":
        sys_ = dia = None
        for comp in r.get("component") or []:
            code = observation_code(comp)
            v = (comp.get("valueQuantity") or {}).get("value")
            if code == "8480-6":
                sys_ = v
            elif code == "8462-4":
                dia = v
        if sys_ is None:
            return ("", None)
        return (f"{d.number(sys_)}/{d.number(dia) if dia is not None else '?'}", float(sys_))
    q = r.get("valueQuantity")
    if q is not None:
        v = q.get("value")
        return (d.quantity(q), float(v) if isinstance(v, int | float) else None)
    if r.get("valueInteger") is not None:
        return (str(r["valueInteger"]), float(r["valueInteger"]))
    return (d.concept_text(r.get("valueCodeableConcept")) or str(r.get("valueString") or ""), None)


def _interpretation(r: JSON) -> str:
    for c in r.get("interpretation") or []:
        code = d.first_code(c)
        if code:
            return code
    return ""


def _range(r: JSON) -> tuple[str, float | None, float | None]:
    rr = (r.get("referenceRange") or [{}])[0]
    if rr.get("text"):
        return (str(rr["text"]), None, None)
    low = (rr.get("low") or {}).get("value")
    high = (rr.get("high") or {}).get("value")
    if low is None and high is None:
        return ("", None, None)
    if low is not None and high is not None:
        return (f"{d.number(low)}–{d.number(high)}", low, high)
    return ((f"≥ {d.number(low)}" if low is not None else f"≤ {d.number(high)}"), low, high)


def lab_results(
    observations: Sequence[JSON],
    now: datetime,
    hours: float = 48,
    held: Collection[str] | None = None,
) -> Section[LabResult]:
    since = now - timedelta(hours=hours)
    out = []
    for r in observations:
        if "laboratory" not in category_codes(r) or r.get("status") in (
            "entered-in-error",
            "cancelled",
        ):
            continue
        w = effective(r)
        if w is not None and w < since:
            continue
        text, low, high = _range(r)
        flag = _interpretation(r)
        q = r.get("valueQuantity")
        value = (
            d.quantity(q)
            if q
            else d.concept_text(r.get("valueCodeableConcept")) or str(r.get("valueString") or "")
        )
        v = (q or {}).get("value")
        if not flag and isinstance(v, int | float):
            if low is not None and v < low:
                flag = "L"
            elif high is not None and v > high:
                flag = "H"
        out.append(
            LabResult(
                d.concept_text(r.get("code"), "(unnamed test)"),
                observation_code(r),
                value or "(no value)",
                text,
                flag,
                flag in ABNORMAL,
                w,
            )
        )
    out.sort(key=lambda x: (x.when is None, -(x.when.timestamp() if x.when else 0), x.name))
    return make_section(out, "laboratory results in the last 48 h", ["Observation"], held)
