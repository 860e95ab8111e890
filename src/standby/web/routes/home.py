"""`/`: sends each user to the first page their role has (their unit's census, the
schedules, or the audit log)."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from standby.accounts.roles import Permission, can
from standby.web.guard import PageRequest, page


@page(None)
def home(pr: PageRequest) -> Response:
    user = pr.user
    if can(user.role, Permission.CENSUS):
        units = [u for u in user.units if u != "*"]
        if len(units) == 1 and not can(user.role, Permission.CENSUS_ALL_UNITS):
            return RedirectResponse(f"/units/{units[0]}", 303)
        return RedirectResponse("/units", 303)
    if can(user.role, Permission.OR_SCHEDULE):
        return RedirectResponse("/schedules/or", 303)
    if can(user.role, Permission.AUDIT):
        return RedirectResponse("/admin/audit", 303)
    return pr.render(
        "error.html", {"title": "Nothing to show", "message": "Your role has no pages."}
    )


def routes() -> list[BaseRoute]:
    return [Route("/", home)]
