"""`/recovery/gaps…`: what must be re-entered from monitors, pumps and paper after a
downtime, per unit (docs/recovery.md, "Device-data gaps"). For nurses and charge nurses:
the census permission, on their own units (`census-all-units`: every unit).

The window is the last real (not drill) downtime: from when the outage began (or was
declared) to its end, or to now while it lasts; `?from=&to=` (the hospital's clock,
`YYYY-MM-DDTHH:MM`) choose another. The page lists each patient on the unit during the
window (name, MRN and birth date), the stretches without vital signs and the scheduled
doses with nothing recorded, in the EHR or the journal. `?format=csv` gives the same as
CSV. Printable (the print style sheet; "data as of" on every page). Each view writes an
audit line per patient (`gaps`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime, timedelta

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby import clinical
from standby.accounts.roles import Permission
from standby.clinical.directory import directory
from standby.monitor import incidents
from standby.recovery import gap_inputs
from standby.recovery.gaps import PatientGaps, Policy, gaps
from standby.settings import Settings, standard_times
from standby.store.base import Store
from standby.web import access
from standby.web.audit import spreadsheet_safe
from standby.web.guard import PageRequest, not_found, page

CSV_HEADER = (
    "unit",
    "bed",
    "patient",
    "mrn",
    "birth_date",
    "what",
    "from",
    "to_or_due",
    "detail",
)


def downtime_window(store: Store, now: datetime) -> tuple[datetime, datetime, str] | None:
    """The last real downtime: (start, end, in words); None when there was none."""
    for inc in incidents.recent(store, limit=20):
        if inc.drill:
            continue
        start = inc.outage_started_at or inc.declared_at
        end = inc.ended_at or now
        words = "the last downtime" if inc.ended_at else "the downtime in progress (until now)"
        return start, max(start, end), words
    return None


def policy(settings: Settings) -> Policy:
    return Policy(
        vitals_every=timedelta(hours=settings.recovery_vitals_hours),
        icu_vitals_every=timedelta(hours=settings.recovery_icu_vitals_hours),
    )


def unit_gaps(
    store: Store, settings: Settings, unit: clinical.Unit, start: datetime, end: datetime
) -> list[PatientGaps]:
    """The gap list of one unit over [start, end)."""
    stays = gap_inputs.stays(store, directory(store).subtree(unit.id), unit.kind, start, end)
    return gaps(stays, start, end, policy(settings), standard=standard_times(settings))


def csv_rows(unit: clinical.Unit, found: Sequence[PatientGaps], tz: object) -> list[list[str]]:
    """One row per gap (and one per patient with none, saying so); every cell
    spreadsheet-safe (a name given at a downtime registration is the patient's words)."""

    def t(dt: datetime) -> str:
        return dt.astimezone(tz).isoformat(timespec="minutes")  # type: ignore[arg-type]

    out: list[list[str]] = []
    for g in found:
        who = [unit.alias, g.stay.bed, g.stay.name, g.stay.mrn, g.stay.birth_date]
        for v in g.vitals:
            hours = g.expected_every.total_seconds() / 3600
            out.append(
                [
                    *who,
                    "vital signs",
                    t(v.start),
                    t(v.end),
                    f"none documented between {v.after} and {v.before}; expected every {hours:g} h",
                ]
            )
        for dose in g.doses:
            out.append([*who, "dose", "", t(dose.due), f"{dose.medication}: nothing recorded"])
        if g.complete:
            out.append([*who, "none", t(g.on_census[0]), t(g.on_census[1]), "no gap found"])
    return [["" if c is None else spreadsheet_safe(str(c)) for c in row] for row in out]


def _when(pr: PageRequest, name: str) -> datetime | None:
    text = pr.query(name)
    if not text:
        return None
    naive = datetime.fromisoformat(text)
    return naive if naive.tzinfo else naive.replace(tzinfo=pr.web.zone)


@page(Permission.CENSUS)
def gap_units(pr: PageRequest) -> Response:
    mine = [u for u in clinical.units(pr.web.store) if access.unit_access(pr, u.id)]
    window = downtime_window(pr.web.store, pr.now)
    return pr.render("gaps_units.html", {"units": mine, "window": window})


@page(Permission.CENSUS)
def gap_list(pr: PageRequest) -> Response:
    unit_id = pr.request.path_params["unit_id"]
    if not access.unit_access(pr, unit_id):
        return pr.forbidden("You are not assigned to this unit.")
    units = {u.id: u for u in clinical.units(pr.web.store)}
    if unit_id not in units:
        return not_found(pr, "No such unit.")
    unit = units[unit_id]
    try:
        start, end = _when(pr, "from"), _when(pr, "to")
    except ValueError:
        return pr.render(
            "error.html",
            {"title": "Not a time", "message": "from and to are YYYY-MM-DDTHH:MM times."},
            400,
        )
    window = downtime_window(pr.web.store, pr.now)
    words = "the chosen window"
    if start is None or end is None:
        if window is None:
            return pr.render(
                "gaps.html",
                {
                    "unit": unit,
                    "window": None,
                    "found": [],
                    "no_downtime": True,
                    "tz_info": pr.web.zone,
                },
            )
        start, end, words = start or window[0], end or window[1], window[2]
    if end <= start:
        return pr.render(
            "error.html", {"title": "Empty window", "message": "to must be after from."}, 400
        )
    found = unit_gaps(pr.web.store, pr.web.settings, unit, start, end)
    every = policy(pr.web.settings).interval(unit.kind)
    pr.audit_many("gaps", [g.stay.patient_id for g in found], f"unit {unit_id}")
    if pr.query("format") == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(CSV_HEADER)
        w.writerows(csv_rows(unit, found, pr.web.zone))
        return Response(
            buf.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="gaps-{unit.alias}.csv"'},
        )
    return pr.render(
        "gaps.html",
        {
            "unit": unit,
            "window": (start, end, words),
            "found": found,
            "no_downtime": False,
            "tz_info": pr.web.zone,
            "every_hours": f"{every.total_seconds() / 3600:g}",
            "incomplete": sum(not g.complete for g in found),
            "csv_url": f"/recovery/gaps/{unit_id}?format=csv&from="
            f"{start.astimezone(pr.web.zone).strftime('%Y-%m-%dT%H:%M')}&to="
            f"{end.astimezone(pr.web.zone).strftime('%Y-%m-%dT%H:%M')}",
        },
    )


NAV = [("/recovery/gaps", "Re-entry gaps", Permission.CENSUS)]


def routes() -> list[BaseRoute]:
    return [Route("/recovery/gaps", gap_units), Route("/recovery/gaps/{unit_id}", gap_list)]
