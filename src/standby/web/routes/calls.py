"""`/schedules/calls`: call lists per clinic and per surgeon of the surgeries and visits
that triage postpones or cancels, with what to say in the patient's language; each
patient's call outcome is recorded here (`POST /schedules/calls/{appointment}`, audited
`schedule-call`). `/schedules/calls.pdf` prints them (audited `print`), `/schedules/calls.csv`
exports them (every cell through `web.audit.spreadsheet_safe`; audited `schedule`).
docs/schedule.md#call-lists."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from standby.accounts.roles import Permission
from standby.reports.call_lists import CallRow, CallSheet, call_lists_pdf
from standby.reports.pages import HOSPITAL_WIDE
from standby.schedule import repository as repo
from standby.schedule.contacts import CallList, ToCall, call_lists
from standby.schedule.rules import RulesError
from standby.web.audit import spreadsheet_safe
from standby.web.guard import PageRequest, page
from standby.web.routes import printing
from standby.web.routes.triage import _rules_broken, hours_of, rules_of, triaged

CSV_COLUMNS = [
    "list",
    "when",
    "patient_name",
    "dob",
    "mrn",
    "phones",
    "decision",
    "case",
    "language",
    "interpreter",
    "say",
    "voicemail",
    "last_outcome",
    "last_called_by",
    "cannot_come_on",
]


def _lists(pr: PageRequest) -> tuple[list[CallList], int] | Response:
    try:
        rules = rules_of(pr)
    except RulesError as e:
        return _rules_broken(pr, e)
    hours = hours_of(pr, rules)
    rows = triaged(pr, hours, rules)
    lists = call_lists(
        rows, repo.calls(pr.web.store), pr.web.zone, rules.calls_hospital, rules.calls_phone
    )
    which = pr.query("list")
    if which:
        lists = [c for c in lists if c.key == which]
    return lists, hours


def _ids(lists: list[CallList]) -> list[str]:
    return [t.row.item.patient.id for c in lists for t in c.people if t.row.item.patient.id]


@page(Permission.TRIAGE)
def calls_page(pr: PageRequest) -> Response:
    got = _lists(pr)
    if isinstance(got, Response):
        return got
    lists, hours = got
    pr.audit_many("schedule", _ids(lists), "call lists")
    return pr.render(
        "schedule_calls.html",
        {
            "lists": lists,
            "hours": hours,
            "outcomes": repo.CALL_OUTCOMES,
            "error": pr.query("error"),
            "saved": pr.query("saved"),
            "query": pr.request.url.query,
        },
    )


@page(Permission.TRIAGE)
def record_call(pr: PageRequest) -> Response:
    appt = pr.request.path_params["appointment_id"]
    got = _lists(pr)
    if isinstance(got, Response):
        return got
    lists, _ = got
    person = next((t for c in lists for t in c.people if t.row.item.id == appt), None)
    if person is None:
        return pr.render(
            "error.html",
            {"title": "Not on a call list", "message": "This case is not postponed or cancelled."},
            404,
        )
    pid = person.row.item.patient.id
    try:
        call = repo.record_call(
            pr.web.store,
            appt,
            pid,
            pr.form.get("outcome", ""),
            repo.parse_days(pr.form.get("unavailable_days", "")),
            pr.form.get("note", ""),
            pr.user.username,
            pr.now,
        )
    except repo.RecordError as e:
        return RedirectResponse(f"/schedules/calls?error={quote(str(e))}#c-{appt}", 303)
    days = ", ".join(d.isoformat() for d in call.unavailable_days)
    pr.audit(
        "schedule-call",
        pid or None,
        f"{appt}: {call.outcome}" + (f"; cannot come on {days}" if days else ""),
    )
    return RedirectResponse(f"/schedules/calls?saved={appt}#c-{appt}", status_code=303)


def _row(t: ToCall, pr: PageRequest) -> CallRow:
    i = t.row.item
    last = t.last
    local = i.start.astimezone(pr.web.zone)
    return CallRow(
        when=f"{local:%a} {local.day} {local:%b %H:%M}",
        name=i.patient.name,
        dob=i.patient.dob,
        mrn=i.patient.mrn,
        phones=", ".join(i.patient.phones) or "no phone recorded",
        what=f"{i.what} — {i.place}",
        decision=t.row.decision.upper(),
        say=t.say,
        voicemail=t.voicemail,
        language=" · ".join(x for x in (t.language, t.interpreter) if x),
        last_call=(
            f"{last.outcome_text} ({last.by}, {last.at.astimezone(pr.web.zone):%d %b %H:%M})"
            if last
            else ""
        ),
    )


@page(Permission.TRIAGE)
def calls_pdf(pr: PageRequest) -> Response:
    got = _lists(pr)
    if isinstance(got, Response):
        return got
    lists, hours = got
    sheets = [CallSheet(c.title, [_row(t, pr) for t in c.people]) for c in lists]
    title = f"Call lists — surgeries and visits moved, next {hours} h"
    pdf = call_lists_pdf(sheets, printing.furniture(pr, HOSPITAL_WIDE), title)
    pr.audit_many("print", _ids(lists), "call lists PDF")
    return printing.pdf_response(pdf, "call-lists.pdf")


@page(Permission.TRIAGE)
def calls_csv(pr: PageRequest) -> Response:
    got = _lists(pr)
    if isinstance(got, Response):
        return got
    lists, _ = got
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for c in lists:
        for t in c.people:
            r = _row(t, pr)
            last = t.last
            w.writerow(
                spreadsheet_safe(cell)
                for cell in (
                    c.title,
                    t.row.item.start.astimezone(pr.web.zone).isoformat(timespec="minutes"),
                    r.name,
                    r.dob,
                    r.mrn,
                    r.phones,
                    t.row.decision,
                    r.what,
                    t.language,
                    t.interpreter,
                    t.say,
                    t.voicemail,
                    last.outcome if last else "",
                    last.by if last else "",
                    " ".join(d.isoformat() for d in t.unavailable_days),
                )
            )
    pr.audit_many("schedule", _ids(lists), "call lists CSV")
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="call-lists.csv"'},
    )


NAV: list[tuple[str, str, Permission | None]] = []


def routes() -> list[BaseRoute]:
    return [
        Route("/schedules/calls", calls_page),
        Route("/schedules/calls.pdf", calls_pdf),
        Route("/schedules/calls.csv", calls_csv),
        Route("/schedules/calls/{appointment_id}", record_call, methods=["POST"]),
    ]
