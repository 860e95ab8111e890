"""`generate_hospital`: the whole synthetic hospital, written as it is made.

Order (and so the byte-exact output for a seed and `now`): Organization and Locations,
staff, current inpatients (~85% of beds) with everything their downtime summary needs, ED
patients, surgeries, clinic visits, then a history population of past patients sized so
that the hospital holds about 1,000 resources per bed (~1M at 1,000 beds).
See docs/synthetic-hospital.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from standby.sim.generate import clinical, observations, schedules
from standby.sim.generate import codes as c
from standby.sim.generate.context import DAY, HOUR, JSON, Ctx, instant, ref
from standby.sim.generate.locations import ORG_ID, Layout, Unit, build_locations
from standby.sim.generate.medications import MEDS, choose_meds, medication_orders
from standby.sim.generate.people import DUPLICATES, Person, Staff, make_patient, make_staff
from standby.sim.generate.writer import NdjsonWriter

RESOURCES_PER_BED = 1000
OCCUPANCY = 0.85
ED_OCCUPANCY = 0.7
OB_DX = c.cc2(
    c.ICD10CM,
    "O80",
    "Encounter for full-term uncomplicated delivery",
    c.SNOMED,
    "48782003",
    "Delivery normal",
    "Vaginal delivery",
)
ED_DX = [
    c.cc2(
        c.ICD10CM,
        "R07.9",
        "Chest pain, unspecified",
        c.SNOMED,
        "29857009",
        "Chest pain",
        "Chest pain",
    ),
    c.cc2(
        c.ICD10CM,
        "R10.9",
        "Unspecified abdominal pain",
        c.SNOMED,
        "21522001",
        "Abdominal pain",
        "Abdominal pain",
    ),
    c.cc2(
        c.ICD10CM,
        "R06.02",
        "Shortness of breath",
        c.SNOMED,
        "267036007",
        "Dyspnea",
        "Shortness of breath",
    ),
    c.cc2(
        c.ICD10CM, "R51.9", "Headache, unspecified", c.SNOMED, "25064002", "Headache", "Headache"
    ),
    c.cc2(c.ICD10CM, "R55", "Syncope and collapse", c.SNOMED, "271594007", "Syncope", "Syncope"),
]


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
) -> str:
    rng = ctx.rng
    peds = unit.kind == "PEDU"
    ob = "Mother" in unit.name
    if ob:
        reason = OB_DX
    else:
        pool = [d for d in c.ADMISSION_DX if d[2] == unit.kind and unit.kind != "HU"]
        if peds:
            pool = [d for d in c.ADMISSION_DX if d[2] == "PEDU"]
        if not pool:
            pool = [d for d in c.ADMISSION_DX if d[2] != "PEDU"]
        reason = rng.choices([d[0] for d in pool], [d[1] for d in pool])[0]
    age_range = (0, 17) if peds else (18, 42) if ob else (25, 95)
    start = ctx.now - int(rng.triangular(0.05, 14, 2.5) * DAY)
    person = make_patient(
        ctx,
        age_range=age_range,
        gender="female" if ob else name[2] if name else None,
        name=name[:2] if name else None,
        created=start - rng.randrange(0, 2000) * DAY,
    )
    pid = person.id
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
        _past_stay(ctx, person, start - rng.randrange(60, 900) * DAY, staff, unit)
    eid = _encounter(ctx, pid, "IMP", start, reason, attending, beds)
    clinical.condition(ctx, pid, reason, start + HOUR, encounter=eid, diagnosis=True)
    chronic = [] if ob else rng.sample(c.CHRONIC_DX, rng.randrange(0, 2 if peds else 5))
    for dx in chronic:
        clinical.condition(ctx, pid, dx, start + HOUR)
    author = (attending.id, attending.display)
    allergy_state = clinical.allergies(ctx, pid, start + 1800, attending.id)
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
    med_keys = choose_meds(ctx, problems, peds)
    medication_orders(ctx, med_keys, pid, eid, start, attending, nurses)
    observations.vital_signs(ctx, pid, eid, start, ctx.now, peds)
    observations.labs(ctx, pid, eid, start, ctx.now)
    age = (ctx.today - person.birth) // (365 * DAY)
    meds_text = [str(MEDS[k].concept["text"]) for k in med_keys]
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
        ),
    )
    day, t = 1, start - start % DAY + DAY + 10 * HOUR
    while t < ctx.now:
        clinical.note(
            ctx,
            pid,
            eid,
            t + rng.randrange(0, 3 * HOUR),
            "progress",
            author,
            clinical.progress_text(person.name, day + 1, str(reason["text"]), ctx),
        )
        day, t = day + 1, t + DAY
    clinical.care_plan(ctx, pid, eid, start + 4 * HOUR, str(reason["text"]))
    clinical.inpatient_orders(ctx, pid, eid, start + HOUR, author)
    return pid


def _past_stay(ctx: Ctx, person: Person, start: int, staff: Staffing, unit: Unit) -> None:
    """One finished encounter in the past: a stay (IMP) or a clinic/ED visit."""
    rng = ctx.rng
    pid = person.id
    r = rng.random()
    attending = rng.choice(staff.attendings[unit.id])
    if r < 0.35:
        dx = rng.choices([d[0] for d in c.ADMISSION_DX], [d[1] for d in c.ADMISSION_DX])[0]
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
        dx = rng.choice(c.CHRONIC_DX if cls == "AMB" else ED_DX)
        end = start + rng.randrange(1, 5) * HOUR
        eid = _encounter(ctx, pid, cls, start, dx, attending, [], end)
    obs_t = start + HOUR
    observations.vital_signs(ctx, pid, eid, obs_t - 4 * HOUR, obs_t + 1)


def _ed_patient(ctx: Ctx, bed: tuple[str, str], staff: Staffing, layout: Layout) -> str:
    rng = ctx.rng
    start = ctx.now - rng.randrange(20 * 60, 10 * HOUR)
    person = make_patient(ctx, age_range=(1, 95), created=start - rng.randrange(0, 900) * DAY)
    attending = rng.choice(staff.attendings[layout.ed.id])
    reason = rng.choice(ED_DX)
    eid = _encounter(
        ctx, person.id, "EMER", start, reason, attending, [(bed[0], bed[1], start, None)]
    )
    clinical.allergies(ctx, person.id, start + 900, attending.id)
    observations.vital_signs(ctx, person.id, eid, start - 4 * HOUR + 600, ctx.now)
    observations.labs(ctx, person.id, eid, start, start + HOUR)
    medication_orders(
        ctx,
        rng.sample(["apap_prn", "ondansetron_prn", "ceftriaxone"], rng.randrange(1, 3)),
        person.id,
        eid,
        start,
        attending,
        staff.nurses[layout.ed.id],
    )
    return person.id


def _outpatient(ctx: Ctx, with_history: bool) -> str:
    rng = ctx.rng
    person = make_patient(ctx, age_range=(1, 90), created=ctx.now - rng.randrange(10, 3000) * DAY)
    if with_history:
        clinical.allergies(ctx, person.id, ctx.now - rng.randrange(10, 900) * DAY)
        for dx in rng.sample(c.CHRONIC_DX, rng.randrange(0, 3)):
            clinical.condition(ctx, person.id, dx, ctx.now - rng.randrange(30, 900) * DAY)
    return person.id


def generate_hospital(
    beds: int,
    seed: int,
    out: Path,
    *,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write the hospital as `<ResourceType>.ndjson` files in `out`; counts per type.

    Deterministic: the same `beds`, `seed` and `now` give byte-identical files. `now`
    defaults to the current hour. `progress(resources_written)` is called now and then.
    """
    if beds < 1:
        raise ValueError("beds must be at least 1")
    now = now or default_now()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    writer = NdjsonWriter(Path(out), progress)
    ctx = Ctx(seed, now, writer)
    rng = ctx.rng
    try:
        layout = build_locations(ctx, beds)
        staff = Staffing(ctx, layout, beds)
        inpatients: list[str] = []
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
            ctx,
            layout,
            staff.surgeons,
            staff.anesthesiologists,
            inpatients,
            lambda: _outpatient(ctx, True),
        )
        schedules.clinic_visits(
            ctx, layout, staff.clinic, lambda: _outpatient(ctx, rng.random() < 0.5)
        )
        target = beds * RESOURCES_PER_BED
        ward = layout.units[0]
        while writer.total < target:
            person = make_patient(ctx, created=ctx.now - rng.randrange(400, 4000) * DAY)
            clinical.allergies(ctx, person.id, ctx.now - rng.randrange(300, 3000) * DAY)
            for dx in rng.sample(c.CHRONIC_DX, rng.randrange(0, 3)):
                clinical.condition(ctx, person.id, dx, ctx.now - rng.randrange(300, 3000) * DAY)
            for _ in range(rng.randrange(1, 4)):
                _past_stay(
                    ctx,
                    person,
                    ctx.now - rng.randrange(20, 1500) * DAY,
                    staff,
                    layout.units[rng.randrange(len(layout.units))] if beds > 1 else ward,
                )
    finally:
        writer.close()
    return dict(sorted(writer.counts.items()))
