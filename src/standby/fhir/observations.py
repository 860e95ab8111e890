"""Observations in the summary: code status, vital signs (table and series), labs with
abnormal flags and reference ranges.

Observation: https://hl7.org/fhir/R4/observation.html (LOINC codes: docs/data-model.md)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta

from standby.fhir import display as d
from standby.fhir import units
from standby.fhir.data_source import received_during_downtime, source_text
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


# Adult ranges a set is flagged against when the EHR sends no interpretation of its own
# (the chart shades the same ranges). Systolic for BP; diastolic has its own.
VITAL_RANGES: dict[str, tuple[float, float]] = {
    "HR": (60.0, 100.0),
    "BP": (90.0, 140.0),
    "RR": (12.0, 20.0),
    "Temp": (36.0, 38.0),
    "SpO2": (94.0, 100.0),
}
DIASTOLIC_RANGE = (60.0, 90.0)
VITAL_RANGES_TEXT = (
    "adult ranges: BP 90–140 / 60–90 mmHg, HR 60–100 /min, RR 12–20 /min, "
    "Temp 36–38 °C, SpO2 ≥ 94 %"
)
SET_SPAN = timedelta(minutes=30)  # readings this close to a set's first one belong to it
ADULT_YEARS = 18


def _is_adult(birth: date | None, now: datetime) -> bool:
    if birth is None:
        return True
    years = now.year - birth.year - ((now.month, now.day) < (birth.month, birth.day))
    return years >= ADULT_YEARS


def vital_signs(
    observations: Sequence[JSON],
    now: datetime,
    hours: float = 48,
    *,
    birth: date | None = None,
) -> VitalSigns:
    """Vital signs of the last `hours` as sets (readings taken together, newest first),
    the series of each measurement for the chart, and each measurement's latest value.

    A set gathers the readings within `SET_SPAN` of its first one, one of each
    measurement; a second reading of the same measurement starts a new set. Each value
    carries a flag: the Observation's own interpretation when the EHR sends one, else
    (for adults, or when the age is unknown) the adult ranges of `VITAL_RANGES`."""
    since = now - timedelta(hours=hours)
    until = now + timedelta(minutes=5)
    adult = _is_adult(birth, now)
    readings: list[tuple[datetime, str, str, str, str]] = []  # (when, column, text, flag, ref)
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
            flag = _interpretation(r)
            if flag not in ABNORMAL and adult:
                flag = _vital_flag(r, col, num)
            ref = f"Observation/{r.get('id')}"
            readings.append((w, col, text, flag if flag in ABNORMAL else "", ref))
        if num is not None:
            series.setdefault(col, []).append((w, num))
    for s in series.values():
        s.sort()
    return VitalSigns(
        _sets(readings), series, latest, VITAL_RANGES_TEXT if adult and readings else ""
    )


def _sets(readings: list[tuple[datetime, str, str, str, str]]) -> list[VitalRow]:
    readings.sort(key=lambda x: (x[0], x[1]))
    sets: list[VitalRow] = []
    for w, col, text, flag, ref in readings:
        cur = sets[-1] if sets else None
        if cur is None or col in cur.values or w - cur.when > SET_SPAN:
            cur = VitalRow(w, {}, {}, {})
            sets.append(cur)
        cur.values[col] = text
        cur.refs[col] = ref
        if flag:
            cur.flags[col] = flag
    return sets[::-1]


def _vital_flag(r: JSON, col: str, num: float | None) -> str:
    if num is None:
        return ""
    rng = VITAL_RANGES.get(col)
    flag = _outside(num, rng)
    if col == "BP" and not flag:
        for comp in r.get("component") or []:
            v = (comp.get("valueQuantity") or {}).get("value")
            if observation_code(comp) == "8462-4" and isinstance(v, int | float):
                flag = _outside(float(v), DIASTOLIC_RANGE)
    return flag


def _outside(v: float, rng: tuple[float, float] | None) -> str:
    if rng is None:
        return ""
    return "L" if v < rng[0] else "H" if v > rng[1] else ""


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
        return (units.quantity_text(q), float(v) if isinstance(v, int | float) else None)
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


# Panels by the LOINC code of their members, in the order they are shown; a result whose
# panel Observation (`hasMember`) is in the record takes that panel's name instead.
LAB_PANELS: list[tuple[str, tuple[str, ...]]] = [
    (
        "Complete blood count",
        (
            "6690-2",
            "789-8",
            "718-7",
            "4544-3",
            "787-2",
            "785-6",
            "786-4",
            "788-0",
            "777-3",
            "26515-7",
        ),
    ),
    (
        "Basic metabolic panel",
        (
            "2951-2",
            "2823-3",
            "2075-0",
            "2028-9",
            "1963-8",
            "3094-0",
            "6299-2",
            "2160-0",
            "2345-7",
            "2339-0",
            "17861-6",
            "33037-3",
        ),
    ),
    ("Magnesium and phosphate", ("19123-9", "2601-3", "2777-1")),
    ("Liver function", ("1742-6", "1920-8", "6768-6", "1975-2", "1968-7", "2885-2", "1751-7")),
    ("Coagulation", ("5902-2", "6301-6", "34714-6", "14979-9", "3173-2", "3255-7")),
    ("Cardiac markers", ("6598-7", "10839-9", "89579-7", "67151-1", "30934-4", "33762-6")),
    ("Blood gas and lactate", ("2744-1", "2019-8", "2703-7", "1960-4", "2524-7", "32693-4")),
]
OTHER_PANEL = "Other results"
_PANEL_RANK = {name: i for i, (name, _) in enumerate(LAB_PANELS)}
_PANEL_OF = {
    code: (i, j, name) for i, (name, codes) in enumerate(LAB_PANELS) for j, code in enumerate(codes)
}


def lab_results(
    observations: Sequence[JSON],
    now: datetime,
    hours: float = 48,
    held: Collection[str] | None = None,
    charted_until: datetime | None = None,
) -> Section[LabResult]:
    """The latest result of each laboratory test resulted in the last `hours`, with the
    result before it (of any age) as `previous`, grouped by panel (the order of
    `LAB_PANELS`, then the record's own panels by name, then "Other results"), tests
    within a panel in the panel's order. Each says where it came from; during a downtime
    (`charted_until`, `standby.fhir.mar.charting_cutoff`) one that the HL7 v2 feed brought
    after the EHR went down is marked with its sender (`standby.fhir.data_source`)."""
    since = now - timedelta(hours=hours)
    by_test: dict[tuple[str, str], list[tuple[JSON, datetime | None]]] = {}
    members: dict[str, str] = {}  # Observation id → the name of the panel holding it
    for r in observations:
        if "laboratory" not in category_codes(r) or r.get("status") in (
            "entered-in-error",
            "cancelled",
        ):
            continue
        if r.get("hasMember"):
            name = d.concept_text(r.get("code"), "Panel")
            for m in r.get("hasMember") or []:
                mid = d.reference_id(m, "Observation")
                if mid:
                    members[mid] = name
            if r.get("valueQuantity") is None and r.get("valueString") is None:
                continue  # a panel without a value of its own is a heading, not a result
        # one test is one code, whatever each source calls it (the lab's LOINC long name,
        # the EHR's short one): two rows would show an older result as if current
        code = observation_code(r) or ""
        key = (code, "" if code else d.concept_text(r.get("code"), "(unnamed test)"))
        by_test.setdefault(key, []).append((r, effective(r)))
    out: list[tuple[tuple[int, str, int, str], LabResult]] = []
    for (code, _), results in by_test.items():
        results.sort(key=lambda x: x[1] or _EPOCH, reverse=True)
        latest, w = results[0]
        if w is not None and w < since:
            continue
        previous = (
            _lab(results[1][0], results[1][1], charted_until=charted_until)
            if len(results) > 1
            else None
        )
        panel, order = _panel(code, latest, members)
        row = _lab(latest, w, panel, previous, charted_until=charted_until)
        rank = _PANEL_RANK.get(panel, len(LAB_PANELS) + (panel == OTHER_PANEL))
        out.append(((rank, panel, order, row.name.lower()), row))
    out.sort(key=lambda x: x[0])
    return make_section(
        [row for _, row in out], "laboratory results in the last 48 h", ["Observation"], held
    )


def _panel(code: str, r: JSON, members: Mapping[str, str]) -> tuple[str, int]:
    if str(r.get("id")) in members:
        known = _PANEL_OF.get(code)
        return members[str(r.get("id"))], known[1] if known else 0
    known = _PANEL_OF.get(code)
    return (known[2], known[1]) if known else (OTHER_PANEL, 0)


def _lab(
    r: JSON,
    w: datetime | None,
    panel: str = "",
    previous: LabResult | None = None,
    *,
    charted_until: datetime | None = None,
) -> LabResult:
    text, low, high = _range(r)
    flag = _interpretation(r)
    q = r.get("valueQuantity")
    value = (
        units.quantity_text(q)
        if q
        else d.concept_text(r.get("valueCodeableConcept")) or str(r.get("valueString") or "")
    )
    v = (q or {}).get("value")
    if not flag and isinstance(v, int | float):
        if low is not None and v < low:
            flag = "L"
        elif high is not None and v > high:
            flag = "H"
    return LabResult(
        d.concept_text(r.get("code"), "(unnamed test)"),
        observation_code(r),
        value or "(no value)",
        text,
        flag,
        flag in ABNORMAL,
        w,
        panel,
        previous,
        source_text(r),
        received_during_downtime(r, charted_until) or "",
        f"Observation/{r.get('id')}",
    )
