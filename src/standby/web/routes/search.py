"""`/search`: find a patient by name (partial, accent- and case-insensitive), MRN or date of
birth (`standby.clinical.find_patients`). Results carry DOB, age, sex, MRN, city, phone and
location, enough to tell two "John Smith"s apart; each search is audited with its terms.
Results are ranked before they are cut (exact matches, then admitted patients first) and
the page says how many matched in all ("50 of 59 — narrow the search")."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby.accounts.roles import Permission, can
from standby.clinical.patients import search_patients
from standby.web import access
from standby.web.guard import PageRequest, page

MAX_RESULTS = 50


@page(Permission.SEARCH)
def search(pr: PageRequest) -> Response:
    q = pr.query("q")[:200]
    dob = pr.query("dob")[:20]
    found = search_patients(pr.web.store, q, dob=dob, now=pr.now, limit=MAX_RESULTS)
    matches = found.matches
    if q or dob:
        pr.audit(
            "search",
            None,
            f"q={q!r} dob={dob!r} results={len(matches)}"
            + (f" of {found.total}" if found.truncated else ""),
        )
    may_open = can(pr.user.role, Permission.SUMMARY)
    in_units = {m.id for m in matches if access.in_units(pr, m.unit_id)}
    return pr.render(
        "search.html",
        {
            "q": q,
            "dob": dob,
            "found": found,
            "matches": matches,
            "searched": bool(q or dob),
            "limit": MAX_RESULTS,
            "may_open": may_open,
            "in_units": in_units,
            "outside": may_open and any(m.id not in in_units for m in matches),
        },
    )


NAV = [("/search", "Find a patient", Permission.SEARCH)]


def routes() -> list[BaseRoute]:
    return [Route("/search", search)]
