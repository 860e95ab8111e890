"""`/patients/{id}/print.pdf` and `/units/{unit_id}/print.pdf`: the downtime packet PDFs of
`standby.reports`, served to users allowed to see that patient or unit. The links are
shown only when `standby.reports` provides the functions (no broken links)."""

from __future__ import annotations

import importlib
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby import clinical
from standby.web import access
from standby.web.guard import PageRequest, not_found, page
from standby.web.roles import Permission, can


def _optional(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _patient_pdf() -> Any:
    return _optional("standby.reports", "patient_pdf")


def _unit_pdf() -> Any:
    return _optional("standby.reports", "unit_pdf")


def patient_pdf_url(patient_id: str) -> str | None:
    return f"/patients/{patient_id}/print.pdf" if _patient_pdf() else None


def unit_pdf_url(unit_id: str) -> str | None:
    return f"/units/{unit_id}/print.pdf" if _unit_pdf() else None


def _pdf(body: bytes, name: str) -> Response:
    return Response(
        body,
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="{name}"'},
    )


@page(Permission.PRINT)
def patient_print(pr: PageRequest) -> Response:
    fn = _patient_pdf()
    pid = pr.request.path_params["patient_id"]
    summary = clinical.patient_summary(pr.web.store, pid, pr.now)
    if fn is None or summary is None:
        return not_found(pr, "Nothing to print.")
    if not access.patient_access(pr, pid, [summary.header.unit_id or ""]).allowed:
        return pr.forbidden("This patient is outside your units: break the glass first.")
    pr.audit("print", pid)
    return _pdf(fn(pr.web.store, pid, pr.now), f"patient-{pid}.pdf")


@page(Permission.PRINT)
def unit_print(pr: PageRequest) -> Response:
    fn = _unit_pdf()
    unit_id = pr.request.path_params["unit_id"]
    if fn is None:
        return not_found(pr, "Nothing to print.")
    if not (can(pr.user.role, Permission.CENSUS_ALL_UNITS) or pr.user.assigned_to(unit_id)):
        return pr.forbidden("You are not assigned to this unit.")
    result = clinical.unit_census(pr.web.store, unit_id, pr.now)
    pr.audit_many("print", [p.id for p in result.patients], f"unit {unit_id}")
    return _pdf(fn(pr.web.store, unit_id, pr.now), f"unit-{unit_id}.pdf")


def routes() -> list[BaseRoute]:
    return [
        Route("/patients/{patient_id}/print.pdf", patient_print),
        Route("/units/{unit_id}/print.pdf", unit_print),
    ]
