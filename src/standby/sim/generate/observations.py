"""Vital signs every 4 hours, daily labs with reference ranges and flags, and code status.

Vital signs profile: https://hl7.org/fhir/R4/observation-vitalsigns.html (LOINC codes, UCUM
units, the 85354-9 blood-pressure panel with systolic/diastolic components). Labs carry
`referenceRange` and a v3 ObservationInterpretation flag (N, L, H, LL, HH). Each patient
has a baseline and a few labs that run abnormal, so the trends look like one person.
"""

from __future__ import annotations

from standby.sim.generate import codes as c
from standby.sim.generate.context import HOUR, JSON, Ctx, instant, ref


def _q(value: float, unit: str, code: str) -> JSON:
    return {"value": value, "unit": unit, "system": c.UCUM, "code": code}


def _loinc(code: str, display: str, text: str) -> JSON:
    return c.cc(c.LOINC, code, display, text)


BP_PANEL = _loinc("85354-9", "Blood pressure panel with all children optional", "Blood pressure")
SYSTOLIC = _loinc("8480-6", "Systolic blood pressure", "Systolic")
DIASTOLIC = _loinc("8462-4", "Diastolic blood pressure", "Diastolic")
# key: (code, unit, ucum, mean, sd, decimals, low clamp, high clamp)
VITALS: dict[str, tuple[JSON, str, str, float, float, int, float, float]] = {
    "hr": (_loinc("8867-4", "Heart rate", "Heart rate"), "/min", "/min", 82, 10, 0, 35, 170),
    "rr": (
        _loinc("9279-1", "Respiratory rate", "Respiratory rate"),
        "/min",
        "/min",
        17,
        2.5,
        0,
        8,
        40,
    ),
    "temp": (
        _loinc("8310-5", "Body temperature", "Temperature"),
        "Cel",
        "Cel",
        37.0,
        0.35,
        1,
        35.0,
        40.5,
    ),
    "spo2": (
        _loinc("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "SpO2"),
        "%",
        "%",
        96,
        1.8,
        0,
        80,
        100,
    ),
    "pain": (
        _loinc(
            "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported", "Pain score"
        ),
        "{score}",
        "{score}",
        2,
        2,
        0,
        0,
        10,
    ),
}
WEIGHT = _loinc("29463-7", "Body weight", "Weight")
HEIGHT = _loinc("8302-2", "Body height", "Height")

# key: (code, unit, low, high, mean, sd, decimals)
LABS: list[tuple[JSON, str, float, float, float, float, int]] = [
    (
        _loinc("718-7", "Hemoglobin [Mass/volume] in Blood", "Hemoglobin"),
        "g/dL",
        12.0,
        17.5,
        13.2,
        1.2,
        1,
    ),
    (
        _loinc("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "WBC"),
        "10*3/uL",
        4.5,
        11.0,
        8.0,
        2.0,
        1,
    ),
    (
        _loinc("777-3", "Platelets [#/volume] in Blood by Automated count", "Platelets"),
        "10*3/uL",
        150,
        400,
        250,
        50,
        0,
    ),
    (
        _loinc("4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "Hematocrit"),
        "%",
        36,
        50,
        40,
        3.5,
        1,
    ),
    (
        _loinc("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "Sodium"),
        "mmol/L",
        136,
        145,
        139,
        2.5,
        0,
    ),
    (
        _loinc("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "Potassium"),
        "mmol/L",
        3.5,
        5.1,
        4.2,
        0.35,
        1,
    ),
    (
        _loinc("2075-0", "Chloride [Moles/volume] in Serum or Plasma", "Chloride"),
        "mmol/L",
        98,
        107,
        102,
        2.5,
        0,
    ),
    (
        _loinc("2028-9", "Carbon dioxide, total [Moles/volume] in Serum or Plasma", "CO2"),
        "mmol/L",
        22,
        29,
        25,
        2,
        0,
    ),
    (
        _loinc("3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "BUN"),
        "mg/dL",
        7,
        20,
        15,
        4,
        0,
    ),
    (
        _loinc("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "Creatinine"),
        "mg/dL",
        0.6,
        1.3,
        0.95,
        0.2,
        2,
    ),
    (
        _loinc("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "Glucose"),
        "mg/dL",
        70,
        99,
        105,
        22,
        0,
    ),
    (
        _loinc("17861-6", "Calcium [Mass/volume] in Serum or Plasma", "Calcium"),
        "mg/dL",
        8.5,
        10.5,
        9.4,
        0.4,
        1,
    ),
]
RANGES = [
    [{"low": _q(lo, unit, unit), "high": _q(hi, unit, unit)}] for _cc, unit, lo, hi, *_ in LABS
]


def observation(
    ctx: Ctx, patient: str, encounter: str | None, t: int, category: list[JSON], code: JSON
) -> JSON:
    obs: JSON = {
        "resourceType": "Observation",
        "id": ctx.id("ob"),
        "meta": ctx.meta(t + 300),
        "status": "final",
        "category": category,
        "code": code,
        "subject": ref("Patient", patient),
        "effectiveDateTime": instant(t),
    }
    if encounter:
        obs["encounter"] = ref("Encounter", encounter)
    return obs


def vital_signs(
    ctx: Ctx,
    patient: str,
    encounter: str,
    start: int,
    end: int,
    pediatric: bool = False,
    body: tuple[float, float] | None = None,
) -> None:
    """Vitals every 4 hours from the first round after `start` to `end`; weight and
    height (`body`, kg and cm, when known) once, at admission."""
    rng = ctx.rng
    gauss = rng.gauss
    vs = c.VITAL_CAT
    sick = rng.random() < 0.25  # this patient runs abnormal now and then
    base_sys = rng.gauss(100, 8) if pediatric else rng.gauss(128, 14)
    base_hr = VITALS["hr"][3] + (25 if pediatric else 0) + rng.gauss(0, 6)
    if body is None:
        body = (
            round(rng.gauss(25 if pediatric else 80, 6 if pediatric else 17), 1),
            round(rng.gauss(120 if pediatric else 170, 10), 0),
        )
    for code, value, unit, ucum in (
        (WEIGHT, body[0], "kg", "kg"),
        (HEIGHT, body[1], "cm", "cm"),
    ):
        obs = observation(ctx, patient, encounter, start + 1800, vs, code)
        obs["valueQuantity"] = _q(max(value, 3.0), unit, ucum)
        ctx.emit(obs)
    midnight = ctx.midnight(start)
    t = midnight + ((start - midnight) // (4 * HOUR) + 1) * 4 * HOUR  # 00, 04, ... local
    while t < end:
        jitter = t + rng.randrange(-600, 900)
        spread = 2.0 if sick and rng.random() < 0.3 else 1.0
        obs = observation(ctx, patient, encounter, jitter, vs, BP_PANEL)
        sys_v = round(base_sys + gauss(0, 9) * spread)
        dia_v = round(sys_v * 0.6 + gauss(0, 5))
        obs["component"] = [
            {"code": SYSTOLIC, "valueQuantity": _q(sys_v, "mm[Hg]", "mm[Hg]")},
            {"code": DIASTOLIC, "valueQuantity": _q(dia_v, "mm[Hg]", "mm[Hg]")},
        ]
        ctx.emit(obs)
        for key, (code, unit, ucum, mean, sd, dec, lo, hi) in VITALS.items():
            m = base_hr if key == "hr" else mean
            v = m + gauss(0, sd) * spread
            if key == "spo2" and sick:
                v -= 3
            v = min(hi, max(lo, v))
            obs = observation(ctx, patient, encounter, jitter, vs, code)
            obs["valueQuantity"] = _q(round(v, dec) if dec else round(v), unit, ucum)
            ctx.emit(obs)
        t += 4 * HOUR


def labs(ctx: Ctx, patient: str, encounter: str, start: int, end: int) -> None:
    """A CBC and a basic metabolic panel every morning (and on admission)."""
    rng = ctx.rng
    gauss = rng.gauss
    lab = c.LAB_CAT
    shifts = [gauss(0, 1.2) if rng.random() < 0.2 else 0.0 for _ in LABS]
    times = [start + 2 * HOUR]
    midnight, k = ctx.midnight(start), 1
    while (t := ctx.at(midnight, 5 * HOUR, k)) < end:  # 05:00 in the hospital's zone
        times.append(t + rng.randrange(0, 3600))
        k += 1
    for when in times:
        for i, (code, unit, lo, hi, mean, sd, dec) in enumerate(LABS):
            v = mean + (shifts[i] + gauss(0, 0.6)) * sd * 1.5
            v = max(v, lo * 0.3)
            v = round(v, dec) if dec else round(v)
            span = hi - lo
            if v < lo - span * 0.5:
                flag = "LL"
            elif v < lo:
                flag = "L"
            elif v > hi + span:
                flag = "HH"
            elif v > hi:
                flag = "H"
            else:
                flag = "N"
            obs = observation(ctx, patient, encounter, when, lab, code)
            obs["issued"] = instant(min(when + 2 * HOUR, ctx.now - 1))
            obs["valueQuantity"] = _q(v, unit, unit)
            obs["interpretation"] = c.INTERP_LIST[flag]
            obs["referenceRange"] = RANGES[i]
            ctx.emit(obs)


def code_status(ctx: Ctx, patient: str, encounter: str, t: int, author: str) -> str:
    """Write the code-status Observation; return its text."""
    r = ctx.rng.random()
    value = c.FULL_CODE if r < 0.8 else c.DNR if r < 0.95 else c.DNI
    obs = observation(ctx, patient, encounter, t, c.SURVEY_CAT, c.CODE_STATUS_CODE)
    obs["valueCodeableConcept"] = value
    obs["performer"] = [ref("Practitioner", author)]
    ctx.emit(obs)
    return str(value["text"])
