"""Continuous infusions (drips) in the ICU: the orders and one administration per rate change.

A drip is a MedicationRequest whose dosage has a rate and no schedule of doses: no
`timing`, no `asNeeded`, the starting rate in `doseAndRate.rateQuantity` (norepinephrine's
as a `rateRatio` of micrograms per minute), the titration rule in `text` and
`additionalInstruction` (https://hl7.org/fhir/R4/dosage.html). Every rate the nurse sets
is a MedicationAdministration with `effectivePeriod.start` and `dosage.rateQuantity` (or
`rateRatio`): the one running now `in-progress` (no end), each earlier one `completed`,
ending when the next began (https://hl7.org/fhir/R4/medicationadministration.html).
`standby.fhir.infusion` reads the current rate and the last rate change from them. Who
gets a drip is `plausibility.drips_for`; the change feed titrates running drips
(`rate_change`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from standby.sim.generate import codes as c
from standby.sim.generate.context import HOUR, JSON, Ctx, instant, ref
from standby.sim.generate.people import Staff

IV = c.cc(c.SNOMED, "47625008", "Intravenous route", "IV")


@dataclass(frozen=True, slots=True)
class Drip:
    concept: JSON  # RxNorm drug product
    rate: float  # the starting rate
    unit: str  # the rate as people write it
    ucum: str  # the rate's UCUM code
    step: float  # one titration step
    low: float  # the protocol's range of rates
    high: float
    every: tuple[int, int]  # minutes between rate changes (least, most)
    text: str  # the order as written, with its titration rule
    instruction: str  # additionalInstruction
    ratio: bool = False  # the rate as a rateRatio (amount per 1 minute)


def _rx(code: str, display: str, text: str) -> JSON:
    return c.cc(c.RXNORM, code, display, text)


DRIPS: dict[str, Drip] = {
    "heparin_drip": Drip(
        _rx(
            "1658717",
            "250 ML heparin sodium, porcine 100 UNT/ML Injection",
            "Heparin 25,000 units/250 mL infusion",
        ),
        1000,
        "units/h",
        "[iU]/h",
        100,
        500,
        2000,
        (360, 360),
        "Heparin infusion, start 1000 units/h. Titrate by anti-Xa every 6 hours per protocol",
        "Target anti-Xa 0.3-0.7; hold 1 h and call if anti-Xa above 1.0",
    ),
    "insulin_drip": Drip(
        _rx(
            "311034",
            "insulin regular, human 100 UNT/ML Injectable Solution",
            "Insulin regular 100 units/100 mL infusion",
        ),
        2,
        "units/h",
        "[iU]/h",
        0.5,
        0.5,
        10,
        (60, 180),
        "Insulin infusion, start 2 units/h. Titrate by hourly blood glucose per protocol",
        "Target glucose 140-180 mg/dL; stop and call if glucose below 70 mg/dL",
    ),
    "norepinephrine_drip": Drip(
        _rx(
            "242969",
            "4 ML norepinephrine 1 MG/ML Injection",
            "Norepinephrine 4 mg/250 mL infusion",
        ),
        2,
        "mcg",
        "ug",
        1,
        1,
        30,
        (30, 240),
        "Norepinephrine infusion, start 2 mcg/min. Titrate by 1-2 mcg/min every 5 min "
        "to MAP >= 65 mmHg",
        "Call the ICU physician if above 20 mcg/min",
        ratio=True,
    ),
    "propofol_drip": Drip(
        _rx(
            "1808234",
            "100 ML propofol 10 MG/ML Injection",
            "Propofol 1,000 mg/100 mL infusion",
        ),
        20,
        "mcg/kg/min",
        "ug/kg/min",
        5,
        5,
        50,
        (120, 480),
        "Propofol infusion, start 20 mcg/kg/min. Titrate by 5 mcg/kg/min every 10 min "
        "to RASS -1 to -2",
        "Daily sedation interruption; call if MAP below 65 mmHg",
    ),
}
CODE_OF = {str(d.concept["coding"][0]["code"]): k for k, d in DRIPS.items()}


def rate_element(drip: Drip, value: float) -> JSON:
    """`{"rateQuantity": ...}` or `{"rateRatio": ...}` of `value` in the drip's unit."""
    if drip.ratio:
        return {
            "rateRatio": {
                "numerator": {
                    "value": value,
                    "unit": drip.unit,
                    "system": c.UCUM,
                    "code": drip.ucum,
                },
                "denominator": {"value": 1, "unit": "min", "system": c.UCUM, "code": "min"},
            }
        }
    return {
        "rateQuantity": {"value": value, "unit": drip.unit, "system": c.UCUM, "code": drip.ucum}
    }


def rate_value(dosage: JSON) -> float | None:
    """The rate (a number in the drip's unit) of an administration's or order's dosage."""
    q = dosage.get("rateQuantity") or (dosage.get("rateRatio") or {}).get("numerator") or {}
    value = q.get("value")
    return float(value) if isinstance(value, int | float) else None


def titrate(rng: random.Random, drip: Drip, rate: float) -> float:
    """The next rate: one or two steps up or down, within the protocol's range, never the
    same rate."""
    for _ in range(8):
        new = rate + drip.step * rng.choice((-2, -1, -1, 1, 1, 2))
        new = round(min(drip.high, max(drip.low, new)), 2)
        if new != rate:
            return new
    return drip.low if rate != drip.low else drip.low + drip.step


def drip_order(
    ctx: Ctx, key: str, patient: str, encounter: str, authored: int, prescriber: Staff
) -> str:
    """Write the MedicationRequest of a drip; its id."""
    drip = DRIPS[key]
    rid = ctx.id("drip")
    dosage: JSON = {
        "sequence": 1,
        "text": drip.text,
        "additionalInstruction": [c.text_cc(drip.instruction)],
        "route": IV,
        "doseAndRate": [rate_element(drip, drip.rate)],
    }
    ctx.emit(
        {
            "resourceType": "MedicationRequest",
            "id": rid,
            "meta": ctx.meta(authored),
            "identifier": [c.placer_order_number(rid)],
            "status": "active",
            "intent": "order",
            "category": c.INPATIENT_MED,
            "medicationCodeableConcept": drip.concept,
            "subject": ref("Patient", patient),
            "encounter": ref("Encounter", encounter),
            "authoredOn": instant(authored),
            "requester": ref("Practitioner", prescriber.id, prescriber.display),
            "dosageInstruction": [dosage],
        }
    )
    return rid


def rate_administration(
    drip: Drip, rate: float, ids: tuple[str, str, str, str], start: int, nurse: JSON | None
) -> JSON:
    """One rate of a drip from `start`, running (`ids`: the administration, patient,
    encounter and order; `nurse`: a reference to who set it)."""
    aid, patient, encounter, order = ids
    ma: JSON = {
        "resourceType": "MedicationAdministration",
        "id": aid,
        "status": "in-progress",
        "category": c.INPATIENT_ADMIN,
        "medicationCodeableConcept": drip.concept,
        "subject": ref("Patient", patient),
        "context": ref("Encounter", encounter),
        "effectivePeriod": {"start": instant(start)},
        "request": ref("MedicationRequest", order),
        "dosage": {"route": IV, **rate_element(drip, rate)},
    }
    if nurse is not None:
        ma["performer"] = [{"actor": nurse}]
    return ma


def drip_orders(
    ctx: Ctx,
    keys: list[str],
    patient: str,
    encounter: str,
    start: int,
    prescriber: Staff,
    nurses: list[Staff],
) -> None:
    """Write the drips of one ICU stay: each started in the last three days of the stay,
    titrated since, the current rate running."""
    rng, now = ctx.rng, ctx.now
    for key in keys:
        drip = DRIPS[key]
        authored = max(start + rng.randrange(600, 4 * HOUR), now - rng.randrange(6, 72) * HOUR)
        authored = min(authored, now - HOUR)
        order = drip_order(ctx, key, patient, encounter, authored, prescriber)
        t, rate = authored + rng.randrange(300, 1800), drip.rate
        previous: JSON | None = None
        while t < now - 120:
            nurse = nurses[rng.randrange(len(nurses))]
            ids = (ctx.id("rate"), patient, encounter, order)
            ma = rate_administration(
                drip, rate, ids, t, ref("Practitioner", nurse.id, nurse.display)
            )
            ma["meta"] = ctx.meta(t + 60)
            if previous is not None:
                previous["status"] = "completed"
                previous["effectivePeriod"]["end"] = instant(t)
                previous["meta"] = ctx.meta(t + 60)
                ctx.emit(previous)
            previous = ma
            t += 60 * rng.randint(*drip.every)
            rate = titrate(rng, drip, rate)
        if previous is not None:
            ctx.emit(previous)
