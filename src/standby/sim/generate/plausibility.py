"""The rules that keep the synthetic hospital clinically plausible, in one place.

Who may be admitted with which diagnosis, have which chronic problem, undergo which
procedure, visit which clinic (and on which days), eat which diet, and take which drug
(one per therapeutic class, none that a recorded allergy or a diagnosis rules out). Plain
tables and small functions; the generator and the live change feed ask them, and
tests/sim/test_plausibility.py checks every generated patient against them
(docs/synthetic-hospital.md, "Plausibility").
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from standby.sim.generate import codes as c
from standby.sim.generate import diagnoses as dx
from standby.sim.generate.codes import JSON


@dataclass(frozen=True, slots=True)
class Band:
    """Who may have something: ages in whole years (both ends included) and one sex or any."""

    min_age: int = 0
    max_age: int = 110
    sex: str | None = None

    def fits(self, age: int, sex: str) -> bool:
        return self.min_age <= age <= self.max_age and self.sex in (None, sex)

    def within(self, other: Band) -> Band:
        """Who fits both this band and `other`."""
        return Band(
            max(self.min_age, other.min_age),
            min(self.max_age, other.max_age),
            self.sex or other.sex,
        )


def problem(text: str) -> JSON:
    """The diagnosis concept whose text is `text`."""
    for concept in [d[0] for d in dx.ADMISSION_DX] + dx.CHRONIC_DX + dx.INDICATIONS:
        if concept["text"] == text:
            return concept
    raise KeyError(text)


def who_may_have(text: str) -> Band:
    """Who may have the diagnosis called `text`."""
    for table in (ADMISSION_AGE, CHRONIC_AGE, INDICATION_WHO):
        if text in table:
            return table[text]
    return Band()


# ---- admissions ----------------------------------------------------------------------
UNIT_PATIENTS = {  # the unit's own patients
    "PEDU": Band(1, 17),
    "Mother-Baby": Band(18, 42, "female"),
    "adult": Band(25, 95),
}
ADMISSION_AGE = {  # beyond the unit's band
    "NSTEMI": Band(40, 95),
    "Heart failure exacerbation": Band(45, 95),
    "COPD exacerbation": Band(45, 95),
    "Acute ischemic stroke": Band(45, 95),
    "Atrial fibrillation with rapid ventricular response": Band(45, 95),
    "Right hip fracture": Band(60, 95),
    "Diabetic ketoacidosis": Band(25, 80),
    "Bronchiolitis": Band(1, 1),
    "Asthma exacerbation": Band(2, 17),
}
CHRONIC_AGE = {  # problems not seen before these ages
    "Hypertension": Band(30),
    "Type 2 diabetes": Band(30),
    "Hyperlipidemia": Band(30),
    "CKD stage 3": Band(45),
    "Asthma": Band(2),
    "Depression": Band(12),
    "Obstructive sleep apnea": Band(25),
    "Osteoarthritis, right knee": Band(45),
    "Atrial fibrillation": Band(50),
    "Coronary artery disease": Band(45),
    "Hypothyroidism": Band(18),
    "GERD": Band(18),
    "COPD": Band(45),
    "Obesity": Band(12),
}
INDICATION_WHO = {  # problems that are reasons for elective surgery
    "Breast cancer, right": Band(30, 95, "female"),
    "Breech presentation": Band(18, 42, "female"),
    "Osteoarthritis, right hip": Band(45),
    "Gallstones": Band(18),
    "Inguinal hernia": Band(18),
    "Colon cancer screening": Band(45, 85),
}
CHILD_ALLERGENS = {"70618", "723", "10180", "2231", "111088007", "256349002", "102263004"}


def unit_band(kind: str, name: str) -> Band:
    if "Mother" in name:
        return UNIT_PATIENTS["Mother-Baby"]
    return UNIT_PATIENTS["PEDU" if kind == "PEDU" else "adult"]


def admission_reasons(kind: str, name: str) -> list[tuple[JSON, int]]:
    """(diagnosis, weight) a unit of this kind admits; the Mother-Baby unit admits deliveries."""
    if "Mother" in name:
        return [(dx.OB_DX, 1)]
    if kind == "PEDU":
        return [(d, w) for d, w, k in dx.ADMISSION_DX if k == "PEDU"]
    pool = [(d, w) for d, w, k in dx.ADMISSION_DX if k == kind and kind != "HU"]
    return pool or [(d, w) for d, w, k in dx.ADMISSION_DX if k != "PEDU"]


def admission_band(reason: JSON, unit: Band) -> Band:
    """The ages (and sex) of a patient admitted to `unit` with `reason`."""
    extra = ADMISSION_AGE.get(str(reason["text"]))
    if extra is None:
        return unit
    return Band(max(unit.min_age, extra.min_age), min(unit.max_age, extra.max_age), unit.sex)


def past_reason(rng: random.Random, age: int) -> JSON:
    """An earlier admission's diagnosis that fits the patient's age (a child's from the
    pediatric ones)."""
    group = [(d, w) for d, w, k in dx.ADMISSION_DX if (k == "PEDU") == (age < 18)]
    pool = [(d, w) for d, w in group if ADMISSION_AGE.get(str(d["text"]), Band()).fits(age, "")]
    pool = pool or group
    return rng.choices([d for d, _ in pool], [w for _, w in pool])[0]


def chronic_pool(age: int) -> list[JSON]:
    """The chronic problems a person of `age` may have."""
    return [d for d in dx.CHRONIC_DX if CHRONIC_AGE.get(str(d["text"]), Band()).fits(age, "")]


def chronic_problems(rng: random.Random, age: int, most: int) -> list[JSON]:
    """0 to `most` - 1 chronic problems a person of `age` may have."""
    pool = chronic_pool(age)
    return rng.sample(pool, min(len(pool), rng.randrange(0, most)))


def allergens_for(age: int) -> list[tuple[JSON, str]]:
    """Children's allergies come from the allergens children have (no NSAIDs or opioids)."""
    if age >= 18:
        return c.ALLERGENS
    return [a for a in c.ALLERGENS if a[0]["coding"][0]["code"] in CHILD_ALLERGENS]


# ---- surgery -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Procedure:
    concept: JSON
    minutes: int
    specialty: str  # key of codes.SPECIALTY
    who: Band
    indications: tuple[JSON, ...]  # the first is written on an outpatient's problem list
    elective: bool = True  # booked as a routine case


def _proc(code: str, display: str, text: str) -> JSON:
    return c.cc(c.SNOMED, code, display, text)


PROCEDURES: list[Procedure] = [
    Procedure(
        _proc("80146002", "Appendectomy", "Appendectomy"),
        60,
        "surgery",
        Band(5, 90),
        (problem("Acute appendicitis"),),
        elective=False,
    ),
    Procedure(
        _proc("45595009", "Laparoscopic cholecystectomy", "Laparoscopic cholecystectomy"),
        90,
        "surgery",
        Band(18, 90),
        (dx.GALLSTONES, problem("Acute cholecystitis")),
    ),
    Procedure(
        _proc("609588000", "Total knee replacement", "Total knee replacement"),
        120,
        "ortho",
        Band(50, 90),
        (problem("Osteoarthritis, right knee"),),
    ),
    Procedure(
        _proc("52734007", "Total replacement of hip", "Total hip replacement"),
        120,
        "ortho",
        Band(50, 95),
        (dx.HIP_OSTEOARTHRITIS, problem("Right hip fracture")),
    ),
    Procedure(
        _proc("44558001", "Repair of inguinal hernia", "Inguinal hernia repair"),
        75,
        "surgery",
        Band(18, 90),
        (dx.INGUINAL_HERNIA,),
    ),
    Procedure(
        _proc("11466000", "Cesarean section", "Cesarean section"),
        60,
        "obstetrics",
        Band(18, 42, "female"),
        (dx.BREECH,),
    ),
    Procedure(
        _proc("232717009", "Coronary artery bypass grafting", "CABG"),
        240,
        "surgery",
        Band(40, 85),
        (problem("Coronary artery disease"), problem("NSTEMI")),
    ),
    Procedure(
        _proc("73761001", "Colonoscopy", "Colonoscopy"),
        45,
        "surgery",
        Band(45, 85),
        (dx.COLON_SCREENING, problem("GI bleed")),
    ),
    Procedure(
        _proc("392021009", "Lumpectomy of breast", "Breast lumpectomy"),
        90,
        "surgery",
        Band(30, 90, "female"),
        (dx.BREAST_CANCER,),
    ),
]
SCREENING = {"Colon cancer screening"}  # a reason for a procedure, not a problem


def indicated_procedures(problems: set[str]) -> list[Procedure]:
    return [p for p in PROCEDURES if any(i["text"] in problems for i in p.indications)]


# ---- clinics -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Clinic:
    name: str
    specialty: str  # key of codes.SPECIALTY
    who: Band
    problems: tuple[str, ...] = ()  # the patient has one of these (empty: anyone)


CARDIAC = (
    "Hypertension",
    "Atrial fibrillation",
    "Coronary artery disease",
    "Hyperlipidemia",
    "NSTEMI",
    "Heart failure exacerbation",
    "Atrial fibrillation with rapid ventricular response",
    "Chest pain",
)
CLINICS: list[Clinic] = [
    Clinic("Internal Medicine Clinic", "medicine", Band(18, 95)),
    Clinic("Cardiology Clinic", "cardiology", Band(30, 95), CARDIAC),
    Clinic(
        "Orthopedic Clinic",
        "ortho",
        Band(45, 95),
        ("Osteoarthritis, right knee", "Osteoarthritis, right hip", "Right hip fracture"),
    ),
    Clinic(
        "Surgery Clinic",
        "surgery",
        Band(18, 90),
        ("Gallstones", "Inguinal hernia", "Breast cancer, right", "Acute cholecystitis"),
    ),
    Clinic("Pediatrics Clinic", "pediatrics", Band(0, 17)),
    Clinic("Women's Health Clinic", "obstetrics", Band(18, 90, "female")),
    Clinic("Family Medicine Clinic", "family", Band(0, 95)),
    Clinic(
        "Diabetes and Endocrine Clinic",
        "endocrinology",
        Band(18, 95),
        ("Type 2 diabetes", "Hypothyroidism"),
    ),
]
CLINIC_HOURS = (8, 17)  # 30-minute visits from 08:00, the last at 16:30, Monday to Friday


def clinic_named(name: str) -> Clinic | None:
    """The clinic rule of a clinic Location ("Cardiology Clinic 2" is a Cardiology Clinic)."""
    return next((k for k in CLINICS if name.startswith(k.name)), None)


def clinic_fits(clinic: Clinic, age: int, sex: str, problems: set[str]) -> bool:
    return clinic.who.fits(age, sex) and (
        not clinic.problems or bool(problems & set(clinic.problems))
    )


# ---- diets and nursing orders ----------------------------------------------------------
# The first diet whose diagnoses the patient has wins; the last is for anyone.
DIETS: list[tuple[JSON, tuple[str, ...]]] = [
    (
        c.text_cc("NPO after midnight"),
        ("Acute appendicitis", "Acute cholecystitis", "Right hip fracture"),
    ),
    (c.text_cc("Clear liquid diet"), ("Acute pancreatitis", "GI bleed")),
    (c.text_cc("Renal diet"), ("Acute kidney injury", "CKD stage 3")),
    (c.text_cc("Consistent carbohydrate (diabetic) diet"), ("Type 2 diabetes",)),
    (
        c.text_cc("Cardiac diet (2 g sodium)"),
        (
            "Heart failure exacerbation",
            "NSTEMI",
            "Coronary artery disease",
            "Acute ischemic stroke",
        ),
    ),
    (c.text_cc("Regular diet"), ()),
]
NURSING: list[tuple[JSON, tuple[str, ...]]] = [  # (order, diagnoses it needs; empty: any)
    (c.text_cc("Vital signs every 4 hours"), ()),
    (c.text_cc("Strict intake and output"), ()),
    (c.text_cc("Fall precautions"), ()),
    (
        c.text_cc("Continuous telemetry monitoring"),
        ("NSTEMI", "Atrial fibrillation with rapid ventricular response", "Chest pain", "Syncope"),
    ),
    (
        c.text_cc("Daily weight"),
        ("Heart failure exacerbation", "CKD stage 3", "Acute kidney injury"),
    ),
    (c.text_cc("Incentive spirometry every hour while awake"), ()),
    (c.text_cc("Blood glucose checks before meals and at bedtime"), ("Type 2 diabetes",)),
]


def diet_for(problems: set[str]) -> JSON:
    return next(d for d, needs in DIETS if not needs or problems & set(needs))


def nursing_orders_for(problems: set[str]) -> list[JSON]:
    return [o for o, needs in NURSING if not needs or problems & set(needs)]


# ---- medications -----------------------------------------------------------------------
MED_CLASS = {  # order key (medications.MEDS) → therapeutic class: at most one per patient
    "apap_prn": "acetaminophen",
    "apap_susp_prn": "acetaminophen",
    "ibuprofen_prn": "NSAID",
    "ibuprofen_susp_prn": "NSAID",
    "oxycodone_prn": "opioid",
    "metoprolol": "beta blocker",
    "lisinopril": "ACE inhibitor",
    "amlodipine": "calcium channel blocker",
    "heparin": "anticoagulant",
    "enoxaparin": "anticoagulant",
    "warfarin": "anticoagulant",
    "pantoprazole": "proton pump inhibitor",
    "piptazo": "beta-lactam antibiotic",
    "ceftriaxone": "beta-lactam antibiotic",
    "levofloxacin": "fluoroquinolone",
    "vancomycin": "glycopeptide",
    "furosemide_iv": "loop diuretic",
    "furosemide": "loop diuretic",
    "simvastatin": "statin",
    "atorvastatin": "statin",
    "aspirin": "salicylate",
    "clopidogrel": "P2Y12 inhibitor",
    "metformin": "biguanide",
    "ondansetron_prn": "antiemetic",
    "albuterol_prn": "bronchodilator",
    "levothyroxine": "thyroid hormone",
    "heparin_drip": "anticoagulant",
    "insulin_drip": "insulin",
    "norepinephrine_drip": "vasopressor",
    "propofol_drip": "sedative",
}
ALLERGY_RULES_OUT = {  # allergen (RxNorm) → the classes it rules out entirely
    "70618": {"beta-lactam antibiotic"},  # penicillin (cephalosporins too: no exceptions)
    "723": {"beta-lactam antibiotic"},  # amoxicillin
    "2231": {"beta-lactam antibiotic"},  # cephalexin
    "10180": {"sulfonamide antibiotic"},
    "1191": {"salicylate", "NSAID"},  # aspirin
    "5640": {"salicylate", "NSAID"},  # ibuprofen
    "7052": {"opioid"},  # morphine
    "2670": {"opioid"},  # codeine
    "11124": {"glycopeptide"},  # vancomycin
}
AVOID_WITH = {  # class → diagnoses that rule it out
    "anticoagulant": ("GI bleed",),
    "salicylate": ("GI bleed",),
    "P2Y12 inhibitor": ("GI bleed",),
    "NSAID": (
        "GI bleed",
        "Acute kidney injury",
        "CKD stage 3",
        "Heart failure exacerbation",
        "NSTEMI",
    ),
    "biguanide": ("Acute kidney injury", "CKD stage 3", "Sepsis", "Diabetic ketoacidosis"),
    "ACE inhibitor": ("Acute kidney injury",),
}
ADULT_ONLY = Band(18)
MED_AGE = {  # order key → who may take it; any other order is for adults only
    "apap_susp_prn": Band(0, 17),
    "ibuprofen_susp_prn": Band(1, 17),
    "albuterol_prn": Band(1),
    "ondansetron_prn": Band(4),
}
SUBSTITUTE = {"piptazo": "levofloxacin", "ceftriaxone": "levofloxacin"}  # when ruled out

# Continuous infusions (infusions.DRIPS) run only in these units, only for these diagnoses:
# a vasopressor and sedation for septic shock on the ventilator, an insulin drip for
# diabetic ketoacidosis or hyperglycaemia in a diabetic, a heparin drip for a pulmonary
# embolism, atrial fibrillation or an acute coronary syndrome (never with a GI bleed:
# `AVOID_WITH` rules anticoagulants out).
DRIP_UNITS = ("ICU",)
DRIP_INDICATIONS = {
    "norepinephrine_drip": ("Sepsis",),
    "propofol_drip": ("Sepsis",),
    "insulin_drip": ("Diabetic ketoacidosis", "Type 2 diabetes"),
    "heparin_drip": (
        "Pulmonary embolism",
        "Atrial fibrillation",
        "Atrial fibrillation with rapid ventricular response",
        "NSTEMI",
    ),
}
DRIP_SHARE = 0.75  # of the ICU patients with an indication


def drip_indicated(key: str, unit_kind: str, problems: set[str]) -> bool:
    """Whether a patient in a unit of `unit_kind` with `problems` may have that drip."""
    return unit_kind in DRIP_UNITS and bool(problems & set(DRIP_INDICATIONS[key]))


def drips_for(rng: random.Random, unit_kind: str, problems: set[str]) -> list[str]:
    """The drips (infusions.DRIPS keys) some ICU patients with an indication run."""
    return [
        k
        for k in DRIP_INDICATIONS
        if drip_indicated(k, unit_kind, problems) and rng.random() < DRIP_SHARE
    ]


def ruled_out_classes(allergen_codes: list[str], problems: set[str]) -> set[str]:
    out: set[str] = set()
    for code in allergen_codes:
        out |= ALLERGY_RULES_OUT.get(code, set())
    out |= {k for k, why in AVOID_WITH.items() if problems & set(why)}
    return out


def permitted(
    candidates: list[str], age: int, allergen_codes: list[str], problems: set[str]
) -> list[str]:
    """The candidates in order, without duplicates, without a second drug of a class, without
    a class that an allergy or a diagnosis rules out (replaced by `SUBSTITUTE` where there is
    one), and only those the patient's age allows."""
    banned = ruled_out_classes(allergen_codes, problems)
    out: list[str] = []
    taken: set[str] = set()
    for key in candidates:
        if MED_CLASS[key] in banned:
            alt = SUBSTITUTE.get(key)
            if alt is None or MED_CLASS[alt] in banned:
                continue
            key = alt
        if MED_CLASS[key] in taken or not MED_AGE.get(key, ADULT_ONLY).fits(age, ""):
            continue
        taken.add(MED_CLASS[key])
        out.append(key)
    return out


def weight_kg(rng: random.Random, age: int) -> float:
    """A body weight for age (children by the usual age formulas)."""
    if age >= 18:
        return round(max(40.0, rng.gauss(80, 17)), 1)
    mean = 9.0 if age < 1 else 2 * age + 8 if age <= 10 else 3 * age + 7
    return round(max(3.0, rng.gauss(mean, mean * 0.12)), 1)


def height_cm(rng: random.Random, age: int) -> float:
    if age >= 18:
        return round(rng.gauss(170, 10))
    mean = 72 if age < 1 else 6 * age + 77 if age <= 12 else 150 + 3 * (age - 12)
    return round(rng.gauss(mean, mean * 0.04))
