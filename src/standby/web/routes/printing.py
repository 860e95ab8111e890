"""`/patients/{id}/print.pdf` ("print this patient") and `/units/{unit_id}/print.pdf`
("print this unit"): the downtime-packet PDFs of `standby.reports.render`, built from the
same read model as the pages, with "data as of" and the downtime banner on every sheet.
Served only to users allowed to see that patient or unit (decided before the summary is
read: `standby.web.access`); each patient printed is audited, with whether the PDF was
made ("printed ...") or not ("FAILED ..."). The file's name comes from EHR data (MRN, unit
alias), so it is sent as RFC 6266 asks: an ASCII `filename` and the real name, UTF-8 and
percent-encoded, in `filename*`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import urllib.parse
from collections.abc import Callable

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
log = logging.getLogger(__name__)


def patient_pdf_url(patient_id: str) -> str:
    return f"/patients/{patient_id}/print.pdf"


def unit_pdf_url(unit_id: str) -> str:
    return f"/units/{unit_id}/print.pdf"


def furniture(pr: PageRequest, unit: str) -> Furniture:
    data = pr.web.header()
    status = header.downtime_status(pr.web.store)
    banner = status.label if status is not None and (status.in_downtime or status.drill) else None
    return Furniture(
        data_as_of=data.data_as_of,
        generated=pr.now,
        unit=unit,
        banner=banner,
        extra={"printed_by": pr.user.username},
        edge=data.edge,
    )


def content_disposition(name: str) -> str:
    """`inline` with `name` as RFC 6266 (section 4.3) and RFC 8187 ask: an ASCII fallback
    `filename` (letters, digits, ".", "-", "_") and the whole name in `filename*`. Control
    characters (a line break in an MRN) are dropped from both: no header injection."""
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C") or "standby.pdf"
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9._-]+", "_", folded).strip("._") or "standby.pdf"
    return f"inline; filename=\"{plain}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"


def pdf_response(body: bytes, name: str) -> Response:
    return Response(
        bytes(body),
        media_type="application/pdf",
        headers={"content-disposition": content_disposition(name)},
    )


def _made(
    pr: PageRequest, patient_ids: list[str], via: str, make: Callable[[], bytes]
) -> bytes | Response:
    """The PDF `make` returns, with one audit line per patient saying it was printed; or,
    when it cannot be made, audit lines saying so and an error page (never a PDF that
    was not made, audited as printed)."""
    try:
        pdf = make()
    except Exception as e:
        log.exception("printing %s failed", via)
        pr.audit_many("print", patient_ids, f"FAILED ({type(e).__name__}): {via}")
        return pr.render(
            "error.html",
            {
                "title": "Could not print",
                "message": "This could not be printed: the error is logged for the IT "
                "team. Use the unit's downtime packets (printed every 15 minutes).",
            },
            500,
        )
    pr.audit_many("print", patient_ids, f"printed: {via}")
    return pdf


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
    made = _made(
        pr,
        [pid],
        granted.via,
        lambda: render.patient_pdf(summary, furniture(pr, summary.header.unit)),
    )
    if isinstance(made, Response):
        return made
    return pdf_response(made, f"patient-{summary.header.mrn or pid}.pdf")


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
    made = _made(
        pr,
        [p.id for p in census.patients],
        f"unit {unit_id}",
        lambda: render.unit_pdf(census, summaries, furniture(pr, census.unit)),
    )
    if isinstance(made, Response):
        return made
    return pdf_response(made, f"unit-{census.unit}.pdf")


def routes() -> list[BaseRoute]:
    return [
        Route("/patients/{patient_id}/print.pdf", patient_print),
        Route("/units/{unit_id}/print.pdf", unit_print),
    ]
