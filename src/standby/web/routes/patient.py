"""`/patients/{id}`: the patient downtime summary, and `/patients/{id}/break-glass`
(docs/web.md#the-patient-downtime-summary, docs/roles.md#units-and-break-the-glass).

Every view writes an audit line. Access is decided on the patient's unit
(`clinical.PatientIdentity`, read from the Patient and their encounters) before the
summary is built. A patient outside the user's units gets the break-the-glass form (403)
showing no identifier of the patient (the user came from a search or a list that showed
them; ids in URLs are easy to walk); after a stated reason, the summary.
"""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from standby import clinical
from standby.accounts.roles import Permission, can
from standby.fhir.observations import VITAL_RANGES
from standby.fhir.summary_model import VITAL_COLUMNS
from standby.journal.entries import Entry
from standby.journal.listed_recent import listed_since
from standby.web import access, charting, charts, header
from standby.web.guard import PageRequest, not_found, page
from standby.web.routes import documentation, printing

VITAL_SERIES = [  # (column, label, unit); the normal ranges are the table's (VITAL_RANGES)
    ("HR", "Heart rate", "/min"),
    ("BP", "Systolic BP", "mmHg"),
    ("RR", "Resp. rate", "/min"),
    ("Temp", "Temperature", "°C"),
    ("SpO2", "SpO2", "%"),
]


def _chart(summary: clinical.PatientSummary) -> str:
    series = summary.vitals.series
    adult = bool(summary.vitals.ranges)  # a child's values are not held to adult ranges
    drawn = []
    for key, label, unit in VITAL_SERIES:
        points = series.get(key) or []
        low, high = VITAL_RANGES[key] if adult else (None, None)
        drawn.append(charts.Series(label, unit, points, low, high))
    return charts.trend_svg(drawn, title="Vital signs, last 48 hours")


NO_PATIENT = "Standby holds no patient with this id."

RECENT = timedelta(hours=48)  # the summary lists entries done or entered this recently


@page(Permission.SUMMARY)
def summary_page(pr: PageRequest) -> Response:
    pid = pr.request.path_params["patient_id"]
    granted = access.open_patient(pr, pid)
    if granted is None:
        return not_found(pr, NO_PATIENT)
    if isinstance(granted, access.Refused):
        return _break_glass_form(pr, pid, "", status=403)
    summary = pr.web.summaries.summary(pid, pr.now, charting.charted_until(pr.web))
    if summary is None:
        return not_found(pr, NO_PATIENT)
    pr.audit("view", pid, granted.via)
    status = header.downtime_status(pr.web.store)
    open_for_documenting = status is not None and status.in_downtime
    entries: list[Entry] = []
    older = 0
    if open_for_documenting:
        assert status is not None
        # the recent ones and a count of the rest, not the patient's whole journal
        entries, older = listed_since(pr.web.store, pid, pr.now - RECENT, drill=status.drill)
    return pr.render(
        "patient.html",
        {
            "entries": entries,
            "older": older,
            "recent_hours": int(RECENT.total_seconds() // 3600),
            "saved": "",
            "drill": bool(status and status.drill),
            "document_url": documentation.document_url(pid)
            if open_for_documenting and can(pr.user.role, Permission.DOCUMENT)
            else "",
            "s": summary,
            "h": summary.header,
            "via": granted.via,
            "chart": _chart(summary),
            "print_url": printing.patient_pdf_url(pid),
            "vital_columns": VITAL_COLUMNS,
        },
    )


def _break_glass_form(pr: PageRequest, patient_id: str, error: str, status: int) -> Response:
    return pr.render(
        "break_glass.html",
        {
            "patient_id": patient_id,
            "error": error,
            "may_break": can(pr.user.role, Permission.BREAK_GLASS),
            "minutes": int(pr.web.break_glass_for.total_seconds() // 60),
        },
        status,
    )


@page(Permission.BREAK_GLASS)
def break_glass(pr: PageRequest) -> Response:
    pid = pr.request.path_params["patient_id"]
    identity = pr.web.summaries.identity(pid, pr.now)
    if identity is None:
        return not_found(pr, NO_PATIENT)
    if pr.request.method == "GET":
        return _break_glass_form(pr, pid, "", status=200)
    try:
        access.break_glass(pr, pid, pr.form.get("reason", ""))
    except ValueError as e:
        return _break_glass_form(pr, pid, str(e), status=400)
    return RedirectResponse(f"/patients/{pid}", 303)


def routes() -> list[BaseRoute]:
    return [
        Route("/patients/{patient_id}", summary_page),
        Route("/patients/{patient_id}/break-glass", break_glass, methods=["GET", "POST"]),
    ]
