"""`/schedules/or` (the OR board by room and time) and `/schedules/clinic` (clinic visits by
provider), for a day (`?day=YYYY-MM-DD`, default today; links to today and tomorrow), with
the patient's phone so that schedulers can call when a case or visit must move. Each
patient shown is audited."""

from __future__ import annotations

from datetime import date, timedelta

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby import clinical
from standby.accounts.roles import Permission
from standby.clinical.schedules import PRIORITY_WORDS
from standby.web.guard import PageRequest, page


def _day(pr: PageRequest) -> date:
    text = pr.query("day")
    today = pr.now.date()
    if text == "tomorrow":
        return today + timedelta(days=1)
    try:
        return date.fromisoformat(text) if text else today
    except ValueError:
        return today


def _days(pr: PageRequest, day: date) -> dict[str, object]:
    today = pr.now.date()
    return {
        "day": day,
        "today": today,
        "tomorrow": today + timedelta(days=1),
        "prev_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
    }


@page(Permission.OR_SCHEDULE)
def or_board(pr: PageRequest) -> Response:
    day = _day(pr)
    board = clinical.or_schedule(pr.web.store, day, pr.web.zone)
    ids = [c.patient.id for r in board.rooms for c in r.cases if c.patient is not None]
    pr.audit_many("schedule", ids, f"OR board {day.isoformat()}")
    return pr.render(
        "schedule_or.html",
        {"board": board, "priority_words": PRIORITY_WORDS, **_days(pr, day)},
    )


@page(Permission.CLINIC_SCHEDULE)
def clinics(pr: PageRequest) -> Response:
    day = _day(pr)
    sched = clinical.clinic_schedule(pr.web.store, day, pr.web.zone)
    ids = [v.patient.id for p in sched.providers for v in p.visits if v.patient is not None]
    pr.audit_many("schedule", ids, f"clinic schedule {day.isoformat()}")
    return pr.render("schedule_clinic.html", {"sched": sched, **_days(pr, day)})


NAV = [
    ("/schedules/or", "OR board", Permission.OR_SCHEDULE),
    ("/schedules/clinic", "Clinics", Permission.CLINIC_SCHEDULE),
]


def routes() -> list[BaseRoute]:
    return [Route("/schedules/or", or_board), Route("/schedules/clinic", clinics)]
