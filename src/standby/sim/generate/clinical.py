"""What a downtime summary needs besides vitals, labs and medications: allergies (with
the three states that must not be confused), problems, safety flags, notes, the care plan
and active orders (docs/data-model.md).

AllergyIntolerance https://hl7.org/fhir/R4/allergyintolerance.html; Condition
https://hl7.org/fhir/R4/condition.html; Flag https://hl7.org/fhir/R4/flag.html;
DocumentReference https://hl7.org/fhir/R4/documentreference.html; CarePlan
https://hl7.org/fhir/R4/careplan.html; ServiceRequest https://hl7.org/fhir/R4/servicerequest.html.
"""

from __future__ import annotations

import base64

from standby.sim.generate import codes as c
from standby.sim.generate.context import DAY, HOUR, JSON, Ctx, date_of, instant, ref
from standby.sim.generate.plausibility import allergens_for, diet_for, nursing_orders_for


def allergies(
    ctx: Ctx, patient: str, t: int, recorder: str | None = None, age: int = 50
) -> tuple[str, list[str]]:
    """Write the patient's AllergyIntolerances. Returns which state was made ("not-recorded"
    (~10%: none at all), "nka" (~20%: 716186003 asserted) or "allergies") and the codes of
    the substances."""
    rng = ctx.rng
    r = rng.random()
    if r < 0.10:
        return "not-recorded", []
    base: JSON = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": c.ALLERGY_ACTIVE,
        "verificationStatus": c.ALLERGY_CONFIRMED,
        "patient": ref("Patient", patient),
        "recordedDate": instant(t),
    }
    if recorder:
        base["recorder"] = ref("Practitioner", recorder)
    if r < 0.30:
        ctx.emit({**base, "id": ctx.id("al"), "meta": ctx.meta(t), "code": c.NKA})
        return "nka", []
    codes: list[str] = []
    for substance, category in rng.sample(allergens_for(age), rng.randrange(1, 5)):
        codes.append(str(substance["coding"][0]["code"]))
        manifestation, severity = c.REACTIONS[rng.randrange(len(c.REACTIONS))]
        ctx.emit(
            {
                **base,
                "id": ctx.id("al"),
                "meta": ctx.meta(t),
                "verificationStatus": c.ALLERGY_CONFIRMED
                if rng.random() < 0.85
                else c.ALLERGY_UNCONFIRMED,
                "type": "allergy",
                "category": [category],
                "criticality": "high" if severity == "severe" else "low",
                "code": substance,
                "reaction": [{"manifestation": [manifestation], "severity": severity}],
            }
        )
    return "allergies", codes


def condition(
    ctx: Ctx,
    patient: str,
    code: JSON,
    t: int,
    *,
    encounter: str | None = None,
    diagnosis: bool = False,
    resolved: bool = False,
) -> None:
    cond: JSON = {
        "resourceType": "Condition",
        "id": ctx.id("co"),
        "meta": ctx.meta(t),
        "clinicalStatus": c.RESOLVED if resolved else c.ACTIVE,
        "verificationStatus": c.CONFIRMED,
        "category": c.DIAGNOSIS_CAT if diagnosis else c.PROBLEM_CAT,
        "code": code,
        "subject": ref("Patient", patient),
        "onsetDateTime": instant(t - (0 if diagnosis else ctx.rng.randrange(30, 3000) * DAY)),
        "recordedDate": instant(t),
    }
    if encounter:
        cond["encounter"] = ref("Encounter", encounter)
    ctx.emit(cond)


def flags(ctx: Ctx, patient: str, encounter: str, t: int) -> list[str]:
    """Isolation (~10%) and falls-risk (~20%) Flags; returns their texts."""
    rng = ctx.rng
    out = []
    chosen = []
    if rng.random() < 0.10:
        chosen.append(c.ISOLATION[rng.randrange(len(c.ISOLATION))])
    if rng.random() < 0.20:
        chosen.append(c.FALLS_RISK)
    for code in chosen:
        ctx.emit(
            {
                "resourceType": "Flag",
                "id": ctx.id("fl"),
                "meta": ctx.meta(t),
                "status": "active",
                "category": c.FLAG_SAFETY,
                "code": code,
                "subject": ref("Patient", patient),
                "period": {"start": instant(t)},
                "encounter": ref("Encounter", encounter),
            }
        )
        out.append(str(code["text"]))
    return out


def note(
    ctx: Ctx,
    patient: str,
    encounter: str,
    t: int,
    kind: str,
    author: tuple[str, str],
    text: str,
) -> None:
    ctx.emit(
        {
            "resourceType": "DocumentReference",
            "id": ctx.id("dr"),
            "meta": ctx.meta(t),
            "status": "current",
            "docStatus": "final",
            "type": c.NOTE_TYPES[kind],
            "category": c.NOTE_CATEGORY,
            "subject": ref("Patient", patient),
            "date": instant(t),
            "author": [ref("Practitioner", author[0], author[1])],
            "description": c.NOTE_TYPES[kind]["text"],
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain; charset=utf-8",
                        "language": "en-US",
                        "data": base64.b64encode(text.encode()).decode("ascii"),
                        "title": f"{c.NOTE_TYPES[kind]['text']} {date_of(t)}",
                        "creation": instant(t),
                    }
                }
            ],
            "context": {"encounter": [ref("Encounter", encounter)]},
        }
    )


def hp_text(
    name: str,
    age: int,
    sex: str,
    reason: str,
    problems: list[str],
    allergy_state: str,
    meds: list[str],
    code: str,
    prophylaxis: bool = True,
) -> str:
    pmh = ", ".join(problems) or "none reported"
    allergy = {
        "not-recorded": "Not obtained yet (patient unable to give history).",
        "nka": "No known allergies.",
    }.get(allergy_state, "See allergy list.")
    first = name.split()[0]
    if reason == "Vaginal delivery":
        complaint = "Postpartum care"
        story = f"{first} was admitted to the mother-baby unit after an uncomplicated full-term "
        story += "vaginal delivery."
    else:
        complaint = reason
        story = f"{first} presented with symptoms consistent with {reason.lower()}. Symptoms "
        story += "began 2 to 3 days before arrival and worsened despite rest and fluids at home."
    state = "alert and consolable" if age < 4 else "alert and oriented"
    return (
        f"HISTORY AND PHYSICAL\n\nPatient: {name}, {age}-year-old {sex}.\n"
        f"Chief complaint: {complaint}.\n\n"
        f"History of present illness: {story}\n\n"
        f"Past medical history: {pmh}.\nAllergies: {allergy}\n"
        f"Medications ordered on admission: {', '.join(meds[:6]) or 'none'}.\n\n"
        f"Examination: {state}, in mild distress. Heart regular rate and rhythm. "
        "Lungs with scattered findings as noted. Abdomen soft.\n\n"
        f"Assessment and plan: admitted for {reason.lower()}. Code status: {code}. "
        "Monitor vital signs every 4 hours, daily CBC and BMP, continue home medications "
        f"where appropriate, {'VTE prophylaxis, ' if prophylaxis else ''}"
        "physical therapy evaluation.\n"
    )


# (subjective line, the order key it names or None): a note names only drugs that are ordered.
PROGRESS: list[tuple[str, str | None]] = [
    ("Feels better this morning, tolerating diet. Afebrile overnight.", None),
    (
        "Some nausea overnight, improved with ondansetron. Ambulating with assistance.",
        "ondansetron_prn",
    ),
    ("Slept poorly. Pain controlled on the current regimen.", None),
    ("Mild shortness of breath on exertion; oxygen weaned to room air.", None),
    ("No acute events overnight. Family at bedside, updated on the plan.", None),
]


def progress_text(name: str, day: int, reason: str, ctx: Ctx, ordered: list[str]) -> str:
    subj, drug = PROGRESS[ctx.rng.randrange(len(PROGRESS))]
    if drug is not None and drug not in ordered:
        subj = PROGRESS[0][0]
    return (
        f"PROGRESS NOTE, hospital day {day}\n\nPatient: {name}\n\nSubjective: {subj}\n\n"
        "Objective: vital signs reviewed (see flowsheet). Labs reviewed.\n\n"
        f"Assessment: {reason}, improving.\n"
        "Plan: continue current treatment; reassess tomorrow; discharge planning with case "
        "management.\n"
    )


CARE_ACTIVITIES = [
    "Monitor vital signs every 4 hours and notify provider of abnormal values",
    "Fall prevention: bed alarm on, call light within reach",
    "Ambulate three times daily with assistance",
    "Incentive spirometry 10 times per hour while awake",
    "Education on medications and discharge instructions",
    "Daily weight before breakfast",
    "Pain reassessment within one hour of each PRN dose",
    "Skin assessment and repositioning every 2 hours",
]


def care_plan(ctx: Ctx, patient: str, encounter: str, t: int, reason: str) -> None:
    acts = ctx.rng.sample(CARE_ACTIVITIES, ctx.rng.randrange(2, 5))
    ctx.emit(
        {
            "resourceType": "CarePlan",
            "id": ctx.id("cp"),
            "meta": ctx.meta(t),
            "status": "active",
            "intent": "plan",
            "title": f"Inpatient care plan: {reason}",
            "description": f"Nursing and medical plan for {reason.lower()}.",
            "subject": ref("Patient", patient),
            "encounter": ref("Encounter", encounter),
            "period": {"start": instant(t)},
            "created": instant(t),
            "activity": [{"detail": {"status": "in-progress", "description": a}} for a in acts],
        }
    )


def service_request(
    ctx: Ctx,
    patient: str,
    encounter: str | None,
    t: int,
    kind: str,
    code: JSON,
    requester: tuple[str, str],
    *,
    occurrence: int | None = None,
    priority: str = "routine",
    reason: JSON | None = None,
) -> str:
    sid = ctx.id("sr")
    sr: JSON = {
        "resourceType": "ServiceRequest",
        "id": sid,
        "meta": ctx.meta(t),
        "status": "active",
        "intent": "order",
        "category": c.SR_CATEGORY[kind],
        "priority": priority,
        "code": code,
        "subject": ref("Patient", patient),
        "authoredOn": instant(t),
        "requester": ref("Practitioner", requester[0], requester[1]),
    }
    if encounter:
        sr["encounter"] = ref("Encounter", encounter)
    if occurrence is not None:
        sr["occurrenceDateTime"] = instant(occurrence)
    if reason is not None:
        sr["reasonCode"] = [reason]
    ctx.emit(sr)
    return sid


def inpatient_orders(
    ctx: Ctx,
    patient: str,
    encounter: str,
    t: int,
    requester: tuple[str, str],
    problems: set[str],
) -> None:
    """Active orders: daily labs, maybe imaging, the diet and one or two nursing orders the
    problems call for (`plausibility.diet_for`, `nursing_orders_for`)."""
    rng = ctx.rng
    for code in c.LAB_ORDERS[: rng.randrange(1, 4)]:
        service_request(
            ctx,
            patient,
            encounter,
            t + 600,
            "lab",
            code,
            requester,
            occurrence=ctx.at(ctx.today, 5 * HOUR, 1),
        )
    if rng.random() < 0.4:
        service_request(
            ctx,
            patient,
            encounter,
            t + 900,
            "imaging",
            c.IMAGING_ORDERS[rng.randrange(len(c.IMAGING_ORDERS))],
            requester,
            occurrence=ctx.now + rng.randrange(1, 20) * HOUR,
            priority="urgent" if rng.random() < 0.3 else "routine",
        )
    service_request(
        ctx,
        patient,
        encounter,
        t + 700,
        "diet",
        diet_for(problems),
        requester,
    )
    nursing = nursing_orders_for(problems)
    for code in rng.sample(nursing, rng.randrange(1, 3)):
        service_request(ctx, patient, encounter, t + 800, "nursing", code, requester)
