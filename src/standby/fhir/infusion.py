"""Continuous infusions (drips) and the intervals of as-needed (PRN) orders.

A MedicationRequest is a **continuous infusion** when its dosage carries a rate
(`dosageInstruction.doseAndRate.rateQuantity` or `rateRatio`) and its `timing` is not a
schedule of doses (no frequency, clock times or event codes: dopamine at 4 mcg/kg/min
"running over 33 hours" in the FHIR examples). A rate on a scheduled order (an
antibiotic infused over 30 minutes every 6 hours) is an intermittent dose, shown on the
scheduled MAR as before.

Each rate change is a MedicationAdministration of the order whose `dosage.rateQuantity`
or `dosage.rateRatio` is the new rate, from `effectivePeriod.start` (or
`effectiveDateTime`). The **current rate** is the newest such administration's, else
the ordered rate; the **last rate change** is when the rate last differed from the one
before it (or when the first documented rate began). Titration instructions are the
dosage's `text`, `patientInstruction` and `additionalInstruction`, as the order says.

Dosage: https://hl7.org/fhir/R4/dosage.html
MedicationAdministration.dosage: https://hl7.org/fhir/R4/medicationadministration.html

The **minimum interval** of a PRN order is its timing's period divided by its frequency
(`q4h` → 4 h; `Q6H` as a code alone → 6 h): "next allowed at" is the last dose plus it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from standby.fhir.display import concept_text, number

JSON = Mapping[str, Any]

UNIT_TEXT = {"ug": "mcg", "mL": "mL", "ml": "mL", "[iU]": "units", "[IU]": "units", "U": "units"}
UNIT_HOURS = {"s": 1 / 3600, "min": 1 / 60, "h": 1.0, "d": 24.0, "wk": 168.0}


def _unit(q: Mapping[str, Any]) -> str:
    raw = str(q.get("unit") or q.get("code") or "")
    for part, text in UNIT_TEXT.items():
        if raw == part or raw.startswith(part + "/"):
            return text + raw[len(part) :]
    return raw


def _amount(q: object) -> str:
    if not isinstance(q, Mapping) or q.get("value") is None:
        return ""
    return f"{number(q['value'])} {_unit(q)}".strip()


def rate_text(holder: object) -> str:
    """ "5 mL/h", "4 mcg/kg/min", "1.8 mg/kg over 20 min" from an element holding
    `rateQuantity` or `rateRatio` (a `doseAndRate` entry, a MedicationAdministration's
    `dosage`); "" when it holds no rate."""
    if not isinstance(holder, Mapping):
        return ""
    if holder.get("rateQuantity"):
        return _amount(holder["rateQuantity"])
    ratio = holder.get("rateRatio")
    if isinstance(ratio, Mapping):
        num, den = _amount(ratio.get("numerator")), ratio.get("denominator") or {}
        if not num:
            return ""
        per = _unit(den) if isinstance(den, Mapping) else ""
        value = den.get("value") if isinstance(den, Mapping) else None
        if value in (None, 1, 1.0):
            return f"{num}/{per}" if per else num
        return f"{num} over {number(value)} {per}".strip()
    return ""


def ordered_rate(dosage: Mapping[str, Any]) -> str:
    for dr in dosage.get("doseAndRate") or []:
        text = rate_text(dr)
        if text:
            return text
    return ""


def titration(dosage: Mapping[str, Any]) -> str:
    """What the order says about titrating: `text`, `patientInstruction` and each
    `additionalInstruction`, without repeats, joined with " · "."""
    parts = [str(dosage.get("text") or ""), str(dosage.get("patientInstruction") or "")]
    parts += [concept_text(c) for c in dosage.get("additionalInstruction") or []]
    out: list[str] = []
    for p in (x.strip() for x in parts):
        if p and p not in out:
            out.append(p)
    return " · ".join(out)


def minimum_interval(
    timing: Mapping[str, Any] | None, repeat: Mapping[str, Any]
) -> timedelta | None:
    """The shortest time between two doses a PRN order allows (`repeat` is the timing's
    repeat with a code alone expanded, `standby.fhir.timing`): period ÷ frequency
    (`frequencyMax` when given); None when the timing does not say."""
    if not timing or ("period" not in repeat and "frequency" not in repeat):
        return None
    period = float(repeat.get("period") or 1)
    hours = period * UNIT_HOURS.get(str(repeat.get("periodUnit") or "d"), 0)
    freq = int(repeat.get("frequencyMax") or repeat.get("frequency") or 1)
    if hours <= 0 or freq <= 0:
        return None
    return timedelta(hours=hours / freq)


def interval_text(interval: timedelta | None) -> str:
    """ "every 4 h at most", "every 30 min at most"; "" when unknown."""
    if interval is None:
        return ""
    minutes = int(interval.total_seconds() // 60)
    if minutes % 60 == 0:
        return f"every {minutes // 60} h at most"
    if minutes > 60:
        return f"every {minutes // 60} h {minutes % 60} min at most"
    return f"every {minutes} min at most"


def slots_per_day(interval: timedelta | None, *, unknown: int = 4, most: int = 12) -> int:
    """How many administrations 24 hours allow at that interval (q4h → 6), for the rows
    of a paper PRN record; `unknown` when the interval is not known; at most `most`."""
    if interval is None or interval <= timedelta(0):
        return unknown
    n = int(timedelta(hours=24) // interval)
    return max(1, min(most, n))


@dataclass(frozen=True, slots=True)
class RateChange:
    when: datetime
    rate: str


@dataclass(frozen=True, slots=True)
class Infusion:
    """What a continuous order is running at."""

    ordered_rate: str  # "5 mL/h" ("" when the order gives none)
    current_rate: str  # the newest documented rate, else the ordered one
    documented: bool  # the current rate comes from an administration
    last_change: RateChange | None  # when the rate last changed (None: none documented)
    titration: str  # the order's titration instructions, as written


def infusion(dosage: Mapping[str, Any], rates: Sequence[RateChange]) -> Infusion:
    """The infusion of an order whose first dosage is `dosage`, from the rates documented
    on its administrations (`rates`, any order)."""
    ordered = ordered_rate(dosage)
    chrono = sorted((r for r in rates if r.rate), key=lambda r: r.when)
    change: RateChange | None = None
    for r in chrono:
        if change is None or r.rate != change.rate:
            change = r
    current = chrono[-1].rate if chrono else ordered
    return Infusion(ordered, current, bool(chrono), change, titration(dosage))


def is_continuous(dosage: Mapping[str, Any], scheduled: bool) -> bool:
    """A rate without a schedule of doses."""
    return bool(ordered_rate(dosage)) and not scheduled
