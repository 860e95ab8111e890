"""`generate_hospital`: the whole synthetic hospital, written as it is made.

Order (and so the byte-exact output for a seed and `now`): Organization and Locations,
staff, current inpatients (~85% of beds) with everything their downtime summary needs, ED
patients, surgeries, clinic visits, then a history population of past patients sized so
that the hospital holds about 1,000 resources per bed (~1M at 1,000 beds).
See docs/synthetic-hospital.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from standby.sim.generate import clinical, observations, schedules
from standby.sim.generate import codes as c
from standby.sim.generate import plausibility as rules
from standby.sim.generate.context import DAY, HOUR, JSON, Ctx, age_at, instant, ref
from standby.sim.generate.diagnoses import ED_DX
from standby.sim.generate.infusions import DRIPS, drip_orders
from standby.sim.generate.locations import ORG_ID, Layout, Unit, build_locations
from standby.sim.generate.medications import MEDS, choose_meds, medication_orders
from standby.sim.generate.people import DUPLICATES, Person, Staff, make_patient, make_staff
from standby.sim.generate.writer import NdjsonWriter

RESOURCES_PER_BED = 1000
OCCUPANCY = 0.85
ED_OCCUPANCY = 0.7


@dataclass(frozen=True, slots=True)
class Inpatient:
    """A current inpatient, as the OR schedule needs to know them."""

    id: str
    age: int
    sex: str
    problems: frozenset[str]


def default_now() -> datetime:
    """The current time rounded down to the hour (so today's surgeries are today)."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


class Staffing:
    def __init__(self, ctx: Ctx, layout: Layout, beds: int) -> None:
        per = max(1, beds // 12)
        self.attendings: dict[str, list[Staff]] = {}
        for unit in [*layout.units, layout.ed]:
            spec = {
                "ICU": "critical",
                "CCU": "cardiology",
                "PEDU": "pediatrics",
                "ER": "medicine",
            }.get(unit.kind, "obstetrics" if "Mother" in unit.name else "medicine")
            n = max(1, round(per * len(unit.beds) / max(beds, 1) * 1.2)) if beds else 1
            self.attendings[unit.id] = make_staff(ctx, "attending", spec, [unit.id], n)
        self.nurses: dict[str, list[Staff]] = {
            unit.id: make_staff(ctx, "nurse", "nursing", [unit.id], max(2, len(unit.beds) // 4))
            for unit in [*layout.units, layout.ed]
        }
        n_or = len(layout.ors)
        self.surgeons = make_staff(
            ctx, "surgeon", "surgery", [layout.or_suite], max(2, n_or)
        ) + make_staff(ctx, "surgeon", "ortho", [layout.or_suite], max(1, n_or // 2))
        self.anesthesiologists = make_staff(
            ctx, "anesthesiologist", "anesthesia", [layout.or_suite], max(1, n_or)
        )
        self.clinic: dict[str, list[Staff]] = {
            cid: make_staff(ctx, "clinic", spec, [cid], 2 + ctx.rng.randrange(2))
            for cid, _name, spec in layout.clinics
        }


def _encounter(
    ctx: Ctx,
    patient: str,
    cls: str,
    start: int,
    reason: JSON,
    attending: Staff,
    beds: list[tuple[str, str, int, int | None]],
    end: int | None = None,
) -> str:
    """beds: (Location id, display, from, to or None while there)."""
    eid = ctx.id("en")
    enc: JSON = {
        "resourceType": "Encounter",
        "id": eid,
        "meta": ctx.meta(end if end else beds[-1][2] if beds else start),
        "identifier": [c.visit_number(eid)],
        "status": "finished" if end else "in-progress",
        "class": c.ENC_CLASS[cls],
        "subject": ref("Patient", patient),
        "participant": [
            {"type": c.ATTENDER, "individual": ref("Practitioner", attending.id, attending.display)}
        ],
        "period": {"start": instant(start), **({"end": instant(end)} if end else {})},
        "reasonCode": [reason],
        "serviceProvider": ref("Organization", ORG_ID),
    }
    if beds:
        enc["location"] = [
            {
                "location": ref("Location", b, disp),
                "status": "completed" if until else "active",
                "period": {"start": instant(since), **({"end": instant(until)} if until else {})},
            }
            for b, disp, since, until in beds
        ]
    ctx.emit(enc)
    return eid


def _inpatient(
    ctx: Ctx,
    unit: Unit,
    bed: tuple[str, str],
    staff: Staffing,
    layout: Layout,
    name: tuple[str, str, str] | None,
) -> Inpatient:
    rng = ctx.rng
    peds = unit.kind == "PEDU"
    ob = "Mother" in unit.name
    pool = rules.admission_reasons(unit.kind, unit.name)
    reason = rng.choices([d for d, _ in pool], [w for _, w in pool])[0]
    band = rules.admission_band(reason, rules.unit_band(unit.kind, unit.name))
    start = ctx.now - int(rng.triangular(0.05, 14, 2.5) * DAY)
    person = make_patient(
        ctx,
        age_range=(band.min_age, band.max_age),
        gender=band.sex or (name[2] if name else None),
        name=name[:2] if name else None,
        created=start - rng.randrange(0, 2000) * DAY,
    )
    pid = person.id
    age = age_at(person.birth, ctx.now)
    attending = rng.choice(staff.attendings[unit.id])
    nurses = staff.nurses[unit.id]
    beds: list[tuple[str, str, int, int | None]] = []
    if rng.random() < 0.12:  # came through the ED: an earlier bed, completed
        ed_bed = layout.ed.beds[rng.randrange(len(layout.ed.beds))]
        moved = start + rng.randrange(2 * HOUR, 8 * HOUR)
        beds.append((ed_bed[0], ed_bed[1], start, moved))
        beds.append((bed[0], bed[1], moved, None))
    else:
        beds.append((bed[0], bed[1], start, None))
    if rng.random() < 0.25:
        _past_stay(ctx, person, start - rng.randrange(60, 900) * DAY, staff, layout)
    eid = _encounter(ctx, pid, "IMP", start, reason, attending, beds)
    clinical.condition(ctx, pid, reason, start + HOUR, encounter=eid, diagnosis=True)
    chronic = [] if ob else rules.chronic_problems(rng, age, 2 if peds else 5)
    for dx in chronic:
        clinical.condition(ctx, pid, dx, start + HOUR)
    author = (attending.id, attending.display)
    allergy_state, allergens = clinical.allergies(ctx, pid, start + 1800, attending.id, age)
    code = (
        "Full code"
        if peds or ob
        else observations.code_status(ctx, pid, eid, start + 2 * HOUR, attending.id)
    )
    if peds or ob:
        obs = observations.observation(
            ctx, pid, eid, start + 2 * HOUR, c.SURVEY_CAT, c.CODE_STATUS_CODE
        )
        obs["valueCodeableConcept"] = c.FULL_CODE
        ctx.emit(obs)
    clinical.flags(ctx, pid, eid, start + HOUR)
    problems = [str(reason["text"])] + [str(d["text"]) for d in chronic]
    drips = rules.drips_for(rng, unit.kind, set(problems))
    med_keys = choose_meds(ctx, problems, age, allergens, drips)
    body = (rules.weight_kg(rng, age), rules.height_cm(rng, age))
    scheduled = [k for k in med_keys if k in MEDS]
    medication_orders(ctx, scheduled, pid, eid, start, attending, nurses, weight=body[0])
    drip_orders(ctx, [k for k in med_keys if k in DRIPS], pid, eid, start, attending, nurses)
    observations.vital_signs(ctx, pid, eid, start, ctx.now, peds, body)
    observations.labs(ctx, pid, eid, start, ctx.now)
    meds_text = [str((MEDS[k] if k in MEDS else DRIPS[k]).concept["text"]) for k in med_keys]
    prophylaxis = any(rules.MED_CLASS[k] == "anticoagulant" for k in med_keys)
    clinical.note(
        ctx,
        pid,
        eid,
        min(start + 3 * HOUR, ctx.now - 60),
        "hp",
        author,
        clinical.hp_text(
            person.name,
            age,
            person.gender,
            str(reason["text"]),
            problems[1:],
            allergy_state,
            meds_text,
            code,
            prophylaxis,
        ),
    )
    midnight, day = ctx.midnight(start), 1
    while (t := ctx.at(midnight, 10 * HOUR, day)) < ctx.now:
        clinical.note(
            ctx,
            pid,
            eid,
            t + rng.randrange(0, 3 * HOUR),
            "progress",
            author,
            clinical.progress_text(person.name, day + 1, str(reason["text"]), ctx, med_keys),
        )
        day += 1
    clinical.care_plan(ctx, pid, eid, start + 4 * HOUR, str(reason["text"]))
    clinical.inpatient_orders(ctx, pid, eid, start + HOUR, author, set(problems))
    return Inpatient(pid, age, person.gender, frozenset(problems))


def _unit_for(ctx: Ctx, layout: Layout, reason: JSON, age: int, sex: str) -> Unit:
    """A unit that admits `reason` and patients of this age and sex (else the first unit)."""
    fits = [
        u
        for u in layout.units
        if reason in [d for d, _ in rules.admission_reasons(u.kind, u.name)]
        and rules.unit_band(u.kind, u.name).fits(age, sex)
    ]
    return fits[ctx.rng.randrange(len(fits))] if fits else layout.units[0]


def _past_stay(ctx: Ctx, person: Person, start: int, staff: Staffing, layout: Layout) -> None:
    """One finished encounter in the past: a stay (IMP) in a unit that admits its
    diagnosis, or a clinic/ED visit."""
    rng = ctx.rng
    pid = person.id
    r = rng.random()
    age = age_at(person.birth, start)
    dx = rules.past_reason(rng, age)
    unit = _unit_for(ctx, layout, dx, age, person.gender)
    attending = rng.choice(staff.attendings[unit.id])
    if r < 0.35:
        end = start + rng.randrange(1, 7) * DAY + rng.randrange(0, DAY)
        bed = unit.beds[rng.randrange(len(unit.beds))]
        eid = _encounter(ctx, pid, "IMP", start, dx, attending, [(*bed, start, end)], end)
        clinical.condition(ctx, pid, dx, start + HOUR, encounter=eid, diagnosis=True, resolved=True)
        observations.labs(ctx, pid, eid, start, start + DAY)
        clinical.note(
            ctx,
            pid,
            eid,
            end - HOUR,
            "discharge",
            (attending.id, attending.display),
            f"DISCHARGE SUMMARY\n\nPatient: {person.name}\nAdmitted for "
            f"{str(dx['text']).lower()}; treated and improved.\nDischarged home "
            "in stable condition with follow-up in clinic in 1 to 2 weeks.\n",
        )
    else:
        cls = "AMB" if r < 0.85 else "EMER"
        dx = rng.choice((rules.chronic_pool(age) or ED_DX) if cls == "AMB" else ED_DX)
        end = start + rng.randrange(1, 5) * HOUR
        eid = _encounter(ctx, pid, cls, start, dx, attending, [], end)
    obs_t = start + HOUR
    observations.vital_signs(ctx, pid, eid, obs_t - 4 * HOUR, obs_t + 1)


ED_ORDERS = {  # first orders in the ED, by presenting complaint
    "Chest pain": ["aspirin", "apap_prn"],
    "Abdominal pain": ["ondansetron_prn", "apap_prn"],
    "Shortness of breath": ["albuterol_prn", "apap_prn"],
    "Headache": ["apap_prn", "ondansetron_prn"],
    "Syncope": ["apap_prn"],
}


def _ed_patient(ctx: Ctx, bed: tuple[str, str], staff: Staffing, layout: Layout) -> str:
    rng = ctx.rng
    start = ctx.now - rng.randrange(20 * 60, 10 * HOUR)
    person = make_patient(ctx, age_range=(18, 95), created=start - rng.randrange(0, 900) * DAY)
    age = age_at(person.birth, ctx.now)
    attending = rng.choice(staff.attendings[layout.ed.id])
    reason = rng.choice(ED_DX)
    eid = _encounter(
        ctx, person.id, "EMER", start, reason, attending, [(bed[0], bed[1], start, None)]
    )
    _state, allergens = clinical.allergies(ctx, person.id, start + 900, attending.id, age)
    observations.vital_signs(ctx, person.id, eid, start - 4 * HOUR + 600, ctx.now)
    observations.labs(ctx, person.id, eid, start, start + HOUR)
    orders = ED_ORDERS[str(reason["text"])][: rng.randrange(1, 3)]
    medication_orders(
        ctx,
        rules.permitted(orders, age, allergens, {str(reason["text"])}),
        person.id,
        eid,
        start,
        attending,
        staff.nurses[layout.ed.id],
    )
    return person.id


def _surgical_patient(ctx: Ctx, proc: rules.Procedure, acute: bool) -> tuple[str, JSON]:
    """A new patient for `proc`, with its indication (an acute one for an urgent case)."""
    rng = ctx.rng
    pool = [i for i in proc.indications if acute] or [proc.indications[0]]
    reason = pool[rng.randrange(len(pool))]
    band = proc.who.within(rules.who_may_have(str(reason["text"])))
    person = make_patient(
        ctx,
        age_range=(band.min_age, band.max_age),
        gender=band.sex,
        created=ctx.now - rng.randrange(10, 3000) * DAY,
    )
    age = age_at(person.birth, ctx.now)
    clinical.allergies(ctx, person.id, ctx.now - rng.randrange(10, 900) * DAY, age=age)
    if str(reason["text"]) not in rules.SCREENING:
        clinical.condition(ctx, person.id, reason, ctx.now - rng.randrange(2, 90) * DAY)
    for dx in rules.chronic_problems(rng, age, 3):
        clinical.condition(ctx, person.id, dx, ctx.now - rng.randrange(30, 900) * DAY)
    return person.id, reason


def _clinic_patient(ctx: Ctx, clinic: rules.Clinic) -> str:
    """A new patient the clinic sees: of its ages and sex, with one of its problems."""
    rng = ctx.rng
    band, reason = clinic.who, None
    if clinic.problems:
        text = clinic.problems[rng.randrange(len(clinic.problems))]
        reason = rules.problem(text)
        band = band.within(rules.who_may_have(text))
    person = make_patient(
        ctx,
        age_range=(band.min_age, band.max_age),
        gender=band.sex,
        created=ctx.now - rng.randrange(10, 3000) * DAY,
    )
    if reason is not None or rng.random() < 0.5:
        age = age_at(person.birth, ctx.now)
        clinical.allergies(ctx, person.id, ctx.now - rng.randrange(10, 900) * DAY, age=age)
        problems = rules.chronic_problems(rng, age, 3)
        if reason is not None and reason not in problems:
            problems.insert(0, reason)
        for dx in problems:
            clinical.condition(ctx, person.id, dx, ctx.now - rng.randrange(30, 900) * DAY)
    return person.id


def _surgery_patients(
    ctx: Ctx, inpatients: list[Inpatient]
) -> Callable[[rules.Procedure, str, int], tuple[str, JSON]]:
    """Who a case is for: an inpatient whose diagnosis the procedure treats (each booked
    once; urgent cases and a quarter of the next two days' cases), else a new patient."""
    rng = ctx.rng
    booked: set[str] = set()

    def pick(proc: rules.Procedure, word: str, start: int) -> tuple[str, JSON]:
        if (start < ctx.today + 2 * DAY and rng.random() < 0.25) or word != "routine":
            texts = {str(i["text"]) for i in proc.indications}
            fits = [
                p
                for p in inpatients
                if p.id not in booked and proc.who.fits(p.age, p.sex) and p.problems & texts
            ]
            if fits:
                chosen = fits[rng.randrange(len(fits))]
                booked.add(chosen.id)
                reason = next(i for i in proc.indications if i["text"] in chosen.problems)
                return chosen.id, reason
        return _surgical_patient(ctx, proc, word != "routine")

    return pick


def generate_hospital(
    beds: int,
    seed: int,
    out: Path,
    *,
    now: datetime | None = None,
    zone: tzinfo = UTC,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write the hospital as `<ResourceType>.ndjson` files in `out`; counts per type.

    Deterministic: the same `beds`, `seed`, `now` and `zone` give byte-identical files.
    `now` defaults to the current hour. `zone` is the hospital's time zone: doses, rounds,
    morning labs, OR cases and clinic visits are at its wall-clock times.
    `progress(resources_written)` is called now and then.
    """
    if beds < 1:
        raise ValueError("beds must be at least 1")
    now = now or default_now()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    writer = NdjsonWriter(Path(out), progress)
    ctx = Ctx(seed, now, writer, zone)
    rng = ctx.rng
    try:
        layout = build_locations(ctx, beds)
        staff = Staffing(ctx, layout, beds)
        inpatients: list[Inpatient] = []
        dup = list(DUPLICATES)
        for unit in layout.units:
            for bed in unit.beds:
                if rng.random() < OCCUPANCY:
                    name = None
                    if dup and unit.kind not in ("PEDU",) and "Mother" not in unit.name:
                        name = dup.pop(0)
                    inpatients.append(_inpatient(ctx, unit, bed, staff, layout, name))
        for bed in layout.ed.beds:
            if rng.random() < ED_OCCUPANCY:
                _ed_patient(ctx, bed, staff, layout)
        schedules.surgeries(
            ctx, layout, staff.surgeons, staff.anesthesiologists, _surgery_patients(ctx, inpatients)
        )
        schedules.clinic_visits(ctx, layout, staff.clinic, lambda k: _clinic_patient(ctx, k))
        target = beds * RESOURCES_PER_BED
        while writer.total < target:
            person = make_patient(ctx, created=ctx.now - rng.randrange(400, 4000) * DAY)
            age = age_at(person.birth, ctx.now)
            clinical.allergies(ctx, person.id, ctx.now - rng.randrange(300, 3000) * DAY, age=age)
            for dx in rules.chronic_problems(rng, age, 3):
                clinical.condition(ctx, person.id, dx, ctx.now - rng.randrange(300, 3000) * DAY)
            for _ in range(rng.randrange(1, 4)):
                _past_stay(ctx, person, ctx.now - rng.randrange(20, 1500) * DAY, staff, layout)
    finally:
        writer.close()
    return dict(sorted(writer.counts.items()))
