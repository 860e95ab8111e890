"""`/patients/{id}/print.pdf` ("print this patient") and `/units/{unit_id}/print.pdf`
("print this unit"): the downtime-packet PDFs of `standby.reports.render`, built from the
same read model as the pages, with "data as of" and the downtime banner on every sheet.
Served only to users allowed to see that patient or unit (decided before the summary is
read: `standby.web.access`); each patient printed is audited.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby import clinical
from standby.accounts.roles import Permission
from standby.clinical.census import unit_census_and_summaries
from standby.reports import render
from standby.reports.pages import Furniture
from standby.web import access, charting, header
from standby.web.guard import PageRequest, not_found, page

NO_PATIENT = "Standby holds no patient with this id."


def patient_pdf_url(patient_id: str) -> str:
    return f"/patients/{patient_id}/print.pdf"


def unit_pdf_url(unit_id: str) -> str:
    return f"/units/{unit_id}/print.pdf"


def _furniture(pr: PageRequest, unit: str) -> Furniture:
    data = pr.web.header()
    status = header.downtime_status(pr.web.store)
    banner = status.label if status is not None and (status.in_downtime or status.drill) else None
    return Furniture(
        data_as_of=data.data_as_of,
        generated=pr.now,
        unit=unit,
        banner=banner,
        extra={"printed_by": pr.user.username},
    )


def _pdf(body: bytes, name: str) -> Response:
    return Response(
        bytes(body),
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="{name}"'},
    )


@page(Permission.PRINT)
def patient_print(pr: PageRequest) -> Response:
    pid = pr.request.path_params["patient_id"]
    granted = access.open_patient(pr, pid)
    if granted is None:
        return not_found(pr, NO_PATIENT)
    if isinstance(granted, access.Refused):
        return pr.forbidden("This patient is outside your units: break the glass first.")
    until = charting.charted_until(pr.web)
    summary = clinical.patient_summary(
        pr.web.store,
        pid,
        pr.now,
        charted_until=until,
        standard_times=pr.web.summaries.standard_times,  # the web MAR's, from the settings
    )
    if summary is None:
        return not_found(pr, NO_PATIENT)
    pr.audit("print", pid, granted.via)
    pdf = render.patient_pdf(summary, _furniture(pr, summary.header.unit))
    return _pdf(pdf, f"patient-{summary.header.mrn or pid}.pdf")


@page(Permission.PRINT)
def unit_print(pr: PageRequest) -> Response:
    unit_id = pr.request.path_params["unit_id"]
    if not access.unit_access(pr, unit_id):
        return pr.forbidden("You are not assigned to this unit.")
    try:
        census, summaries = unit_census_and_summaries(
            pr.web.store,
            unit_id,
            pr.now,
            charted_until=charting.charted_until(pr.web),
            standard_times=pr.web.summaries.standard_times,
        )
    except KeyError:
        return not_found(pr, "No such unit.")
    pr.audit_many("print", [p.id for p in census.patients], f"unit {unit_id}")
    pdf = render.unit_pdf(census, summaries, _furniture(pr, census.unit))
    return _pdf(pdf, f"unit-{census.unit}.pdf")


def routes() -> list[BaseRoute]:
    return [
        Route("/patients/{patient_id}/print.pdf", patient_print),
        Route("/units/{unit_id}/print.pdf", unit_print),
    ]
