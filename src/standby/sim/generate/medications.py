"""Inpatient medication orders and the administration record over the stay.

MedicationRequest: https://hl7.org/fhir/R4/medicationrequest.html (dosageInstruction with
`timing.repeat` as `timeOfDay` for daily/BID/TID/QHS and `frequency`/`period` hours for
q4h..q12h, which `standby.fhir.timing` expands from midnight); the times of day are the
hospital's wall clock (`Ctx.at`); MedicationAdministration:
https://hl7.org/fhir/R4/medicationadministration.html. Scheduled doses are given at the
scheduled time give or take half an hour, ~3% are not given (with a reason), PRN orders
are given now and then.
"""

from __future__ import annotations

from dataclasses import dataclass

from standby.sim.generate import codes as c
from standby.sim.generate.context import HOUR, JSON, Ctx, instant, ref
from standby.sim.generate.people import Staff
from standby.sim.generate.plausibility import permitted

ORAL = c.cc(c.SNOMED, "26643006", "Oral route", "PO")
IV = c.cc(c.SNOMED, "47625008", "Intravenous route", "IV")
SUBCUT = c.cc(c.SNOMED, "34206005", "Subcutaneous route", "Subcut")
INHALED = c.cc(c.SNOMED, "447694001", "Respiratory tract route", "Inhaled")

# Timing: (label, timeOfDay list or None, every-N-hours or None)
TIMINGS: dict[str, tuple[str, list[str] | None, int | None]] = {
    "daily": ("daily", ["09:00:00"], None),
    "bid": ("BID", ["09:00:00", "21:00:00"], None),
    "tid": ("TID", ["08:00:00", "14:00:00", "20:00:00"], None),
    "qhs": ("at bedtime", ["21:00:00"], None),
    "q4h": ("every 4 hours", None, 4),
    "q6h": ("every 6 hours", None, 6),
    "q8h": ("every 8 hours", None, 8),
    "q12h": ("every 12 hours", None, 12),
}


@dataclass(frozen=True, slots=True)
class Med:
    concept: JSON
    dose: float
    unit: str
    ucum: str
    route: JSON
    timing: str
    prn: str | None = None  # PRN reason text
    per_kg: float | None = None  # children's dose per kg of body weight, up to `dose`


def _rx(code: str, display: str, text: str) -> JSON:
    return c.cc(c.RXNORM, code, display, text)


MEDS: dict[str, Med] = {
    "apap_prn": Med(
        _rx("313782", "acetaminophen 325 MG Oral Tablet", "Acetaminophen 325 mg tab"),
        650,
        "mg",
        "mg",
        ORAL,
        "q6h",
        "pain or fever",
    ),
    "metoprolol": Med(
        _rx("866924", "metoprolol tartrate 25 MG Oral Tablet", "Metoprolol tartrate 25 mg tab"),
        25,
        "mg",
        "mg",
        ORAL,
        "bid",
    ),
    "lisinopril": Med(
        _rx("314076", "lisinopril 10 MG Oral Tablet", "Lisinopril 10 mg tab"),
        10,
        "mg",
        "mg",
        ORAL,
        "daily",
    ),
    "amlodipine": Med(
        _rx("197361", "amlodipine 5 MG Oral Tablet", "Amlodipine 5 mg tab"),
        5,
        "mg",
        "mg",
        ORAL,
        "daily",
    ),
    "heparin": Med(
        _rx(
            "1361615",
            "heparin sodium, porcine 5000 UNT/ML Injectable Solution",
            "Heparin 5,000 units/mL inj",
        ),
        5000,
        "U",
        "[iU]",
        SUBCUT,
        "q8h",
    ),
    "enoxaparin": Med(
        _rx(
            "854235",
            "0.4 ML enoxaparin sodium 100 MG/ML Prefilled Syringe",
            "Enoxaparin 40 mg/0.4 mL syringe",
        ),
        40,
        "mg",
        "mg",
        SUBCUT,
        "daily",
    ),
    "pantoprazole": Med(
        _rx(
            "314200", "pantoprazole 40 MG Delayed Release Oral Tablet", "Pantoprazole 40 mg DR tab"
        ),
        40,
        "mg",
        "mg",
        ORAL,
        "daily",
    ),
    "piptazo": Med(
        _rx(
            "1659149",
            "piperacillin 4000 MG / tazobactam 500 MG Injection",
            "Piperacillin-tazobactam 4.5 g inj",
        ),
        4.5,
        "g",
        "g",
        IV,
        "q6h",
    ),
    "vancomycin": Med(
        _rx("1664986", "vancomycin 1000 MG Injection", "Vancomycin 1 g inj"),
        1000,
        "mg",
        "mg",
        IV,
        "q12h",
    ),
    "ceftriaxone": Med(
        _rx("1665021", "ceftriaxone 1000 MG Injection", "Ceftriaxone 1 g inj"),
        1,
        "g",
        "g",
        IV,
        "daily",
    ),
    "furosemide_iv": Med(
        _rx("1719286", "10 ML furosemide 10 MG/ML Injection", "Furosemide 10 mg/mL inj"),
        40,
        "mg",
        "mg",
        IV,
        "bid",
    ),
    "furosemide": Med(
        _rx("310429", "furosemide 20 MG Oral Tablet", "Furosemide 20 mg tab"),
        20,
        "mg",
        "mg",
        ORAL,
        "daily",
    ),
    "simvastatin": Med(
        _rx("312961", "simvastatin 20 MG Oral Tablet", "Simvastatin 20 mg tab"),
        20,
        "mg",
        "mg",
        ORAL,
        "qhs",
    ),
    "atorvastatin": Med(
        _rx("259255", "atorvastatin 80 MG Oral Tablet", "Atorvastatin 80 mg tab"),
        80,
        "mg",
        "mg",
        ORAL,
        "qhs",
    ),
    "aspirin": Med(
        _rx("243670", "aspirin 81 MG Oral Tablet", "Aspirin 81 mg tab"),
        81,
        "mg",
        "mg",
        ORAL,
        "daily",
    ),
    "metformin": Med(
        _rx(
            "860975",
            "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet",
            "Metformin ER 500 mg tab",
        ),
        500,
        "mg",
        "mg",
        ORAL,
        "daily",
    ),
    "ondansetron_prn": Med(
        _rx("104894", "ondansetron 4 MG Disintegrating Oral Tablet", "Ondansetron 4 mg ODT"),
        4,
        "mg",
        "mg",
        ORAL,
        "q8h",
        "nausea",
    ),
    "oxycodone_prn": Med(
        _rx("1049621", "oxycodone hydrochloride 5 MG Oral Tablet", "Oxycodone 5 mg tab"),
        5,
        "mg",
        "mg",
        ORAL,
        "q4h",
        "severe pain",
    ),
    "albuterol_prn": Med(
        _rx(
            "745679",
            "200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler",
            "Albuterol 90 mcg/actuation inhaler",
        ),
        2,
        "puff",
        "{puff}",
        INHALED,
        "q4h",
        "wheezing or shortness of breath",
    ),
    "warfarin": Med(
        _rx("855332", "warfarin sodium 5 MG Oral Tablet", "Warfarin 5 mg tab"),
        5,
        "mg",
        "mg",
        ORAL,
        "qhs",
    ),
    "clopidogrel": Med(
        _rx("309362", "clopidogrel 75 MG Oral Tablet", "Clopidogrel 75 mg tab"),
        75,
        "mg",
        "mg",
        ORAL,
        "daily",
    ),
    "levothyroxine": Med(
        _rx("966222", "levothyroxine sodium 0.05 MG Oral Tablet", "Levothyroxine 50 mcg tab"),
        50,
        "ug",
        "ug",
        ORAL,
        "daily",
    ),
    "ibuprofen_prn": Med(
        _rx("310965", "ibuprofen 200 MG Oral Tablet", "Ibuprofen 200 mg tab"),
        400,
        "mg",
        "mg",
        ORAL,
        "q6h",
        "mild pain",
    ),
    "apap_susp_prn": Med(
        _rx(
            "307668",
            "acetaminophen 32 MG/ML Oral Suspension",
            "Acetaminophen 160 mg/5 mL oral suspension",
        ),
        650,
        "mg",
        "mg",
        ORAL,
        "q6h",
        "pain or fever",
        per_kg=15,
    ),
    "ibuprofen_susp_prn": Med(
        _rx(
            "197803",
            "ibuprofen 20 MG/ML Oral Suspension",
            "Ibuprofen 100 mg/5 mL oral suspension",
        ),
        400,
        "mg",
        "mg",
        ORAL,
        "q6h",
        "mild pain or fever",
        per_kg=10,
    ),
    "levofloxacin": Med(
        _rx("311296", "levofloxacin 750 MG Oral Tablet", "Levofloxacin 750 mg tab"),
        750,
        "mg",
        "mg",
        ORAL,
        "daily",
    ),
}
# Extra orders that go with an admission reason (by its SNOMED text) or chronic problem.
FOR_REASON = {
    "Pneumonia": ["ceftriaxone", "albuterol_prn"],
    "Sepsis": ["piptazo", "vancomycin"],
    "Heart failure exacerbation": ["furosemide_iv", "metoprolol", "lisinopril"],
    "COPD exacerbation": ["albuterol_prn", "ceftriaxone"],
    "Urinary tract infection": ["ceftriaxone"],
    "Cellulitis of right leg": ["vancomycin"],
    "NSTEMI": ["aspirin", "clopidogrel", "atorvastatin", "metoprolol"],
    "Acute ischemic stroke": ["aspirin", "atorvastatin"],
    "Atrial fibrillation with rapid ventricular response": ["metoprolol", "warfarin"],
    "Right hip fracture": ["oxycodone_prn"],
    "Acute appendicitis": ["piptazo", "oxycodone_prn"],
    "Asthma exacerbation": ["albuterol_prn"],
    "Bronchiolitis": ["albuterol_prn"],
    "Acute cholecystitis": ["piptazo", "oxycodone_prn"],
    "Acute pancreatitis": ["oxycodone_prn", "ondansetron_prn"],
    "GI bleed": ["pantoprazole"],
    "Chest pain": ["aspirin"],
    "Hypertension": ["amlodipine", "lisinopril"],
    "Type 2 diabetes": ["metformin"],
    "Hyperlipidemia": ["simvastatin"],
    "Hypothyroidism": ["levothyroxine"],
    "GERD": ["pantoprazole"],
}
OPTIONAL = ["pantoprazole", "ondansetron_prn", "ibuprofen_prn", "oxycodone_prn"]

NOT_GIVEN = [
    c.cc(c.SNOMED, "105480006", "Refusal of treatment by patient", "Patient refused"),
    c.text_cc("Patient off the unit (imaging)"),
    c.text_cc("Held: NPO for procedure"),
    c.text_cc("Held: blood pressure below parameters"),
]


def choose_meds(
    ctx: Ctx,
    problems: list[str],
    age: int,
    allergen_codes: list[str],
    drips: list[str] | None = None,
) -> list[str]:
    """3–15 order keys: the `drips` first (a heparin drip takes the place of prophylaxis),
    what the admission reason and the chronic problems call for, pain relief, VTE
    prophylaxis for adults, common extras, as `plausibility.permitted` allows."""
    rng = ctx.rng
    child = age < 18
    keys: list[str] = list(drips or ())
    for p in problems:
        keys.extend(FOR_REASON.get(p, ()))
    if child:
        keys.extend(["apap_susp_prn", "ibuprofen_susp_prn"])
    else:
        keys.append("apap_prn")
        keys.append("heparin" if rng.random() < 0.5 else "enoxaparin")
        keys.extend(rng.sample(OPTIONAL, rng.randrange(1, 5)))
    found = set(problems)
    chosen = permitted(keys, age, allergen_codes, found)
    if len(chosen) < 3:
        chosen = permitted(keys + OPTIONAL, age, allergen_codes, found)
    return chosen[:15]


def dose_of(med: Med, weight: float | None) -> float:
    """The ordered dose: a child's by weight (rounded to 10 mg, never above the adult dose)."""
    if med.per_kg is None or weight is None:
        return med.dose
    return float(min(med.dose, max(10, round(weight * med.per_kg / 10) * 10)))


def _dose_times(ctx: Ctx, med: Med, start: int, end: int) -> list[int]:
    """Scheduled dose times in [start, end): each `timeOfDay` at that wall-clock time in
    the hospital's zone every day; every N hours in real time from `start`, the order's
    first dose (its `boundsPeriod.start`), as the MAR counts them."""
    _label, tod, every = TIMINGS[med.timing]
    out: list[int] = []
    day = ctx.midnight(start)
    if tod is not None:
        offsets = [int(t[:2]) * HOUR + int(t[3:5]) * 60 for t in tod]
        k = 0
        while ctx.at(day, 0, k) < end:
            out.extend(t for o in offsets if start <= (t := ctx.at(day, o, k)) < end)
            k += 1
    else:
        assert every is not None
        out = list(range(start, end, every * HOUR))  # seconds: real time, not the wall clock
    return out


def first_dose(authored: int) -> int:
    """An every-N-hours order's first dose: the next half hour after it was written (a
    real MAR counts the series from it, so 14:30/22:30/06:30, not 00:00/08:00/16:00)."""
    return authored + (-authored) % (HOUR // 2)


def medication_orders(
    ctx: Ctx,
    keys: list[str],
    patient: str,
    encounter: str,
    start: int,
    prescriber: Staff,
    nurses: list[Staff],
    weight: float | None = None,
) -> None:
    """Write the MedicationRequests of one stay and their MedicationAdministrations."""
    rng = ctx.rng
    now = ctx.now
    for key in keys:
        med = MEDS[key]
        rid = ctx.id("mr")
        authored = start + rng.randrange(600, 4 * HOUR)
        label, tod, every = TIMINGS[med.timing]
        first = authored if tod is not None else first_dose(authored)
        repeat: JSON = {"boundsPeriod": {"start": instant(first)}}
        if tod is not None:
            repeat["frequency"] = len(tod)
            repeat["period"] = 1
            repeat["periodUnit"] = "d"
            repeat["timeOfDay"] = tod
        else:
            repeat["frequency"] = 1
            repeat["period"] = every
            repeat["periodUnit"] = "h"
        dose = dose_of(med, weight)
        dose_q = {"value": dose, "unit": med.unit, "system": c.UCUM, "code": med.ucum}
        dose_text = f"{dose:g} {med.unit} {med.route['text']} {label}"
        dosage: JSON = {
            "sequence": 1,
            "text": dose_text,
            "timing": {"repeat": repeat},
            "route": med.route,
            "doseAndRate": [{"doseQuantity": dose_q}],
        }
        if med.prn:
            dosage["text"] = f"{dose_text} as needed for {med.prn}"
            dosage["asNeededBoolean"] = True
        subject = ref("Patient", patient)
        context = ref("Encounter", encounter)
        ctx.emit(
            {
                "resourceType": "MedicationRequest",
                "id": rid,
                "meta": ctx.meta(authored),
                "identifier": [c.placer_order_number(rid)],
                "status": "active",
                "intent": "order",
                "category": c.INPATIENT_MED,
                "medicationCodeableConcept": med.concept,
                "subject": subject,
                "encounter": context,
                "authoredOn": instant(authored),
                "requester": ref("Practitioner", prescriber.id, prescriber.display),
                "dosageInstruction": [dosage],
            }
        )
        if med.prn:
            times = []
            t = authored + rng.randrange(2 * HOUR, 30 * HOUR)
            while t < now - 600:
                times.append(t)
                t += rng.randrange(8 * HOUR, 40 * HOUR)
        else:
            times = _dose_times(ctx, med, first, now - rng.randrange(0, 3600))
        mref = ref("MedicationRequest", rid)
        admin_dosage = {"route": med.route, "dose": dose_q}
        for t in times:
            nurse = nurses[rng.randrange(len(nurses))]
            given = max(authored, t + rng.randrange(-900, 2400)) if not med.prn else t
            ma: JSON = {
                "resourceType": "MedicationAdministration",
                "id": ctx.id("ma"),
                "meta": ctx.meta(given + 120),
                "status": "completed",
                "category": c.INPATIENT_ADMIN,
                "medicationCodeableConcept": med.concept,
                "subject": subject,
                "context": context,
                "effectiveDateTime": instant(min(given, now - 60)),
                "performer": [{"actor": ref("Practitioner", nurse.id, nurse.display)}],
                "request": mref,
                "dosage": admin_dosage,
            }
            if not med.prn and rng.random() < 0.03:
                ma["status"] = "not-done"
                ma["statusReason"] = [NOT_GIVEN[rng.randrange(len(NOT_GIVEN))]]
                del ma["dosage"]
            ctx.emit(ma)
