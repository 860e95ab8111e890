"""`/units` and `/units/{unit_id}`: the unit census (docs/web.md#pages).

Every bed of the unit, empty ones included, with what a charge nurse scans for; sortable
server-side with `?sort=` (links in the column headers, no script) and printable. Users
see the census of their own units; `census-all-units` opens every unit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby import clinical
from standby.accounts.roles import Permission, can
from standby.web import access, charting
from standby.web.guard import PageRequest, not_found, page
from standby.web.routes import printing

_FAR = datetime.max.replace(tzinfo=UTC)


def _age_years(age: str) -> float:
    m = re.match(r"\s*(\d+)", age or "")
    if not m:
        return -1.0
    n = float(m.group(1))
    return n if "y" in age or age.strip().isdigit() else n / 12 if "m" in age else n / 365


def _code_rank(p: Any) -> int:
    code = p.code_status.code
    return {"304253006": 0, "450476008": 1, "304252001": 3}.get(code or "", 2)


# Sort keys on CensusBed; empty beds sort last for patient columns.
SORTS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "bed": ("Bed", lambda b: ()),  # the read model's bed order
    "name": ("Patient", lambda b: b.patient.name.casefold()),
    "age": ("Age", lambda b: -_age_years(b.patient.age)),
    "los": ("Length of stay", lambda b: b.patient.admitted or _FAR),
    "code": ("Code status", lambda b: _code_rank(b.patient)),
    "allergy": ("Allergies", lambda b: b.patient.allergies.flag),
    "due": (
        "Due next 2 h",
        lambda b: (
            not (b.patient.overdue or b.patient.not_charted),
            b.patient.due[0].time if b.patient.due else _FAR,
        ),
    ),
    "isolation": ("Isolation", lambda b: (not b.patient.isolation, b.patient.isolation)),
    "attending": ("Attending", lambda b: b.patient.attending.casefold()),
}


def sorted_beds(beds: list[Any], sort: str) -> list[Any]:
    if sort not in SORTS or sort == "bed":
        return list(beds)
    key = SORTS[sort][1]
    occupied = sorted((b for b in beds if b.patient is not None), key=key)
    return occupied + [b for b in beds if b.patient is None]


@page(Permission.CENSUS)
def unit_list(pr: PageRequest) -> Response:
    all_units = clinical.units(pr.web.store)
    mine = [u for u in all_units if access.unit_access(pr, u.id)]
    return pr.render("units.html", {"units": mine, "hidden": len(all_units) - len(mine)})


@page(Permission.CENSUS)
def census(pr: PageRequest) -> Response:
    unit_id = pr.request.path_params["unit_id"]
    if not access.unit_access(pr, unit_id):
        return pr.forbidden(
            "You are not assigned to this unit. To open one of its patients, search for "
            "the patient and break the glass."
        )
    units = {u.id: u for u in clinical.units(pr.web.store)}
    if unit_id not in units:
        return not_found(pr, "No such unit.")
    charted_until = charting.charted_until(pr.web)
    result = clinical.unit_census(
        pr.web.store, unit_id, pr.now, cache=pr.web.summaries, charted_until=charted_until
    )
    # what the HL7 v2 feed brought after the EHR went down (docs/hl7.md#during-downtime)
    feed = clinical.received_in_downtime(
        pr.web.store, [p.id for p in result.patients], charted_until
    )
    sort = pr.query("sort", "bed")
    if sort not in SORTS:
        sort = "bed"
    pr.audit_many("census", [p.id for p in result.patients], f"unit {unit_id}")
    return pr.render(
        "census.html",
        {
            "census": result,
            "feed_received": feed,
            "unit": units[unit_id],
            "beds": sorted_beds(result.beds, sort),
            "sort": sort,
            "sorts": {k: v[0] for k, v in SORTS.items()},
            "print_url": (
                printing.unit_pdf_url(unit_id) if can(pr.user.role, Permission.PRINT) else None
            ),
        },
    )


NAV = [("/units", "Census", Permission.CENSUS)]


def routes() -> list[BaseRoute]:
    return [Route("/units", unit_list), Route("/units/{unit_id}", census)]
