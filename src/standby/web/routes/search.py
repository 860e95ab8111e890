"""`/search`: find a patient by name (partial, accent- and case-insensitive), MRN or date of
birth (`standby.clinical.find_patients`). Results carry DOB, age, sex, MRN, city, phone and
location, enough to tell two "John Smith"s apart; each search is audited with its terms."""

from __future__ import annotations

import re

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby import clinical
from standby.accounts.roles import Permission, can
from standby.web import access
from standby.web.guard import PageRequest, page

MAX_RESULTS = 50


@page(Permission.SEARCH)
def search(pr: PageRequest) -> Response:
    q = pr.query("q")[:200]
    dob = pr.query("dob")[:20]
    matches: list[clinical.PatientMatch] = []
    if q:
        matches = clinical.find_patients(pr.web.store, q, now=pr.now, limit=MAX_RESULTS)
    if dob and q:
        matches = [m for m in matches if m.dob == iso_date(dob)]
    elif dob:
        matches = clinical.find_patients(pr.web.store, dob, now=pr.now, limit=MAX_RESULTS)
    if q or dob:
        pr.audit("search", None, f"q={q!r} dob={dob!r} results={len(matches)}")
    may_open = can(pr.user.role, Permission.SUMMARY)
    return pr.render(
        "search.html",
        {
            "q": q,
            "dob": dob,
            "matches": matches,
            "searched": bool(q or dob),
            "limit": MAX_RESULTS,
            "may_open": may_open,
            "in_units": {m.id for m in matches if access.in_units(pr, m.unit_id)},
        },
    )


def iso_date(text: str) -> str:
    """YYYY-MM-DD from YYYY-MM-DD or MM/DD/YYYY (else the text unchanged)."""
    m = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", text)
    return f"{m.group(3)}-{int(m.group(1)):02d}-{int(m.group(2)):02d}" if m else text


NAV = [("/search", "Find a patient", Permission.SEARCH)]


def routes() -> list[BaseRoute]:
    return [Route("/search", search)]
