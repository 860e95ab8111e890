"""`/patients/{id}/adt/…`: admit, transfer (bed or unit) and discharge while the EHR is
down, so that the census stays true during a long outage (docs/journal.md#in-the-viewer).

Like the other documentation forms (routes/documentation.py, whose helpers these use):
open only during a declared downtime or a drill, to roles with `document`, on patients
the user may open; without JavaScript; each form carries its entry's UUID (sent twice:
saved once); "Saved" only after the durable commit; audited (`document`).

The bed is chosen from one list of every care unit's beds, each marked free or occupied
as the census shows it now (replica plus journal); a bed the census shows occupied by
another patient is refused, on the form and again when it is sent (two nurses placing
two patients in one bed at the same moment: the second is refused). A patient may also
be placed on a unit without a bed (an ED, a hallway).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from standby import clinical
from standby.accounts.roles import Permission
from standby.clinical.census import bed_occupancy
from standby.clinical.directory import directory
from standby.fhir import display as d
from standby.fhir.census import CensusBed, bed_sort_key
from standby.fhir.summary import PatientSummary
from standby.journal.entries import EntryError, Kind
from standby.store.base import Store
from standby.web.guard import PageRequest, page
from standby.web.routes import documentation as doc

DISPOSITIONS = (
    "Home",
    "Home with services",
    "Another hospital",
    "Skilled nursing or rehabilitation facility",
    "Left against medical advice",
    "Died",
)


@dataclass(frozen=True, slots=True)
class Spot:
    """A place a patient can be put: a bed, or a unit without a bed."""

    location_id: str
    label: str  # "4W 412-B", "ED (no bed)"
    unit: str  # the unit's label, for grouping
    occupant: str | None  # patient id in it (beds only); None: free


def spots(store: Store, pr: PageRequest) -> list[Spot]:
    """Every care unit's beds with who is in each (as the census shows them now:
    `clinical.census.bed_occupancy`), and each unit itself (a patient placed without a
    bed)."""
    occupied = bed_occupancy(store)
    dire = directory(store)
    out: list[Spot] = []
    for u in clinical.units(store):
        out.append(Spot(u.id, f"{u.alias} — on the unit, no bed", u.label, None))
        beds = []
        for lid in dire.subtree(u.id):
            loc = dire.location(lid) or {}
            if d.first_code(loc.get("physicalType")) != "bd":
                continue
            room = dire.location(d.reference_id(loc.get("partOf"), "Location")) or {}
            name = str(loc.get("name") or lid)
            beds.append(CensusBed(lid, name, str(room.get("name") or ""), None))
        for b in sorted(beds, key=bed_sort_key):
            assert b.bed_id is not None
            label = b.bed if b.bed.startswith(u.alias) else f"{u.alias} {b.bed}"
            out.append(Spot(b.bed_id, label, u.label, occupied.get(b.bed_id)))
    return out


def check_spot(all_spots: list[Spot], location_id: str, patient_id: str | None) -> Spot:
    """The spot chosen, or `EntryError` when there is none or another patient is in it."""
    spot = next((s for s in all_spots if s.location_id == location_id), None)
    if spot is None:
        raise EntryError("location_id", "choose a bed (or a unit)")
    if spot.occupant is not None and spot.occupant != patient_id:
        raise EntryError(
            "location_id",
            f"bed {spot.label} is occupied on the census: choose a free bed, or move or "
            "discharge the patient in it first",
        )
    return spot


def _form(
    pr: PageRequest, pid: str, s: PatientSummary, drill: bool, kind: Kind, **ctx: Any
) -> Response:
    """The ADT form of `kind`: GET shows it, POST saves it."""
    template = f"adt_{kind.value}.html"
    all_spots = spots(pr.web.store, pr) if kind is not Kind.DISCHARGE else []
    ctx = {
        "spots": all_spots,
        "dispositions": DISPOSITIONS,
        "kind": kind.value,
        "refused": "",
        **ctx,
    }
    admitted = bool(s.header.encounter_id)
    if kind is Kind.ADMIT and admitted:
        message = "This patient is already admitted: use Transfer to move them."
        return doc._render(pr, template, s, drill, status=409, **{**ctx, "refused": message})
    if kind is not Kind.ADMIT and not admitted:
        message = "This patient has no current encounter in Standby: admit them first."
        return doc._render(pr, template, s, drill, status=409, **{**ctx, "refused": message})
    if pr.request.method == "GET":
        return doc._render(pr, template, s, drill, **ctx)
    f = pr.form
    try:
        if kind is Kind.DISCHARGE:
            disposition = f.get("disposition", "").strip()
            if disposition == "other":
                disposition = f.get("disposition_other", "").strip()
            payload: dict[str, Any] = {"disposition": disposition}
        else:
            spot = check_spot(all_spots, f.get("location_id", ""), pid)
            payload = {"location_id": spot.location_id, "location_name": spot.label}
            if spot.location_id == s.header.bed_id:
                raise EntryError("location_id", f"the patient is in {spot.label} already")
        entry = doc._save(
            pr,
            pid,
            s,
            drill,
            kind,
            payload=payload,
            performed_at=doc._local_time(pr, f.get("performed_at", "")),
            entry_id=doc._entry_id(pr),
        )
    except EntryError as e:
        status = 409 if e.field == "location_id" and "occupied" in e.message else 400
        r = doc._again(pr, template, s, drill, e, **{**ctx, "form": f})
        r.status_code = status
        return r
    return doc._saved(pid, entry)


def _adt(kind: Kind) -> Any:
    @page(Permission.DOCUMENT)
    def handler(pr: PageRequest) -> Response:
        opened = doc._opened(pr)
        if isinstance(opened, Response):
            return opened
        pid, s, drill = opened
        return _form(pr, pid, s, drill, kind)

    handler.__name__ = kind.value
    return handler


admit = _adt(Kind.ADMIT)
transfer = _adt(Kind.TRANSFER)
discharge = _adt(Kind.DISCHARGE)


def routes() -> list[BaseRoute]:
    return [
        Route("/patients/{patient_id}/adt/admit", admit, methods=["GET", "POST"]),
        Route("/patients/{patient_id}/adt/transfer", transfer, methods=["GET", "POST"]),
        Route("/patients/{patient_id}/adt/discharge", discharge, methods=["GET", "POST"]),
    ]
