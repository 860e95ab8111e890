"""Surgeries and clinic visits for today and the next 7 days.

Surgery: a ServiceRequest (category 387713003 "Surgical procedure") and an Appointment in
an operating room's Schedule, holding a busy Slot; free Slots fill the gaps
(https://hl7.org/fhir/R4/appointment.html, schedule.html, slot.html). R4's
`Appointment.priority` is a number (1 emergent, 3 urgent, 5 routine here), so the word is
also carried by the extension `surgical-priority` (and by the ServiceRequest's
`priority`: routine / urgent / stat). Anesthesia: the `anesthesia-type` extension and the
`comment`. Clinic visits: Appointment with the patient, the clinic physician and the
clinic Location; a few cancelled.
"""

from __future__ import annotations

from collections.abc import Callable

from standby.sim.generate import clinical
from standby.sim.generate import codes as c
from standby.sim.generate.context import DAY, HOUR, JSON, Ctx, instant, ref
from standby.sim.generate.locations import Layout
from standby.sim.generate.people import Staff
from standby.sim.generate.plausibility import (
    CLINIC_HOURS,
    PROCEDURES,
    Clinic,
    Procedure,
    clinic_named,
)

DAYS = 8  # today and the next 7
PRIORITIES = [("routine", 5, "routine"), ("urgent", 3, "urgent"), ("emergent", 1, "stat")]
PRIORITY_WEIGHTS = [80, 15, 5]
# colonoscopy under sedation, CABG under general, Cesarean section under spinal
ANESTHESIA_FOR = {"73761001": "mac", "232717009": "general", "11466000": "regional"}
ASA = ["ASA 1", "ASA 2", "ASA 2", "ASA 3", "ASA 3", "ASA 4"]


def _status(ctx: Ctx, start: int, end: int) -> str:
    if end <= ctx.now:
        return "fulfilled"
    if start <= ctx.now:
        return "arrived"
    return "booked"


def _slot(ctx: Ctx, schedule: str, start: int, end: int, status: str) -> str:
    sid = ctx.id("sl")
    ctx.emit(
        {
            "resourceType": "Slot",
            "id": sid,
            "meta": ctx.meta(ctx.now - 10 * DAY),
            "schedule": ref("Schedule", schedule),
            "status": status,
            "start": instant(start),
            "end": instant(end),
        }
    )
    return sid


def surgeries(
    ctx: Ctx,
    layout: Layout,
    surgeons: list[Staff],
    anesthesiologists: list[Staff],
    pick: Callable[[Procedure, str, int], tuple[str, JSON]],
) -> None:
    """One Schedule per OR; cases 07:30–17:30 on weekdays, half the rooms until 15:00 at
    weekends (urgent and emergent cases; the first room always). Routine cases are elective
    procedures; `pick` says whose case it is and why (a patient the procedure fits:
    `plausibility`)."""
    rng = ctx.rng
    first_or = layout.ors[0][0]  # the on-call room: it always runs at weekends
    for or_id, or_name in layout.ors:
        sched = f"sch-{or_id}"
        ctx.emit(
            {
                "resourceType": "Schedule",
                "id": sched,
                "meta": ctx.meta(ctx.now - 30 * DAY),
                "active": True,
                "serviceCategory": c.SURGERY_CATEGORY,
                "actor": [ref("Location", or_id, or_name)],
                "planningHorizon": {
                    "start": instant(ctx.today),
                    "end": instant(ctx.at(ctx.today, 0, DAYS)),
                },
                "comment": f"{or_name} block schedule",
            }
        )
        for day in range(DAYS):
            base = ctx.at(ctx.today, 0, day)
            weekend = ctx.is_weekend(base)
            t, close = ctx.at(base, 7 * HOUR + 1800), ctx.at(base, 17 * HOUR + 1800)
            if weekend:  # about half the rooms run, shorter days, urgent cases first
                t = ctx.at(base, 8 * HOUR)
                close = ctx.at(base, (15 if rng.random() < 0.5 or or_id == first_or else 8) * HOUR)
            while t < close:
                word, number, sr_priority = rng.choices(
                    PRIORITIES, (0, 70, 30) if weekend else PRIORITY_WEIGHTS
                )[0]
                pool = [p for p in PROCEDURES if p.elective or word != "routine"]
                proc = pool[rng.randrange(len(pool))]
                minutes = max(30, proc.minutes + rng.choice((-15, 0, 0, 15, 30)))
                end = t + minutes * 60
                if end > close + HOUR:
                    break
                _case(
                    ctx,
                    sched,
                    or_id,
                    or_name,
                    t,
                    end,
                    minutes,
                    proc,
                    (word, number, sr_priority),
                    surgeons,
                    anesthesiologists,
                    pick,
                )
                t = end + 1800
                if rng.random() < 0.2:  # a gap in the board
                    gap = rng.choice((60, 90, 120)) * 60
                    _slot(ctx, sched, t, t + gap, "free")
                    t += gap
            if t < close:
                _slot(ctx, sched, t, close, "free")


def _case(
    ctx: Ctx,
    sched: str,
    or_id: str,
    or_name: str,
    start: int,
    end: int,
    minutes: int,
    procedure: Procedure,
    priority: tuple[str, int, str],
    surgeons: list[Staff],
    anesthesiologists: list[Staff],
    pick: Callable[[Procedure, str, int], tuple[str, JSON]],
) -> None:
    rng = ctx.rng
    word, number, sr_priority = priority
    proc, spec = procedure.concept, procedure.specialty
    patient, reason = pick(procedure, word, start)
    surgeon = surgeons[rng.randrange(len(surgeons))]
    anesth = anesthesiologists[rng.randrange(len(anesthesiologists))]
    kind = (
        ANESTHESIA_FOR.get(proc["coding"][0]["code"])
        or rng.choices(("general", "regional", "mac"), (70, 20, 10))[0]
    )
    booked = min(
        start - rng.randrange(1, 30) * DAY if word == "routine" else start - HOUR, ctx.now - HOUR
    )
    sr = clinical.service_request(
        ctx,
        patient,
        None,
        booked,
        "surgery",
        proc,
        (surgeon.id, surgeon.display),
        occurrence=start,
        priority=sr_priority,
        reason=reason,
    )
    slot = _slot(ctx, sched, start, end, "busy")
    anesthesia = c.ANESTHESIA[kind]
    status = "cancelled" if rng.random() < 0.03 else _status(ctx, start, end)
    ctx.emit(
        {
            "resourceType": "Appointment",
            "id": ctx.id("ap"),
            "meta": ctx.meta(booked),
            "extension": [
                {"url": c.SURGICAL_PRIORITY_EXT, "valueCode": word},
                {"url": c.ANESTHESIA_EXT, "valueCodeableConcept": anesthesia},
            ],
            "status": status,
            "serviceCategory": c.SURGERY_CATEGORY,
            "serviceType": [proc],
            "specialty": [c.SPECIALTY[spec]],
            "priority": number,
            "description": str(proc["text"]),
            "start": instant(start),
            "end": instant(end),
            "minutesDuration": minutes,
            "slot": [ref("Slot", slot)],
            "created": instant(booked),
            "comment": f"Anesthesia: {anesthesia['text']}; {rng.choice(ASA)}. Priority: {word}.",
            "basedOn": [ref("ServiceRequest", sr)],
            "participant": [
                {"actor": ref("Patient", patient), "required": "required", "status": "accepted"},
                {
                    "type": c.PRIMARY_PERFORMER,
                    "actor": ref("Practitioner", surgeon.id, surgeon.display),
                    "required": "required",
                    "status": "accepted",
                },
                {
                    "type": c.SECONDARY_PERFORMER,
                    "actor": ref("Practitioner", anesth.id, anesth.display),
                    "required": "required",
                    "status": "accepted",
                },
                {
                    "actor": ref("Location", or_id, or_name),
                    "required": "required",
                    "status": "accepted",
                },
            ],
        }
    )


def clinic_visits(
    ctx: Ctx,
    layout: Layout,
    providers: dict[str, list[Staff]],
    pick_patient: Callable[[Clinic], str],
) -> None:
    """30-minute visits 08:00–16:30 Monday to Friday, about three quarters of slots booked,
    for patients the clinic sees (`plausibility.CLINICS`)."""
    rng = ctx.rng
    first, last = CLINIC_HOURS
    for clinic_id, clinic_name, _spec in layout.clinics:
        rule = clinic_named(clinic_name)
        assert rule is not None, clinic_name
        for day in range(DAYS):
            base = ctx.at(ctx.today, 0, day)
            if ctx.is_weekend(base):
                continue
            for prov in providers[clinic_id]:
                for k in range((last - first) * 2):
                    if rng.random() > 0.75:
                        continue
                    start = ctx.at(base, first * HOUR + k * 1800)
                    end = start + 1800
                    created = min(start - rng.randrange(1, 60) * DAY, ctx.now - HOUR)
                    status = "cancelled" if rng.random() < 0.04 else _status(ctx, start, end)
                    ctx.emit(
                        {
                            "resourceType": "Appointment",
                            "id": ctx.id("ap"),
                            "meta": ctx.meta(created),
                            "status": status,
                            "serviceType": c.CLINIC_VISIT if rng.random() < 0.7 else c.NEW_VISIT,
                            "description": f"{clinic_name} visit",
                            "start": instant(start),
                            "end": instant(end),
                            "minutesDuration": 30,
                            "created": instant(created),
                            "participant": [
                                {
                                    "actor": ref("Patient", pick_patient(rule)),
                                    "required": "required",
                                    "status": "accepted",
                                },
                                {
                                    "actor": ref("Practitioner", prov.id, prov.display),
                                    "required": "required",
                                    "status": "accepted",
                                },
                                {
                                    "actor": ref("Location", clinic_id, clinic_name),
                                    "required": "required",
                                    "status": "accepted",
                                },
                            ],
                        }
                    )
